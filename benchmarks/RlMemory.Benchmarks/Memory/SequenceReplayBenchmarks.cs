using BenchmarkDotNet.Attributes;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Memory;

/// <summary>
/// <c>Sample(64)</c> of R2D2 sequences (T = 80: burn-in 40, learning 40, overlap 40) with CartPole observations (4
/// floats) and an LSTM state {h [128], c [128]}, from a full <see cref="SequenceReplayBuffer"/> of 10,000 sequences on
/// the CPU (torch threads: 1), the batch disposed. Prioritized: β = 0.6 (R2D2), priorities random. Also one
/// prioritized learner step's <c>UpdatePriorities</c> (64 × 40 TD errors).
/// </summary>
[MemoryDiagnoser]
public class SequenceSampleBenchmarks
{
    private SequenceReplayBuffer _buffer = null!;
    private Tensor _indices = null!;
    private Tensor _tdErrors = null!;
    private Tensor _mask = null!;

    [Params(false, true)]
    public bool Prioritized { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new SequenceReplayBuffer(SequenceStream.Options(Prioritized, capacity: 10_000));
        SequenceStream.Fill(_buffer, sequences: 10_000);
        var random = new Random(3);
        if (Prioritized)
        {
            // Random priorities everywhere, so that sampling is not uniform.
            using Tensor all = arange(10_000, ScalarType.Int64);
            using var generator = new Generator(5);
            using Tensor td = rand([10_000, 40], generator: generator);
            using Tensor mask = ones(10_000, 40);
            _buffer.UpdatePriorities(all, td, mask);
        }

        _indices = tensor(Enumerable.Range(0, 64).Select(_ => (long)random.Next(10_000)).ToArray()).DetachFromDisposeScope();
        using (var generator = new Generator(6))
        {
            _tdErrors = randn([64, 40], generator: generator).DetachFromDisposeScope();
        }

        _mask = ones(64, 40).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _buffer.Dispose();
        _indices.Dispose();
        _tdErrors.Dispose();
        _mask.Dispose();
    }

    [Benchmark]
    public int Sample64()
    {
        using SequenceBatch batch = _buffer.Sample(64, beta: 0.6);
        return batch.Size;
    }

    [Benchmark]
    public void UpdatePriorities64()
    {
        if (Prioritized)
        {
            _buffer.UpdatePriorities(_indices, _tdErrors, _mask);
        }
    }
}

/// <summary>
/// <c>AddStep</c> of one 16-environment vector step (with the LSTM state {h [128], c [128]} before the step) into a full
/// sequence buffer of 10,000 sequences (T = 80, overlap 40) on the CPU. Episodes end with probability 1/200 per step.
/// Reported per step.
/// </summary>
[MemoryDiagnoser]
public class SequenceAddStepBenchmarks
{
    private const int StepsPerInvoke = 400;

    private SequenceReplayBuffer _buffer = null!;
    private SequenceStream _stream = null!;

    [Params(false, true)]
    public bool Prioritized { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new SequenceReplayBuffer(SequenceStream.Options(Prioritized, capacity: 10_000));
        SequenceStream.Fill(_buffer, sequences: 10_000);
        _stream = new SequenceStream(steps: StepsPerInvoke, seed: 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _buffer.Dispose();
        _stream.Dispose();
    }

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public void AddStep()
    {
        for (int i = 0; i < StepsPerInvoke; i++)
        {
            _stream.Add(_buffer, i);
        }
    }
}

/// <summary>Pre-drawn 16-environment steps (CartPole-like) that cycle, with a fixed LSTM state, for feeding sequence buffers.</summary>
internal sealed class SequenceStream : IDisposable
{
    public const int NumEnvs = 16;

    private readonly float[][] _observations;
    private readonly int[][] _actions;
    private readonly double[][] _rewards;
    private readonly bool[][] _terminated;
    private readonly bool[][] _truncated;
    private readonly RecurrentState _state;

    public SequenceStream(int steps, int seed)
    {
        var rng = new Random(seed);
        _observations = new float[steps + 1][];
        for (int i = 0; i <= steps; i++)
        {
            _observations[i] = Enumerable.Range(0, NumEnvs * 4).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        }

        _actions = new int[steps][];
        _rewards = new double[steps][];
        _terminated = new bool[steps][];
        _truncated = new bool[steps][];
        for (int i = 0; i < steps; i++)
        {
            _actions[i] = new int[NumEnvs];
            _rewards[i] = new double[NumEnvs];
            _terminated[i] = new bool[NumEnvs];
            _truncated[i] = new bool[NumEnvs];
            for (int e = 0; e < NumEnvs; e++)
            {
                _actions[i][e] = rng.Next(0, 2);
                _rewards[i][e] = 1;
                double u = rng.NextDouble();
                _terminated[i][e] = u < 0.0035;
                _truncated[i][e] = !_terminated[i][e] && u < 0.005;
            }
        }

        using (NewDisposeScope())
        {
            _state = new RecurrentState([("h", randn(NumEnvs, 128)), ("c", randn(NumEnvs, 128))]).DetachFromDisposeScope();
        }

        Steps = steps;
    }

    public int Steps { get; }

    public static SequenceReplayOptions Options(bool prioritized, int capacity) => new()
    {
        Capacity = capacity,
        BurnIn = 40,
        LearningLength = 40,
        Overlap = 40,
        ObservationShape = [4],
        NumEnvs = NumEnvs,
        StateSpec = new RecurrentStateSpec([new("h", [128], ScalarType.Float32), new("c", [128], ScalarType.Float32)]),
        Prioritized = prioritized,
        Seed = 1,
    };

    /// <summary>Adds step <paramref name="i"/> (mod <see cref="Steps"/>).</summary>
    public void Add(SequenceReplayBuffer buffer, int i)
    {
        int k = i % Steps;
        buffer.Add(new VectorStep<int>(_observations[k], _actions[k], _rewards[k], _terminated[k], _truncated[k], _observations[k + 1]), _state);
    }

    /// <summary>Adds steps until the buffer holds <paramref name="sequences"/> sequences (or is full).</summary>
    public static void Fill(SequenceReplayBuffer buffer, int sequences)
    {
        using var stream = new SequenceStream(steps: 1024, seed: 2);
        int target = Math.Min(sequences, buffer.Capacity);
        for (int i = 0; buffer.Count < target; i++)
        {
            stream.Add(buffer, i);
        }
    }

    public void Dispose() => _state.Dispose();
}
