using RlMemory.Training.Configuration;

namespace RlMemory.Training.Dqn;

/// <summary>
/// Every setting of a DQN run (vanilla, Double, dueling, n-step, prioritized), with the meanings and defaults of
/// Stable-Baselines3's DQN where both have the setting. The YAML keys are in <see cref="Schema"/>.
/// </summary>
public sealed record DqnConfig : IRunConfig
{
    /// <summary>Environment id.</summary>
    public string Env { get; init; } = "CartPole-v1";

    /// <summary>Options passed to the environment's factory.</summary>
    public IReadOnlyDictionary<string, object> EnvOptions { get; init; } = new Dictionary<string, object>();

    /// <summary>Number of environments stepped together.</summary>
    public int NumEnvs { get; init; } = 1;

    /// <summary>Total environment steps (summed over environments).</summary>
    public long TotalTimesteps { get; init; } = 50_000;

    /// <summary>Hidden layer widths of the Q-network.</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [64, 64];

    /// <summary>Dueling head.</summary>
    public bool Dueling { get; init; }

    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Transitions per gradient step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Replay capacity in transitions.</summary>
    public int BufferSize { get; init; } = 1_000_000;

    /// <summary>Environment steps collected before learning starts.</summary>
    public long LearningStarts { get; init; } = 100;

    /// <summary>Discount factor.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Polyak coefficient of the target update (1 = hard copy).</summary>
    public double Tau { get; init; } = 1.0;

    /// <summary>Environment steps between target updates.</summary>
    public int TargetUpdateInterval { get; init; } = 10_000;

    /// <summary>Environment steps (per environment) between training phases.</summary>
    public int TrainFreq { get; init; } = 4;

    /// <summary>Gradient steps per training phase; −1 = as many as environment steps collected since the last phase.</summary>
    public int GradientSteps { get; init; } = 1;

    /// <summary>Fraction of the run over which ε decays linearly.</summary>
    public double ExplorationFraction { get; init; } = 0.1;

    /// <summary>ε at the start.</summary>
    public double ExplorationInitialEps { get; init; } = 1.0;

    /// <summary>ε after the decay.</summary>
    public double ExplorationFinalEps { get; init; } = 0.05;

    /// <summary>Gradient norm clip.</summary>
    public double MaxGradNorm { get; init; } = 10;

    /// <summary><c>huber</c> (smooth L1, δ = 1) or <c>mse</c>.</summary>
    public string Loss { get; init; } = "huber";

    /// <summary>Double DQN targets (online network chooses, target network evaluates).</summary>
    public bool DoubleQ { get; init; }

    /// <summary>Steps of the n-step return.</summary>
    public int NSteps { get; init; } = 1;

    /// <summary>Prioritized replay (proportional).</summary>
    public bool Prioritized { get; init; }

    /// <summary>Priority exponent α.</summary>
    public double PrioritizedAlpha { get; init; } = 0.6;

    /// <summary>Initial importance-sampling exponent β (annealed linearly to 1 over the run).</summary>
    public double PrioritizedBeta0 { get; init; } = 0.4;

    /// <summary>Small constant added to |δ| before exponentiation.</summary>
    public double PrioritizedEps { get; init; } = 1e-6;

    /// <summary>Store each observation once (memory-saving replay).</summary>
    public bool OptimizeMemoryUsage { get; init; }

    /// <summary>Environment steps between evaluations (0 = only at the end).</summary>
    public long EvalFreq { get; init; } = 10_000;

    /// <summary>Episodes per evaluation.</summary>
    public int EvalEpisodes { get; init; } = 10;

    /// <summary>Stop when the mean evaluation return reaches this value; null never stops early.</summary>
    public double? StopAtReturn { get; init; }

    /// <summary>Seed of everything random in the run.</summary>
    public int Seed { get; init; }

    /// <summary>Torch device: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Torch intra-op threads for the gradient steps (acting uses one). Two suit a 256-wide MLP on two or more cores;
    /// more than the machine's cores makes training many times slower.
    /// </summary>
    public int TorchThreads { get; init; } = 1;

    /// <summary>Environment steps between checkpoints (0 = only at the end and on interruption).</summary>
    public long CheckpointFreq { get; init; }

    /// <summary>Environment steps between log rows (progress.csv, TensorBoard scalars).</summary>
    public int LogInterval { get; init; } = 1000;

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>dqn-cartpole</c>) or a YAML file, with optional
    /// <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not DQN's, or a value out of range.</exception>
    public static DqnConfig FromPreset(string nameOrPath, params string[] overrides)
    {
        Preset preset = Presets.Load(nameOrPath);
        if (preset.Algo != "dqn")
        {
            throw new ConfigException($"{preset.Source} is a '{preset.Algo}' configuration, not 'dqn'.");
        }

        DqnConfig config = Schema.Apply(new DqnConfig(), preset.Values, preset.Source);
        foreach (string assignment in overrides)
        {
            config = Schema.ApplyOverride(config, assignment);
        }

        return config;
    }

    /// <summary>The keys of a DQN configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<DqnConfig> Schema { get; } = new ConfigSchema<DqnConfig>("dqn")
        .Add("env", "environment id", c => c.Env, (c, v) => c with { Env = v }, v => string.IsNullOrWhiteSpace(v) ? "must be a registered environment id" : null)
        .Add("env_options", "options passed to the environment", c => c.EnvOptions, (c, v) => c with { EnvOptions = v })
        .Add("n_envs", "environments stepped together", c => c.NumEnvs, (c, v) => c with { NumEnvs = v }, Allowed.Between(1, 1024))
        .Add("n_timesteps", "total environment steps", c => c.TotalTimesteps, (c, v) => c with { TotalTimesteps = v }, Allowed.AtLeast(1L))
        .Add("net_arch", "hidden layer widths", c => c.NetArch, (c, v) => c with { NetArch = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("dueling", "dueling Q head", c => c.Dueling, (c, v) => c with { Dueling = v })
        .Add("learning_rate", "Adam learning rate", c => c.LearningRate, (c, v) => c with { LearningRate = v }, Allowed.Above(0, 1))
        .Add("batch_size", "transitions per gradient step", c => c.BatchSize, (c, v) => c with { BatchSize = v }, Allowed.Between(1, 1 << 20))
        .Add("buffer_size", "replay capacity (transitions)", c => c.BufferSize, (c, v) => c with { BufferSize = v }, Allowed.Between(1, 1 << 30))
        .Add("learning_starts", "steps before learning starts", c => c.LearningStarts, (c, v) => c with { LearningStarts = v }, Allowed.AtLeast(0L))
        .Add("gamma", "discount factor", c => c.Gamma, (c, v) => c with { Gamma = v }, Allowed.Between(0.0, 1.0))
        .Add("tau", "target update coefficient (1 = hard copy)", c => c.Tau, (c, v) => c with { Tau = v }, Allowed.Above(0, 1))
        .Add("target_update_interval", "environment steps between target updates", c => c.TargetUpdateInterval, (c, v) => c with { TargetUpdateInterval = v }, Allowed.AtLeast(1))
        .Add("train_freq", "steps per environment between training phases", c => c.TrainFreq, (c, v) => c with { TrainFreq = v }, Allowed.AtLeast(1))
        .Add("gradient_steps", "gradient steps per phase (-1: one per environment step)", c => c.GradientSteps, (c, v) => c with { GradientSteps = v }, v => v == -1 || v >= 1 ? null : "must be -1 or an integer >= 1")
        .Add("exploration_fraction", "fraction of the run over which epsilon decays", c => c.ExplorationFraction, (c, v) => c with { ExplorationFraction = v }, Allowed.Between(0.0, 1.0))
        .Add("exploration_initial_eps", "initial epsilon", c => c.ExplorationInitialEps, (c, v) => c with { ExplorationInitialEps = v }, Allowed.Between(0.0, 1.0))
        .Add("exploration_final_eps", "final epsilon", c => c.ExplorationFinalEps, (c, v) => c with { ExplorationFinalEps = v }, Allowed.Between(0.0, 1.0))
        .Add("max_grad_norm", "gradient norm clip", c => c.MaxGradNorm, (c, v) => c with { MaxGradNorm = v }, Allowed.Above(0))
        .Add("loss", "huber or mse", c => c.Loss, (c, v) => c with { Loss = v }, Allowed.OneOf("huber", "mse"))
        .Add("double_q", "Double DQN targets", c => c.DoubleQ, (c, v) => c with { DoubleQ = v })
        .Add("n_steps", "steps of the n-step return", c => c.NSteps, (c, v) => c with { NSteps = v }, Allowed.Between(1, 1000))
        .Add("prioritized", "prioritized replay", c => c.Prioritized, (c, v) => c with { Prioritized = v })
        .Add("prioritized_alpha", "priority exponent alpha", c => c.PrioritizedAlpha, (c, v) => c with { PrioritizedAlpha = v }, Allowed.Between(0.0, 1.0))
        .Add("prioritized_beta0", "initial importance-sampling exponent beta", c => c.PrioritizedBeta0, (c, v) => c with { PrioritizedBeta0 = v }, Allowed.Between(0.0, 1.0))
        .Add("prioritized_eps", "constant added to |TD error|", c => c.PrioritizedEps, (c, v) => c with { PrioritizedEps = v }, Allowed.Above(0, 1))
        .Add("optimize_memory_usage", "store each observation once", c => c.OptimizeMemoryUsage, (c, v) => c with { OptimizeMemoryUsage = v })
        .Add("eval_freq", "environment steps between evaluations (0: at the end only)", c => c.EvalFreq, (c, v) => c with { EvalFreq = v }, Allowed.AtLeast(0L))
        .Add("eval_episodes", "episodes per evaluation", c => c.EvalEpisodes, (c, v) => c with { EvalEpisodes = v }, Allowed.Between(1, 100_000))
        .Add("stop_at_return", "stop when the mean evaluation return reaches this (null: never)", c => c.StopAtReturn, (c, v) => c with { StopAtReturn = v }, v => v is null || double.IsFinite(v.Value) ? null : "must be a finite number or null")
        .Add("seed", "seed of everything random", c => c.Seed, (c, v) => c with { Seed = v }, Allowed.AtLeast(0))
        .Add("device", "cpu, cuda or cuda:N", c => c.Device, (c, v) => c with { Device = v }, v => v == "cpu" || v == "cuda" || (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v.AsSpan(5), out int i) && i >= 0) ? null : "must be cpu, cuda or cuda:N")
        .Add("torch_threads", "torch intra-op threads for learning (acting uses 1)", c => c.TorchThreads, (c, v) => c with { TorchThreads = v }, Allowed.Between(1, 256))
        .Add("checkpoint_freq", "environment steps between checkpoints (0: at the end only)", c => c.CheckpointFreq, (c, v) => c with { CheckpointFreq = v }, Allowed.AtLeast(0L))
        .Add("log_interval", "environment steps between log rows", c => c.LogInterval, (c, v) => c with { LogInterval = v }, Allowed.AtLeast(1));
}
