using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// A minibatch of B valid rollout entries (autoreset pseudo-steps never appear), as tensors on the buffer's device,
/// from <see cref="RolloutBuffer.Minibatches"/>. The caller owns it: dispose it after the learning step.
/// </summary>
/// <remarks>
/// The float fields are views of one gathered tensor (one gather per minibatch), so they may be non-contiguous; call
/// <c>.contiguous()</c> where an operation needs contiguous memory. Writing into them never changes the buffer.
/// </remarks>
public sealed class RolloutBatch : IDisposable
{
    private readonly Tensor[] _owned;
    private bool _disposed;

    internal RolloutBatch(Tensor observations, Tensor actions, Tensor oldValues, Tensor oldLogProbs, Tensor advantages, Tensor returns, Tensor indices)
    {
        Observations = observations;
        Actions = actions;
        OldValues = oldValues;
        OldLogProbs = oldLogProbs;
        Advantages = advantages;
        Returns = returns;
        Indices = indices;
        Size = (int)indices.shape[0];
        _owned = [observations, actions, oldValues, oldLogProbs, advantages, returns, indices];
    }

    /// <summary>B, the number of entries.</summary>
    public int Size { get; }

    /// <summary>float32 <c>[B, ..ObservationShape]</c>: the observations the actions were chosen from.</summary>
    public Tensor Observations { get; }

    /// <summary>int64 <c>[B]</c> for discrete actions, float32 <c>[B, d]</c> for continuous ones.</summary>
    public Tensor Actions { get; }

    /// <summary>float32 <c>[B]</c>: V(s_t) as the policy gave it during the rollout.</summary>
    public Tensor OldValues { get; }

    /// <summary>float32 <c>[B]</c>: log π_old(a_t | s_t) as the policy gave it during the rollout.</summary>
    public Tensor OldLogProbs { get; }

    /// <summary>float32 <c>[B]</c>: GAE(λ) advantages, normalized over this minibatch when the options say <see cref="AdvantageNormalization.PerMinibatch"/> (and B ≥ 2).</summary>
    public Tensor Advantages { get; }

    /// <summary>float32 <c>[B]</c>: the value targets R_t = A_t + V_t (from the unnormalized advantages).</summary>
    public Tensor Returns { get; }

    /// <summary>int64 <c>[B]</c>: the entries, as <c>t · N + n</c> (step t, environment n).</summary>
    public Tensor Indices { get; }

    /// <summary>Disposes every tensor of the batch (safe to call twice).</summary>
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
    }
}
