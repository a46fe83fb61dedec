namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Appends whether the observation is the first of its episode, as POPGym's <c>Antialias</c> wrapper does followed by
/// its flattening: two more floats, <c>[0, 1]</c> for the observation returned by <c>Reset</c> and <c>[1, 0]</c> for
/// every observation returned by <c>Step</c> (the one-hot encoding of POPGym's <c>Discrete(2)</c> flag).
/// </summary>
/// <remarks>
/// A recurrent agent starts each episode from a zero state and could tell the first step from that alone, but it has to
/// learn to; tasks whose cue comes only with the first observation (POPGym's RepeatFirst) are much easier to learn with
/// the flag, and they still need memory: the flag says when the cue is shown, not what it was. POPGym's baselines add it
/// to every task. The wrapper keeps no state across steps, so it saves and resumes with whatever it wraps.
/// </remarks>
public sealed class FirstStepFlag<TAction> : ObservationWrapper<TAction>
{
    private readonly int _innerSize;

    /// <summary>Wraps <paramref name="inner"/>, whose observation must be flat (one dimension).</summary>
    /// <exception cref="ArgumentException">The inner observation has more than one dimension.</exception>
    public FirstStepFlag(IEnv<TAction> inner)
        : base(inner)
    {
        Box space = inner.ObservationSpace;
        if (space.Shape.Count != 1)
        {
            throw new ArgumentException(
                $"{inner.Name}: FirstStepFlag appends to flat observations; this one has shape [{string.Join(", ", space.Shape)}].", nameof(inner));
        }

        _innerSize = space.Size;
        float[] low = [.. space.Low, 0f, 0f];
        float[] high = [.. space.High, 1f, 1f];
        ObservationSpace = new Box(low, high);
    }

    /// <inheritdoc />
    public override Box ObservationSpace { get; }

    /// <inheritdoc />
    protected override void OnReset(ReadOnlySpan<float> innerObservation, Span<float> observation) => Write(innerObservation, observation, first: true);

    /// <inheritdoc />
    protected override void Transform(ReadOnlySpan<float> innerObservation, Span<float> observation) => Write(innerObservation, observation, first: false);

    private void Write(ReadOnlySpan<float> innerObservation, Span<float> observation, bool first)
    {
        innerObservation.CopyTo(observation);
        observation[_innerSize] = first ? 0f : 1f;
        observation[_innerSize + 1] = first ? 1f : 0f;
    }
}
