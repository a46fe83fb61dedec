using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Ppo;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <summary>PPO with continuous (Box) actions: the Gaussian and gSDE policies, the sampler, reward normalization, runs.</summary>
/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="SeededTrainingCollection"/>).</remarks>
[Collection(nameof(SeededTrainingCollection))]
public sealed class ContinuousPpoTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-cppo-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A small, fast configuration on Pendulum-v1.</summary>
    private static PpoConfig Small(long steps = 1024) => PpoConfig.FromPreset("ppo-pendulum") with
    {
        NumEnvs = 2,
        TotalTimesteps = steps,
        NSteps = 128,
        BatchSize = 64,
        NEpochs = 2,
        NetArch = [16, 16],
        EvalFreq = 0,
        EvalEpisodes = 1,
        LogInterval = 256,
        Seed = 3,
    };

    [Fact]
    public void Learn_OnPendulum_RaisesTheReturnWellAboveRandom()
    {
        // The zoo's preset cut to 20,480 steps: seeds 0-3 end at -419, ... (10 episodes); random play and the untrained
        // policy: about -1,200 to -1,500.
        var config = PpoConfig.FromPreset("ppo-pendulum") with { TotalTimesteps = 20_000, EvalFreq = 0, Seed = 0 };
        using var trainer = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true });
        TrainingResult result = trainer.Learn();

        Assert.Equal(20_480, result.Steps);
        Assert.True(result.FinalEvaluation!.MeanReturn >= -800, $"final mean return {result.FinalEvaluation.MeanReturn}");
        Assert.Equal("gsde", trainer.Network.Config.Distribution);
    }

    [Fact]
    public void GaussianLogProbabilityAndEntropy_AreTheDiagonalNormalsSummedOverTheAction()
    {
        // Two steps of a 2-dimensional action: μ, log σ and a computed in double here.
        float[] policy = [0.3f, -1.2f, -0.5f, 0.4f, 2.0f, 0.1f, 0.25f, -2.0f];
        float[] actions = [0.9f, -0.7f, 1.5f, 0.2f];
        using var p = tensor(policy, [2, 4]);
        using var a = tensor(actions, [2, 2]);
        var (logProbs, entropy) = PpoLoss.GaussianLogProbAndEntropy(p, a);
        float[] lp = logProbs.data<float>().ToArray(), h = entropy.data<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            double expectedLogProb = 0, expectedEntropy = 0;
            for (int k = 0; k < 2; k++)
            {
                double mean = policy[(row * 4) + k], logStd = policy[(row * 4) + 2 + k], sigma = Math.Exp(logStd), x = actions[(row * 2) + k];
                expectedLogProb += Math.Log(Math.Exp(-0.5 * Math.Pow((x - mean) / sigma, 2)) / (sigma * Math.Sqrt(2 * Math.PI)));
                expectedEntropy += 0.5 * Math.Log(2 * Math.PI * Math.E * sigma * sigma);
            }

            Assert.Equal(expectedLogProb, lp[row], 1e-4);
            Assert.Equal(expectedEntropy, h[row], 1e-5);
        }
    }

    [Fact]
    public void TheGaussianPolicy_HasAStateIndependentLogStd_AndGsde_AStateDependentOne()
    {
        var gaussian = new ActorCriticConfig { ObservationSize = 3, ActionCount = 2, NetArch = [8], Distribution = "gaussian", LogStdInit = -0.5 };
        using (var network = new ActorCriticNetwork(gaussian))
        using (var observations = tensor(new float[] { 0.1f, -0.4f, 0.7f, 1.5f, 0.2f, -0.9f }, [2, 3]))
        {
            var (policy, _) = network.Forward(observations);
            Assert.Equal(new long[] { 2, 4 }, policy.shape);
            Assert.All(policy.narrow(1, 2, 2).data<float>().ToArray(), v => Assert.Equal(-0.5f, v));
            Assert.Equal(4, network.PolicyWidth);
        }

        // gSDE: σ_j = √(Σ_k latent_k² · exp(log std_kj)² + 1e-6), with the latent the policy MLP's last layer (tanh), and
        // the latent detached: log σ's gradient reaches log std only.
        var gsde = gaussian with { Distribution = "gsde", LogStdInit = 0.3 };
        using var net = new ActorCriticNetwork(gsde);
        using var obs = tensor(new float[] { 0.1f, -0.4f, 0.7f, 1.5f, 0.2f, -0.9f }, [2, 3]);
        var (output, _) = net.Forward(obs);
        Assert.Equal(new long[] { 2, 2 + 2 + 8 }, output.shape);
        Assert.Equal(8, net.LatentWidth);
        float[] o = output.data<float>().ToArray();
        float[] std = net.ExplorationStd()!;
        Assert.All(std, s => Assert.Equal(Math.Exp(0.3), s, 5));
        for (int row = 0; row < 2; row++)
        {
            for (int j = 0; j < 2; j++)
            {
                double variance = 0;
                for (int k = 0; k < 8; k++)
                {
                    double latent = o[(row * 12) + 4 + k];
                    variance += latent * latent * std[(k * 2) + j] * std[(k * 2) + j];
                }

                Assert.Equal(0.5 * Math.Log(variance + 1e-6), o[(row * 12) + 2 + j], 1e-4);
            }
        }

        output.narrow(1, 2, 2).sum().backward();
        foreach (var (name, parameter) in net.named_parameters())
        {
            bool reached = parameter.grad is { } g && g.abs().sum().item<float>() > 0;
            Assert.True(reached == (name == "logStd"), $"{name}: gradient {(reached ? "reached" : "did not reach")} it");
        }
    }

    [Fact]
    public void TheSampler_DrawsFromTheGaussian_AndGsdeKeepsItsNoiseUntilReset()
    {
        // State-independent: a = μ + σ·z; over 20,000 draws the mean and spread match, and log π is the density.
        var sampler = new GaussianSampler(seed: 7, environments: 1, actionSize: 1, latentWidth: 0);
        float[] policy = [0.5f, (float)Math.Log(0.3)];
        var action = new float[1];
        var logProb = new float[1];
        var draws = new double[20_000];
        for (int i = 0; i < draws.Length; i++)
        {
            sampler.Sample(policy, action, logProb);
            draws[i] = action[0];
            double z = (action[0] - 0.5) / 0.3;
            Assert.Equal((-0.5 * z * z) - Math.Log(0.3) - (0.5 * Math.Log(2 * Math.PI)), logProb[0], 1e-5);
        }

        double mean = draws.Average(), sd = Math.Sqrt(draws.Select(d => (d - mean) * (d - mean)).Average());
        Assert.InRange(mean, 0.5 - (4 * 0.3 / Math.Sqrt(draws.Length)), 0.5 + (4 * 0.3 / Math.Sqrt(draws.Length)));
        Assert.InRange(sd, 0.3 * 0.97, 0.3 * 1.03);

        // gSDE: a = μ + latentᵀE; the same latent gives the same action until the matrices are drawn again, each
        // environment has its own matrix, and E's entries have the given standard deviations.
        var gsde = new GaussianSampler(seed: 9, environments: 2, actionSize: 1, latentWidth: 2);
        float[] std = [0.5f, 2.0f];
        gsde.ResetNoise(std);
        float[] rows = [0f, 0f, 1f, 0f, 0f, 0f, 1f, 0f]; // per environment: μ, log σ (unused for the draw), latent [1, 0]
        var actions = new float[2];
        var logProbs = new float[2];
        gsde.Sample(rows, actions, logProbs);
        float[] first = [.. actions];
        gsde.Sample(rows, actions, logProbs);
        Assert.Equal(first, actions);
        Assert.NotEqual(first[0], first[1]);
        gsde.ResetNoise(std);
        gsde.Sample(rows, actions, logProbs);
        Assert.NotEqual(first, actions);

        var e0 = new List<double>();
        var e1 = new List<double>();
        for (int i = 0; i < 5000; i++)
        {
            gsde.ResetNoise(std);
            float[] exploration = gsde.ExportExploration(); // per environment: latent 2 × action 1
            e0.Add(exploration[0]);
            e1.Add(exploration[1]);
        }

        Assert.InRange(Math.Sqrt(e0.Average(x => x * x)), 0.5 * 0.95, 0.5 * 1.05);
        Assert.InRange(Math.Sqrt(e1.Average(x => x * x)), 2.0 * 0.95, 2.0 * 1.05);
    }

    [Fact]
    public void RewardNormalization_DividesByTheRunningStdOfTheDiscountedReturns_AndSkipsTheAutoresetStep()
    {
        // Two environments, γ = 0.5; environment 1 ends at the second step, so its third entry is the autoreset step.
        var scaling = new RewardNormalization(2, 0.5);
        double[][] rewards = [[1, -2], [3, 4], [-1, 0], [2, 5]];
        bool[][] ended = [[false, false], [false, true], [false, false], [false, false]];
        var returns = new double[2];
        bool[] previousEnded = [false, false];
        var seen = new List<double>();
        double count = 1e-4, mean = 0, variance = 1;
        for (int t = 0; t < rewards.Length; t++)
        {
            ReadOnlySpan<double> scaled = scaling.Scale(rewards[t], ended[t], [false, false]);

            // By hand: SB3's RunningMeanStd over this step's returns (the autoreset entry left out).
            var batch = new List<double>();
            for (int e = 0; e < 2; e++)
            {
                if (!previousEnded[e])
                {
                    returns[e] = (returns[e] * 0.5) + rewards[t][e];
                    batch.Add(returns[e]);
                }
            }

            double batchMean = batch.Average(), batchVariance = batch.Average(x => (x - batchMean) * (x - batchMean));
            double total = count + batch.Count, delta = batchMean - mean;
            variance = ((variance * count) + (batchVariance * batch.Count) + (delta * delta * count * batch.Count / total)) / total;
            mean += delta * batch.Count / total;
            count = total;
            for (int e = 0; e < 2; e++)
            {
                double expected = previousEnded[e] ? rewards[t][e] : Math.Clamp(rewards[t][e] / Math.Sqrt(variance + 1e-8), -10, 10);
                Assert.Equal(expected, scaled[e], 1e-6);
                if (previousEnded[e] || ended[t][e])
                {
                    returns[e] = 0;
                }

                previousEnded[e] = !previousEnded[e] && ended[t][e];
            }

            seen.Add(scaling.Variance);
        }

        Assert.Equal(variance, scaling.Variance, 5);

        // Its state goes through a checkpoint.
        var copy = new RewardNormalization(2, 0.5);
        copy.Import(scaling.Export());
        Assert.Equal(scaling.Scale([1, 1], [false, false], [false, false]).ToArray(), copy.Scale([1, 1], [false, false], [false, false]).ToArray());
        Assert.Throws<InvalidDataException>(() => new RewardNormalization(3, 0.5).Import(scaling.Export()));
    }

    [Fact]
    public void Actions_ReachTheEnvironmentClippedToAnAsymmetricBox_AndTheRolloutLearnsTheDrawnOnes()
    {
        string id = $"PpoBoxRecorder-{Guid.NewGuid():N}-v0";
        var seen = new List<float[]>();
        EnvRegistry.Register(id, _ => new ContinuousTestEnvs.BoxRecorder(seen), maxEpisodeSteps: 50);
        PpoConfig config = Small(512) with { Env = id, NumEnvs = 1, UseSde = false, LogStdInit = 1.0 };
        using (var trainer = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true }))
        {
            trainer.Learn();
            Assert.Equal("gaussian", trainer.Network.Config.Distribution);
        }

        Assert.True(seen.Count >= 512, $"{seen.Count} actions");
        foreach (float[] a in seen)
        {
            Assert.InRange(a[0], ContinuousTestEnvs.BoxRecorder.Low[0], ContinuousTestEnvs.BoxRecorder.High[0]);
            Assert.InRange(a[1], ContinuousTestEnvs.BoxRecorder.Low[1], ContinuousTestEnvs.BoxRecorder.High[1]);
        }

        // σ = e starts wide around 0: draws below 0 in the second element reach the environment clipped to exactly 0, and
        // draws above 1 in the first exactly 1, while values inside pass unchanged.
        Assert.Contains(seen, a => a[1] == 0f);
        Assert.Contains(seen, a => a[0] == 1f);
        Assert.Contains(seen, a => a[1] is > 0f and < 5f);
    }

    [Theory]
    [InlineData("mlp", true, true)]
    [InlineData("lstm", false, false)]
    public void AResumedRun_EndsWithParametersBitwiseEqualToAnUninterruptedRun(string core, bool sde, bool normalizeReward)
    {
        PpoConfig config = Small(1024) with { Core = core, HiddenSize = 16, UseSde = sde, SdeSampleFreq = 4, NormalizeReward = normalizeReward, NormalizeObservations = true, SequenceLength = 32 };
        string straight = Path.Combine(_dir, $"straight-{core}");
        using var uninterrupted = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = straight });
        uninterrupted.Learn();

        // Stopped in the middle of a rollout, between two draws of gSDE's matrices.
        string interruptedDir = Path.Combine(_dir, $"interrupted-{core}");
        using (var first = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, Callbacks = [new StopAt(390)] }))
        {
            TrainingResult partial = first.Learn();
            Assert.True(partial.StoppedEarly);
        }

        using var resumed = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, ResumeFrom = interruptedDir });
        resumed.Learn();

        Assert.Equal(uninterrupted.Updates, resumed.Updates);
        Assert.True(uninterrupted.Updates > 0);
        foreach (var ((name, x), (_, y)) in uninterrupted.Network.named_parameters().Zip(resumed.Network.named_parameters()))
        {
            Assert.True(x.data<float>().ToArray().SequenceEqual(y.data<float>().ToArray()), $"parameter {name} differs");
        }

        Assert.Equal(ProgressRows.WithoutWallClock(straight), ProgressRows.WithoutWallClock(interruptedDir));
    }

    [Fact]
    public void TheSavedAgent_LoadsWithoutTheTrainer_PlaysTheClippedMean_AndCarriesItsRecurrentState()
    {
        PpoConfig config = Small(512) with { Core = "lstm", HiddenSize = 16, UseSde = false };
        using var trainer = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir });
        trainer.Learn();
        string header = File.ReadLines(Path.Combine(_dir, "progress.csv")).First();
        foreach (string column in new[] { "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss", "train/approx_kl", "train/clip_fraction" })
        {
            Assert.Contains(column, header, StringComparison.Ordinal);
        }

        using IAgent loaded = AgentFile.Load(Path.Combine(_dir, "final_model.rlagent"));
        var agent = Assert.IsType<ContinuousPpoAgent>(loaded);
        Assert.IsAssignableFrom<IContinuousAgent>(agent);
        Assert.False(loaded is IDiscreteAgent);
        Assert.Equal(("Pendulum-v1", 1, 3), (agent.EnvId, agent.ActionSize, agent.ObservationSize));
        Assert.Equal([-2f], agent.Low);
        Assert.Equal([2f], agent.High);

        // The loaded agent and the trainer's act alike, step after step (the LSTM state carried per row), within bounds;
        // the action is the network's mean, clipped.
        using IEpisodeActor<float[]> fromFile = agent.Begin(2);
        using IEpisodeActor<float[]> fromTrainer = trainer.Agent.Begin(2);
        float[][] a = [new float[1], new float[1]], b = [new float[1], new float[1]];
        var rng = new Random(1);
        float[][] steps = [.. Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 6).Select(_ => (float)((rng.NextDouble() * 4) - 2)).ToArray())];
        float firstAction = float.NaN;
        foreach (float[] observations in steps)
        {
            fromFile.Act(observations, [0, 1], a);
            fromTrainer.Act(observations, [0, 1], b);
            Assert.Equal(b.Select(x => x[0]), a.Select(x => x[0]));
            Assert.All(a, x => Assert.InRange(x[0], -2f, 2f));
            firstAction = float.IsNaN(firstAction) ? a[0][0] : firstAction;
        }

        // After a reset, row 0 starts again from the initial state: the first observation gives the first action again.
        fromFile.Reset(0);
        fromFile.Act(steps[0].AsSpan(0, 3), [0], [a[0]]);
        Assert.Equal(firstAction, a[0][0], 5); // one row instead of two: the same up to rounding

        // The mean, clipped: the network's first output for a row, played from a fresh state.
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            RlMemory.Memory.RecurrentState state = agent.Network.InitialState(1)!;
            var (policy, _, _) = agent.Network.Step(tensor(steps[0].AsSpan(0, 3).ToArray(), [1, 3]), state);
            Assert.Equal(Math.Clamp(policy[0, 0].item<float>(), -2f, 2f), firstAction, 5);
        }

        Assert.Throws<ArgumentException>(() => fromFile.Act(new float[6], [0, 1], [new float[2], new float[1]]));
    }

    [Fact]
    public void ABoxWithInfiniteBounds_Trains_AndTheAgentKeepsItsBounds()
    {
        // PPO clips its Gaussian draws to the bounds, which infinite bounds leave alone (SAC and TD3 refuse such a Box).
        string id = $"PpoUnboundedBox-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register<float[]>(id, _ => new ContinuousTestEnvs.Unbounded(), maxEpisodeSteps: 10);
        using var trainer = new ContinuousPpoTrainer(Small(256) with { Env = id, NumEnvs = 1 }, new TrainerOptions { Quiet = true });
        trainer.Learn();
        string path = Path.Combine(_dir, "unbounded.rlagent");
        trainer.Agent.Save(path);
        using var loaded = ContinuousPpoAgent.Load(path);
        Assert.Equal([float.NegativeInfinity], loaded.Low);
        Assert.Equal([float.PositiveInfinity], loaded.High);
    }

    [Fact]
    public void ANaNReward_StopsTraining_BeforeItReachesTheRewardStatistics()
    {
        // One long episode with rewards -|a|; the environment's 41st step returns NaN. The run stops there, after
        // checkpointing step 40; resumed from that checkpoint (the environment restarts, so the next NaN comes 41 of its
        // steps later), it runs to step 81: the NaN never reached the reward statistics that scale every later reward.
        string id = $"PpoNaNReward-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register<float[]>(id, _ => new ContinuousTestEnvs.RewardAfter(40, double.NaN), maxEpisodeSteps: 1000);
        PpoConfig config = Small(512) with { Env = id, NumEnvs = 1, NormalizeReward = true, NSteps = 32 };
        string run = Path.Combine(_dir, "nan");
        string checkpoint;
        using (var trainer = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = run }))
        {
            var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
            Assert.Equal(("transition", 41L), (e.Quantity, e.Step));
            checkpoint = e.CheckpointPath!;
        }

        using var resumed = new ContinuousPpoTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = run, ResumeFrom = checkpoint });
        Assert.Equal(40, resumed.Step);
        var again = Assert.Throws<TrainingDivergedException>(() => resumed.Learn());
        Assert.Equal(("transition", 81L), (again.Quantity, again.Step));
    }

    [Fact]
    public void APolicyGivingNaN_StopsTrainingAtTheAction()
    {
        using var trainer = new ContinuousPpoTrainer(Small(512), new TrainerOptions { Quiet = true });
        using (no_grad())
        {
            foreach (var p in trainer.Network.parameters())
            {
                p.fill_(float.NaN);
            }
        }

        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("action", e.Quantity);
        Assert.Equal(0, e.Step);
    }

    [Theory]
    [InlineData("sde_sample_freq=0", "sde_sample_freq = '0' is out of range: must be -1 or in [1, 1048576]")]
    [InlineData("log_std_init=nan", "log_std_init")]
    public void BadValues_AreRefusedNamingTheKey(string assignment, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => PpoConfig.FromPreset("ppo-pendulum", assignment));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheContinuousTrainer_RefusesADiscreteEnvironment_NamingTheOtherTrainer()
    {
        var e = Assert.Throws<ConfigException>(() => new ContinuousPpoTrainer(PpoConfig.FromPreset("ppo-cartpole"), new TrainerOptions { Quiet = true }));
        Assert.Equal(
            "env CartPole-v1 has discrete actions (Discrete(2)), and this ppo trainer trains continuous actions: use PpoTrainer (the command line's ppo picks it from the environment).",
            e.Message);
    }

    [Fact]
    public void TheCommandLine_TrainsPpoOnPendulum_EvaluatesAndRecordsTheAgent()
    {
        var error = new StringWriter();
        var output = new StringWriter();
        string run = Path.Combine(_dir, "cli");
        int code = RlMemory.App.RlMemoryCli.Run(["train", "ppo-pendulum", "--steps", "1024", "--set", "n_steps=256", "--set", "eval_freq=0", "--set", "eval_episodes=1", "--out", run], output, error);
        Assert.True(code == 0, error.ToString());
        Assert.Contains("Training PPO on Pendulum-v1", output.ToString(), StringComparison.Ordinal);
        code = RlMemory.App.RlMemoryCli.Run(["eval", run, "--episodes", "2"], output, error);
        Assert.True(code == 0, error.ToString());
        string gif = Path.Combine(_dir, "pendulum.gif");
        code = RlMemory.App.RlMemoryCli.Run(["record", run, "--gif", gif], new StringWriter(), error);
        Assert.True(code == 0, error.ToString());
        Assert.True(new FileInfo(gif).Length > 1000);

        // A discrete preset's keys on a continuous environment: the command line's ppo picks the continuous trainer.
        code = RlMemory.App.RlMemoryCli.Run(["train", "ppo-cartpole", "--set", "env=Pendulum-v1", "--steps", "256", "--set", "eval_episodes=1", "--quiet", "--out", Path.Combine(_dir, "from-cartpole")], new StringWriter(), error);
        Assert.True(code == 0, error.ToString());
        using IAgent agent = AgentFile.Load(Path.Combine(_dir, "from-cartpole", "final_model.rlagent"));
        Assert.IsType<ContinuousPpoAgent>(agent);
    }

    private sealed class StopAt(long step) : TrainingCallback
    {
        public override bool OnStep(StepContext context) => context.Step < step;
    }
}
