using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.R2d2;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training.R2d2;

/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="RlMemory.Tests.Training.SeededTrainingCollection"/>).</remarks>
[Collection(nameof(RlMemory.Tests.Training.SeededTrainingCollection))]
public sealed class R2d2TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-r2d2-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A small, fast configuration exercising every part of the loop (burn-in, overlap, n-step, priorities).</summary>
    private static R2d2Config Small(long steps = 1200) => new()
    {
        Env = "TMaze-v0",
        EnvOptions = new Dictionary<string, object> { ["corridor_length"] = "3" }, // as YAML gives it
        NumEnvs = 2,
        TotalTimesteps = steps,
        EncoderSizes = [8],
        HiddenSize = 8,
        BatchSize = 4,
        BufferSize = 200,
        BurnIn = 2,
        SequenceLength = 4,
        Overlap = 3,
        LearningStarts = 200,
        NSteps = 2,
        TargetUpdateInterval = 100,
        TrainFreq = 2,
        EvalFreq = 400,
        EvalEpisodes = 3,
        LogInterval = 200,
        Prioritized = true,
        Seed = 5,
    };

    /// <summary>
    /// The T-maze with a corridor of 5: the cue is seen only at the start, so a feed-forward Q-network can at best walk
    /// to the junction and always turn the same way (success 50%), while the recurrent agent must remember the cue.
    /// </summary>
    [Fact]
    public void Learn_OnTheTMaze_TheRecurrentAgentRemembersTheCue_WhereFeedForwardDqnCannot()
    {
        // Measured with seeds 0-3 (uniform replay): every one reaches 100% held-out success by 20k steps.
        var maze = new Dictionary<string, object> { ["corridor_length"] = 5 };
        var config = new R2d2Config
        {
            Env = "TMaze-v0",
            EnvOptions = maze,
            NumEnvs = 8,
            TotalTimesteps = 20_000,
            EncoderSizes = [32],
            HiddenSize = 64,
            BatchSize = 32,
            BufferSize = 10_000,
            BurnIn = 0,
            SequenceLength = 12,
            Overlap = 6,
            LearningStarts = 2000,
            NSteps = 3,
            TargetUpdateInterval = 2000,
            TrainFreq = 2,
            ExplorationFraction = 0.3,
            ExplorationFinalEps = 0.05,
            Prioritized = false,
            EvalFreq = 0,
            EvalEpisodes = 10,
            Seed = 0,
        };
        using var trainer = new R2d2Trainer(config, new TrainerOptions { Quiet = true });
        trainer.Learn();
        double recurrent = SuccessRate(trainer.Agent, maze);
        Assert.True(recurrent >= 0.9, $"the recurrent agent succeeds in {recurrent:P0} of the episodes");

        var dqnConfig = new DqnConfig
        {
            Env = "TMaze-v0",
            EnvOptions = maze,
            NumEnvs = 8,
            TotalTimesteps = 20_000,
            NetArch = [64, 64],
            LearningRate = 1e-3,
            BatchSize = 64,
            BufferSize = 20_000,
            LearningStarts = 2000,
            TargetUpdateInterval = 2000,
            TrainFreq = 2,
            NSteps = 3,
            ExplorationFraction = 0.3,
            ExplorationFinalEps = 0.05,
            EvalFreq = 0,
            EvalEpisodes = 10,
            Seed = 0,
        };
        using var dqn = new DqnTrainer(dqnConfig, new TrainerOptions { Quiet = true });
        dqn.Learn();
        double feedForward = SuccessRate(dqn.Agent, maze);
        Assert.InRange(feedForward, 0.0, 0.65);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AResumedRun_EndsWithParametersBitwiseEqualToAnUninterruptedRun(bool variant)
    {
        R2d2Config config = Small();
        if (variant)
        {
            config = config with { Prioritized = false, Dueling = false, DoubleQ = false, ValueRescaling = false, Loss = "huber", BurnIn = 0, Overlap = 0 };
        }

        string straight = Path.Combine(_dir, "straight");
        using var uninterrupted = new R2d2Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = straight });
        uninterrupted.Learn();

        string interruptedDir = Path.Combine(_dir, "interrupted");
        using (var first = new R2d2Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, Callbacks = [new StopAt(610)] }))
        {
            TrainingResult partial = first.Learn();
            Assert.True(partial.StoppedEarly);
            Assert.Equal(610, partial.Steps);
        }

        using var resumed = new R2d2Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = interruptedDir, ResumeFrom = interruptedDir });
        Assert.Equal(610, resumed.Step);
        resumed.Learn();

        Assert.True(uninterrupted.Updates > 100);
        Assert.Equal(uninterrupted.Updates, resumed.Updates);
        Assert.Equal(uninterrupted.ReplayCount, resumed.ReplayCount);
        AssertBitwiseEqual(uninterrupted.Network, resumed.Network);

        // The resumed run's log reads as one run: the same rows, the same statistics (only the wall clock differs).
        Assert.Equal(ProgressRows.WithoutWallClock(straight), ProgressRows.WithoutWallClock(interruptedDir));
    }

    [Fact]
    public void TheLoop_KeepsNoTensorsAlive_FromOneStepToTheNext()
    {
        // Acting, storing, resetting rows, learning, target updates and evaluations (at 400, 800, 1200) in between.
        var probe = new LiveTensors([.. Enumerable.Range(1, 16).Select(i => i * 100L)]);
        using var trainer = new R2d2Trainer(Small(1600) with { BurnIn = 2 }, new TrainerOptions { Quiet = true, Callbacks = [probe] });
        trainer.Learn();
        Assert.True(trainer.Updates > 200);
        Assert.Equal(probe.Counts[4], probe.Counts[^1]); // from step 500 (after the first evaluation) to 1600
    }

    [Fact]
    public void ARunFolder_HoldsConfigLogsCheckpointsAndAgents()
    {
        R2d2Config config = Small(800) with { CheckpointFreq = 400 };
        using (var trainer = new R2d2Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir }))
        {
            trainer.Learn();
        }

        foreach (string file in new[] { "config.yaml", "progress.csv", "final_model.rlagent", "best_model.rlagent" })
        {
            Assert.True(File.Exists(Path.Combine(_dir, file)), $"{file} is missing");
        }

        var store = new CheckpointStore(_dir);
        Assert.EndsWith("step-000000000800", store.Latest, StringComparison.Ordinal);
        foreach (string file in new[] { "networks.rlmb", "optimizer.bin", "envs.bin", "actor-state.rlmb", Path.Combine("replay", "sequence-replay.rlmb") })
        {
            Assert.True(File.Exists(Path.Combine(store.Latest!, file)), $"checkpoint file {file} is missing");
        }

        Preset saved = Presets.Load(Path.Combine(_dir, "config.yaml"));
        Assert.Equal("r2d2", saved.Algo);
        R2d2Config reread = R2d2Config.Schema.Apply(new R2d2Config(), saved.Values, saved.Source);
        Assert.Equal(R2d2Config.Schema.ToEntries(config).Select(e => YamlValues.Format(e.Value)), R2d2Config.Schema.ToEntries(reread).Select(e => YamlValues.Format(e.Value)));

        string[] header = File.ReadLines(Path.Combine(_dir, "progress.csv")).First().Split(',');
        Assert.Contains("train/q_values", header);
        Assert.Contains("eval/mean_reward", header);

        using var agent = (IDiscreteAgent)AgentFile.Load(Path.Combine(_dir, "final_model.rlagent"));
        Assert.Equal((RecurrentDqnAgent.Kind, "TMaze-v0"), (agent.Kind, agent.EnvId));
    }

    [Fact]
    public void ANaNReward_StopsTraining_NamingTheStep_AfterCheckpointingTheLastGoodState()
    {
        string id = $"NaNRewardR2d2-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register(id, _ => new Scripted(after: 300, reward: double.NaN, observation: 0.5f), maxEpisodeSteps: 1000);
        R2d2Config config = Small() with { Env = id, EnvOptions = new Dictionary<string, object>(), NumEnvs = 1 };
        using var trainer = new R2d2Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("transition", e.Quantity);
        Assert.Equal(301, e.Step);
        Assert.Contains("reward", e.Message, StringComparison.OrdinalIgnoreCase);
        Checkpoint checkpoint = CheckpointStore.Open(e.CheckpointPath!, R2d2Trainer.Algo);
        Assert.Equal(300, checkpoint.Step);

        // The last good state resumes (the environments restart from new episodes).
        using var resumed = new R2d2Trainer(config, new TrainerOptions { Quiet = true, ResumeFrom = e.CheckpointPath });
        Assert.Equal(300, resumed.Step);
    }

    [Fact]
    public void ANonFiniteRecurrentState_StopsTraining_NamingTheStateAndTheStep()
    {
        // Finite observations and weights keep an LSTM's state finite (its gates saturate), so the weights are poisoned
        // from outside, as a corrupted update would: the next action's state is caught before the environments step.
        R2d2Config config = Small();
        using var trainer = new R2d2Trainer(config, new TrainerOptions { Quiet = true, RunDirectory = _dir, Callbacks = [new PoisonAt(300)] });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("recurrent state", e.Quantity);
        Assert.Equal(300, e.Step);
        Assert.Contains("part 'h'", e.Message, StringComparison.Ordinal);
        Assert.Contains("at step 300", e.Message, StringComparison.Ordinal);

        // Weights that hold NaN are never checkpointed: the failure says so and names the last good checkpoint.
        Assert.Null(e.CheckpointPath);
        Assert.Contains("The state at this step is not finite (online/core.", e.Message, StringComparison.Ordinal);
        Assert.Contains("so no checkpoint of it was written; there is no earlier checkpoint.", e.Message, StringComparison.Ordinal);
        Assert.False(new CheckpointStore(_dir).HasCheckpoint);
    }

    [Fact]
    public void AnExplodingLoss_StopsTraining_WithoutApplyingTheBadUpdate()
    {
        string id = $"HugeRewardR2d2-{Guid.NewGuid():N}-v0";
        EnvRegistry.Register(id, _ => new Scripted(after: 0, reward: 1e30, observation: 0.5f), maxEpisodeSteps: 1000);
        R2d2Config config = Small() with { Env = id, EnvOptions = new Dictionary<string, object>(), NumEnvs = 1, ValueRescaling = false };
        using var trainer = new R2d2Trainer(config, new TrainerOptions { Quiet = true });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Learn());
        Assert.Equal("loss", e.Quantity);
        Assert.Contains("gradient step 0", e.Message, StringComparison.Ordinal);
        Assert.True(trainer.Network.parameters().All(p => p.isfinite().all().item<bool>()));
    }

    [Theory]
    [InlineData("overlap=6", "overlap = 6 must be less than burn_in + sequence_length = 2 + 4 = 6")]
    [InlineData("n_steps=5", "n_steps = 5 must be at most sequence_length = 4")]
    [InlineData("batch_size=300", "buffer_size (200 sequences) must be at least batch_size (300 sequences)")]
    [InlineData("env=TMaz-v0", "Did you mean 'TMaze-v0'")]
    [InlineData("env=Pendulum-v1", "env Pendulum-v1 has continuous actions (Box(-2, 2, (1,), float32)), and r2d2 trains discrete actions only; ppo, sac, td3 train continuous actions (presets: ppo-mountaincar-continuous, ppo-pendulum, ppo-pendulum-novel, sac-mountaincar-continuous, sac-pendulum")]
    public void InconsistentConfigurations_AreRefused(string assignment, string expected)
    {
        R2d2Config config = R2d2Config.Schema.ApplyOverride(Small(), assignment);
        Exception e = Assert.ThrowsAny<Exception>(() => new R2d2Trainer(config, new TrainerOptions { Quiet = true }));
        Assert.True(e is ConfigException or ArgumentException, e.GetType().Name);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("priority_eta=1.5", "--set: priority_eta = '1.5' is out of range: must be a number in [0, 1].")]
    [InlineData("burn_in=-1", "--set: burn_in = '-1' is out of range: must be an integer in [0, 65535].")]
    [InlineData("sequence_length=0", "--set: sequence_length = '0' is out of range: must be an integer in [1, 65536].")]
    [InlineData("core=gru", "--set: core = 'gru' is out of range: must be one of lstm, memory.")]
    [InlineData("loss=l1", "--set: loss = 'l1' is out of range: must be one of mse, huber.")]
    [InlineData("burn_inn=3", "--set: unknown r2d2 key 'burn_inn'. Did you mean 'burn_in'?")]
    public void InvalidKeysAndValues_AreRefused_NamingKeyValueAndAllowedRange(string assignment, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => R2d2Config.Schema.ApplyOverride(new R2d2Config(), assignment));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        if (assignment.StartsWith("burn_inn", StringComparison.Ordinal))
        {
            Assert.Contains("Valid keys: env, env_options, n_envs, n_timesteps, core,", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EveryR2d2Preset_Configures_AndSetsTheKeysItNeeds()
    {
        string[] names = [.. Presets.Names.Where(n => n.StartsWith("r2d2-", StringComparison.Ordinal))];
        Assert.Contains("r2d2-tmaze", names);
        Assert.Contains("r2d2-cartpole-novel", names);
        foreach (string name in names)
        {
            R2d2Config config = R2d2Config.FromPreset(name);
            Assert.True(EnvRegistry.IsRegistered(config.Env), $"{name}: {config.Env}");
            Assert.True(config.Overlap < config.BurnIn + config.SequenceLength, name);
            Assert.False(string.IsNullOrWhiteSpace(Presets.Load(name).Description), $"{name} has no description comment");
        }

        Assert.Equal("memory", R2d2Config.FromPreset("r2d2-tmaze-memory").Core);
    }

    private static double SuccessRate(IDiscreteAgent agent, Dictionary<string, object> maze)
    {
        using var evaluator = new Evaluator(() => EnvRegistry.Make<int>("TMaze-v0", new EnvOptions(maze)), 100, seed: 50_000);
        using IEpisodeActor actor = agent.Begin(100);
        EvaluationResult result = evaluator.Run(0, actor);
        return result.Returns.Count(r => r > 0) / 100.0;
    }

    private static void AssertBitwiseEqual(RecurrentQNetwork a, RecurrentQNetwork b)
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

    private sealed class LiveTensors(params long[] steps) : TrainingCallback
    {
        public List<long> Counts { get; } = [];

        public override bool OnStep(StepContext context)
        {
            if (steps.Contains(context.Step))
            {
                Counts.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            }

            return true;
        }
    }

    private sealed class PoisonAt(long step) : TrainingCallback
    {
        public override bool OnStep(StepContext context)
        {
            if (context.Step == step)
            {
                using (no_grad())
                {
                    ((R2d2Trainer)context.Trainer).Network.Core.parameters().Last().fill_(float.NaN);
                }
            }

            return true;
        }
    }

    /// <summary>A never-ending two-action environment: reward 0 and observation 0.1 for its first steps, then <c>reward</c> and <c>observation</c>.</summary>
    private sealed class Scripted : Env<int>
    {
        private readonly int _after;
        private readonly double _reward;
        private readonly float _observation;
        private int _lifetime;

        public Scripted(int after, double reward, float observation)
            : base(new Box(float.MinValue, float.MaxValue, 1), new Discrete(2))
        {
            _after = after;
            _reward = reward;
            _observation = observation;
        }

        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            observation[0] = 0.1f;
            return Info.Empty;
        }

        protected override StepResult StepCore(int action, Span<float> observation)
        {
            _lifetime++;
            bool late = _lifetime > _after;
            observation[0] = late ? _observation : 0.1f;
            return new StepResult(late ? _reward : 0, false, false);
        }
    }
}
