using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// A batch of B sequences of T = <see cref="BurnIn"/> + <see cref="LearningLength"/> steps sampled from a
/// <see cref="SequenceReplayBuffer"/>, as tensors on the buffer's device. The caller owns it: dispose it after the
/// learning step, or sample inside a <c>torch.NewDisposeScope()</c> (its tensors belong to the scope that is current
/// when <c>Sample</c> runs).
/// </summary>
/// <remarks>
/// <para>Step t of sequence b is valid where <c>Mask[b, t] = 1</c>; the valid steps come first. A sequence cut short by
/// an episode end (or <see cref="SequenceReplayBuffer.BeginNewEpisodes"/>) with v valid steps is padded with zeros
/// after them; <c>Observations[b, v]</c> is then the final observation (the next observation of its last step), so
/// the next observation of every valid step t is <c>Observations[b, t + 1]</c>. A learner bootstraps from it unless
/// the step terminated.</para>
/// <para>The fields are views of one gathered tensor (one gather per sample), so they may be non-contiguous; call
/// <c>.contiguous()</c> where an operation needs contiguous memory. Writing into them never changes the buffer.</para>
/// </remarks>
public sealed class SequenceBatch : IDisposable
{
    private bool _disposed;

    internal SequenceBatch(int burnIn, int learningLength, Tensor observations, Tensor actions, Tensor rewards, Tensor terminated, Tensor truncated, Tensor mask, RecurrentState initialState, Tensor indices, Tensor? weights)
    {
        BurnIn = burnIn;
        LearningLength = learningLength;
        Observations = observations;
        Actions = actions;
        Rewards = rewards;
        Terminated = terminated;
        Truncated = truncated;
        Mask = mask;
        InitialState = initialState;
        Indices = indices;
        Weights = weights;
        Size = (int)indices.shape[0];
    }

    /// <summary>B, the number of sequences.</summary>
    public int Size { get; }

    /// <summary>The burn-in steps at the start of each sequence (unroll only, no loss).</summary>
    public int BurnIn { get; }

    /// <summary>The learning steps after the burn-in.</summary>
    public int LearningLength { get; }

    /// <summary>T = <see cref="BurnIn"/> + <see cref="LearningLength"/>.</summary>
    public int SequenceLength => BurnIn + LearningLength;

    /// <summary>
    /// float32 <c>[B, T + 1, ..ObservationShape]</c>: the observation of each step, then the next observation of the
    /// last valid step (frames stored as bytes come back as 0..255); zeros after that.
    /// </summary>
    public Tensor Observations { get; }

    /// <summary>int64 <c>[B, T]</c> for discrete actions, float32 <c>[B, T, d]</c> for continuous ones (0 where padded).</summary>
    public Tensor Actions { get; }

    /// <summary>float32 <c>[B, T]</c>: the reward of each step (0 where padded).</summary>
    public Tensor Rewards { get; }

    /// <summary>float32 <c>[B, T]</c>: 1 at a step that terminated its episode (do not bootstrap), else 0.</summary>
    public Tensor Terminated { get; }

    /// <summary>float32 <c>[B, T]</c>: 1 at a step that truncated its episode (bootstrap from the next observation), else 0.</summary>
    public Tensor Truncated { get; }

    /// <summary>float32 <c>[B, T]</c>: 1 for valid steps, 0 for padding. The learning part is <c>Mask.narrow(1, BurnIn, LearningLength)</c>.</summary>
    public Tensor Mask { get; }

    /// <summary>The actor's recurrent state before each sequence's first step (<c>[B, ..]</c> per part), to start the burn-in from.</summary>
    public RecurrentState InitialState { get; }

    /// <summary>int64 <c>[B]</c>: the storage slots of the sequences (for <see cref="SequenceReplayBuffer.UpdatePriorities(Tensor, Tensor, Tensor)"/>).</summary>
    public Tensor Indices { get; }

    /// <summary>float32 <c>[B]</c> importance-sampling weights of a prioritized buffer; null for uniform sampling.</summary>
    public Tensor? Weights { get; }

    /// <summary>Disposes every tensor of the batch (safe to call twice).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Observations.Dispose();
        Actions.Dispose();
        Rewards.Dispose();
        Terminated.Dispose();
        Truncated.Dispose();
        Mask.Dispose();
        InitialState.Dispose();
        Indices.Dispose();
        Weights?.Dispose();
    }
}
