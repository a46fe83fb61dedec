using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Ppo;
using RlMemory.Training.R2d2;
using RlMemory.Training.Sac;
using RlMemory.Training.Td3;

namespace RlMemory.Training;

/// <summary>The algorithms RlMemory can train, by their <c>algo</c> name.</summary>
public static class TrainerCatalog
{
    /// <summary>Every algorithm, in the order <c>rlmemory --help</c> lists them.</summary>
    public static IReadOnlyList<TrainerDefinition> All { get; } =
    [
        TrainerDefinition.For<DqnConfig>(DqnTrainer.Algo, "DQN", DqnConfig.Schema, (c, o) => new DqnTrainer(c, o)),
        TrainerDefinition.For<R2d2Config>(R2d2Trainer.Algo, "R2D2", R2d2Config.Schema, (c, o) => new R2d2Trainer(c, o)),
        TrainerDefinition.For<PpoConfig>(PpoTrainer.Algo, "PPO", PpoConfig.Schema, (c, o) => new PpoTrainer(c, o), (c, o) => new ContinuousPpoTrainer(c, o)),
        TrainerDefinition.For<SacConfig>(SacTrainer.Algo, "SAC", typeof(float[]), SacConfig.Schema, (c, o) => new SacTrainer(c, o)),
        TrainerDefinition.For<Td3Config>(Td3Trainer.Algo, "TD3", typeof(float[]), Td3Config.Schema, (c, o) => new Td3Trainer(c, o)),
    ];

    /// <summary>The algorithm named <paramref name="algo"/>.</summary>
    /// <exception cref="ConfigException">No such algorithm (the message lists them).</exception>
    public static TrainerDefinition Find(string algo) =>
        All.FirstOrDefault(d => d.Algo == algo)
        ?? throw new ConfigException($"algo '{algo}' is not available; available: {string.Join(", ", All.Select(d => d.Algo))}.");

    /// <summary>Loads a preset or YAML file, applies <paramref name="overrides"/>, and returns the configured run.</summary>
    /// <exception cref="ConfigException">Unknown preset, algorithm or key, or an invalid value.</exception>
    public static TrainerSetup Configure(string presetOrPath, params IReadOnlyList<string> overrides)
    {
        Preset preset = Presets.Load(presetOrPath);
        return Find(preset.Algo).Configure(preset, overrides);
    }
}
