using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// The recurrent part of a policy: maps an observation and a <see cref="RecurrentState"/> to features and the next
/// state. Heads (Q-values, policy and value) sit on top of the features. Two entry points: <see cref="Step"/> for
/// acting (one time step for a batch of environments) and <see cref="Unroll"/> for learning (a batch of sequences,
/// resetting the state where an episode starts inside a sequence).
/// </summary>
/// <remarks>
/// Implementations: <see cref="LstmCore"/> (an MLP encoder and an LSTM) and <see cref="MemoryCore"/> (an LSTM
/// controller with a DNC-style external memory). A state's tensors are batch-first ([B, ...]); a reset replaces a
/// row by the core's initial state (zeros).
/// </remarks>
public abstract class RecurrentCore : nn.Module
{
    /// <summary>Creates the module.</summary>
    protected RecurrentCore(string name)
        : base(name)
    {
    }

    /// <summary>Floats in one observation.</summary>
    public abstract int ObservationSize { get; }

    /// <summary>Floats in the features produced per step.</summary>
    public abstract int OutputSize { get; }

    /// <summary>The layout of the recurrent state.</summary>
    public abstract RecurrentStateSpec StateSpec { get; }

    /// <summary>The device of the parameters.</summary>
    public Device Device => parameters().First().device;

    /// <summary>The initial (zero) state for <paramref name="batchSize"/> environments, on the core's device.</summary>
    public RecurrentState InitialState(int batchSize) => RecurrentState.Zeros(StateSpec, batchSize, Device);

    /// <summary>One time step: observations [B, obs] and the state before it → features [B, F] and the state after it.</summary>
    public abstract (Tensor Features, RecurrentState State) Step(Tensor observations, RecurrentState state);

    /// <summary>
    /// Whether <see cref="Unroll"/> handles resets inside one pass over the sequences at no extra cost, so that callers
    /// should give it the resets rather than cut the sequences at them (<see cref="ActorCritic.SegmentedUnroll"/>, whose
    /// segments are padded to the longest). False unless a core says otherwise.
    /// </summary>
    internal virtual bool UnrollsResetsInOnePass => false;

    /// <summary>
    /// A batch of sequences: observations [B, T, obs] from the state <paramref name="state"/> before their first step.
    /// Where <paramref name="resets"/> [B, T] (bool or 0/1, optional) is true, the state is replaced by the initial
    /// state before step t (an episode starts there). Returns features [B, T, F] and the state after the last step.
    /// The base implementation loops over <see cref="Step"/>; cores with a faster whole-sequence path override it.
    /// </summary>
    public virtual (Tensor Features, RecurrentState State) Unroll(Tensor observations, RecurrentState state, Tensor? resets = null)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        CheckSequence(observations, state, resets);
        long steps = observations.shape[1];
        var outputs = new List<Tensor>((int)steps);
        RecurrentState current = state;
        for (long t = 0; t < steps; t++)
        {
            if (resets is not null)
            {
                RecurrentState reset = current.ResetRows(resets.select(1, t));
                if (!ReferenceEquals(current, state))
                {
                    current.Dispose();
                }

                current = reset;
            }

            (Tensor features, RecurrentState next) = Step(observations.select(1, t), current);
            if (!ReferenceEquals(current, state))
            {
                current.Dispose();
            }

            outputs.Add(features);
            current = next;
        }

        return (stack(outputs, 1), current);
    }

    /// <summary>Throws when a sequence batch does not fit this core and the state.</summary>
    protected void CheckSequence(Tensor observations, RecurrentState state, Tensor? resets)
    {
        if (observations.dim() != 3 || observations.shape[2] != ObservationSize)
        {
            throw new ArgumentException(
                $"{GetName()}: sequences must be [batch, time, {ObservationSize}], got [{string.Join(", ", observations.shape)}].", nameof(observations));
        }

        if (state.BatchSize != observations.shape[0] || !state.Spec.Equals(StateSpec))
        {
            throw new ArgumentException(
                $"{GetName()}: the state is {state.Spec} × {state.BatchSize}; expected {StateSpec} × {observations.shape[0]}.", nameof(state));
        }

        if (resets is not null && (resets.dim() != 2 || resets.shape[0] != observations.shape[0] || resets.shape[1] != observations.shape[1]))
        {
            throw new ArgumentException(
                $"{GetName()}: resets must be [{observations.shape[0]}, {observations.shape[1]}], got [{string.Join(", ", resets.shape)}].", nameof(resets));
        }
    }

    /// <summary>Throws when a step batch does not fit this core and the state.</summary>
    protected void CheckStep(Tensor observations, RecurrentState state)
    {
        if (observations.dim() != 2 || observations.shape[1] != ObservationSize)
        {
            throw new ArgumentException(
                $"{GetName()}: observations must be [batch, {ObservationSize}], got [{string.Join(", ", observations.shape)}].", nameof(observations));
        }

        if (state.BatchSize != observations.shape[0] || !state.Spec.Equals(StateSpec))
        {
            throw new ArgumentException(
                $"{GetName()}: the state is {state.Spec} × {state.BatchSize}; expected {StateSpec} × {observations.shape[0]}.", nameof(state));
        }
    }
}
