using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="RlMemory.Tests.Training.SeededTrainingCollection"/>).</remarks>
[Collection(nameof(RlMemory.Tests.Training.SeededTrainingCollection))]
public sealed class DqnTrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-dqn-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A small, fast configuration exercising every part of the loop.</summary>
    private static DqnConfig Small(long steps = 3000) => new()
    {
        Env = "CartPole-v1",
        NumEnvs = 2,
        TotalTimesteps = steps,
        NetArch = [32, 32],
        LearningRate = 1e-3,
        BatchSize = 32,
        BufferSize = 5000,
        LearningStarts = 400,
        TargetUpdateInterval = 100,
        TrainFreq = 4,
        GradientSteps = 2,
        ExplorationFraction = 0.3,
        ExplorationFinalEps = 0.05,
        EvalFreq = 1000,
        EvalEpisodes = 2,
        LogInterval = 500,
        Seed = 7,
    };

    [Fact]
    public void Learn_OnCartPole_RaisesTheReturnWellAboveRandom()
    {
        // 15k steps, one gradient step every 4: seeds 0-3 end at 146, 123, 221, 205 (random play: about 22).
        var config = new DqnConfig
        {
            Env = "CartPole-v1",
            TotalTimesteps = 15_000,
            NetArch = [64, 64],
            LearningRate = 1e-3,
            BatchSize = 64,
            BufferSize = 20_000,
            LearningStarts = 1000,
            TargetUpdateInterval = 500,
            TrainFreq = 4,
            GradientSteps = 1,
            ExplorationFraction = 0.2,
            ExplorationFinalEps = 0.02,
            EvalFreq = 0,
            EvalEpisodes = 5,
            Seed = 0,
        };
        using var trainer = new DqnTrainer(config, new TrainerOptions { Quiet = true });
        TrainingResult result = trainer.Learn();

        Assert.Equal(15_000, result.Steps);
        Assert.NotNull(result.FinalEvaluation);
        Assert.True(result.FinalEvaluation!.MeanReturn >= 100, $"final mean return {result.FinalEvaluation.MeanReturn}");

        // One update per 4 vector steps beyond step 1000 (1004 … 15000): 3500 updates.
        Assert.Equal(3500, trainer.Updates);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AResumedRun_EndsWithParametersBitwiseEqualToAnUninterruptedRun(bool allFeatures)
    {
        DqnConfig config = Small();
        if (allFeatures)
        {
            config = config with { DoubleQ = true, Dueling = true, NSteps = 3, Prioritized = true, Tau = 0.5 };
        }

        string straight = Path.Combine(_dir, "straight");
        using var uninterrupted = new DqnTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = straight });
        uninterrupted.Learn();

        string interruptedDir = Path.Combine(_dir, "interrupted");
        using (var first = new DqnTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, Callbacks = [new StopAt(1300)] }))
        {
            TrainingResult partial = first.Learn();
            Assert.True(partial.StoppedEarly);
            Assert.Equal(1300, partial.Steps);
        }

        using var resumed = new DqnTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, ResumeFrom = interruptedDir });
        Assert.Equal(1300, resumed.Step);
        resumed.Learn();

        Assert.Equal(uninterrupted.Updates, resumed.Updates);
        AssertBitwiseEqual(uninterrupted.Network, resumed.Network);

        // The resumed run's log reads as one run: the same rows, the same statistics (only the wall clock differs).
        Assert.Equal(ProgressRows.WithoutWallClock(straight), ProgressRows.WithoutWallClock(interruptedDir));
    }

    [Fact]
    public void ARunFolder_HoldsConfigLogsCheckpointsAndAgents()
    {
        DqnConfig config = Small(2000) with { CheckpointFreq = 1000 };
        using (var trainer = new DqnTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir }))
        {
            trainer.Learn();
        }

        foreach (string file in new[] { "config.yaml", "progress.csv", "final_model.rlagent", "best_model.rlagent" })
        {
            Assert.True(File.Exists(Path.Combine(_dir, file)), $"{file} is missing");
        }

        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir, "tensorboard")));
        var store = new CheckpointStore(_dir);
        Assert.EndsWith("step-000000002000", store.Latest, StringComparison.Ordinal);
        Assert.Equal(2, store.List().Count);

        Preset saved = Presets.Load(Path.Combine(_dir, "config.yaml"));
        DqnConfig reread = DqnConfig.Schema.Apply(new DqnConfig(), saved.Values, saved.Source);
        Assert.Equal(DqnConfig.Schema.ToEntries(config).Select(e => YamlValues.Format(e.Value)), DqnConfig.Schema.ToEntries(reread).Select(e => YamlValues.Format(e.Value)));

        string[] header = File.ReadLines(Path.Combine(_dir, "progress.csv")).First().Split(',');
        Assert.Contains("rollout/ep_rew_mean", header);
        Assert.Contains("eval/mean_reward", header);

        using DqnAgent agent = DqnAgent.Load(Path.Combine(_dir, "final_model.rlagent"));
        Assert.Equal("CartPole-v1", agent.EnvId);
        Assert.InRange(agent.Act([0f, 0f, 0.05f, 0f]), 0, 1);
    }

    [Fact]
    public void ACorruptCheckpoint_IsRefused_NamingTheOlderGoodOne()
    {
        DqnConfig config = Small(2000) with { CheckpointFreq = 1000 };
        using (var trainer = new DqnTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir }))
        {
            trainer.Learn();
        }

        var store = new CheckpointStore(_dir);
        string latest = store.Latest!;
        string networks = Path.Combine(latest, "networks.rlmb");
        byte[] bytes = File.ReadAllBytes(networks);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(networks, bytes);

        var e = Assert.Throws<CheckpointException>(() => new DqnTrainer(config, new TrainerOptions { Quiet = true, ResumeFrom = _dir }));
        Assert.Contains("is corrupt: networks.rlmb does not match its recorded hash", e.Message, StringComparison.Ordinal);
        Assert.Contains("step-000000001000", e.Message, StringComparison.Ordinal);

        using var older = new DqnTrainer(config, new TrainerOptions { Quiet = true, ResumeFrom = store.List()[0] });
        Assert.Equal(1000, older.Step);
    }

    [Fact]
    public void ANaNReward_StopsTraining_NamingTheStep_AfterCheckpointingTheLastGoodState()
    {
        string id = $"NaNReward-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register(id, _ => new RewardAfter(300, double.NaN), maxEpisodeSteps: 1000);
        DqnConfig config = Small() with { Env = id, NumEnvs = 1 };
        using var trainer = new DqnTrainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("transition", e.Quantity);
        Assert.Equal(301, e.Step);
        Assert.Contains("reward", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(e.CheckpointPath);
        Assert.Contains("The last good state is saved in", e.Message, StringComparison.Ordinal);
        Checkpoint checkpoint = CheckpointStore.Open(e.CheckpointPath!, DqnTrainer.Algo);
        Assert.Equal(300, checkpoint.Step);
    }

    [Fact]
    public void AnExplodingLoss_StopsTraining_WithoutApplyingTheBadUpdate()
    {
        string id = $"HugeReward-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register(id, _ => new RewardAfter(0, 1e30), maxEpisodeSteps: 1000);
        DqnConfig config = Small() with { Env = id, NumEnvs = 1, Loss = "mse", LearningStarts = 100 };
        using var trainer = new DqnTrainer(config, new TrainerOptions { Quiet = true });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("loss", e.Quantity);
        Assert.Contains("gradient step 0", e.Message, StringComparison.Ordinal);
        Assert.True(trainer.Network.parameters().All(p => p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void Callbacks_SeeEveryPhase_AndTheReturnThresholdStopsTheRun()
    {
        var recorder = new Recorder();
        DqnConfig config = Small() with { StopAtReturn = -1 }; // any evaluation reaches it
        using var trainer = new DqnTrainer(config, new TrainerOptions { Quiet = true, Callbacks = [recorder] });
        TrainingResult result = trainer.Learn();
        Assert.True(result.StoppedEarly);
        Assert.Equal(1000, result.Steps);
        Assert.Equal(1, recorder.Starts);
        Assert.Equal(1, recorder.Ends);
        Assert.Equal(500, recorder.Steps);
        Assert.Equal(1, recorder.Evaluations);
        Assert.True(recorder.Rollouts > 0);
    }

    [Fact]
    public void CudaWithoutCuda_IsAPlainError()
    {
        var e = Assert.Throws<ConfigException>(() => new DqnTrainer(Small() with { Device = "cuda" }, new TrainerOptions { Quiet = true }));
        Assert.Contains("CUDA is not available", e.Message, StringComparison.Ordinal);
        Assert.Contains("--device cpu", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("optimize_memory_usage=true", "n_steps=3", "cannot be combined with n_steps")]
    [InlineData("buffer_size=10", "batch_size=32", "buffer_size (10) must be at least batch_size (32)")]
    [InlineData("env=Pendulum-v1", "seed=0", "env Pendulum-v1 has continuous actions (Box(-2, 2, (1,), float32)), and dqn trains discrete actions only; ppo, sac, td3 train continuous actions (presets: ppo-mountaincar-continuous, ppo-pendulum, ppo-pendulum-novel, sac-mountaincar-continuous, sac-pendulum, td3-mountaincar-continuous, td3-pendulum; e.g. rlmemory train ppo-pendulum --set env=Pendulum-v1)")]
    [InlineData("env=CartPol-v1", "seed=0", "Did you mean 'CartPole-v1'")]
    public void InconsistentConfigurations_AreRefused(string a, string b, string expected)
    {
        DqnConfig config = DqnConfig.Schema.ApplyOverride(DqnConfig.Schema.ApplyOverride(Small(), a), b);
        Exception e = Assert.ThrowsAny<Exception>(() => new DqnTrainer(config, new TrainerOptions { Quiet = true }));
        Assert.True(e is ConfigException or ArgumentException, e.GetType().Name);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static void AssertBitwiseEqual(QNetwork a, QNetwork b)
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

    private sealed class Recorder : TrainingCallback
    {
        public int Starts { get; private set; }

        public int Ends { get; private set; }

        public int Steps { get; private set; }

        public int Rollouts { get; private set; }

        public int Evaluations { get; private set; }

        public override void OnTrainingStart(StepContext context) => Starts++;

        public override bool OnStep(StepContext context)
        {
            Steps++;
            return true;
        }

        public override void OnRolloutEnd(StepContext context) => Rollouts++;

        public override bool OnEvaluation(StepContext context, EvaluationResult result)
        {
            Evaluations++;
            return true;
        }

        public override void OnTrainingEnd(StepContext context) => Ends++;
    }

    /// <summary>A never-ending two-action environment paying 0, then <c>reward</c> from its step <c>after + 1</c> on.</summary>
    private sealed class RewardAfter : Env<int>
    {
        private readonly int _after;
        private readonly double _reward;
        private int _lifetime;

        public RewardAfter(int after, double reward)
            : base(new Box(0f, 1f, 1), new Discrete(2))
        {
            _after = after;
            _reward = reward;
        }

        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            observation[0] = 0;
            return Info.Empty;
        }

        protected override StepResult StepCore(int action, Span<float> observation)
        {
            _lifetime++;
            observation[0] = (_lifetime % 100) / 100f;
            return new StepResult(_lifetime > _after ? _reward : 0, false, false);
        }
    }
}
