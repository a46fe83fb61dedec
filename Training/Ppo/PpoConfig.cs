using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Every setting of a PPO run (Schulman et al. 2017), feed-forward or recurrent, with the meanings and defaults of
/// Stable-Baselines3's PPO (and sb3-contrib's RecurrentPPO) where both have the setting. The YAML keys are in
/// <see cref="Schema"/>.
/// </summary>
public sealed record PpoConfig : CoreRunConfig
{
    /// <summary>The defaults: SB3's PPO with a feed-forward policy on CartPole-v1 (a recurrent core has 128 LSTM units).</summary>
    public PpoConfig()
    {
        Core = "mlp";
        HiddenSize = 128;
    }

    /// <summary>Steps per environment in one rollout (T).</summary>
    public int NSteps { get; init; } = 2048;

    /// <summary>Minibatch size in steps (recurrent: sequences per minibatch = batch_size / sequence_length, at least 1).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Passes over each rollout.</summary>
    public int NEpochs { get; init; } = 10;

    /// <summary>Adam learning rate (the initial one with a linear schedule).</summary>
    public double LearningRate { get; init; } = 3e-4;

    /// <summary><c>constant</c>, or <c>linear</c>: the rate falls linearly to 0 over the run (zoo's <c>lin_x</c>).</summary>
    public string LearningRateSchedule { get; init; } = "constant";

    /// <summary>Discount factor.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>GAE λ.</summary>
    public double GaeLambda { get; init; } = 0.95;

    /// <summary>Clipping ε of the probability ratio (the initial one with a linear schedule).</summary>
    public double ClipRange { get; init; } = 0.2;

    /// <summary><c>constant</c> or <c>linear</c> (to 0 over the run).</summary>
    public string ClipRangeSchedule { get; init; } = "constant";

    /// <summary>Clipping of the value prediction around the rollout's value (null: no value clipping).</summary>
    public double? ClipRangeVf { get; init; }

    /// <summary>Normalize the advantages over each minibatch.</summary>
    public bool NormalizeAdvantage { get; init; } = true;

    /// <summary>Entropy bonus coefficient.</summary>
    public double EntCoef { get; init; }

    /// <summary>Value loss coefficient.</summary>
    public double VfCoef { get; init; } = 0.5;

    /// <summary>Gradient norm clip.</summary>
    public double MaxGradNorm { get; init; } = 0.5;

    /// <summary>Stop a rollout's epochs when the approximate KL divergence of a minibatch exceeds 1.5 × this (null: never).</summary>
    public double? TargetKl { get; init; }

    /// <summary>Hidden layer widths of the policy MLP and of the value MLP.</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [64, 64];

    /// <summary>Activation of the head MLPs: <c>tanh</c> or <c>relu</c>.</summary>
    public string ActivationFn { get; init; } = "tanh";

    /// <summary>SB3's orthogonal initialization of the heads.</summary>
    public bool OrthoInit { get; init; } = true;

    /// <summary>Normalize observations with running statistics over the training environments (zoo's <c>normalize</c> with <c>norm_obs</c>); the agent keeps them.</summary>
    public bool NormalizeObservations { get; init; }

    /// <summary>
    /// Scale the rewards learned from by the running standard deviation of the discounted returns, clipped to ±10 (the
    /// zoo's <c>normalize</c> with <c>norm_reward</c>, SB3's <c>VecNormalize</c>); reported returns stay unscaled.
    /// </summary>
    public bool NormalizeReward { get; init; }

    /// <summary><c>shared</c> (the critic reads the core's features), <c>separate</c> (a second core of its own) or <c>mlp</c> (it reads the observations).</summary>
    public string Critic { get; init; } = "shared";

    /// <summary>Recurrent cores: steps per training sequence (0: the whole rollout, n_steps, as sb3-contrib).</summary>
    public int SequenceLength { get; init; }

    /// <summary>Continuous actions: generalized state-dependent exploration (gSDE, Raffin et al. 2022) instead of a state-independent Gaussian (SB3's <c>use_sde</c>).</summary>
    public bool UseSde { get; init; }

    /// <summary>With gSDE: draw the exploration matrices every this many steps of a rollout (−1: only at each rollout's start; SB3's <c>sde_sample_freq</c>).</summary>
    public int SdeSampleFreq { get; init; } = -1;

    /// <summary>Continuous actions: the initial log standard deviation (SB3's <c>log_std_init</c> policy argument).</summary>
    public double LogStdInit { get; init; }

    /// <summary>
    /// The network's architecture for observations of <paramref name="observationSize"/> floats and
    /// <paramref name="actionCount"/> discrete actions, or (<paramref name="continuous"/>) continuous actions of that size.
    /// </summary>
    public ActorCriticConfig Network(int observationSize, int actionCount, bool continuous = false) => new()
    {
        ObservationSize = observationSize,
        ActionCount = actionCount,
        Distribution = !continuous ? "categorical" : UseSde ? "gsde" : "gaussian",
        LogStdInit = continuous ? LogStdInit : 0,
        Core = CoreConfig,
        NetArch = NetArch,
        Activation = ActivationFn,
        Critic = Critic,
        OrthoInit = OrthoInit,
        NormalizeObservations = NormalizeObservations,
    };

    /// <summary>The steps per training sequence (recurrent policies).</summary>
    public int EffectiveSequenceLength => SequenceLength == 0 ? NSteps : SequenceLength;

    /// <summary>Refuses keys that cannot go together (each key's own range is checked by <see cref="Schema"/>).</summary>
    /// <exception cref="ConfigException">Sequences longer than a rollout, per-minibatch normalization of single entries, or a rollout too large.</exception>
    internal void ValidateCombinations(bool discrete)
    {
        if (discrete && UseSde)
        {
            throw new ConfigException($"use_sde applies to continuous actions; env {Env} has discrete actions: remove use_sde (and sde_sample_freq).");
        }

        if (IsRecurrent && SequenceLength > NSteps)
        {
            throw new ConfigException($"sequence_length = {SequenceLength} is out of range: must be in [1, n_steps = {NSteps}] (or 0 for n_steps).");
        }

        if (NormalizeAdvantage && BatchSize < 2)
        {
            throw new ConfigException("batch_size = 1 cannot be combined with normalize_advantage: a minibatch of one entry has no spread; raise batch_size or set normalize_advantage: false.");
        }

        if ((long)NSteps * NumEnvs > RolloutBufferOptions.MaxEntries)
        {
            throw new ConfigException($"n_steps × n_envs = {(long)NSteps * NumEnvs} is too large: at most {RolloutBufferOptions.MaxEntries} entries per rollout.");
        }
    }

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>ppo-cartpole</c>) or a YAML file, with optional
    /// <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not PPO's, or a value out of range.</exception>
    public static PpoConfig FromPreset(string nameOrPath, params string[] overrides) =>
        FromPreset(Schema, nameOrPath, overrides);

    /// <summary>The keys of a PPO configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<PpoConfig> Schema { get; } = new ConfigSchema<PpoConfig>("ppo")
        .AddEnvironmentKeys()
        .Add("n_steps", "steps per environment per rollout", c => c.NSteps, (c, v) => c with { NSteps = v }, Allowed.Between(1, 1 << 20))
        .Add("batch_size", "minibatch size in steps", c => c.BatchSize, (c, v) => c with { BatchSize = v }, Allowed.Between(1, 1 << 24))
        .Add("n_epochs", "passes over each rollout", c => c.NEpochs, (c, v) => c with { NEpochs = v }, Allowed.Between(1, 10_000))
        .Add("learning_rate", "Adam learning rate (initial value of a schedule)", c => c.LearningRate, (c, v) => c with { LearningRate = v }, Allowed.Above(0, 1))
        .Add("learning_rate_schedule", "constant or linear (to 0 over the run)", c => c.LearningRateSchedule, (c, v) => c with { LearningRateSchedule = v }, Allowed.OneOf("constant", "linear"))
        .Add("gamma", "discount factor", c => c.Gamma, (c, v) => c with { Gamma = v }, Allowed.Between(0.0, 1.0))
        .Add("gae_lambda", "GAE lambda", c => c.GaeLambda, (c, v) => c with { GaeLambda = v }, Allowed.Between(0.0, 1.0))
        .Add("clip_range", "clipping of the probability ratio (initial value of a schedule)", c => c.ClipRange, (c, v) => c with { ClipRange = v }, Allowed.Above(0, 10))
        .Add("clip_range_schedule", "constant or linear (to 0 over the run)", c => c.ClipRangeSchedule, (c, v) => c with { ClipRangeSchedule = v }, Allowed.OneOf("constant", "linear"))
        .Add("clip_range_vf", "clipping of the value change (null: none)", c => c.ClipRangeVf, (c, v) => c with { ClipRangeVf = v }, v => v is null || (double.IsFinite(v.Value) && v.Value > 0) ? null : "must be a number > 0 or null")
        .Add("normalize_advantage", "normalize advantages per minibatch", c => c.NormalizeAdvantage, (c, v) => c with { NormalizeAdvantage = v })
        .Add("ent_coef", "entropy bonus coefficient", c => c.EntCoef, (c, v) => c with { EntCoef = v }, Allowed.Between(0.0, 100.0))
        .Add("vf_coef", "value loss coefficient", c => c.VfCoef, (c, v) => c with { VfCoef = v }, Allowed.Between(0.0, 100.0))
        .Add("max_grad_norm", "gradient norm clip", c => c.MaxGradNorm, (c, v) => c with { MaxGradNorm = v }, Allowed.Above(0))
        .Add("target_kl", "stop the epochs when approx. KL > 1.5 x this (null: never)", c => c.TargetKl, (c, v) => c with { TargetKl = v }, v => v is null || (double.IsFinite(v.Value) && v.Value > 0) ? null : "must be a number > 0 or null")
        .AddCoreKeys(feedForward: true)
        .Add("net_arch", "hidden widths of the policy and value MLPs", c => c.NetArch, (c, v) => c with { NetArch = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("activation_fn", "tanh or relu", c => c.ActivationFn, (c, v) => c with { ActivationFn = v }, Allowed.OneOf([.. ActorCriticConfig.Activations]))
        .Add("ortho_init", "orthogonal initialization of the heads", c => c.OrthoInit, (c, v) => c with { OrthoInit = v })
        .Add("normalize_observations", "normalize observations with running statistics (VecNormalize)", c => c.NormalizeObservations, (c, v) => c with { NormalizeObservations = v })
        .Add("normalize_reward", "scale rewards by the running std of discounted returns (VecNormalize norm_reward)", c => c.NormalizeReward, (c, v) => c with { NormalizeReward = v })
        .Add("critic", "shared (on the core's features), separate (its own core) or mlp (on the observations)", c => c.Critic, (c, v) => c with { Critic = v }, Allowed.OneOf([.. ActorCriticConfig.Critics]))
        .Add("sequence_length", "recurrent: steps per training sequence (0: n_steps)", c => c.SequenceLength, (c, v) => c with { SequenceLength = v }, Allowed.Between(0, 1 << 20))
        .Add("use_sde", "continuous actions: generalized state-dependent exploration (gSDE)", c => c.UseSde, (c, v) => c with { UseSde = v })
        .Add("sde_sample_freq", "gSDE: new exploration matrices every this many rollout steps (-1: each rollout)", c => c.SdeSampleFreq, (c, v) => c with { SdeSampleFreq = v }, v => v == -1 || v is >= 1 and <= 1 << 20 ? null : "must be -1 or in [1, 1048576]")
        .Add("log_std_init", "continuous actions: initial log standard deviation", c => c.LogStdInit, (c, v) => c with { LogStdInit = v }, Allowed.Between(-20.0, 20.0))
        .AddRunKeys();
}
