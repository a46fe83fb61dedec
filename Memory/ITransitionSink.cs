using RlMemory.Environments.Vector;

namespace RlMemory.Memory;

/// <summary>
/// Something that stores complete, independent transitions, each with its own next observation and discount: what
/// <see cref="NStepAssembler"/> emits. <see cref="ReplayBuffer"/> implements it (in its plain layout).
/// </summary>
public interface ITransitionSink
{
    /// <summary>
    /// Stores the M transitions of <paramref name="transitions"/> (observations and next observations
    /// <c>M × observation size</c> floats, actions M <c>int</c> or <c>M × d</c> <c>float</c>, the others M values) with
    /// their <paramref name="discounts"/>. A sink validates the whole call before it stores anything.
    /// </summary>
    void AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts)
        where TAction : unmanaged;
}
