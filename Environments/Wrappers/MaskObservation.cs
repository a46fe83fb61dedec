namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Keeps only chosen entries of the (flat) observation and drops the others, e.g. the velocities of CartPole for
/// <c>CartPoleNoVel-v1</c>: <c>new MaskObservation&lt;int&gt;(env, keep: [0, 2])</c> observes <c>[x, theta]</c>.
/// The observation space keeps the bounds of the kept entries.
/// </summary>
public sealed class MaskObservation<TAction> : ObservationWrapper<TAction>
{
    private readonly int[] _keep;

    /// <summary>Wraps <paramref name="inner"/>, keeping the entries at <paramref name="keep"/> in that order.</summary>
    /// <exception cref="ArgumentException">An index is out of range or repeated, or none is kept.</exception>
    public MaskObservation(IEnv<TAction> inner, IReadOnlyList<int> keep)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(keep);
        Box space = inner.ObservationSpace;
        if (keep.Count == 0)
        {
            throw new ArgumentException($"{inner.Name}: MaskObservation must keep at least one entry.", nameof(keep));
        }

        var seen = new HashSet<int>();
        foreach (int k in keep)
        {
            if ((uint)k >= (uint)space.Size)
            {
                throw new ArgumentException(
                    $"{inner.Name}: MaskObservation index {k} is outside the observation (indices 0..{space.Size - 1} of {space}).", nameof(keep));
            }

            if (!seen.Add(k))
            {
                throw new ArgumentException($"{inner.Name}: MaskObservation index {k} is listed twice.", nameof(keep));
            }
        }

        _keep = [.. keep];
        var low = new float[_keep.Length];
        var high = new float[_keep.Length];
        for (int i = 0; i < _keep.Length; i++)
        {
            low[i] = space.Low[_keep[i]];
            high[i] = space.High[_keep[i]];
        }

        ObservationSpace = new Box(low, high);
    }

    /// <summary>The kept indices of the inner observation, in output order.</summary>
    public IReadOnlyList<int> Kept => _keep;

    /// <inheritdoc />
    public override Box ObservationSpace { get; }

    /// <inheritdoc />
    protected override void Transform(ReadOnlySpan<float> innerObservation, Span<float> observation)
    {
        for (int i = 0; i < _keep.Length; i++)
        {
            observation[i] = innerObservation[_keep[i]];
        }
    }
}
