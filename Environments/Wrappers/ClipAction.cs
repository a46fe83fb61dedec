namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Clips every continuous action into the inner environment's bounds before stepping (Gymnasium 1.0's
/// <c>ClipAction</c>): the wrapper's action space is the same shape with infinite bounds, so a policy whose outputs
/// are unbounded (a Gaussian's samples) can act directly. NaN is refused, as every RlMemory environment refuses it.
/// </summary>
public sealed class ClipAction : ActionWrapper
{
    private readonly Box _space;

    /// <summary>Wraps <paramref name="inner"/>, whose action space must be a <see cref="Box"/>.</summary>
    /// <exception cref="ArgumentException">The inner action space is not a <see cref="Box"/>.</exception>
    public ClipAction(IEnv<float[]> inner)
        : base(inner) => _space = new Box(float.NegativeInfinity, float.PositiveInfinity, [.. InnerSpace.Shape]);

    /// <inheritdoc />
    public override Space<float[]> ActionSpace => _space;

    /// <summary>Each element clamped to the inner bounds; the wrong length or a NaN element is refused.</summary>
    protected override void Transform(float[] action, Span<float> innerAction)
    {
        if (action.Length != InnerSpace.Size)
        {
            throw new ArgumentException($"{Name}: action {Box.FormatArray(action)} has {action.Length} elements; the action space {_space} has {InnerSpace.Size}.", nameof(action));
        }

        ReadOnlySpan<float> low = InnerSpace.Low, high = InnerSpace.High;
        for (int i = 0; i < action.Length; i++)
        {
            if (float.IsNaN(action[i]))
            {
                throw new ArgumentException($"{Name}: action {Box.FormatArray(action)} has NaN at element {i}; ClipAction clips values, it cannot clip NaN.", nameof(action));
            }

            innerAction[i] = Math.Clamp(action[i], low[i], high[i]);
        }
    }
}
