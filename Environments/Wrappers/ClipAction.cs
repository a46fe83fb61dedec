namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Clips every continuous action into the inner environment's bounds before stepping (Gymnasium 1.0's
/// <c>ClipAction</c>): the wrapper's action space is the same shape with infinite bounds, so a policy whose outputs
/// are unbounded (a Gaussian's samples) can act directly. NaN is refused, as every RlMemory environment refuses it.
/// </summary>
public sealed class ClipAction : Wrapper<float[]>
{
    private readonly Box _inner, _space;
    private readonly float[] _clipped;

    /// <summary>Wraps <paramref name="inner"/>, whose action space must be a <see cref="Box"/>.</summary>
    /// <exception cref="ArgumentException">The inner action space is not a <see cref="Box"/>.</exception>
    public ClipAction(IEnv<float[]> inner)
        : base(inner)
    {
        _inner = inner.ActionSpace as Box
            ?? throw new ArgumentException($"{inner.Name}: ClipAction needs a Box action space, got {inner.ActionSpace}.", nameof(inner));
        _space = new Box(float.NegativeInfinity, float.PositiveInfinity, [.. _inner.Shape]);
        _clipped = new float[_inner.Size];
    }

    /// <inheritdoc />
    public override Space<float[]> ActionSpace => _space;

    /// <summary>The action the inner environment receives for <paramref name="action"/>: each element clamped to its bounds.</summary>
    /// <exception cref="ArgumentException">The action has the wrong length or a NaN element.</exception>
    public float[] Clip(float[] action)
    {
        var result = new float[_inner.Size];
        ClipInto(action, result);
        return result;
    }

    /// <inheritdoc />
    public override StepResult Step(float[] action, Span<float> observation)
    {
        ClipInto(action, _clipped);
        return Inner.Step(_clipped, observation);
    }

    private void ClipInto(float[] action, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (action.Length != _inner.Size)
        {
            throw new ArgumentException($"{Name}: action {Box.FormatArray(action)} has {action.Length} elements; the action space {_space} has {_inner.Size}.", nameof(action));
        }

        ReadOnlySpan<float> low = _inner.Low, high = _inner.High;
        for (int i = 0; i < action.Length; i++)
        {
            if (float.IsNaN(action[i]))
            {
                throw new ArgumentException($"{Name}: action {Box.FormatArray(action)} has NaN at element {i}; ClipAction clips values, it cannot clip NaN.", nameof(action));
            }

            destination[i] = Math.Clamp(action[i], low[i], high[i]);
        }
    }
}
