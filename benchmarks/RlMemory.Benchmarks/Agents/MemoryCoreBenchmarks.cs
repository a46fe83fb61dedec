using BenchmarkDotNet.Attributes;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Agents;

/// <summary>The core measured by the memory-core suites: 8-float observations, encoder [64], LSTM 128, N = 32, W = 16, R = 2.</summary>
internal static class MemoryCoreSetup
{
    public const int ObservationSize = 8;

    public static MemoryCore Build(bool allocation)
    {
        torch.set_num_threads(1);
        manual_seed(1);
        return new MemoryCore(new MemoryCoreConfig
        {
            ObservationSize = ObservationSize,
            EncoderSizes = [64],
            HiddenSize = 128,
            Memory = new ExternalMemoryConfig { Slots = 32, Width = 16, ReadHeads = 2, UseAllocation = allocation },
        });
    }
}

/// <summary>
/// <c>MemoryCore.Step</c> for 16 environments under <c>no_grad</c> (acting), the state carried from step to step and
/// the previous one disposed, on the CPU (torch threads: 1). Reported per step.
/// </summary>
[MemoryDiagnoser]
public class MemoryCoreStepBenchmarks
{
    private const int StepsPerInvoke = 50;
    private const int Batch = 16;

    private MemoryCore _core = null!;
    private Tensor _observations = null!;
    private RecurrentState _state = null!;

    [Params(false, true)]
    public bool Allocation { get; set; }

    /// <summary>The fused kernel (C#, the default) or the tensor path (the reference).</summary>
    [Params(true, false)]
    public bool Fused { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _core = MemoryCoreSetup.Build(Allocation);
        _core.UseFusedKernel = Fused;
        _observations = randn(Batch, MemoryCoreSetup.ObservationSize).DetachFromDisposeScope();
        _state = _core.InitialState(Batch).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _state.Dispose();
        _observations.Dispose();
        _core.Dispose();
    }

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public void Step()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < StepsPerInvoke; i++)
        {
            var (features, next) = _core.Step(_observations, _state);
            features.Dispose();
            _state.Dispose();
            _state = next;
        }
    }
}

/// <summary>
/// <c>MemoryCore.Unroll</c> of 32 sequences of 40 steps on the CPU (torch threads: 1): under <c>no_grad</c> (a burn-in),
/// forward building the graph, and forward plus <c>backward</c> of the summed features (a learner's step without the
/// loss and optimizer). Every tensor is disposed after each call.
/// </summary>
[MemoryDiagnoser]
public class MemoryCoreUnrollBenchmarks
{
    private const int Batch = 32;
    private const int Steps = 40;

    private MemoryCore _core = null!;
    private Tensor _observations = null!;
    private RecurrentState _state = null!;

    [Params(false, true)]
    public bool Allocation { get; set; }

    /// <summary>The fused kernel (C#, the default) or the tensor path (the reference).</summary>
    [Params(true, false)]
    public bool Fused { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _core = MemoryCoreSetup.Build(Allocation);
        _core.UseFusedKernel = Fused;
        _observations = randn(Batch, Steps, MemoryCoreSetup.ObservationSize).DetachFromDisposeScope();
        _state = _core.InitialState(Batch).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _state.Dispose();
        _observations.Dispose();
        _core.Dispose();
    }

    [Benchmark]
    public void UnrollNoGrad()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _core.Unroll(_observations, _state);
    }

    [Benchmark]
    public void UnrollForward()
    {
        using var scope = NewDisposeScope();
        _core.Unroll(_observations, _state);
    }

    [Benchmark]
    public void UnrollForwardBackward()
    {
        using var scope = NewDisposeScope();
        var (features, _) = _core.Unroll(_observations, _state);
        features.sum().backward();
        _core.zero_grad();
    }
}

/// <summary>
/// A learner's pass over a batch of sequences, 64 × 80 steps, for each core at the T-maze presets' sizes (8-float
/// observations, encoder [32], hidden 64; memory 16 × 16, one read head, allocation): forward building the graph, then
/// backward of the summed features. <c>lstm</c> is <see cref="LstmCore"/> (libtorch's fused LSTM), <c>memory</c> the
/// memory core's fused kernel, <c>memory-tensor</c> its tensor path. Torch threads: 1.
/// </summary>
[MemoryDiagnoser]
public class RecurrentCoreSequenceBenchmarks
{
    private const int Batch = 64;
    private const int Steps = 80;
    private const int ObservationSize = 8;

    private RecurrentCore _core = null!;
    private Tensor _observations = null!;
    private RecurrentState _state = null!;

    [Params("lstm", "memory", "memory-tensor")]
    public string Core { get; set; } = "lstm";

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        manual_seed(1);
        var config = new CoreConfig
        {
            Kind = Core == "lstm" ? "lstm" : "memory",
            EncoderSizes = [32],
            HiddenSize = 64,
            MemorySlots = 16,
            MemoryWidth = 16,
            ReadHeads = 1,
            MemoryAllocation = true,
        };
        _core = config.Create(ObservationSize);
        if (_core is MemoryCore memory)
        {
            memory.UseFusedKernel = Core == "memory";
        }

        _observations = randn(Batch, Steps, ObservationSize).DetachFromDisposeScope();
        _state = _core.InitialState(Batch).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _state.Dispose();
        _observations.Dispose();
        _core.Dispose();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        using var scope = NewDisposeScope();
        var (features, _) = _core.Unroll(_observations, _state);
        features.sum().backward();
        _core.zero_grad();
    }

    [Benchmark]
    public void ForwardNoGrad()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _core.Unroll(_observations, _state);
    }
}
