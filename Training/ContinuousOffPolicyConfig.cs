using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>
/// The settings SAC and TD3 share (Stable-Baselines3's off-policy algorithms for Box actions): the networks' widths,
/// Adam's step size, the replay and the training cadence. <see cref="Sac.SacConfig"/> and <see cref="Td3.Td3Config"/>
/// derive from it with their own defaults and keys.
/// </summary>
public abstract record ContinuousOffPolicyConfig : RunConfig
{
    /// <summary>Hidden layer widths of the policy and of each Q-network.</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [256, 256];

    /// <summary>Adam learning rate of every network.</summary>
    public double LearningRate { get; init; } = 3e-4;

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

    /// <summary>The gradient steps a training phase takes (<see cref="GradientSteps"/> with −1 resolved).</summary>
    internal int GradientStepsPerPhase => GradientSteps == -1 ? TrainFreq * NumEnvs : GradientSteps;

    /// <summary>Steps of the n-step return.</summary>
    public int NSteps { get; init; } = 1;

    /// <summary>Whether the policy, not uniform noise, acts before <see cref="LearningStarts"/> (SAC's <c>use_sde_at_warmup</c>).</summary>
    internal virtual bool PolicyActsInWarmup => false;

    /// <summary>Refuses keys that cannot go together (each key's own range is checked by the schema).</summary>
    /// <exception cref="ConfigException">A buffer smaller than a batch.</exception>
    internal virtual void ValidateCombinations()
    {
        if (BufferSize < BatchSize)
        {
            throw new ConfigException($"buffer_size ({BufferSize}) must be at least batch_size ({BatchSize}).");
        }
    }
}

/// <summary>The schema keys of <see cref="ContinuousOffPolicyConfig"/>, declared once for SAC and TD3.</summary>
internal static class ContinuousOffPolicyKeys
{
    /// <summary>Declares the shared keys (after the environment keys).</summary>
    public static ConfigSchema<TConfig> AddOffPolicyKeys<TConfig>(this ConfigSchema<TConfig> schema, string learners)
        where TConfig : ContinuousOffPolicyConfig =>
        schema
            .Add("net_arch", "hidden layer widths of the policy and of each Q-network", c => c.NetArch, (c, v) => Set(c, r => r with { NetArch = v }), Allowed.IntList(1, 65536, allowEmpty: true))
            .Add("learning_rate", $"Adam learning rate ({learners})", c => c.LearningRate, (c, v) => Set(c, r => r with { LearningRate = v }), Allowed.Above(0, 1))
            .Add("batch_size", "transitions per gradient step", c => c.BatchSize, (c, v) => Set(c, r => r with { BatchSize = v }), Allowed.Between(1, 1 << 20))
            .Add("buffer_size", "replay capacity (transitions)", c => c.BufferSize, (c, v) => Set(c, r => r with { BufferSize = v }), Allowed.Between(1, 1 << 30))
            .Add("learning_starts", "steps of uniformly random actions before learning starts", c => c.LearningStarts, (c, v) => Set(c, r => r with { LearningStarts = v }), Allowed.AtLeast(0L))
            .Add("gamma", "discount factor", c => c.Gamma, (c, v) => Set(c, r => r with { Gamma = v }), Allowed.Between(0.0, 1.0))
            .Add("tau", "Polyak coefficient of the target networks", c => c.Tau, (c, v) => Set(c, r => r with { Tau = v }), Allowed.Above(0, 1))
            .Add("train_freq", "steps per environment between training phases", c => c.TrainFreq, (c, v) => Set(c, r => r with { TrainFreq = v }), Allowed.AtLeast(1))
            .Add("gradient_steps", "gradient steps per phase (-1: one per environment step)", c => c.GradientSteps, (c, v) => Set(c, r => r with { GradientSteps = v }), v => v == -1 || v >= 1 ? null : "must be -1 or an integer >= 1")
            .Add("n_steps", "steps of the n-step return", c => c.NSteps, (c, v) => Set(c, r => r with { NSteps = v }), Allowed.Between(1, 1000));

    // A with-expression on the base record copies the derived record (records clone through a virtual method).
    private static TConfig Set<TConfig>(TConfig config, Func<ContinuousOffPolicyConfig, ContinuousOffPolicyConfig> change)
        where TConfig : ContinuousOffPolicyConfig =>
        (TConfig)change(config);
}
