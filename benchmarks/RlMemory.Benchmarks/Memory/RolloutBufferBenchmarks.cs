using BenchmarkDotNet.Attributes;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Memory;

/// <summary>
/// <c>RolloutBuffer.Add</c> of one 8-environment vector step (CartPole-sized observations, discrete actions) on the CPU
/// (torch threads: 1), with values and log-probabilities as spans or as CPU tensors, and optionally an LSTM state
/// (h, c of 64 floats each) per step. Reported per step. Episodes end with probability 1/200 per environment step.
/// </summary>
[MemoryDiagnoser]
public class RolloutAddBenchmarks
{
    private RolloutBuffer _buffer = null!;
    private RolloutData _data = null!;
    private Tensor _values = null!;
    private Tensor _logProbs = null!;
    private RecurrentState? _state;

    [Params(false, true)]
    public bool Recurrent { get; set; }

    [Params(false, true)]
    public bool TensorValues { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new RolloutBuffer(RolloutData.Options(Recurrent));
        _data = new RolloutData(seed: 1);
        _values = torch.tensor(_data.Values[0]).DetachFromDisposeScope();
        _logProbs = torch.tensor(_data.LogProbs[0]).DetachFromDisposeScope();
        _state = Recurrent ? RecurrentState.Zeros(RolloutData.Lstm, RolloutData.NumEnvs).DetachFromDisposeScope() : null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _buffer.Dispose();
        _values.Dispose();
        _logProbs.Dispose();
        _state?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = RolloutData.NumSteps)]
    public void Add()
    {
        _buffer.Clear();
        for (int t = 0; t < RolloutData.NumSteps; t++)
        {
            if (TensorValues)
            {
                _buffer.Add(new VectorStep<int>(_data.Observations[t], _data.Actions[t], _data.Rewards[t], _data.Terminated[t], _data.Truncated[t], default), _values, _logProbs, _state);
            }
            else
            {
                _buffer.Add(new VectorStep<int>(_data.Observations[t], _data.Actions[t], _data.Rewards[t], _data.Terminated[t], _data.Truncated[t], default), _data.Values[t], _data.LogProbs[t], _state);
            }
        }
    }
}

/// <summary>
/// GAE(λ) over a full rollout of T = 128 steps × N = 8 environments on the CPU (torch threads: 1):
/// <c>ComputeReturnsAndAdvantages</c> (host, double, with the read of the values and the write of the results), against
/// the same recursion written as tensor operations (one small kernel per operation and step, what a device
/// implementation costs).
/// </summary>
[MemoryDiagnoser]
public class RolloutGaeBenchmarks
{
    private RolloutBuffer _buffer = null!;
    private float[] _last = null!;
    private Tensor _rewards = null!;
    private Tensor _values = null!;
    private Tensor _notTerminated = null!;
    private Tensor _notDone = null!;
    private Tensor _lastValues = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new RolloutBuffer(RolloutData.Options(recurrent: false));
        var data = new RolloutData(seed: 2);
        data.Fill(_buffer, state: null);
        _last = data.Values[0];
        _rewards = torch.tensor(data.Rewards.SelectMany(r => r.Select(x => (float)x)).ToArray(), [RolloutData.NumSteps, RolloutData.NumEnvs]).DetachFromDisposeScope();
        _values = torch.tensor(data.Values.SelectMany(v => v).ToArray(), [RolloutData.NumSteps, RolloutData.NumEnvs]).DetachFromDisposeScope();
        _notTerminated = torch.tensor(data.Terminated.SelectMany(v => v.Select(x => x ? 0f : 1f)).ToArray(), [RolloutData.NumSteps, RolloutData.NumEnvs]).DetachFromDisposeScope();
        _notDone = torch.tensor(data.Terminated.Zip(data.Truncated).SelectMany(p => p.First.Zip(p.Second, (a, b) => a || b ? 0f : 1f)).ToArray(), [RolloutData.NumSteps, RolloutData.NumEnvs]).DetachFromDisposeScope();
        _lastValues = torch.tensor(_last).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _buffer.Dispose();
        foreach (Tensor t in new[] { _rewards, _values, _notTerminated, _notDone, _lastValues })
        {
            t.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    public void HostDouble() => _buffer.ComputeReturnsAndAdvantages(_last);

    [Benchmark]
    public void TensorOperations()
    {
        const float gamma = 0.99f, lambda = 0.95f;
        using var scope = torch.NewDisposeScope();
        Tensor advantages = torch.empty([RolloutData.NumSteps, RolloutData.NumEnvs]);
        Tensor last = torch.zeros(RolloutData.NumEnvs);
        for (int t = RolloutData.NumSteps - 1; t >= 0; t--)
        {
            Tensor next = t == RolloutData.NumSteps - 1 ? _lastValues : _values[t + 1];
            Tensor delta = _rewards[t] + gamma * next * _notTerminated[t] - _values[t];
            last = delta + gamma * lambda * _notDone[t] * last;
            advantages[t] = last;
        }

        Tensor returns = advantages + _values;
    }
}

/// <summary>
/// One epoch of minibatches from a full, computed rollout of T = 128 × N = 8 on the CPU (torch threads: 1), each batch
/// disposed: feed-forward, 4 minibatches of 256 entries (the last smaller by the pseudo-steps); recurrent, chunks of 32
/// steps with an LSTM state (h, c of 64), 8 sequences per minibatch (4 minibatches). Advantages normalized per minibatch.
/// </summary>
[MemoryDiagnoser]
public class RolloutMinibatchBenchmarks
{
    private RolloutBuffer _buffer = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _buffer = new RolloutBuffer(RolloutData.Options(recurrent: true));
        var data = new RolloutData(seed: 3);
        using RecurrentState state = RecurrentState.Zeros(RolloutData.Lstm, RolloutData.NumEnvs);
        data.Fill(_buffer, state);
        _buffer.ComputeReturnsAndAdvantages(data.Values[0]);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int FeedForwardEpoch()
    {
        int n = 0;
        foreach (RolloutBatch batch in _buffer.Minibatches(256))
        {
            n += batch.Size;
            batch.Dispose();
        }

        return n;
    }

    [Benchmark]
    public int RecurrentEpoch()
    {
        int n = 0;
        foreach (RolloutSequenceBatch batch in _buffer.SequenceMinibatches(32, 8))
        {
            n += batch.ValidCount;
            batch.Dispose();
        }

        return n;
    }
}

/// <summary>Pre-drawn rollout data: T = 128 steps of N = 8 CartPole-like environments.</summary>
internal sealed class RolloutData
{
    public const int NumSteps = 128;
    public const int NumEnvs = 8;
    public const int ObservationSize = 4;

    public RolloutData(int seed)
    {
        var rng = new Random(seed);
        Observations = new float[NumSteps][];
        Actions = new int[NumSteps][];
        Rewards = new double[NumSteps][];
        Terminated = new bool[NumSteps][];
        Truncated = new bool[NumSteps][];
        Values = new float[NumSteps][];
        LogProbs = new float[NumSteps][];
        for (int t = 0; t < NumSteps; t++)
        {
            Observations[t] = Enumerable.Range(0, NumEnvs * ObservationSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            Actions[t] = Enumerable.Range(0, NumEnvs).Select(_ => rng.Next(0, 2)).ToArray();
            Rewards[t] = Enumerable.Repeat(1.0, NumEnvs).ToArray();
            Values[t] = Enumerable.Range(0, NumEnvs).Select(_ => (float)(rng.NextDouble() * 50)).ToArray();
            LogProbs[t] = Enumerable.Range(0, NumEnvs).Select(_ => (float)-rng.NextDouble()).ToArray();
            Terminated[t] = new bool[NumEnvs];
            Truncated[t] = new bool[NumEnvs];
            for (int e = 0; e < NumEnvs; e++)
            {
                double u = rng.NextDouble();
                Terminated[t][e] = u < 0.0035;
                Truncated[t][e] = !Terminated[t][e] && u < 0.005;
            }
        }
    }

    /// <summary>An LSTM state of 64 hidden units.</summary>
    public static RecurrentStateSpec Lstm { get; } = new([new RecurrentStatePart("h", [64], ScalarType.Float32), new RecurrentStatePart("c", [64], ScalarType.Float32)]);

    public float[][] Observations { get; }

    public int[][] Actions { get; }

    public double[][] Rewards { get; }

    public bool[][] Terminated { get; }

    public bool[][] Truncated { get; }

    public float[][] Values { get; }

    public float[][] LogProbs { get; }

    public static RolloutBufferOptions Options(bool recurrent) => new()
    {
        NumSteps = NumSteps,
        NumEnvs = NumEnvs,
        ObservationShape = [ObservationSize],
        Gamma = 0.99,
        GaeLambda = 0.95,
        RecurrentState = recurrent ? Lstm : null,
        Seed = 1,
    };

    public void Fill(RolloutBuffer buffer, RecurrentState? state)
    {
        buffer.Clear();
        for (int t = 0; t < NumSteps; t++)
        {
            buffer.Add(new VectorStep<int>(Observations[t], Actions[t], Rewards[t], Terminated[t], Truncated[t], default), Values[t], LogProbs[t], state);
        }
    }
}
