using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;

namespace RlMemory.Training.Dqn;

/// <summary>
/// Every setting of a DQN run (vanilla, Double, dueling, n-step, prioritized), with the meanings and defaults of
/// Stable-Baselines3's DQN where both have the setting. The YAML keys are in <see cref="Schema"/>.
/// </summary>
public sealed record DqnConfig : RunConfig, IQLearningConfig
{
    /// <summary>The defaults: SB3's DQN, for 50,000 steps of CartPole-v1.</summary>
    public DqnConfig()
    {
        TotalTimesteps = 50_000;
    }

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

    /// <summary>The gradient steps a training phase takes (<see cref="GradientSteps"/> with −1 resolved).</summary>
    internal int GradientStepsPerPhase => GradientSteps == -1 ? TrainFreq * NumEnvs : GradientSteps;

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

    /// <summary>Refuses keys that cannot go together (each key's own range is checked by <see cref="Schema"/>).</summary>
    /// <exception cref="ConfigException">Memory-saving replay with n-step returns or prioritized replay, or a buffer smaller than a batch.</exception>
    internal void ValidateCombinations()
    {
        if (OptimizeMemoryUsage && NSteps > 1)
        {
            throw new ConfigException("optimize_memory_usage cannot be combined with n_steps > 1: n-step transitions need their own next observations.");
        }

        if (OptimizeMemoryUsage && Prioritized)
        {
            throw new ConfigException("optimize_memory_usage cannot be combined with prioritized replay yet; turn one of them off.");
        }

        if (BufferSize < BatchSize)
        {
            throw new ConfigException($"buffer_size ({BufferSize}) must be at least batch_size ({BatchSize}).");
        }
    }

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>dqn-cartpole</c>) or a YAML file, with optional
    /// <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not DQN's, or a value out of range.</exception>
    public static DqnConfig FromPreset(string nameOrPath, params string[] overrides) =>
        FromPreset(Schema, nameOrPath, overrides);

    /// <summary>The keys of a DQN configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<DqnConfig> Schema { get; } = new ConfigSchema<DqnConfig>("dqn")
        .AddEnvironmentKeys()
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
        .AddRunKeys();
}
