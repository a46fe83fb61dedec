namespace RlMemory.Memory;

/// <summary>
/// Something that stores complete, independent transitions, each with its own next observation and discount: what
/// <see cref="NStepAssembler"/> emits. <see cref="UniformReplayBuffer"/> implements it (in its plain mode).
/// </summary>
/// <remarks>
/// All spans describe the same M transitions: <c>observations</c> and <c>nextObservations</c> hold
/// <c>M × observation size</c> floats, <c>actions</c> M integers (discrete) or <c>M × d</c> floats (continuous),
/// the others M values. A sink validates the whole call before it stores anything.
/// </remarks>
public interface ITransitionSink
{
    /// <summary>Stores M transitions with discrete actions.</summary>
    void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts);

    /// <summary>Stores M transitions with continuous actions (<c>M × d</c> floats).</summary>
    void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts);
}
