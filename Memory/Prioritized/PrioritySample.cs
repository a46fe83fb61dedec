using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The result of <see cref="IPrioritySampler.Sample(int, double)"/>: sampled slots and their importance-sampling
/// weights, on the sampler's device. Disposing it disposes both tensors (not needed when they belong to a
/// DisposeScope that the caller disposes).
/// </summary>
public sealed class PrioritySample : IDisposable
{
    /// <summary>Wraps the two tensors.</summary>
    public PrioritySample(Tensor indices, Tensor weights)
    {
        Indices = indices;
        Weights = weights;
    }

    /// <summary>The sampled slots: int64, shape [B], in segment order (slot k was drawn from the k-th mass segment).</summary>
    public Tensor Indices { get; }

    /// <summary>The importance-sampling weights <c>(p_min / p_i)^β</c>: float32, shape [B], in (0, 1] (a ratio below float32's range rounds to 0).</summary>
    public Tensor Weights { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Indices.Dispose();
        Weights.Dispose();
    }
}
