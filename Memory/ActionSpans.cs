using System.Runtime.InteropServices;
using RlMemory.Environments.Vector;

namespace RlMemory.Memory;

/// <summary>
/// The action spans a transition buffer takes: <c>int</c> for discrete actions (one per entry), <c>float</c> for
/// continuous ones (<c>d</c> per entry). Generic writers (<c>Add&lt;TAction&gt;</c>) check the type once here; the JIT
/// compiles one body per action type, so the check costs nothing at run time.
/// </summary>
internal static class ActionSpans
{
    /// <summary>
    /// Splits <paramref name="actions"/> into the discrete or the continuous span, refusing an action type the buffer
    /// does not store with a message naming the buffer, the call and what to pass instead.
    /// </summary>
    public static void Split<TAction>(string name, string call, ActionSpec spec, ReadOnlySpan<TAction> actions, out ReadOnlySpan<int> discrete, out ReadOnlySpan<float> continuous)
        where TAction : unmanaged
    {
        if (typeof(TAction) == typeof(int) && spec.IsDiscrete)
        {
            discrete = MemoryMarshal.Cast<TAction, int>(actions);
            continuous = default;
            return;
        }

        if (typeof(TAction) == typeof(float) && !spec.IsDiscrete)
        {
            discrete = default;
            continuous = MemoryMarshal.Cast<TAction, float>(actions);
            return;
        }

        string got = typeof(TAction) == typeof(int) ? "integer actions" : typeof(TAction) == typeof(float) ? "float actions" : $"actions of type {typeof(TAction).Name}";
        throw new ArgumentException(spec.IsDiscrete
            ? $"{name}: {call} got {got}, but the buffer stores discrete actions; pass them as int (one per entry)."
            : $"{name}: {call} got {got}, but the buffer stores continuous actions of dimension {spec.Dimension}; pass them as float (entries × {spec.Dimension}).", "actions");
    }
}

/// <summary>
/// The spans of one vector step (or of M transitions with their <see cref="Discounts"/>), its actions split by kind
/// (<see cref="ActionSpans"/>): what the buffers check and write.
/// </summary>
internal readonly ref struct StepSpans
{
    private StepSpans(ReadOnlySpan<float> observations, ReadOnlySpan<int> discreteActions, ReadOnlySpan<float> continuousActions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        Observations = observations;
        DiscreteActions = discreteActions;
        ContinuousActions = continuousActions;
        Rewards = rewards;
        Terminated = terminated;
        Truncated = truncated;
        NextObservations = nextObservations;
        Discounts = discounts;
    }

    public ReadOnlySpan<float> Observations { get; }

    public ReadOnlySpan<int> DiscreteActions { get; }

    public ReadOnlySpan<float> ContinuousActions { get; }

    public ReadOnlySpan<double> Rewards { get; }

    public ReadOnlySpan<bool> Terminated { get; }

    public ReadOnlySpan<bool> Truncated { get; }

    public ReadOnlySpan<float> NextObservations { get; }

    /// <summary>Each transition's discount (empty for a vector step).</summary>
    public ReadOnlySpan<double> Discounts { get; }

    /// <summary>The spans of <paramref name="step"/>, refusing actions of a type <paramref name="action"/> does not store.</summary>
    public static StepSpans Of<TAction>(string name, string call, ActionSpec action, in VectorStep<TAction> step, ReadOnlySpan<double> discounts = default)
        where TAction : unmanaged
    {
        ActionSpans.Split(name, call, action, step.Actions, out ReadOnlySpan<int> discrete, out ReadOnlySpan<float> continuous);
        return new StepSpans(step.Observations, discrete, continuous, step.Rewards, step.Terminations, step.Truncations, step.NextObservations, discounts);
    }
}
