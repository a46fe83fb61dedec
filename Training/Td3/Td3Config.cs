using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;

namespace RlMemory.Training.Td3;

/// <summary>
/// Every setting of a TD3 run (Fujimoto et al. 2018: twin Q-networks, delayed policy updates, target policy
/// smoothing), with the meanings and defaults of Stable-Baselines3's TD3 where both have the setting, so
/// rl-baselines3-zoo hyperparameters carry over (the zoo's <c>noise_type</c> and <c>noise_std</c> included). The YAML keys
/// are in <see cref="Schema"/>.
/// </summary>
public sealed record Td3Config : RunConfig, IContinuousOffPolicyConfig
{
    /// <summary>The defaults: SB3's TD3, for 20,000 steps of Pendulum-v1.</summary>
    public Td3Config()
    {
        Env = "Pendulum-v1";
        TotalTimesteps = 20_000;
    }

    /// <summary>Hidden layer widths of the policy and of each Q-network (SB3's TD3 default: 400, 300).</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [400, 300];

    /// <summary>Adam learning rate of the policy and the Q-networks.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Transitions per gradient step.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Replay capacity in transitions.</summary>
    public int BufferSize { get; init; } = 1_000_000;

    /// <summary>Environment steps of uniformly random actions before learning starts.</summary>
    public long LearningStarts { get; init; } = 100;

    /// <summary>Discount factor.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Polyak coefficient of the target networks' update.</summary>
    public double Tau { get; init; } = 0.005;

    /// <summary>Vector steps between training phases.</summary>
    public int TrainFreq { get; init; } = 1;

    /// <summary>Gradient steps per training phase; −1 = as many as environment steps collected since the last phase.</summary>
    public int GradientSteps { get; init; } = 1;

    /// <summary>Q-network updates per policy (and target) update.</summary>
    public int PolicyDelay { get; init; } = 2;

    /// <summary>Standard deviation of the Gaussian noise added to the target policy's actions (in [−1, 1] units).</summary>
    public double TargetPolicyNoise { get; init; } = 0.2;

    /// <summary>The target policy noise is clipped to ±this.</summary>
    public double TargetNoiseClip { get; init; } = 0.5;

    /// <summary>
    /// Exploration noise on the actions: <c>none</c> (SB3's default), <c>normal</c> (Gaussian of std <see cref="NoiseStd"/>)
    /// or <c>ornstein-uhlenbeck</c> (SB3's temporally correlated process, σ = <see cref="NoiseStd"/>, θ 0.15, dt 0.01).
    /// </summary>
    public string NoiseType { get; init; } = "none";

    /// <summary>σ of the exploration noise (in [−1, 1] units; the action is clipped to [−1, 1] after it).</summary>
    public double NoiseStd { get; init; } = 0.1;

    /// <summary>Steps of the n-step return.</summary>
    public int NSteps { get; init; } = 1;

    /// <summary>Refuses keys that cannot go together (each key's own range is checked by <see cref="Schema"/>).</summary>
    /// <exception cref="ConfigException">A buffer smaller than a batch.</exception>
    internal void ValidateCombinations()
    {
        if (BufferSize < BatchSize)
        {
            throw new ConfigException($"buffer_size ({BufferSize}) must be at least batch_size ({BatchSize}).");
        }
    }

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>td3-pendulum</c>) or a YAML file, with optional <c>key=value</c>
    /// overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not TD3's, or a value out of range.</exception>
    public static Td3Config FromPreset(string nameOrPath, params string[] overrides) =>
        FromPreset(Schema, nameOrPath, overrides);

    /// <summary>The keys of a TD3 configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<Td3Config> Schema { get; } = new ConfigSchema<Td3Config>("td3")
        .AddEnvironmentKeys()
        .Add("net_arch", "hidden layer widths of the policy and of each Q-network", c => c.NetArch, (c, v) => c with { NetArch = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("learning_rate", "Adam learning rate (policy, Q-networks)", c => c.LearningRate, (c, v) => c with { LearningRate = v }, Allowed.Above(0, 1))
        .Add("batch_size", "transitions per gradient step", c => c.BatchSize, (c, v) => c with { BatchSize = v }, Allowed.Between(1, 1 << 20))
        .Add("buffer_size", "replay capacity (transitions)", c => c.BufferSize, (c, v) => c with { BufferSize = v }, Allowed.Between(1, 1 << 30))
        .Add("learning_starts", "steps of uniformly random actions before learning starts", c => c.LearningStarts, (c, v) => c with { LearningStarts = v }, Allowed.AtLeast(0L))
        .Add("gamma", "discount factor", c => c.Gamma, (c, v) => c with { Gamma = v }, Allowed.Between(0.0, 1.0))
        .Add("tau", "Polyak coefficient of the target networks", c => c.Tau, (c, v) => c with { Tau = v }, Allowed.Above(0, 1))
        .Add("train_freq", "steps per environment between training phases", c => c.TrainFreq, (c, v) => c with { TrainFreq = v }, Allowed.AtLeast(1))
        .Add("gradient_steps", "gradient steps per phase (-1: one per environment step)", c => c.GradientSteps, (c, v) => c with { GradientSteps = v }, v => v == -1 || v >= 1 ? null : "must be -1 or an integer >= 1")
        .Add("policy_delay", "Q-network updates per policy and target update", c => c.PolicyDelay, (c, v) => c with { PolicyDelay = v }, Allowed.AtLeast(1))
        .Add("target_policy_noise", "std of the noise on the target policy's actions", c => c.TargetPolicyNoise, (c, v) => c with { TargetPolicyNoise = v }, Allowed.Between(0.0, 10.0))
        .Add("target_noise_clip", "the target policy noise is clipped to +-this", c => c.TargetNoiseClip, (c, v) => c with { TargetNoiseClip = v }, Allowed.Between(0.0, 10.0))
        .Add("noise_type", "exploration noise: none, normal or ornstein-uhlenbeck", c => c.NoiseType, (c, v) => c with { NoiseType = v }, Allowed.OneOf("none", "normal", "ornstein-uhlenbeck"))
        .Add("noise_std", "sigma of the exploration noise (actions in [-1, 1])", c => c.NoiseStd, (c, v) => c with { NoiseStd = v }, Allowed.Between(0.0, 10.0))
        .Add("n_steps", "steps of the n-step return", c => c.NSteps, (c, v) => c with { NSteps = v }, Allowed.Between(1, 1000))
        .AddRunKeys();
}
