using RlMemory.Agents.Continuous;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Sac;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <summary>SAC with generalized state-dependent exploration (gSDE, SB3's <c>use_sde</c>).</summary>
/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="SeededTrainingCollection"/>).</remarks>
[Collection(nameof(SeededTrainingCollection))]
public sealed class SacGsdeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-sac-gsde-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static ContinuousActorConfig Policy(IReadOnlyList<int> hidden) => new()
    {
        ObservationSize = 3,
        Low = [-1f, -2f],
        High = [1f, 4f],
        HiddenSizes = hidden,
        StateDependentNoise = true,
        LogStdInit = -1,
    };

    private static SacConfig Small(long steps = 1200) => new()
    {
        Env = "Pendulum-v1",
        NumEnvs = 2,
        TotalTimesteps = steps,
        NetArch = [32, 32],
        LearningRate = 1e-3,
        BatchSize = 64,
        BufferSize = 5000,
        LearningStarts = 200,
        TrainFreq = 4,
        GradientSteps = 3,
        EvalFreq = 500,
        EvalEpisodes = 2,
        LogInterval = 200,
        Seed = 5,
        UseSde = true,
        SdeSampleFreq = 3,
        LogStdInit = -2,
    };

    [Fact]
    public void TheGsdePolicy_AddsLatentTimesMatrixNoise_WithSb3sLogProbability_AndLearnsItsFeatures()
    {
        // By hand in double: z = relu(W₀x + b₀), μ = clamp(W z + b, ±2), u = μ + z·M, a = tanh(u),
        // σ_k² = Σ_j z_j² exp(2 log std_jk) + 1e-6, log π = Σ_k log N(atanh(a_k); μ_k, σ_k) − log(1 − a_k² + 1e-6).
        manual_seed(1);
        using var actor = new SquashedGaussianActor(Policy([4]));
        Assert.True(actor.StateDependentNoise);
        Assert.Equal(4, actor.LatentWidth);
        var p = actor.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        Assert.Equal(new long[] { 4, 2 }, p["sde_log_std"].shape);
        Assert.DoesNotContain("log_std.weight", p.Keys);
        using (no_grad())
        {
            p["sde_log_std"].copy_(tensor(new float[] { -1f, -0.5f, 0.2f, -2f, 0f, -1.5f, 0.4f, -0.3f }, [4, 2]));
            p["mu.bias"][0] = tensor(3f); // the first mean beyond the ±2 clip
        }

        double[] w0 = Doubles(p["body.linear0.weight"]), b0 = Doubles(p["body.linear0.bias"]), w = Doubles(p["mu.weight"]), b = Doubles(p["mu.bias"]), ls = Doubles(p["sde_log_std"]);
        float[] x = [0.1f, -0.4f, 0.7f, 1.5f, 0.2f, -0.9f];
        using var observations = tensor(x, [2, 3]);
        using var generator = new Generator(11, CPU);
        using Tensor matrix = actor.ExplorationMatrices(1, generator)[0];
        double[] m = Doubles(matrix);
        var (action, logProb) = actor.Sample(observations, null, matrix);
        float[] a = action.data<float>().ToArray(), lp = logProb.data<float>().ToArray();
        var (mean, logStd) = actor.forward(observations);
        float[] forwardMean = mean.data<float>().ToArray(), forwardLogStd = logStd.data<float>().ToArray();
        float[] deterministic = actor.Deterministic(observations).data<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            var z = new double[4];
            for (int j = 0; j < 4; j++)
            {
                z[j] = Math.Max(0, b0[j] + (w0[(j * 3) + 0] * x[(row * 3) + 0]) + (w0[(j * 3) + 1] * x[(row * 3) + 1]) + (w0[(j * 3) + 2] * x[(row * 3) + 2]));
            }

            double expected = 0;
            for (int k = 0; k < 2; k++)
            {
                double mu = Math.Clamp(b[k] + Enumerable.Range(0, 4).Sum(j => w[(k * 4) + j] * z[j]), -2, 2);
                double noise = Enumerable.Range(0, 4).Sum(j => z[j] * m[(j * 2) + k]);
                double sigma = Math.Sqrt(Enumerable.Range(0, 4).Sum(j => z[j] * z[j] * Math.Exp(2 * ls[(j * 2) + k])) + 1e-6);
                int i = (row * 2) + k;
                Assert.Equal(Math.Tanh(mu + noise), a[i], 5);
                Assert.Equal(mu, forwardMean[i], 5);
                Assert.Equal(Math.Log(sigma), forwardLogStd[i], 4);
                Assert.Equal(Math.Tanh(mu), deterministic[i], 5);
                double u = Math.Atanh(a[i]);
                expected += (-0.5 * Math.Pow((u - mu) / sigma, 2)) - Math.Log(sigma) - (0.5 * Math.Log(2 * Math.PI));
                expected -= Math.Log(1 - (a[i] * (double)a[i]) + 1e-6);
            }

            Assert.Equal(expected, lp[row], 2);
        }

        Assert.Equal(Math.Tanh(2), deterministic[0], 5);

        // SAC learns the features through the noise (SB3's learn_features): the body gets gradients from log π as
        // well as log std does; the clipped mean passes none to its bias.
        logProb.sum().backward();
        Assert.True(p["sde_log_std"].grad!.abs().sum().item<float>() > 0);
        Assert.True(p["body.linear0.weight"].grad!.abs().sum().item<float>() > 0);
        Assert.Equal(0f, p["mu.bias"].grad![0].item<float>());

        // TD3's deterministic policy has no noise of its own to make state-dependent.
        var e = Assert.Throws<ArgumentException>(() => new DeterministicActor(Policy([4])));
        Assert.Contains("StateDependentNoise (gSDE) belongs to SAC's squashed Gaussian policy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplorationMatrices_HaveEntriesOfMeanZero_AndTheLogStdsSpread()
    {
        manual_seed(2);
        using var actor = new SquashedGaussianActor(Policy([]));
        var logStd = actor.named_parameters().Single(kv => kv.name == "sde_log_std").parameter;
        using (no_grad())
        {
            logStd.copy_(tensor(new float[] { -1f, 0.5f, 0f, -2f, 0.3f, -0.7f }, [3, 2]));
        }

        using var generator = new Generator(3, CPU);
        using var scope = NewDisposeScope();
        Tensor draws = actor.ExplorationMatrices(20_000, generator).detach();
        Assert.Equal(new long[] { 20_000, 3, 2 }, draws.shape);
        double[] std = Doubles(draws.std(0)), mean = Doubles(draws.mean([0]));
        double[] expected = Doubles(logStd.detach().exp());
        for (int i = 0; i < 6; i++)
        {
            Assert.InRange(std[i] / expected[i], 0.97, 1.03);
            Assert.InRange(mean[i] / expected[i], -0.03, 0.03); // 4 standard errors: 4/√20,000 ≈ 0.028
        }
    }

    [Fact]
    public void ActingHoldsOneMatrixPerEnvironment_UntilABlockStartsOrSdeSampleFreqSteps()
    {
        manual_seed(3);
        var config = Small() with { SdeSampleFreq = 2 };
        using var learner = new SacLearner(Policy([8]), CPU, config);
        using var observations = tensor(new float[] { 0.3f, -0.2f, 0.5f, 0.3f, -0.2f, 0.5f }, [2, 3]); // both rows the same state
        using var generator = new Generator(4, CPU);

        float[] Act(int stepInBlock)
        {
            learner.BeforeExploring(stepInBlock, 2, generator);
            using (no_grad())
            {
                return learner.Explore(observations, generator).data<float>().ToArray();
            }
        }

        float[] first = Act(0);
        Assert.NotEqual(first[0..2], first[2..4]); // each environment its own matrix
        Assert.Equal(first, Act(1)); // held within the block
        float[] third = Act(2); // sde_sample_freq 2: new matrices at the block's step 2
        Assert.NotEqual(first, third);
        Assert.Equal(third, Act(3));
        Assert.NotEqual(third, Act(0)); // a new block after a training phase

        // Without sde_sample_freq the matrices last the whole block.
        using var blockOnly = new SacLearner(Policy([8]), CPU, config with { SdeSampleFreq = -1 });
        blockOnly.BeforeExploring(0, 2, generator);
        using Tensor before = blockOnly.Explore(observations, generator);
        blockOnly.BeforeExploring(2, 2, generator);
        using Tensor after = blockOnly.Explore(observations, generator);
        Assert.Equal(before.data<float>().ToArray(), after.data<float>().ToArray());
    }

    [Fact]
    public void AResumedGsdeRun_StoppedInsideABlock_IsBitwiseEqualToAnUninterruptedRun_AndItsAgentLoads()
    {
        // Stopped at step 706 = vector step 353: inside a block of 4 whose matrices were drawn at vector step 352.
        SacConfig config = Small();
        string straight = Path.Combine(_dir, "straight");
        using var uninterrupted = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = straight });
        uninterrupted.Learn();

        string interruptedDir = Path.Combine(_dir, "interrupted");
        using (var first = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, Callbacks = [new StopAt(706)] }))
        {
            Assert.Equal(706, first.Learn().Steps);
        }

        using var resumed = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, ResumeFrom = interruptedDir });
        resumed.Learn();
        Assert.Equal(uninterrupted.Updates, resumed.Updates);
        foreach (var ((name, x), (_, y)) in uninterrupted.Agent.Actor.named_parameters().Zip(resumed.Agent.Actor.named_parameters()))
        {
            Assert.True(x.data<float>().ToArray().SequenceEqual(y.data<float>().ToArray()), $"parameter {name} differs");
        }

        Assert.Equal(ProgressRows.WithoutWallClock(straight), ProgressRows.WithoutWallClock(interruptedDir));

        // The agent file carries the gSDE architecture; the loaded agent acts as the trainer's (the clipped mean).
        string path = Path.Combine(_dir, "gsde.rlagent");
        uninterrupted.Agent.Save(path);
        using SacAgent loaded = SacAgent.Load(path);
        Assert.True(loaded.Actor.StateDependentNoise);
        float[] observations = [0.2f, -0.9f, 1.3f, -1f, 0.1f, -4f];
        float[] expected = new float[2], actual = new float[2];
        uninterrupted.Agent.Act(observations, expected);
        loaded.Act(observations, actual);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("sde_sample_freq=4", "sde_sample_freq set without use_sde: these settings belong to gSDE; set use_sde: true or remove them.")]
    [InlineData("log_std_init=-2", "log_std_init set without use_sde")]
    [InlineData("use_sde_at_warmup=true", "use_sde_at_warmup set without use_sde")]
    [InlineData("sde_sample_freq=0", "sde_sample_freq = '0' is out of range: must be -1 or in [1, 1048576]")]
    public void GsdeSettingsWithoutUseSde_OrOutOfRange_AreRefused(string assignment, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => new SacTrainer(SacConfig.FromPreset("sac-pendulum", assignment), new TrainerOptions { Quiet = true }));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseSdeAtWarmup_LetsThePolicyActBeforeLearningStarts()
    {
        // Before learning_starts, actions are uniform over the Box; with use_sde_at_warmup the untrained gSDE policy
        // acts (log std −3.67: its actions stay close to its initial means).
        static List<float[]> Actions(bool atWarmup)
        {
            string id = $"BoxRecorder-{Guid.NewGuid():N}-v0";
            var seen = new List<float[]>();
            RlMemory.Environments.EnvRegistry.Register(id, _ => new ContinuousTestEnvs.BoxRecorder(seen), maxEpisodeSteps: 50);
            var config = Small(200) with { Env = id, NumEnvs = 1, LearningStarts = 10_000, EvalFreq = 0, EvalEpisodes = 1, LogStdInit = -3.67, SdeSampleFreq = -1, UseSdeAtWarmup = atWarmup };
            using var trainer = new SacTrainer(config, new TrainerOptions { Quiet = true });
            trainer.Learn();
            Assert.Equal(0, trainer.Updates);
            return [.. seen.Take(200)];
        }

        static float Spread(List<float[]> actions, int element) => actions.Max(a => a[element]) - actions.Min(a => a[element]);

        List<float[]> uniform = Actions(atWarmup: false), policy = Actions(atWarmup: true);
        Assert.True(Spread(uniform, 0) > 3 && Spread(uniform, 1) > 4, $"uniform spreads {Spread(uniform, 0)}, {Spread(uniform, 1)}");
        Assert.True(Spread(policy, 0) < 1 && Spread(policy, 1) < 1.25, $"policy spreads {Spread(policy, 0)}, {Spread(policy, 1)}");
    }

    private static double[] Doubles(Tensor t)
    {
        using Tensor flat = t.detach().cpu().contiguous().to_type(ScalarType.Float64).flatten();
        return flat.data<double>().ToArray();
    }

    private sealed class StopAt(long step) : TrainingCallback
    {
        public override bool OnStep(StepContext context) => context.Step < step;
    }
}
