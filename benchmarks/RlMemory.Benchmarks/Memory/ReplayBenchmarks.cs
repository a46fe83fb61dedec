using BenchmarkDotNet.Attributes;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using TorchSharp;

namespace RlMemory.Benchmarks.Memory;

/// <summary>The observation kinds the replay benchmarks use.</summary>
public enum ReplayObservation
{
    /// <summary>4 float32 values (CartPole).</summary>
    CartPole,

    /// <summary>84 × 84 values stored as bytes (an Atari frame).</summary>
    Atari,
}

/// <summary>
/// <c>AddStep</c> of one 16-environment vector step into a full uniform buffer of capacity 10⁶ on the CPU (torch
/// threads: 1). Reported per step (16 transitions). Episodes end with probability 1/200 per environment step (70% terminations),
/// so about one transition in 200 is an autoreset pseudo-step. Reference: SB3 2.4's ReplayBuffer adds about 250,000
/// CartPole transitions a second on this machine.
/// </summary>
[MemoryDiagnoser]
public class ReplayAddStepBenchmarks
{
    private const int StepsPerInvoke = 256;

    private ReplayBuffer _buffer = null!;
    private ReplayStream _stream = null!;

    [Params(ReplayObservation.CartPole, ReplayObservation.Atari)]
    public ReplayObservation Observation { get; set; }

    [Params(false, true)]
    public bool MemorySaving { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new ReplayBuffer(ReplayStream.Options(Observation, MemorySaving, capacity: 1_000_000));
        // Go round the ring once first: the steady state of training, with every page of the storage resident
        // (the first pass also pays the kernel's page faults, about 2× the time for frames).
        ReplayStream.Fill(_buffer, Observation, transitions: 1_000_000);
        _stream = new ReplayStream(Observation, steps: StepsPerInvoke, seed: 1);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public void AddStep()
    {
        for (int i = 0; i < StepsPerInvoke; i++)
        {
            _stream.Add(_buffer, i);
        }
    }
}

/// <summary>
/// <c>Sample(B)</c> from a full uniform buffer of capacity 10⁶ on the CPU (torch threads: 1), the batch disposed.
/// Reference: SB3 2.4's ReplayBuffer samples 256 CartPole transitions in about 81 µs (64 in 54 µs) on this machine.
/// </summary>
[MemoryDiagnoser]
public class ReplaySampleBenchmarks
{
    private ReplayBuffer _buffer = null!;

    [Params(ReplayObservation.CartPole, ReplayObservation.Atari)]
    public ReplayObservation Observation { get; set; }

    [Params(false, true)]
    public bool MemorySaving { get; set; }

    [Params(32, 256)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new ReplayBuffer(ReplayStream.Options(Observation, MemorySaving, capacity: 1_000_000));
        ReplayStream.Fill(_buffer, Observation, transitions: 1_000_000);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public long Sample()
    {
        using TransitionBatch batch = _buffer.Sample(BatchSize);
        return batch.Size;
    }
}

/// <summary>Pre-drawn vector-environment steps (16 environments) that cycle, for feeding buffers in benchmarks.</summary>
internal sealed class ReplayStream
{
    public const int NumEnvs = 16;

    private readonly float[][] _observations;
    private readonly int[][] _actions;
    private readonly double[][] _rewards;
    private readonly bool[][] _terminated;
    private readonly bool[][] _truncated;

    public ReplayStream(ReplayObservation observation, int steps, int seed)
    {
        int size = observation == ReplayObservation.CartPole ? 4 : 84 * 84;
        var rng = new Random(seed);
        _observations = new float[steps + 1][];
        for (int i = 0; i <= steps; i++)
        {
            _observations[i] = new float[NumEnvs * size];
            for (int j = 0; j < _observations[i].Length; j++)
            {
                _observations[i][j] = observation == ReplayObservation.CartPole ? (float)(rng.NextDouble() * 2 - 1) : rng.Next(0, 256);
            }
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

        Steps = steps;
    }

    public int Steps { get; }

    public static ReplayBufferOptions Options(ReplayObservation observation, bool memorySaving, int capacity) => new()
    {
        Capacity = capacity,
        ObservationShape = observation == ReplayObservation.CartPole ? [4] : [84, 84],
        ObservationStorage = observation == ReplayObservation.CartPole ? ObservationStorage.Float32 : ObservationStorage.UInt8,
        NumEnvs = NumEnvs,
        Gamma = 0.99,
        MemorySaving = memorySaving,
        Seed = 1,
    };

    /// <summary>Adds step <paramref name="i"/> (mod <see cref="Steps"/>).</summary>
    public void Add(ReplayBuffer buffer, int i)
    {
        int k = i % Steps;
        buffer.Add(new VectorStep<int>(_observations[k], _actions[k], _rewards[k], _terminated[k], _truncated[k], _observations[k + 1]));
    }

    /// <summary>Adds steps until about <paramref name="transitions"/> transitions went in (the ring is then full).</summary>
    public static void Fill(ReplayBuffer buffer, ReplayObservation observation, long transitions)
    {
        var stream = new ReplayStream(observation, steps: 512, seed: 2);
        long steps = transitions / NumEnvs + 1;
        for (long i = 0; i < steps; i++)
        {
            stream.Add(buffer, (int)(i % stream.Steps));
        }
    }
}
