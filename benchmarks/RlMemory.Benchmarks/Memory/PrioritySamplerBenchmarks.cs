using BenchmarkDotNet.Attributes;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Memory;

/// <summary>
/// One prioritized-replay step at capacity 10^6, all slots filled with random priorities: sample 256 slots (with
/// weights, β = 0.5) and update the priorities of the sampled slots with new |δ|. Targets: ≤ 150 µs for the managed
/// sampler on the 2-core machine. torch runs on one thread.
/// </summary>
[MemoryDiagnoser]
public class PrioritySamplerBenchmarks
{
    private const int Capacity = 1_000_000;
    private const int BatchSize = 256;
    private const double Beta = 0.5;

    private readonly int[] _slots = new int[BatchSize];
    private readonly float[] _weights = new float[BatchSize];
    private readonly double[][] _magnitudes = new double[64][];
    private ManagedPrioritySampler _managed = null!;
    private DevicePrioritySampler _device64 = null!;
    private DevicePrioritySampler _device32 = null!;
    private Tensor[] _magnitudeTensors = [];
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        var options = new PriorityOptions { Alpha = 0.6, Epsilon = 1e-6 };
        _managed = new ManagedPrioritySampler(Capacity, options, seed: 1);
        _device64 = new DevicePrioritySampler(Capacity, options, seed: 1, CPU, ScalarType.Float64);
        _device32 = new DevicePrioritySampler(Capacity, options, seed: 1, CPU, ScalarType.Float32);
        int[] all = Enumerable.Range(0, Capacity).ToArray();
        var random = new Random(7);
        double[] initial = Enumerable.Range(0, Capacity).Select(_ => random.NextDouble() * 10).ToArray();
        foreach (IPrioritySampler sampler in new IPrioritySampler[] { _managed, _device64, _device32 })
        {
            sampler.AddAtMaxPriority(all);
            sampler.UpdatePriorities(all, initial);
        }

        for (int i = 0; i < _magnitudes.Length; i++)
        {
            _magnitudes[i] = Enumerable.Range(0, BatchSize).Select(_ => random.NextDouble() * 10).ToArray();
        }

        _magnitudeTensors = _magnitudes.Select(m => tensor(m, ScalarType.Float32).DetachFromDisposeScope()).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _managed.Dispose();
        _device64.Dispose();
        _device32.Dispose();
        foreach (Tensor t in _magnitudeTensors)
        {
            t.Dispose();
        }
    }

    /// <summary>Managed sampler, span overloads (no tensors): the storage-on-CPU path.</summary>
    [Benchmark(Baseline = true)]
    public float ManagedSpans()
    {
        _managed.Sample(Beta, _slots, _weights);
        _managed.UpdatePriorities(_slots, _magnitudes[_round++ & 63]);
        return _weights[0];
    }

    /// <summary>Managed sampler, tensor overloads: int64 indices and float32 weights out, float32 |δ| tensor in.</summary>
    [Benchmark]
    public float ManagedTensors()
    {
        using DisposeScope scope = NewDisposeScope();
        PrioritySample sample = _managed.Sample(BatchSize, Beta);
        _managed.UpdatePriorities(sample.Indices, _magnitudeTensors[_round++ & 63]);
        return sample.Weights.numel();
    }

    /// <summary>Device sampler on the CPU, float64 priorities (cumsum + searchsorted over 10^6 per sample).</summary>
    [Benchmark]
    public float DeviceFloat64OnCpu() => DeviceStep(_device64);

    /// <summary>Device sampler on the CPU, float32 priorities.</summary>
    [Benchmark]
    public float DeviceFloat32OnCpu() => DeviceStep(_device32);

    private float DeviceStep(DevicePrioritySampler sampler)
    {
        using DisposeScope scope = NewDisposeScope();
        PrioritySample sample = sampler.Sample(BatchSize, Beta);
        sampler.UpdatePriorities(sample.Indices, _magnitudeTensors[_round++ & 63]);
        return sample.Weights.numel();
    }
}
