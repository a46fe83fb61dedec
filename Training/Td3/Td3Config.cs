using RlMemory.Training.Configuration;

namespace RlMemory.Training.Td3;

/// <summary>
/// Every setting of a TD3 run (Fujimoto et al. 2018: twin Q-networks, delayed policy updates, target policy
/// smoothing), with the meanings and defaults of Stable-Baselines3's TD3 where both have the setting, so
/// rl-baselines3-zoo hyperparameters carry over (the zoo's <c>noise_type</c> and <c>noise_std</c> included). The YAML keys
/// are in <see cref="Schema"/>.
/// </summary>
public sealed record Td3Config : ContinuousOffPolicyConfig
{
    /// <summary>The defaults: SB3's TD3 (400-300 networks, learning rate 1e-3), for 20,000 steps of Pendulum-v1.</summary>
    public Td3Config()
    {
        Env = "Pendulum-v1";
        TotalTimesteps = 20_000;
        NetArch = [400, 300];
        LearningRate = 1e-3;
    }

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
        .AddOffPolicyKeys("policy, Q-networks")
        .Add("policy_delay", "Q-network updates per policy and target update", c => c.PolicyDelay, (c, v) => c with { PolicyDelay = v }, Allowed.AtLeast(1))
        .Add("target_policy_noise", "std of the noise on the target policy's actions", c => c.TargetPolicyNoise, (c, v) => c with { TargetPolicyNoise = v }, Allowed.Between(0.0, 10.0))
        .Add("target_noise_clip", "the target policy noise is clipped to +-this", c => c.TargetNoiseClip, (c, v) => c with { TargetNoiseClip = v }, Allowed.Between(0.0, 10.0))
        .Add("noise_type", "exploration noise: none, normal or ornstein-uhlenbeck", c => c.NoiseType, (c, v) => c with { NoiseType = v }, Allowed.OneOf("none", "normal", "ornstein-uhlenbeck"))
        .Add("noise_std", "sigma of the exploration noise (actions in [-1, 1])", c => c.NoiseStd, (c, v) => c with { NoiseStd = v }, Allowed.Between(0.0, 10.0))
        .AddRunKeys();
}
