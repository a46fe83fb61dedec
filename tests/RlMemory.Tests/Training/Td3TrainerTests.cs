using RlMemory.Agents;
using RlMemory.Agents.Continuous;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Td3;
using TorchSharp;

namespace RlMemory.Tests.Training;

/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="SeededTrainingCollection"/>).</remarks>
[Collection(nameof(SeededTrainingCollection))]
public sealed class Td3TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-td3-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A small, fast configuration exercising every part of the loop.</summary>
    private static Td3Config Small(long steps = 1200) => new()
    {
        Env = "Pendulum-v1",
        NumEnvs = 2,
        TotalTimesteps = steps,
        NetArch = [32, 32],
        BatchSize = 64,
        BufferSize = 5000,
        LearningStarts = 200,
        TrainFreq = 2,
        GradientSteps = 3,
        PolicyDelay = 2,
        NoiseType = "normal",
        NoiseStd = 0.3,
        EvalFreq = 500,
        EvalEpisodes = 2,
        LogInterval = 200,
        Seed = 5,
    };

    [Fact]
    public void Learn_OnPendulum_RaisesTheReturnWellAboveRandom()
    {
        // 6,000 steps with 64-64 networks, learning from step 500: seeds 0-3 end at -215, -168, -256, -301 (5 episodes);
        // random play: about -1,200.
        var config = Td3Config.FromPreset("td3-pendulum") with { TotalTimesteps = 6000, LearningStarts = 500, NetArch = [64, 64], EvalFreq = 0, EvalEpisodes = 5, Seed = 0 };
        using var trainer = new Td3Trainer(config, new TrainerOptions { Quiet = true });
        TrainingResult result = trainer.Learn();

        Assert.True(result.FinalEvaluation!.MeanReturn >= -700, $"final mean return {result.FinalEvaluation.MeanReturn}");

        // One Q update per step from step 501 on; the policy every second one.
        Assert.Equal(5500, trainer.Updates);
        Assert.Equal(2750, trainer.PolicyUpdates);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ThePolicyLearns_EveryPolicyDelayQUpdates(int delay)
    {
        Td3Config config = Small(800) with { PolicyDelay = delay, EvalFreq = 0 };
        using var trainer = new Td3Trainer(config, new TrainerOptions { Quiet = true });
        trainer.Learn();

        // Phases every 2 vector steps (4 environment steps) past step 200, 3 updates each.
        Assert.Equal(3 * ((800 - 200) / 4), trainer.Updates);
        Assert.Equal(trainer.Updates / delay, trainer.PolicyUpdates);
    }

    [Fact]
    public void NoisyActions_StayWithinAnAsymmetricBox()
    {
        string id = $"BoxRecorder-{Guid.NewGuid():N}-v0";
        var seen = new List<float[]>();
        EnvRegistry.Register(id, _ => new ContinuousTestEnvs.BoxRecorder(seen), maxEpisodeSteps: 50);
        Td3Config config = Small(700) with { Env = id, NumEnvs = 1, EvalFreq = 0, EvalEpisodes = 1, NoiseStd = 2 };
        using (var trainer = new Td3Trainer(config, new TrainerOptions { Quiet = true }))
        {
            trainer.Learn();
        }

        Assert.True(seen.Count >= 700, $"{seen.Count} actions");
        Assert.All(seen, a =>
        {
            Assert.InRange(a[0], ContinuousTestEnvs.BoxRecorder.Low[0], ContinuousTestEnvs.BoxRecorder.High[0]);
            Assert.InRange(a[1], ContinuousTestEnvs.BoxRecorder.Low[1], ContinuousTestEnvs.BoxRecorder.High[1]);
        });

        // Noise of std 2 on actions in [−1, 1] is clipped: past learning_starts the bounds themselves are played.
        Assert.Contains(seen.Skip(200), a => a[0] == ContinuousTestEnvs.BoxRecorder.Low[0] || a[0] == ContinuousTestEnvs.BoxRecorder.High[0]);
    }

    [Theory]
    [InlineData("normal")]
    [InlineData("ornstein-uhlenbeck")]
    public void AResumedRun_EndsWithParametersBitwiseEqualToAnUninterruptedRun(string noise)
    {
        Td3Config config = Small() with { NSteps = 2, NoiseType = noise };
        string straight = Path.Combine(_dir, "straight");
        using var uninterrupted = new Td3Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = straight });
        uninterrupted.Learn();

        string interruptedDir = Path.Combine(_dir, "interrupted");
        using (var first = new Td3Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, Callbacks = [new StopAt(700)] }))
        {
            Assert.Equal(700, first.Learn().Steps);
        }

        using var resumed = new Td3Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, ResumeFrom = interruptedDir });
        Assert.Equal(700, resumed.Step);
        resumed.Learn();

        Assert.Equal(uninterrupted.Updates, resumed.Updates);
        Assert.Equal(uninterrupted.PolicyUpdates, resumed.PolicyUpdates);
        foreach (var ((name, x), (_, y)) in uninterrupted.Agent.Actor.named_parameters().Zip(resumed.Agent.Actor.named_parameters()))
        {
            Assert.True(x.data<float>().ToArray().SequenceEqual(y.data<float>().ToArray()), $"parameter {name} differs");
        }

        Assert.Equal(ProgressRows.WithoutWallClock(straight), ProgressRows.WithoutWallClock(interruptedDir));
    }

    [Fact]
    public void TheSavedAgent_LoadsAsATd3Agent_AndPlaysThroughTheCommandLine()
    {
        using (var trainer = new Td3Trainer(Small(600) with { EvalFreq = 0 }, new TrainerOptions { Quiet = true, RunDirectory = _dir }))
        {
            trainer.Learn();
            using IAgent loaded = AgentFile.Load(Path.Combine(_dir, "final_model.rlagent"));
            var td3 = Assert.IsType<Td3Agent>(loaded);
            float[] observation = [0.3f, -0.95f, 2f];
            Assert.Equal(trainer.Agent.Act(observation), td3.Act(observation));
            Assert.InRange(td3.Act(observation)[0], -2f, 2f);
        }

        var output = new StringWriter();
        var error = new StringWriter();
        int code = RlMemory.App.RlMemoryCli.Run(["eval", _dir, "-n", "3"], output, error);
        Assert.True(code == 0, error.ToString());
        Assert.Contains("Pendulum-v1: mean return", output.ToString(), StringComparison.Ordinal);

        // The viewer (watch) plays it as it plays discrete agents: the first call starts the episode, 200 steps end it at
        // Pendulum's time limit, and the next call starts the second; each step's torque is within the bounds and shown.
        using (IAgent again = AgentFile.Load(Path.Combine(_dir, "final_model.rlagent")))
        using (var player = RlMemory.App.Viewer.EpisodePlayer.For(again, EnvRegistry.Make("Pendulum-v1"), seed: 3, ownsEnv: true))
        {
            var clock = new RlMemory.App.Viewer.PlaybackClock(player.Fps);
            player.Advance(2);
            string? action = player.Status("td3", clock).Action;
            Assert.Matches(@"^\[-?\d+(\.\d+)?\]$", action);
            Assert.InRange(float.Parse(action![1..^1], System.Globalization.CultureInfo.InvariantCulture), -2f, 2f);
            player.Advance(200);
            Assert.Equal((2, 0), (player.Episode, player.EpisodeStep));
            Assert.True(player.LastEpisode!.Value.Return < 0);
            player.Render();
            Assert.True(player.Frame.Width > 0);

            // A discrete agent does not play a continuous environment.
            using var discrete = new RlMemory.Agents.PpoAgent(new RlMemory.Agents.ActorCritic.ActorCriticNetwork(new() { ObservationSize = 3, ActionCount = 2 }), ownsNetwork: true);
            Assert.Throws<ArgumentException>(() => player.ReplaceAgent(discrete));
        }
    }

    [Fact]
    public void OrnsteinUhlenbeckNoise_IsCorrelatedInTime_AndStartsOverEachEpisode()
    {
        // A constant policy (no learning: learning_starts past the run) leaves the actions as the noise made them.
        string id = $"BoxRecorder-{Guid.NewGuid():N}-v0";
        var seen = new List<float[]>();
        EnvRegistry.Register(id, _ => new ContinuousTestEnvs.BoxRecorder(seen), maxEpisodeSteps: 100);
        Td3Config config = Small(400) with { Env = id, NumEnvs = 1, LearningStarts = 0, EvalFreq = 0, EvalEpisodes = 1, NoiseType = "ornstein-uhlenbeck", NoiseStd = 0.5, BatchSize = 10_000, BufferSize = 10_000 };
        using (var trainer = new Td3Trainer(config, new TrainerOptions { Quiet = true }))
        {
            trainer.Learn();
            Assert.Equal(0, trainer.Updates);
        }

        // x ← x − 0.15·x·0.01 + 0.5·0.1·ε: consecutive noise values differ by about 0.05, and x wanders far beyond
        // that over an episode; the first action of each episode is the policy's plus one step of noise.
        double[] first = [.. seen.Select(a => (double)a[0])];
        double step = first.Zip(first.Skip(1)).Where((_, i) => (i + 1) % 100 != 0).Average(p => Math.Abs(p.Second - p.First));
        Assert.InRange(step, 0.01 * 4 / 2, 0.1 * 4 / 2);   // |Δx| ≈ 0.04 in [−1, 1] units, ×2 in the Box's [−3, 1]
        double spread = first.Take(100).Max() - first.Take(100).Min();
        Assert.True(spread > 5 * step, $"spread {spread} against steps of {step}");
        double[] starts = [first[0], first[100], first[200], first[300]];
        double[] ends = [first[99], first[199], first[299], first[399]];
        Assert.True(starts.Max() - starts.Min() < ends.Max() - ends.Min(), "episodes do not start the noise over");
    }

    [Fact]
    public void ADiscreteEnvironment_IsRefused_NamingWhatCanTrainIt()
    {
        var e = Assert.Throws<ConfigException>(() => new Td3Trainer(Small() with { Env = "MountainCar-v0" }, new TrainerOptions { Quiet = true }));
        Assert.StartsWith("env MountainCar-v0 has discrete actions (Discrete(3)), and td3 trains continuous actions only; dqn, r2d2, ppo train discrete actions", e.Message, StringComparison.Ordinal);
    }

    private sealed class StopAt(long step) : TrainingCallback
    {
        public override bool OnStep(StepContext context) => context.Step < step;
    }
}
