using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>A network's parameters as one float array, in parameter order (what <see cref="WeightsMessage"/> carries).</summary>
internal static class Weights
{
    /// <summary>Every parameter of <paramref name="module"/>, flattened and concatenated.</summary>
    public static float[] Flatten(nn.Module module)
    {
        var parameters = module.parameters().ToList();
        var values = new float[parameters.Sum(p => p.numel())];
        int offset = 0;
        using var scope = NewDisposeScope(); // the detached views too, not left to the finalizer
        foreach (var p in parameters)
        {
            Tensor host = p.detach().cpu().contiguous();
            ReadOnlySpan<float> data = MemoryMarshal.Cast<byte, float>(host.bytes);
            data.CopyTo(values.AsSpan(offset));
            offset += data.Length;
        }

        return values;
    }

    /// <summary>Writes <paramref name="values"/> into <paramref name="module"/>'s parameters.</summary>
    /// <exception cref="ArgumentException">The count does not match the architecture.</exception>
    public static void Load(nn.Module module, float[] values)
    {
        var parameters = module.parameters().ToList();
        long expected = parameters.Sum(p => p.numel());
        if (values.Length != expected)
        {
            throw new ArgumentException($"Weights of {values.Length} values do not fit a network of {expected} parameters (another architecture).", nameof(values));
        }

        int offset = 0;
        using (NewDisposeScope())
        using (no_grad())
        {
            foreach (var p in parameters)
            {
                int n = (int)p.numel();
                using Tensor source = tensor(values.AsSpan(offset, n).ToArray(), p.shape);
                p.copy_(source);
                offset += n;
            }
        }
    }
}
