using RlMemory.Agents;
using RlMemory.Agents.Continuous;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Sac;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="SeededTrainingCollection"/>).</remarks>
[Collection(nameof(SeededTrainingCollection))]
public sealed class SacTrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-sac-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A small, fast configuration exercising every part of the loop.</summary>
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
        TrainFreq = 2,
        GradientSteps = 3,
        TargetUpdateInterval = 2,
        EvalFreq = 500,
        EvalEpisodes = 2,
        LogInterval = 200,
        Seed = 5,
    };

    [Fact]
    public void Learn_OnPendulum_RaisesTheReturnWellAboveRandom_AndTheEntropyCoefficientFalls()
    {
        // 4,000 steps with 64-64 networks: seeds 0-3 end at -259, -150, -175, -597 (5 episodes); random play: about -1,200.
        var config = SacConfig.FromPreset("sac-pendulum") with { TotalTimesteps = 4000, NetArch = [64, 64], EvalFreq = 0, EvalEpisodes = 5, Seed = 0 };
        using var trainer = new SacTrainer(config, new TrainerOptions { Quiet = true });
        Assert.Equal(1.0, trainer.EntropyCoefficient, 6);
        Assert.Equal(-1.0, trainer.TargetEntropy);
        TrainingResult result = trainer.Learn();

        Assert.Equal(4000, result.Steps);
        Assert.True(result.FinalEvaluation!.MeanReturn >= -700, $"final mean return {result.FinalEvaluation.MeanReturn}");

        // The policy starts far more random than the target entropy (−1) allows: α falls from 1.
        Assert.InRange(trainer.EntropyCoefficient, 0.0, 0.5);

        // One update per step once the replay holds a batch of 256: the step after the first episode's end (200) is the
        // autoreset step, which the replay skips, so that is step 257, and 4,000 − 256 updates follow.
        Assert.Equal(4000 - 256, trainer.Updates);
    }

    [Fact]
    public void Actions_StayWithinAnAsymmetricBox_AndCoverIt()
    {
        string id = $"BoxRecorder-{Guid.NewGuid():N}-v0";
        var seen = new List<float[]>();
        EnvRegistry.Register(id, _ => new ContinuousTestEnvs.BoxRecorder(seen), maxEpisodeSteps: 50);
        SacConfig config = Small(600) with { Env = id, NumEnvs = 1, EvalFreq = 0, EvalEpisodes = 1 };
        using (var trainer = new SacTrainer(config, new TrainerOptions { Quiet = true }))
        {
            trainer.Learn();
        }

        Assert.True(seen.Count >= 600, $"{seen.Count} actions");
        foreach (float[] a in seen)
        {
            Assert.InRange(a[0], ContinuousTestEnvs.BoxRecorder.Low[0], ContinuousTestEnvs.BoxRecorder.High[0]);
            Assert.InRange(a[1], ContinuousTestEnvs.BoxRecorder.Low[1], ContinuousTestEnvs.BoxRecorder.High[1]);
        }

        // Random warm-up actions spread over the whole box (uniform in [−1, 1], rescaled), not only around its middle.
        Assert.True(seen.Take(200).Min(a => a[0]) < -2.5 && seen.Take(200).Max(a => a[0]) > 0.5, "the first element does not cover [-3, 1]");
        Assert.True(seen.Take(200).Min(a => a[1]) < 0.5 && seen.Take(200).Max(a => a[1]) > 4.5, "the second element does not cover [0, 5]");
    }

    [Fact]
    public void AResumedRun_EndsWithParametersBitwiseEqualToAnUninterruptedRun()
    {
        SacConfig config = Small() with { NSteps = 2 };
        string straight = Path.Combine(_dir, "straight");
        using var uninterrupted = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = straight });
        uninterrupted.Learn();

        string interruptedDir = Path.Combine(_dir, "interrupted");
        using (var first = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, Callbacks = [new StopAt(700)] }))
        {
            TrainingResult partial = first.Learn();
            Assert.True(partial.StoppedEarly);
            Assert.Equal(700, partial.Steps);
        }

        using var resumed = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, ResumeFrom = interruptedDir });
        Assert.Equal(700, resumed.Step);
        resumed.Learn();

        Assert.Equal(uninterrupted.Updates, resumed.Updates);
        Assert.True(uninterrupted.Updates > 500, $"{uninterrupted.Updates} updates");
        Assert.Equal(uninterrupted.EntropyCoefficient, resumed.EntropyCoefficient);
        AssertBitwiseEqual(uninterrupted.Agent.Actor, resumed.Agent.Actor);

        // The resumed run's log reads as one run: the same rows, the same statistics (only the wall clock differs).
        Assert.Equal(ProgressRows.WithoutWallClock(straight), ProgressRows.WithoutWallClock(interruptedDir));
    }

    [Fact]
    public void TheSavedAgent_LoadsWithoutTheTrainer_AndActsAsTheTrainersAgent()
    {
        SacConfig config = Small(600);
        using var trainer = new SacTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir });
        trainer.Learn();
        string header = File.ReadLines(Path.Combine(_dir, "progress.csv")).First();
        foreach (string column in new[] { "train/actor_loss", "train/critic_loss", "train/ent_coef", "train/ent_coef_loss", "train/n_updates", "eval/mean_reward" })
        {
            Assert.Contains(column, header, StringComparison.Ordinal);
        }

        using IAgent loaded = AgentFile.Load(Path.Combine(_dir, "final_model.rlagent"));
        var sac = Assert.IsType<SacAgent>(loaded);
        Assert.Equal("Pendulum-v1", sac.EnvId);
        Assert.Equal(1, sac.ActionSize);
        Assert.Equal([-2f], sac.Low);
        Assert.Equal([2f], sac.High);

        float[] observations = [1f, 0f, 0.5f, 0.2f, -0.98f, -3f, -1f, 0f, 8f];
        var expected = new float[3];
        var actual = new float[3];
        trainer.Agent.Act(observations, expected);
        sac.Act(observations, actual);
        Assert.Equal(expected, actual);
        Assert.All(actual, a => Assert.InRange(a, -2f, 2f));

        // Through the episode-actor interface every row's array receives its action.
        using IEpisodeActor<float[]> actor = sac.Begin(3);
        float[][] rows = [new float[1], new float[1], new float[1]];
        actor.Act(observations, [0, 1, 2], rows);
        Assert.Equal(actual, rows.Select(r => r[0]));
    }

    [Fact]
    public void SquashedLogProbability_IsTheGaussianDensityWithTheTanhChangeOfVariables()
    {
        // log π(a|s) = log N(u; μ, σ) − log(1 − tanh(u)² + 1e-6), u = atanh(a), summed over elements: computed here in
        // double precision from the network's own μ and σ and the sampled action.
        using var actor = new SquashedGaussianActor(new ContinuousActorConfig { ObservationSize = 3, Low = [-1f, -2f], High = [1f, 4f], HiddenSizes = [8] });
        using var observations = tensor(new float[] { 0.1f, -0.4f, 0.7f, 1.5f, 0.2f, -0.9f }, [2, 3]);
        using var generator = new Generator(11, CPU);
        var (action, logProb) = actor.Sample(observations, generator);
        var (mean, logStd) = actor.forward(observations);
        float[] a = action.data<float>().ToArray(), m = mean.data<float>().ToArray(), ls = logStd.data<float>().ToArray(), lp = logProb.data<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            double expected = 0;
            for (int k = 0; k < 2; k++)
            {
                int i = (row * 2) + k;
                double u = Math.Atanh(a[i]);
                double sigma = Math.Exp(ls[i]);
                expected += (-0.5 * Math.Pow((u - m[i]) / sigma, 2)) - Math.Log(sigma) - (0.5 * Math.Log(2 * Math.PI));
                expected -= Math.Log(1 - (a[i] * (double)a[i]) + 1e-6);
            }

            Assert.Equal(expected, lp[row], 3);
        }

        // The deterministic action is tanh(μ), and the actor's bounds map [−1, 1] onto the Box.
        float[] deterministic = actor.Deterministic(observations).data<float>().ToArray();
        Assert.All(m.Zip(deterministic), p => Assert.Equal(Math.Tanh(p.First), p.Second, 6));
        var bounds = new float[4];
        actor.Bounds.Rescale([-1f, -1f, 1f, 1f], bounds);
        Assert.Equal([-1f, -2f, 1f, 4f], bounds);
        actor.Bounds.Rescale([0f, 0f, 0f, 0f], bounds);
        Assert.Equal([0f, 1f, 0f, 1f], bounds);
    }

    [Fact]
    public void APolicyGivingNaN_StopsTrainingAtTheAction_BeforeTheEnvironmentSteps()
    {
        using var trainer = new SacTrainer(Small(400) with { LearningStarts = 0, EvalFreq = 0 }, new TrainerOptions { Quiet = true });
        using (no_grad())
        {
            foreach (var p in trainer.Agent.Actor.parameters())
            {
                p.fill_(float.NaN);
            }
        }

        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("action", e.Quantity);
        Assert.Equal(0, e.Step);
        Assert.Contains("the policy produced a NaN or infinite action", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADiscreteEnvironment_IsRefused_NamingWhatCanTrainIt()
    {
        var e = Assert.Throws<ConfigException>(() => new SacTrainer(Small() with { Env = "CartPole-v1" }, new TrainerOptions { Quiet = true }));
        Assert.StartsWith("env CartPole-v1 has discrete actions (Discrete(2)), and sac trains continuous actions only; dqn, r2d2, ppo train discrete actions (presets: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCommandLine_TrainsAndRecordsSac_AndWatchesItTrain()
    {
        var error = new StringWriter();
        string run = Path.Combine(_dir, "cli");
        int code = RlMemory.App.RlMemoryCli.Run(["train", "sac-pendulum", "--steps", "400", "--set", "net_arch=[16]", "--set", "eval_freq=0", "--set", "eval_episodes=1", "--quiet", "--out", run], new StringWriter(), error);
        Assert.True(code == 0, error.ToString());
        string gif = Path.Combine(_dir, "pendulum.gif");
        code = RlMemory.App.RlMemoryCli.Run(["record", run, "--gif", gif], new StringWriter(), error);
        Assert.True(code == 0, error.ToString());
        Assert.True(new FileInfo(gif).Length > 1000);

        // --algo alone picks the algorithm's preset for its own default environment.
        var output = new StringWriter();
        code = RlMemory.App.RlMemoryCli.Run(["train", "--algo", "sac", "--steps", "150", "--set", "eval_episodes=1", "--out", Path.Combine(_dir, "by-algo")], output, error);
        Assert.True(code == 0, error.ToString());
        Assert.Contains("Training SAC on Pendulum-v1", output.ToString(), StringComparison.Ordinal);

        // The training viewer shows continuous agents too (its server stops with the training).
        var watching = new StringWriter();
        code = RlMemory.App.RlMemoryCli.Run(["train", "sac-pendulum", "--steps", "400", "--set", "eval_episodes=1", "--watch", "--watch-port", "0", "--out", Path.Combine(_dir, "watched")], watching, error);
        Assert.True(code == 0, error.ToString());
        Assert.Contains("Watch the training at http://127.0.0.1:", watching.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "watched", "final_model.rlagent")));
    }

    [Fact]
    public void ABoxWithInfiniteBounds_IsRefused_SayingHowToBoundIt()
    {
        string id = $"UnboundedBox-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register<float[]>(id, _ => new ContinuousTestEnvs.Unbounded(), maxEpisodeSteps: 10);
        var e = Assert.Throws<ConfigException>(() => new SacTrainer(Small() with { Env = id }, new TrainerOptions { Quiet = true }));
        Assert.Contains($"env {id} has the action space Box(-inf, inf, (1,), float32) with infinite bounds; SAC squashes its actions into the Box's bounds", e.Message, StringComparison.Ordinal);
        Assert.Contains("ClipAction or RescaleAction", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ent_coef=auto_0", "ent_coef = 'auto_0' is out of range: must be auto, auto_X (learned from X > 0) or a fixed number > 0")]
    [InlineData("ent_coef=-0.1", "ent_coef = '-0.1' is out of range: must be auto, auto_X (learned from X > 0) or a fixed number > 0")]
    [InlineData("target_entropy=high", "target_entropy = 'high' is out of range: must be auto (-dim(actions)) or a finite number")]
    [InlineData("tau=0", "tau = '0' is out of range")]
    [InlineData("gradient_steps=0", "gradient_steps = '0' is out of range: must be -1 or an integer >= 1")]
    public void BadValues_AreRefusedNamingTheKey(string assignment, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => SacConfig.FromPreset("sac-pendulum", assignment));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFixedEntropyCoefficient_StaysFixed()
    {
        SacConfig config = Small(500) with { EntCoef = "0.05", EvalFreq = 0 };
        using var trainer = new SacTrainer(config, new TrainerOptions { Quiet = true });
        trainer.Learn();
        Assert.True(trainer.Updates > 0);
        Assert.Equal(0.05, trainer.EntropyCoefficient);
    }

    private static void AssertBitwiseEqual(nn.Module a, nn.Module b)
    {
        foreach (var ((name, x), (_, y)) in a.named_parameters().Zip(b.named_parameters()))
        {
            Assert.True(x.data<float>().ToArray().SequenceEqual(y.data<float>().ToArray()), $"parameter {name} differs");
        }
    }

    private sealed class StopAt(long step) : TrainingCallback
    {
        public override bool OnStep(StepContext context) => context.Step < step;
    }
}
