using RlMemory.Agents.Recurrent;
using RlMemory.Memory.External;
using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>
/// The settings every algorithm's configuration has: the environment, the step budget and the seed, and the run's
/// schedules (evaluation, logging, checkpoints). <see cref="TrainingRun"/> reads these; an algorithm's configuration
/// record derives from this one and adds its hyperparameters.
/// </summary>
public abstract record RunConfig
{
    /// <summary>The largest seed: evaluation seeds run up to <c>seed + 20,000</c>.</summary>
    public const int MaxSeed = int.MaxValue - 20_000;

    /// <summary>Environment id.</summary>
    public string Env { get; init; } = "CartPole-v1";

    /// <summary>Options passed to the environment's factory (<c>env_options</c>; empty for the defaults).</summary>
    public IReadOnlyDictionary<string, object> EnvOptions { get; init; } = new Dictionary<string, object>();

    /// <summary>Number of environments stepped together.</summary>
    public int NumEnvs { get; init; } = 1;

    /// <summary>Total environment steps (summed over environments).</summary>
    public long TotalTimesteps { get; init; } = 100_000;

    /// <summary>Environment steps between evaluations (0 = only at the end).</summary>
    public long EvalFreq { get; init; } = 10_000;

    /// <summary>Episodes per evaluation.</summary>
    public int EvalEpisodes { get; init; } = 10;

    /// <summary>Stop when the mean evaluation return reaches this value; null never stops early.</summary>
    public double? StopAtReturn { get; init; }

    /// <summary>Seed of everything random in the run, in [0, <see cref="MaxSeed"/>].</summary>
    public int Seed { get; init; }

    /// <summary>Torch device: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Torch intra-op threads for learning; 0 (the default) chooses from the cores this process may use
    /// (<see cref="TrainingRun.AutoThreads"/>: half of them, 1 to 4). More than the cores is reduced to the cores.
    /// </summary>
    public int TorchThreads { get; init; }

    /// <summary>Environment steps between checkpoints (0 = only at the end and on interruption).</summary>
    public long CheckpointFreq { get; init; }

    /// <summary>Environment steps between log rows (progress.csv, TensorBoard scalars).</summary>
    public int LogInterval { get; init; } = 1000;

    /// <summary>
    /// The configuration of a shipped preset or a YAML file for the algorithm of <paramref name="schema"/>, with
    /// optional <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a configuration of another algorithm, a key the algorithm does not have, or a value out of range.</exception>
    protected static TConfig FromPreset<TConfig>(ConfigSchema<TConfig> schema, string nameOrPath, IEnumerable<string> overrides)
        where TConfig : RunConfig, new()
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(overrides);
        Preset preset = Presets.Load(nameOrPath);
        if (preset.Algo != schema.Name)
        {
            throw new ConfigException($"{preset.Source} is a '{preset.Algo}' configuration, not '{schema.Name}'.");
        }

        TConfig config = schema.Apply(new TConfig(), preset.Values, preset.Source);
        foreach (string assignment in overrides)
        {
            config = schema.ApplyOverride(config, assignment);
        }

        return config;
    }
}

/// <summary>
/// The settings of a run whose policy has a core: feed-forward (<c>mlp</c>, where the algorithm allows it), an LSTM, or
/// an LSTM with external memory. The keys are flat (<c>core</c>, <c>hidden_size</c>, …), as in the zoo's files.
/// </summary>
public abstract record CoreRunConfig : RunConfig
{
    /// <summary>The body: <c>mlp</c> (feed-forward, PPO only), <c>lstm</c>, or <c>memory</c> (LSTM + external memory).</summary>
    public string Core { get; init; } = "lstm";

    /// <summary>Recurrent cores: widths of the observation encoder before the LSTM (empty: none).</summary>
    public IReadOnlyList<int> EncoderSizes { get; init; } = [64];

    /// <summary>Recurrent cores: the LSTM (controller) hidden size.</summary>
    public int HiddenSize { get; init; } = 64;

    /// <summary>Memory core: slots N.</summary>
    public int MemorySlots { get; init; } = 32;

    /// <summary>Memory core: slot width W.</summary>
    public int MemoryWidth { get; init; } = 16;

    /// <summary>Memory core: read heads.</summary>
    public int ReadHeads { get; init; } = 1;

    /// <summary>Memory core: usage-based allocation of writes.</summary>
    public bool MemoryAllocation { get; init; } = true;

    /// <summary>Memory core: the erase, free and write gates' biases start at minus this (0: plain initialisation; see <see cref="Agents.Recurrent.MemoryCoreConfig.RetentionBias"/>).</summary>
    public double MemoryRetentionBias { get; init; }

    /// <summary>Whether the policy is recurrent (any core but <c>mlp</c>).</summary>
    public bool IsRecurrent => Core != "mlp";

    /// <summary>The recurrent core these keys describe (null for <c>core: mlp</c>).</summary>
    public CoreConfig? CoreConfig => IsRecurrent
        ? new CoreConfig
        {
            Kind = Core,
            EncoderSizes = EncoderSizes,
            HiddenSize = HiddenSize,
            MemorySlots = MemorySlots,
            MemoryWidth = MemoryWidth,
            ReadHeads = ReadHeads,
            MemoryAllocation = MemoryAllocation,
            MemoryRetentionBias = MemoryRetentionBias,
        }
        : null;
}

/// <summary>The schema keys of <see cref="RunConfig"/> and <see cref="CoreRunConfig"/>, declared once for every algorithm.</summary>
internal static class RunConfigKeys
{
    /// <summary>Declares <c>env</c>, <c>env_options</c>, <c>n_envs</c> and <c>n_timesteps</c> (the first keys of every schema).</summary>
    public static ConfigSchema<TConfig> AddEnvironmentKeys<TConfig>(this ConfigSchema<TConfig> schema)
        where TConfig : RunConfig =>
        schema
            .Add("env", "environment id", c => c.Env, (c, v) => Set(c, r => r with { Env = v }), v => string.IsNullOrWhiteSpace(v) ? "must be a registered environment id" : null)
            .Add("env_options", "options passed to the environment", c => c.EnvOptions, (c, v) => Set(c, r => r with { EnvOptions = v }))
            .Add("n_envs", "environments stepped together", c => c.NumEnvs, (c, v) => Set(c, r => r with { NumEnvs = v }), Allowed.Between(1, 1024))
            .Add("n_timesteps", "total environment steps", c => c.TotalTimesteps, (c, v) => Set(c, r => r with { TotalTimesteps = v }), Allowed.AtLeast(1L));

    /// <summary>Declares the run's schedules, seed and device (the last keys of every schema).</summary>
    public static ConfigSchema<TConfig> AddRunKeys<TConfig>(this ConfigSchema<TConfig> schema)
        where TConfig : RunConfig =>
        schema
            .Add("eval_freq", "environment steps between evaluations (0: at the end only)", c => c.EvalFreq, (c, v) => Set(c, r => r with { EvalFreq = v }), Allowed.AtLeast(0L))
            .Add("eval_episodes", "episodes per evaluation", c => c.EvalEpisodes, (c, v) => Set(c, r => r with { EvalEpisodes = v }), Allowed.Between(1, 100_000))
            .Add("stop_at_return", "stop when the mean evaluation return reaches this (null: never)", c => c.StopAtReturn, (c, v) => Set(c, r => r with { StopAtReturn = v }), v => v is null || double.IsFinite(v.Value) ? null : "must be a finite number or null")
            .Add("seed", "seed of everything random", c => c.Seed, (c, v) => Set(c, r => r with { Seed = v }), Allowed.Between(0, RunConfig.MaxSeed))
            .Add("device", "cpu, cuda or cuda:N", c => c.Device, (c, v) => Set(c, r => r with { Device = v }), v => v == "cpu" || v == "cuda" || (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v.AsSpan(5), out int i) && i >= 0) ? null : "must be cpu, cuda or cuda:N")
            .Add("torch_threads", "torch intra-op threads for learning (0: half the cores, 1 to 4)", c => c.TorchThreads, (c, v) => Set(c, r => r with { TorchThreads = v }), Allowed.Between(0, 256))
            .Add("checkpoint_freq", "environment steps between checkpoints (0: at the end only)", c => c.CheckpointFreq, (c, v) => Set(c, r => r with { CheckpointFreq = v }), Allowed.AtLeast(0L))
            .Add("log_interval", "environment steps between log rows", c => c.LogInterval, (c, v) => Set(c, r => r with { LogInterval = v }), Allowed.AtLeast(1));

    /// <summary>Declares the core keys; <paramref name="feedForward"/> allows <c>core: mlp</c>.</summary>
    public static ConfigSchema<TConfig> AddCoreKeys<TConfig>(this ConfigSchema<TConfig> schema, bool feedForward)
        where TConfig : CoreRunConfig
    {
        string[] cores = feedForward ? ["mlp", .. Agents.Recurrent.CoreConfig.Kinds] : [.. Agents.Recurrent.CoreConfig.Kinds];
        return schema
            .Add("core", feedForward ? "mlp (feed-forward), lstm, or memory (LSTM + external memory)" : "recurrent core: lstm or memory (LSTM + external memory)", c => c.Core, (c, v) => Set(c, r => r with { Core = v }), Allowed.OneOf(cores))
            .Add("encoder_sizes", "recurrent: widths of the observation encoder before the LSTM", c => c.EncoderSizes, (c, v) => Set(c, r => r with { EncoderSizes = v }), Allowed.IntList(1, 65536, allowEmpty: true))
            .Add("hidden_size", "recurrent: LSTM (controller) hidden size", c => c.HiddenSize, (c, v) => Set(c, r => r with { HiddenSize = v }), Allowed.Between(1, 65536))
            .Add("memory_slots", "memory core: slots", c => c.MemorySlots, (c, v) => Set(c, r => r with { MemorySlots = v }), Allowed.Between(1, ExternalMemoryConfig.MaxSize))
            .Add("memory_width", "memory core: slot width", c => c.MemoryWidth, (c, v) => Set(c, r => r with { MemoryWidth = v }), Allowed.Between(1, ExternalMemoryConfig.MaxSize))
            .Add("read_heads", "memory core: read heads", c => c.ReadHeads, (c, v) => Set(c, r => r with { ReadHeads = v }), Allowed.Between(1, ExternalMemoryConfig.MaxReadHeads))
            .Add("memory_allocation", "memory core: usage-based allocation of writes", c => c.MemoryAllocation, (c, v) => Set(c, r => r with { MemoryAllocation = v }))
            .Add("memory_retention_bias", "memory core: erase, free and write gates start at sigmoid(-bias), so early writes survive long sequences (0: plain init)", c => c.MemoryRetentionBias, (c, v) => Set(c, r => r with { MemoryRetentionBias = v }), Allowed.Between(0.0, Agents.Recurrent.MemoryCoreConfig.MaxRetentionBias));
    }

    // A with-expression on the base record copies the derived record (records clone through a virtual method).
    private static TConfig Set<TConfig>(TConfig config, Func<RunConfig, RunConfig> change)
        where TConfig : RunConfig =>
        (TConfig)change(config);

    private static TConfig Set<TConfig>(TConfig config, Func<CoreRunConfig, CoreRunConfig> change)
        where TConfig : CoreRunConfig =>
        (TConfig)change(config);
}
