using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// A batch of B transitions sampled from a replay buffer, as tensors on the buffer's device. The caller owns it:
/// dispose it after the learning step, or sample inside a <c>torch.NewDisposeScope()</c> (its tensors belong to the
/// scope that is current when <c>Sample</c> runs).
/// </summary>
/// <remarks>
/// The small fields are views of one gathered tensor (one gather per sample), so they may be non-contiguous; call
/// <c>.contiguous()</c> where an operation needs contiguous memory. Writing into them never changes the buffer.
/// </remarks>
public sealed class TransitionBatch : IDisposable
{
    private bool _disposed;

    internal TransitionBatch(Tensor observations, Tensor actions, Tensor rewards, Tensor nextObservations, Tensor terminated, Tensor truncated, Tensor discounts, Tensor indices, Tensor? weights)
    {
        Observations = observations;
        Actions = actions;
        Rewards = rewards;
        NextObservations = nextObservations;
        Terminated = terminated;
        Truncated = truncated;
        Discounts = discounts;
        Indices = indices;
        Weights = weights;
        Size = (int)indices.shape[0];
    }

    /// <summary>B, the number of transitions.</summary>
    public int Size { get; }

    /// <summary>float32 <c>[B, ..ObservationShape]</c> (frames stored as bytes come back as 0..255).</summary>
    public Tensor Observations { get; }

    /// <summary>int64 <c>[B]</c> for discrete actions, float32 <c>[B, d]</c> for continuous ones.</summary>
    public Tensor Actions { get; }

    /// <summary>float32 <c>[B]</c>: the reward, or for n-step transitions Σ_{k&lt;n} γᵏ r_{t+k}.</summary>
    public Tensor Rewards { get; }

    /// <summary>float32 <c>[B, ..ObservationShape]</c>: the observation to bootstrap from (the final observation when the episode ended).</summary>
    public Tensor NextObservations { get; }

    /// <summary>float32 <c>[B]</c>, 1 where the episode terminated (do not bootstrap), else 0.</summary>
    public Tensor Terminated { get; }

    /// <summary>float32 <c>[B]</c>, 1 where the episode was truncated (bootstrap), else 0.</summary>
    public Tensor Truncated { get; }

    /// <summary>
    /// float32 <c>[B]</c>: the factor of the bootstrap term, γ for 1-step transitions and γᵏ for n-step ones (k the
    /// steps to <see cref="NextObservations"/>). A target is <c>Rewards + Discounts · (1 − Terminated) · V(NextObservations)</c>.
    /// </summary>
    public Tensor Discounts { get; }

    /// <summary>int64 <c>[B]</c>: the storage slots the transitions came from (for priority updates).</summary>
    public Tensor Indices { get; }

    /// <summary>float32 <c>[B]</c> importance-sampling weights of a prioritized buffer; null for uniform sampling.</summary>
    public Tensor? Weights { get; }

    /// <summary>
    /// Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) as a batch of views (no
    /// copy): a large sample split into the minibatches of consecutive gradient steps.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The rows are not inside the batch.</exception>
    public TransitionBatch Slice(int start, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (start < 0 || length < 1 || (long)start + length > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"TransitionBatch.Slice: rows [{start}, {(long)start + length}) are not inside a batch of {Size}.");
        }

        return new TransitionBatch(
            Observations.narrow(0, start, length), Actions.narrow(0, start, length), Rewards.narrow(0, start, length),
            NextObservations.narrow(0, start, length), Terminated.narrow(0, start, length), Truncated.narrow(0, start, length),
            Discounts.narrow(0, start, length), Indices.narrow(0, start, length), Weights?.narrow(0, start, length));
    }

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
        NextObservations.Dispose();
        Terminated.Dispose();
        Truncated.Dispose();
        Discounts.Dispose();
        Indices.Dispose();
        Weights?.Dispose();
    }
}
