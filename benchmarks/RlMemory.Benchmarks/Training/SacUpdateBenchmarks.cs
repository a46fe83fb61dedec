using BenchmarkDotNet.Attributes;
using RlMemory.Agents.Continuous;
using RlMemory.Benchmarks.Agents;
using RlMemory.Memory;
using RlMemory.Training.Sac;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// One gradient step of SAC at the <c>sac-pendulum</c> preset's sizes (batch 256, 256-256 networks, 3 observations, 1
/// action), against the matrix products that step cannot avoid, made alone with libtorch's <c>addmm_</c> (MKL) into
/// preallocated outputs: the floor that any implementation on libtorch's products pays per update on this CPU. Their
/// ratio is the share of an update that is not arithmetic; the floor bounds how many updates per second (and so env
/// steps per second at one update per step) SAC can reach here.
/// </summary>
public class SacUpdateBenchmarks
{
    private const int Batch = 256, Hidden = 256, Observations = 3, Actions = 1;

    private SacLearner _learner = null!;
    private TransitionBatch _batch = null!;
    private readonly List<(Tensor Out, Tensor A, Tensor B)> _products = [];
    private readonly List<Tensor> _owned = [];
    private long _step;

    /// <summary>torch intra-op threads (the preset's default is 1; the machine has 2 cores).</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkConditions.LikeTraining();
        torch.set_num_threads(Threads);
        manual_seed(1);
        SacConfig config = SacConfig.FromPreset("sac-pendulum");
        var actor = new ContinuousActorConfig { ObservationSize = Observations, Low = [-2f], High = [2f], HiddenSizes = config.NetArch };
        _learner = new SacLearner(actor, CPU, config);
        _batch = new TransitionBatch(
            randn(Batch, Observations), rand(Batch, Actions).mul(4).sub(2), randn(Batch), randn(Batch, Observations),
            zeros(Batch), zeros(Batch), full(Batch, 0.99f), arange(Batch), null);

        // The products of one update (m × k × n as out[m, n] = a[m, k] · b[k, n]) for MLPs input → 256 → 256 → output.
        void Forward(int input, int output)
        {
            // x·W1ᵀ, h1·W2ᵀ, h2·W3ᵀ
            Add(Batch, input, Hidden);
            Add(Batch, Hidden, Hidden);
            Add(Batch, Hidden, output);
        }

        void Mlp(int input, int output, bool weightGradients, bool inputGradient)
        {
            Forward(input, output);
            if (weightGradients)
            {
                Add(output, Batch, Hidden); // dW3 = dyᵀ·h2
                Add(Hidden, Batch, Hidden); // dW2 = dh2ᵀ·h1
                Add(Hidden, Batch, input);  // dW1 = dh1ᵀ·x
            }

            Add(Batch, output, Hidden); // dh2 = dy·W3
            Add(Batch, Hidden, Hidden); // dh1 = dh2·W2
            if (inputGradient)
            {
                Add(Batch, Hidden, input); // dx = dh1·W1
            }
        }

        int criticInput = Observations + Actions, actorOutput = 2 * Actions; // mean and log std
        Forward(Observations, actorOutput);               // a ∼ π(·|s), kept for the α and policy losses
        Forward(Observations, actorOutput);               // a' ∼ π(·|s') for the target
        Forward(criticInput, 1);                          // the two target critics
        Forward(criticInput, 1);
        Mlp(criticInput, 1, weightGradients: true, inputGradient: false); // the two critics' update
        Mlp(criticInput, 1, weightGradients: true, inputGradient: false);
        Mlp(criticInput, 1, weightGradients: false, inputGradient: true); // the policy loss through both critics
        Mlp(criticInput, 1, weightGradients: false, inputGradient: true);
        Add(actorOutput, Batch, Hidden);                  // the policy's backward (its forward is the first one above)
        Add(Hidden, Batch, Hidden);
        Add(Hidden, Batch, Observations);
        Add(Batch, actorOutput, Hidden);
        Add(Batch, Hidden, Hidden);
    }

    private void Add(int m, int k, int n)
    {
        Tensor a = randn(m, k), b = randn(k, n), c = zeros(m, n);
        _owned.AddRange([a, b, c]);
        _products.Add((c, a, b));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _learner.Dispose();
        _batch.Dispose();
        foreach (Tensor t in _owned)
        {
            t.Dispose();
        }
    }

    /// <summary>One SAC gradient step as a training run takes it (α, critics, policy, Polyak update).</summary>
    [Benchmark(Baseline = true)]
    public void LearnerStep() => _learner.Step(_batch, ++_step, 0);

    /// <summary>The same update's matrix products alone (45 products, 16 of them 256 × 256 × 256: 272,957,440 multiply-adds).</summary>
    [Benchmark]
    public void ProductsOnly()
    {
        foreach (var (c, a, b) in _products)
        {
            c.addmm_(a, b, beta: 0);
        }
    }
}
