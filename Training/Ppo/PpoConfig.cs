using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Every setting of a PPO run (Schulman et al. 2017), feed-forward or recurrent, with the meanings and defaults of
/// Stable-Baselines3's PPO (and sb3-contrib's RecurrentPPO) where both have the setting. The YAML keys are in
/// <see cref="Schema"/>.
/// </summary>
public sealed record PpoConfig : IRunConfig
{
    /// <summary>The <c>core</c> values: <c>mlp</c> (feed-forward), or a recurrent core of <see cref="CoreConfig.Kinds"/>.</summary>
    public static IReadOnlyList<string> CoreKinds { get; } = ["mlp", .. CoreConfig.Kinds];

    /// <summary>Environment id.</summary>
    public string Env { get; init; } = "CartPole-v1";

    /// <summary>Options passed to the environment's factory.</summary>
    public IReadOnlyDictionary<string, object> EnvOptions { get; init; } = new Dictionary<string, object>();

    /// <summary>Number of environments stepped together.</summary>
    public int NumEnvs { get; init; } = 1;

    /// <summary>Total environment steps (summed over environments); the run ends with the rollout that reaches it, as SB3's.</summary>
    public long TotalTimesteps { get; init; } = 100_000;

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

    /// <summary>The body: <c>mlp</c> (feed-forward), <c>lstm</c>, or <c>memory</c> (LSTM + external memory).</summary>
    public string Core { get; init; } = "mlp";

    /// <summary>Recurrent cores: widths of the observation encoder before the LSTM (empty: none).</summary>
    public IReadOnlyList<int> EncoderSizes { get; init; } = [64];

    /// <summary>Recurrent cores: the LSTM's hidden size.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Memory core: slots.</summary>
    public int MemorySlots { get; init; } = 32;

    /// <summary>Memory core: slot width.</summary>
    public int MemoryWidth { get; init; } = 16;

    /// <summary>Memory core: read heads.</summary>
    public int ReadHeads { get; init; } = 1;

    /// <summary>Memory core: usage-based allocation for writes.</summary>
    public bool MemoryAllocation { get; init; } = true;

    /// <summary>Hidden layer widths of the policy MLP and of the value MLP.</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [64, 64];

    /// <summary>Activation of the head MLPs: <c>tanh</c> or <c>relu</c>.</summary>
    public string ActivationFn { get; init; } = "tanh";

    /// <summary>SB3's orthogonal initialization of the heads.</summary>
    public bool OrthoInit { get; init; } = true;

    /// <summary>Normalize observations with running statistics over the training environments (zoo's <c>normalize</c> with <c>norm_obs</c>); the agent keeps them.</summary>
    public bool NormalizeObservations { get; init; }

    /// <summary><c>shared</c> (the critic reads the core's features), <c>separate</c> (a second core of its own) or <c>mlp</c> (it reads the observations).</summary>
    public string Critic { get; init; } = "shared";

    /// <summary>Recurrent cores: steps per training sequence (0: the whole rollout, n_steps, as sb3-contrib).</summary>
    public int SequenceLength { get; init; }

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

    /// <summary>Torch intra-op threads.</summary>
    public int TorchThreads { get; init; } = 1;

    /// <summary>Environment steps between checkpoints (0 = only at the end and on interruption).</summary>
    public long CheckpointFreq { get; init; }

    /// <summary>Environment steps between log rows (written after a training phase).</summary>
    public int LogInterval { get; init; } = 1000;

    /// <summary>Whether the policy is recurrent.</summary>
    public bool IsRecurrent => Core != "mlp";

    /// <summary>The recurrent core's configuration (null for <c>core: mlp</c>).</summary>
    public CoreConfig? CoreConfig => IsRecurrent
        ? new CoreConfig
        {
            Kind = Core, EncoderSizes = EncoderSizes, HiddenSize = HiddenSize, MemorySlots = MemorySlots, MemoryWidth = MemoryWidth,
            ReadHeads = ReadHeads, MemoryAllocation = MemoryAllocation,
        }
        : null;

    /// <summary>The network's architecture for observations of <paramref name="observationSize"/> floats and <paramref name="actionCount"/> actions.</summary>
    public ActorCriticConfig Network(int observationSize, int actionCount) => new()
    {
        ObservationSize = observationSize,
        ActionCount = actionCount,
        Core = CoreConfig,
        NetArch = NetArch,
        Activation = ActivationFn,
        Critic = Critic,
        OrthoInit = OrthoInit,
        NormalizeObservations = NormalizeObservations,
    };

    /// <summary>The steps per training sequence (recurrent policies).</summary>
    public int EffectiveSequenceLength => SequenceLength == 0 ? NSteps : SequenceLength;

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>ppo-cartpole</c>) or a YAML file, with optional
    /// <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not PPO's, or a value out of range.</exception>
    public static PpoConfig FromPreset(string nameOrPath, params string[] overrides)
    {
        Preset preset = Presets.Load(nameOrPath);
        if (preset.Algo != "ppo")
        {
            throw new ConfigException($"{preset.Source} is a '{preset.Algo}' configuration, not 'ppo'.");
        }

        PpoConfig config = Schema.Apply(new PpoConfig(), preset.Values, preset.Source);
        foreach (string assignment in overrides)
        {
            config = Schema.ApplyOverride(config, assignment);
        }

        return config;
    }

    /// <summary>The keys of a PPO configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<PpoConfig> Schema { get; } = new ConfigSchema<PpoConfig>("ppo")
        .Add("env", "environment id", c => c.Env, (c, v) => c with { Env = v }, v => string.IsNullOrWhiteSpace(v) ? "must be a registered environment id" : null)
        .Add("env_options", "options passed to the environment", c => c.EnvOptions, (c, v) => c with { EnvOptions = v })
        .Add("n_envs", "environments stepped together", c => c.NumEnvs, (c, v) => c with { NumEnvs = v }, Allowed.Between(1, 1024))
        .Add("n_timesteps", "total environment steps", c => c.TotalTimesteps, (c, v) => c with { TotalTimesteps = v }, Allowed.AtLeast(1L))
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
        .Add("core", "mlp (feed-forward), lstm, or memory (LSTM + external memory)", c => c.Core, (c, v) => c with { Core = v }, Allowed.OneOf([.. CoreKinds]))
        .Add("encoder_sizes", "recurrent: encoder widths before the LSTM", c => c.EncoderSizes, (c, v) => c with { EncoderSizes = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("hidden_size", "recurrent: LSTM hidden size", c => c.HiddenSize, (c, v) => c with { HiddenSize = v }, Allowed.Between(1, 65536))
        .Add("memory_slots", "memory core: slots", c => c.MemorySlots, (c, v) => c with { MemorySlots = v }, Allowed.Between(1, Memory.External.ExternalMemoryConfig.MaxSize))
        .Add("memory_width", "memory core: slot width", c => c.MemoryWidth, (c, v) => c with { MemoryWidth = v }, Allowed.Between(1, Memory.External.ExternalMemoryConfig.MaxSize))
        .Add("read_heads", "memory core: read heads", c => c.ReadHeads, (c, v) => c with { ReadHeads = v }, Allowed.Between(1, Memory.External.ExternalMemoryConfig.MaxReadHeads))
        .Add("memory_allocation", "memory core: usage-based write allocation", c => c.MemoryAllocation, (c, v) => c with { MemoryAllocation = v })
        .Add("net_arch", "hidden widths of the policy and value MLPs", c => c.NetArch, (c, v) => c with { NetArch = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("activation_fn", "tanh or relu", c => c.ActivationFn, (c, v) => c with { ActivationFn = v }, Allowed.OneOf([.. ActorCriticConfig.Activations]))
        .Add("ortho_init", "orthogonal initialization of the heads", c => c.OrthoInit, (c, v) => c with { OrthoInit = v })
        .Add("normalize_observations", "normalize observations with running statistics (VecNormalize)", c => c.NormalizeObservations, (c, v) => c with { NormalizeObservations = v })
        .Add("critic", "shared (on the core's features), separate (its own core) or mlp (on the observations)", c => c.Critic, (c, v) => c with { Critic = v }, Allowed.OneOf([.. ActorCriticConfig.Critics]))
        .Add("sequence_length", "recurrent: steps per training sequence (0: n_steps)", c => c.SequenceLength, (c, v) => c with { SequenceLength = v }, Allowed.Between(0, 1 << 20))
        .Add("eval_freq", "environment steps between evaluations (0: at the end only)", c => c.EvalFreq, (c, v) => c with { EvalFreq = v }, Allowed.AtLeast(0L))
        .Add("eval_episodes", "episodes per evaluation", c => c.EvalEpisodes, (c, v) => c with { EvalEpisodes = v }, Allowed.Between(1, 100_000))
        .Add("stop_at_return", "stop when the mean evaluation return reaches this (null: never)", c => c.StopAtReturn, (c, v) => c with { StopAtReturn = v }, v => v is null || double.IsFinite(v.Value) ? null : "must be a finite number or null")
        .Add("seed", "seed of everything random", c => c.Seed, (c, v) => c with { Seed = v }, Allowed.AtLeast(0))
        .Add("device", "cpu, cuda or cuda:N", c => c.Device, (c, v) => c with { Device = v }, v => v == "cpu" || v == "cuda" || (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v.AsSpan(5), out int i) && i >= 0) ? null : "must be cpu, cuda or cuda:N")
        .Add("torch_threads", "torch intra-op threads", c => c.TorchThreads, (c, v) => c with { TorchThreads = v }, Allowed.Between(1, 256))
        .Add("checkpoint_freq", "environment steps between checkpoints (0: at the end only)", c => c.CheckpointFreq, (c, v) => c with { CheckpointFreq = v }, Allowed.AtLeast(0L))
        .Add("log_interval", "environment steps between log rows", c => c.LogInterval, (c, v) => c with { LogInterval = v }, Allowed.AtLeast(1));
}
