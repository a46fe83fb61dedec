using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>The <see cref="IPrioritySampler"/> implementations every shared sampler test runs against.</summary>
public enum SamplerKind
{
    /// <summary><see cref="ManagedPrioritySampler"/> (sum and min trees).</summary>
    Managed,

    /// <summary><see cref="DevicePrioritySampler"/> with float64 priorities on the CPU.</summary>
    DeviceFloat64,

    /// <summary><see cref="DevicePrioritySampler"/> with float32 priorities on the CPU.</summary>
    DeviceFloat32,

    /// <summary><see cref="DevicePrioritySampler"/> with float64 priorities on CUDA (only where CUDA is available).</summary>
    DeviceFloat64Cuda,
}

/// <summary>Builds samplers of each kind and reads their contents for the tests.</summary>
internal static class Samplers
{
    /// <summary>Every kind that runs on this machine.</summary>
    public static IEnumerable<SamplerKind> Available()
    {
        yield return SamplerKind.Managed;
        yield return SamplerKind.DeviceFloat64;
        yield return SamplerKind.DeviceFloat32;
        if (cuda.is_available())
        {
            yield return SamplerKind.DeviceFloat64Cuda;
        }
    }

    public static TheoryData<SamplerKind> Kinds()
    {
        var data = new TheoryData<SamplerKind>();
        foreach (SamplerKind kind in Available())
        {
            data.Add(kind);
        }

        return data;
    }

    public static IPrioritySampler Create(SamplerKind kind, int capacity, PriorityOptions options, ulong seed) => kind switch
    {
        SamplerKind.Managed => new ManagedPrioritySampler(capacity, options, seed),
        SamplerKind.DeviceFloat64 => new DevicePrioritySampler(capacity, options, seed, CPU, ScalarType.Float64),
        SamplerKind.DeviceFloat32 => new DevicePrioritySampler(capacity, options, seed, CPU, ScalarType.Float32),
        SamplerKind.DeviceFloat64Cuda => new DevicePrioritySampler(capacity, options, seed, CUDA, ScalarType.Float64),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The class name a sampler's error messages start with.</summary>
    public static string ClassName(SamplerKind kind) =>
        kind == SamplerKind.Managed ? nameof(ManagedPrioritySampler) : nameof(DevicePrioritySampler);

    /// <summary>Relative tolerance for values the sampler stores in its priority type.</summary>
    public static double Tolerance(SamplerKind kind) => kind == SamplerKind.DeviceFloat32 ? 1e-6 : 1e-12;

    /// <summary>Samples and copies the result to the host.</summary>
    public static (long[] Indices, float[] Weights) SampleToHost(this IPrioritySampler sampler, int batchSize, double beta)
    {
        using DisposeScope scope = NewDisposeScope();
        PrioritySample sample = sampler.Sample(batchSize, beta);
        Assert.Equal(ScalarType.Int64, sample.Indices.dtype);
        Assert.Equal(ScalarType.Float32, sample.Weights.dtype);
        Assert.Equal(sampler.Device.type, sample.Indices.device_type);
        Assert.Equal(sampler.Device.type, sample.Weights.device_type);
        Assert.Equal([(long)batchSize], sample.Indices.shape);
        Assert.Equal([(long)batchSize], sample.Weights.shape);
        return (sample.Indices.cpu().data<long>().ToArray(), sample.Weights.cpu().data<float>().ToArray());
    }

    /// <summary>Fills slots 0..n−1 and sets their priorities from <paramref name="magnitudes"/>.</summary>
    public static void Fill(this IPrioritySampler sampler, params double[] magnitudes)
    {
        int[] slots = Enumerable.Range(0, magnitudes.Length).ToArray();
        sampler.AddAtMaxPriority(slots);
        sampler.UpdatePriorities(slots, magnitudes);
    }
}
