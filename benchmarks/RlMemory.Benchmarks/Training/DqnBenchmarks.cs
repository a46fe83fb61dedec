using BenchmarkDotNet.Attributes;
using RlMemory.Agents;
using RlMemory.Benchmarks.Agents;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Dqn;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// The gradient steps of the <c>dqn-cartpole</c> preset: a [4, 256, 256, 2] Q-network, batch 64, Adam (lr 2.3e-3),
/// Huber loss, gradient clipping at 10, uniform replay of 10⁵ CartPole-like transitions. One invoke is one training
/// phase as the trainer runs it (one sample of 128 minibatches, one target pass, 128 updates); reported per
/// gradient step. The preset's 50,000 steps take 25,000 gradient steps.
/// </summary>
[MemoryDiagnoser]
public class DqnGradientStepBenchmarks
{
    private const int Steps = 128;
    private const int BatchSize = 64;

    private DqnLearner _learner = null!;
    private ReplayBuffer _replay = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkConditions.LikeTraining();
        torch.set_num_threads(Threads);
        manual_seed(0);
        _learner = new DqnLearner(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [256, 256] }, CPU, 2.3e-3, doubleQ: false, loss: "huber", maxGradNorm: 10);
        _replay = new ReplayBuffer(new ReplayBufferOptions { Capacity = 100_000, ObservationShape = [4], Seed = 1 });
        var random = new Random(0);
        float[] observation = new float[4], next = new float[4];
        for (int i = 0; i < 100_000; i++)
        {
            for (int k = 0; k < 4; k++)
            {
                observation[k] = (float)random.NextDouble();
                next[k] = (float)random.NextDouble();
            }

            _replay.Add(new VectorStep<int>(observation, [random.Next(2)], [1.0], [random.Next(100) == 0], [false], next));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _learner.Dispose();
        _replay.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public void GradientStep()
    {
        using var scope = NewDisposeScope();
        TransitionBatch all = _replay.Sample(BatchSize, Steps);
        Tensor targets = _learner.Precompute(all);
        for (int g = 0; g < Steps; g++)
        {
            using var step = NewDisposeScope();
            _learner.Step(all.Slice(g * BatchSize, BatchSize), wantPriorities: false, envStep: 0, targets.narrow(0, g * BatchSize, BatchSize));
        }
    }
}

/// <summary>ε-greedy action selection for a vector step with the <c>dqn-cartpole</c> network, one torch thread.</summary>
[MemoryDiagnoser]
public class DqnActBenchmarks
{
    private QNetwork _network = null!;
    private BatchedActor _actor = null!;
    private float[] _observations = null!;
    private int[] _actions = null!;

    [Params(1, 16)]
    public int Envs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkConditions.LikeTraining();
        torch.set_num_threads(1);
        manual_seed(0);
        _network = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [256, 256] });
        _actor = new BatchedActor(_network, Envs, seed: 1);
        _observations = [.. Enumerable.Range(0, Envs * 4).Select(i => (float)Math.Sin(i))];
        _actions = new int[Envs];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _actor.Dispose();
        _network.Dispose();
    }

    [Benchmark]
    public void EpsilonGreedy() => _actor.EpsilonGreedy(_observations, _actions, 0.1);
}
