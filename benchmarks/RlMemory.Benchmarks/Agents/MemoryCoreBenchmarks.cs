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
        BenchmarkConditions.LikeTraining();
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
/// What the core suites share: the core, its inputs and state built once per parameter set, their cleanup, and the
/// passes they time.
/// </summary>
public abstract class RecurrentCoreBenchmark
{
    private RecurrentCore _core = null!;
    private Tensor _observations = null!;
    private RecurrentState _state = null!;

    [GlobalCleanup]
    public void Cleanup()
    {
        _state.Dispose();
        _observations.Dispose();
        _core.Dispose();
    }

    /// <summary>Keeps <paramref name="core"/>, <paramref name="observations"/> and the core's initial state for <paramref name="batch"/> rows.</summary>
    protected void Prepare(RecurrentCore core, Tensor observations, int batch)
    {
        _core = core;
        _observations = observations.DetachFromDisposeScope();
        _state = core.InitialState(batch).DetachFromDisposeScope();
    }

    /// <summary><paramref name="steps"/> calls of <c>Step</c> under <c>no_grad</c>, the state carried and the previous one disposed.</summary>
    protected void StepsNoGrad(int steps)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < steps; i++)
        {
            var (features, next) = _core.Step(_observations, _state);
            features.Dispose();
            _state.Dispose();
            _state = next;
        }
    }

    /// <summary>One <c>Unroll</c> under <c>no_grad</c>.</summary>
    protected void UnrollWithoutGraph()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _core.Unroll(_observations, _state);
    }

    /// <summary>One <c>Unroll</c> building the graph.</summary>
    protected void UnrollWithGraph()
    {
        using var scope = NewDisposeScope();
        _core.Unroll(_observations, _state);
    }

    /// <summary>One <c>Unroll</c>, then <c>backward</c> of the summed features.</summary>
    protected void UnrollAndBackward()
    {
        using var scope = NewDisposeScope();
        var (features, _) = _core.Unroll(_observations, _state);
        features.sum().backward();
        _core.zero_grad();
    }
}

/// <summary>
/// <c>MemoryCore.Step</c> for 16 environments under <c>no_grad</c> (acting), the state carried from step to step and
/// the previous one disposed, on the CPU (torch threads: 1). Reported per step.
/// </summary>
[MemoryDiagnoser]
public class MemoryCoreStepBenchmarks : RecurrentCoreBenchmark
{
    private const int StepsPerInvoke = 50;
    private const int Batch = 16;

    [Params(false, true)]
    public bool Allocation { get; set; }

    /// <summary>The fused kernel (C#, the default) or the tensor path (the reference).</summary>
    [Params(true, false)]
    public bool Fused { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        MemoryCore core = MemoryCoreSetup.Build(Allocation);
        core.UseFusedKernel = Fused;
        Prepare(core, randn(Batch, MemoryCoreSetup.ObservationSize), Batch);
    }

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public void Step() => StepsNoGrad(StepsPerInvoke);
}

/// <summary>
/// <c>MemoryCore.Unroll</c> of 32 sequences of 40 steps on the CPU (torch threads: 1): under <c>no_grad</c> (a burn-in),
/// forward building the graph, and forward plus <c>backward</c> of the summed features (a learner's step without the
/// loss and optimizer). Every tensor is disposed after each call.
/// </summary>
[MemoryDiagnoser]
public class MemoryCoreUnrollBenchmarks : RecurrentCoreBenchmark
{
    private const int Batch = 32;
    private const int Steps = 40;

    [Params(false, true)]
    public bool Allocation { get; set; }

    /// <summary>The fused kernel (C#, the default) or the tensor path (the reference).</summary>
    [Params(true, false)]
    public bool Fused { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        MemoryCore core = MemoryCoreSetup.Build(Allocation);
        core.UseFusedKernel = Fused;
        Prepare(core, randn(Batch, Steps, MemoryCoreSetup.ObservationSize), Batch);
    }

    [Benchmark]
    public void UnrollNoGrad() => UnrollWithoutGraph();

    [Benchmark]
    public void UnrollForward() => UnrollWithGraph();

    [Benchmark]
    public void UnrollForwardBackward() => UnrollAndBackward();
}

/// <summary>
/// A learner's pass over a batch of sequences, 64 × 80 steps, for each core at the T-maze presets' sizes (8-float
/// observations, encoder [32], hidden 64; memory 16 × 16, one read head, allocation): forward building the graph, then
/// backward of the summed features. <c>lstm</c> is <see cref="LstmCore"/> (libtorch's fused LSTM), <c>memory</c> the
/// memory core's fused kernel, <c>memory-tensor</c> its tensor path. Torch threads: 1.
/// </summary>
[MemoryDiagnoser]
public class RecurrentCoreSequenceBenchmarks : RecurrentCoreBenchmark
{
    private const int Batch = 64;
    private const int Steps = 80;
    private const int ObservationSize = 8;

    [Params("lstm", "memory", "memory-tensor")]
    public string Core { get; set; } = "lstm";

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkConditions.LikeTraining();
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
        RecurrentCore core = config.Create(ObservationSize);
        if (core is MemoryCore memory)
        {
            memory.UseFusedKernel = Core == "memory";
        }

        Prepare(core, randn(Batch, Steps, ObservationSize), Batch);
    }

    [Benchmark]
    public void ForwardBackward() => UnrollAndBackward();

    [Benchmark]
    public void ForwardNoGrad() => UnrollWithoutGraph();
}
