using BenchmarkDotNet.Attributes;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Agents;

/// <summary>
/// The fused memory kernel's per-step matrix products, c[m, n] += a[m, k] · b[k, n], at the presets' shapes: the
/// kernel's own product (512-bit blocks with AVX-512, else <see cref="VectorProduct{T}"/>) against libtorch's
/// <c>addmm_</c> (MKL) on the same operands, one torch thread.
/// </summary>
public class VectorProductBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private Tensor _ta = null!, _tb = null!, _tc = null!;
    private int _m, _k, _n;

    /// <summary>m × k × n: T-maze presets' gates and interface layer (32 rows), acting with 8 environments, PPO CartPoleNoVel's gates (H = 128, 8 rows).</summary>
    [Params("32x80x256", "32x256x80", "32x64x69", "8x80x256", "8x160x512")]
    public string Shape { get; set; } = "32x80x256";

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkConditions.LikeTraining();
        torch.set_num_threads(1);
        int[] dims = [.. Shape.Split('x').Select(int.Parse)];
        (_m, _k, _n) = (dims[0], dims[1], dims[2]);
        var random = new Random(1);
        _a = [.. Enumerable.Range(0, _m * _k).Select(_ => (float)(random.NextDouble() - 0.5))];
        _b = [.. Enumerable.Range(0, _k * _n).Select(_ => (float)(random.NextDouble() - 0.5))];
        _c = new float[_m * _n];
        _ta = tensor(_a).reshape(_m, _k);
        _tb = tensor(_b).reshape(_k, _n);
        _tc = zeros(_m, _n);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ta.Dispose();
        _tb.Dispose();
        _tc.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Kernel() => FusedMemorySequence<float>.MultiplyAdd(_a, _m, _k, _b, _n, _c);

    [Benchmark]
    public void LibTorchAddmm() => _tc.addmm_(_ta, _tb);
}

/// <summary>The content weighting's slot dot products and squares: eight slots at a time (<see cref="SmallSpans.RowDots{T}"/>) against one slot at a time.</summary>
public class SlotDotsBenchmarks
{
    private readonly float[] _key = new float[16], _memory = new float[32 * 16], _dots = new float[32], _squares = new float[32];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (int i = 0; i < _memory.Length; i++)
        {
            _memory[i] = (float)(random.NextDouble() - 0.5);
        }

        for (int i = 0; i < _key.Length; i++)
        {
            _key[i] = (float)(random.NextDouble() - 0.5);
        }
    }

    [Benchmark(Baseline = true)]
    public void OneSlotAtATime()
    {
        for (int i = 0; i < 32; i++)
        {
            (_dots[i], _squares[i]) = SmallSpans.DotAndSquares<float>(_key, _memory.AsSpan(i * 16, 16));
        }
    }

    [Benchmark]
    public void EightSlotsAtATime() => SmallSpans.RowDots<float>(_key, _memory, 32, _dots, _squares);
}
