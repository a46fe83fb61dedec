using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;

namespace RlMemory.Tests.Training;

public sealed class TrainerCatalogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rlm-catalog-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Configure_AppliesPresetThenOverrides_AndBuildsTheAlgorithmsTrainer()
    {
        TrainerSetup setup = TrainerCatalog.Configure("dqn-cartpole", "seed=7", "n_timesteps=1234");
        Assert.Equal(("dqn", "DQN", "CartPole-v1", 7, 1234L), (setup.Algo, setup.Title, setup.Config.Env, setup.Config.Seed, setup.Config.TotalTimesteps));
        var dqn = Assert.IsType<DqnConfig>(setup.Config);
        Assert.Equal(2.3e-3, dqn.LearningRate, 12); // from the preset file, not the record's default
        using ITrainer trainer = setup.Create(new TrainerOptions { Quiet = true });
        Assert.IsType<DqnTrainer>(trainer);
        Assert.Equal(("dqn", "CartPole-v1", 0L, 1234L), (trainer.Algo, trainer.EnvId, trainer.Step, trainer.TotalTimesteps));
    }

    [Fact]
    public void Find_UnknownAlgorithm_ListsTheAvailableOnes()
    {
        var e = Assert.Throws<ConfigException>(() => TrainerCatalog.Find("a2c"));
        Assert.Contains("'a2c'", e.Message);
        Assert.Contains("dqn", e.Message);
    }

    [Fact]
    public void Configure_PresetOfAnotherAlgorithm_IsRefused()
    {
        Preset preset = Presets.Parse("algo: ppo\nenv: CartPole-v1\n", "x", "x.yaml");
        var e = Assert.Throws<ConfigException>(() => TrainerCatalog.Find("dqn").Configure(preset, []));
        Assert.Contains("'ppo'", e.Message);
    }

    [Fact]
    public void EveryAlgorithm_HasTheKeysTheCliSets_AndEveryShippedPresetConfigures()
    {
        foreach (TrainerDefinition d in TrainerCatalog.All)
        {
            Assert.Contains("seed", d.Keys);
            Assert.Contains("n_timesteps", d.Keys);
        }

        foreach (string name in Presets.Names)
        {
            TrainerSetup setup = TrainerCatalog.Configure(name);
            Assert.True(EnvRegistry.IsRegistered(setup.Config.Env), $"{name}: {setup.Config.Env} is not registered");
        }
    }

    [Fact]
    public void AgentFile_LoadsADqnAgentByItsKind_AndRefusesOtherFiles()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "a.rlagent");
        using (var network = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [8] }))
        {
            new DqnAgent(network, "CartPole-v1").Save(path);
        }

        using (var agent = (IDiscreteAgent)AgentFile.Load(path))
        {
            Assert.Equal((DqnAgent.Kind, "CartPole-v1"), (agent.Kind, agent.EnvId));
            using IEpisodeActor actor = agent.Begin(3);
            Span<int> actions = stackalloc int[2];
            actor.Act(new float[8], [0, 2], actions);
            Assert.All(actions.ToArray(), a => Assert.InRange(a, 0, 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => actor.Reset(3));
        }

        string other = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(other, "not an agent");
        Assert.Throws<InvalidDataException>(() => AgentFile.Load(other));
    }

    [Fact]
    public void Evaluator_WithAnActor_ResetsEveryRow_AndPassesEachEpisodesRow()
    {
        using var evaluator = new Evaluator(() => EnvRegistry.Make<int>("CartPole-v1"), episodes: 4, seed: 3);
        var actor = new CountingActor(4);
        EvaluationResult first = evaluator.Run(0, actor);
        Assert.Equal([1, 1, 1, 1], actor.Resets);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(first.Lengths[i], actor.Steps[i]); // row i acted exactly once per step of episode i
        }

        EvaluationResult second = evaluator.Run(1, actor);
        Assert.Equal([2, 2, 2, 2], actor.Resets);
        Assert.Equal(first.Returns, second.Returns);
        Assert.Throws<ArgumentException>(() => evaluator.Run(2, new CountingActor(3)));
    }

    /// <summary>Pushes right for even rows and left for odd rows, counting per-row calls.</summary>
    private sealed class CountingActor(int environments) : IEpisodeActor
    {
        public int Environments { get; } = environments;

        public int[] Resets { get; } = new int[environments];

        public int[] Steps { get; } = new int[environments];

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
        {
            Assert.Equal(rows.Length * 4, observations.Length);
            for (int k = 0; k < rows.Length; k++)
            {
                Steps[rows[k]]++;
                actions[k] = rows[k] % 2;
            }
        }

        public void Reset(int row)
        {
            Resets[row]++;
            Steps[row] = 0;
        }

        public void Dispose()
        {
        }
    }
}
