using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// A minibatch of B sequences of L consecutive steps of one environment each, for recurrent policies, from
/// <see cref="RolloutBuffer.SequenceMinibatches"/>; tensors on the buffer's device. The caller owns it: dispose it
/// after the learning step.
/// </summary>
/// <remarks>
/// <para>A policy replays a sequence from <see cref="InitialState"/>, step by step (or with a masked LSTM):
/// at position l it first resets its state where <see cref="EpisodeStarts"/> is 1, then consumes
/// <c>Observations[:, l]</c>. Losses count only positions where <see cref="Mask"/> is 1: autoreset pseudo-steps and
/// padding (after the end of the rollout) have mask 0. A pseudo-step's observation is the final observation of the
/// episode that just ended, and its episode-start flag is 0: the policy processes it with the ended episode's state,
/// exactly as the actor did when it computed the bootstrap value V(F); the next step has flag 1.</para>
/// <para>The float fields are views of one gathered tensor, so they may be non-contiguous. Writing into them never
/// changes the buffer.</para>
/// </remarks>
public sealed class RolloutSequenceBatch : IDisposable
{
    private readonly Tensor[] _owned;
    private bool _disposed;

    internal RolloutSequenceBatch(
        Tensor observations, Tensor actions, Tensor oldValues, Tensor oldLogProbs, Tensor advantages, Tensor returns,
        Tensor mask, Tensor episodeStarts, RecurrentState? initialState, Tensor envs, Tensor startSteps, int validCount)
    {
        Observations = observations;
        Actions = actions;
        OldValues = oldValues;
        OldLogProbs = oldLogProbs;
        Advantages = advantages;
        Returns = returns;
        Mask = mask;
        EpisodeStarts = episodeStarts;
        InitialState = initialState;
        Envs = envs;
        StartSteps = startSteps;
        ValidCount = validCount;
        Sequences = (int)mask.shape[0];
        Length = (int)mask.shape[1];
        _owned = [observations, actions, oldValues, oldLogProbs, advantages, returns, mask, episodeStarts, envs, startSteps];
    }

    /// <summary>B, the number of sequences.</summary>
    public int Sequences { get; }

    /// <summary>L, the steps per sequence.</summary>
    public int Length { get; }

    /// <summary>The number of positions with mask 1 (at least 1 per sequence): the denominator of a masked mean loss.</summary>
    public int ValidCount { get; }

    /// <summary>float32 <c>[B, L, ..ObservationShape]</c> (zeros at padded positions).</summary>
    public Tensor Observations { get; }

    /// <summary>int64 <c>[B, L]</c> for discrete actions, float32 <c>[B, L, d]</c> for continuous ones.</summary>
    public Tensor Actions { get; }

    /// <summary>float32 <c>[B, L]</c>: V(s_t) from the rollout.</summary>
    public Tensor OldValues { get; }

    /// <summary>float32 <c>[B, L]</c>: log π_old(a_t | s_t) from the rollout.</summary>
    public Tensor OldLogProbs { get; }

    /// <summary>
    /// float32 <c>[B, L]</c>: GAE(λ) advantages, 0 where <see cref="Mask"/> is 0; normalized over the valid positions of
    /// this minibatch when the options say <see cref="AdvantageNormalization.PerMinibatch"/>.
    /// </summary>
    public Tensor Advantages { get; }

    /// <summary>float32 <c>[B, L]</c>: value targets A + V (V at pseudo-steps, 0 at padding).</summary>
    public Tensor Returns { get; }

    /// <summary>float32 <c>[B, L]</c>: 1 for real transitions, 0 for autoreset pseudo-steps and padding.</summary>
    public Tensor Mask { get; }

    /// <summary>
    /// float32 <c>[B, L]</c>: 1 where an episode begins (reset the recurrent state before this step): the first step
    /// after an autoreset pseudo-step, and the first step after the buffer was built or <see cref="RolloutBuffer.BeginNewEpisodes"/>.
    /// </summary>
    public Tensor EpisodeStarts { get; }

    /// <summary>The recurrent state before each sequence's first step, as stored by <c>Add</c> (batch B); null without <see cref="RolloutBufferOptions.RecurrentState"/>.</summary>
    public RecurrentState? InitialState { get; }

    /// <summary>int64 <c>[B]</c>: each sequence's environment.</summary>
    public Tensor Envs { get; }

    /// <summary>int64 <c>[B]</c>: each sequence's first step in the rollout (a multiple of L).</summary>
    public Tensor StartSteps { get; }

    /// <summary>Disposes every tensor of the batch and the initial state (safe to call twice).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Tensor t in _owned)
        {
            t.Dispose();
        }

        InitialState?.Dispose();
    }
}
