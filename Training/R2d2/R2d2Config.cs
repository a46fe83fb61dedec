using RlMemory.Agents.Recurrent;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.R2d2;

/// <summary>
/// Every setting of an R2D2 run (recurrent DQN with sequence replay, burn-in, n-step Double-Q targets, value rescaling
/// and η-mixed sequence priorities; Kapturowski et al. 2019). The YAML keys are in <see cref="Schema"/>; the loop's
/// counting conventions (<c>train_freq</c>, <c>gradient_steps</c>, <c>target_update_interval</c>, exploration) are
/// DQN's, so the two read alike.
/// </summary>
/// <remarks>
/// A stored sequence has <c>burn_in + sequence_length</c> steps: the learner unrolls the network over the first
/// <see cref="BurnIn"/> from the stored recurrent state without gradients, and learns on the next
/// <see cref="SequenceLength"/>. Consecutive sequences of an episode share <see cref="Overlap"/> steps.
/// </remarks>
public sealed record R2d2Config : IRunConfig
{
    /// <summary>Environment id.</summary>
    public string Env { get; init; } = "CartPoleNoVel-v1";

    /// <summary>Options passed to the environment's factory.</summary>
    public IReadOnlyDictionary<string, object> EnvOptions { get; init; } = new Dictionary<string, object>();

    /// <summary>Number of environments stepped together (each with its own recurrent-state row).</summary>
    public int NumEnvs { get; init; } = 8;

    /// <summary>Total environment steps (summed over environments).</summary>
    public long TotalTimesteps { get; init; } = 100_000;

    /// <summary>The recurrent core: <c>lstm</c> or <c>memory</c> (LSTM + external memory).</summary>
    public string Core { get; init; } = "lstm";

    /// <summary>Widths of the core's observation encoder.</summary>
    public IReadOnlyList<int> EncoderSizes { get; init; } = [64];

    /// <summary>The LSTM (controller) hidden size.</summary>
    public int HiddenSize { get; init; } = 64;

    /// <summary>External memory: slots N (<c>core: memory</c> only).</summary>
    public int MemorySlots { get; init; } = 32;

    /// <summary>External memory: slot width W (<c>core: memory</c> only).</summary>
    public int MemoryWidth { get; init; } = 16;

    /// <summary>External memory: read heads (<c>core: memory</c> only).</summary>
    public int ReadHeads { get; init; } = 1;

    /// <summary>External memory: usage-based allocation for writes (<c>core: memory</c> only).</summary>
    public bool MemoryAllocation { get; init; } = true;

    /// <summary>Hidden layer widths of the Q head over the core's features (empty: linear head).</summary>
    public IReadOnlyList<int> HeadSizes { get; init; } = [];

    /// <summary>Dueling Q head (R2D2 uses one).</summary>
    public bool Dueling { get; init; } = true;

    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Sequences per gradient step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Replay capacity in sequences (each of <c>burn_in + sequence_length</c> steps).</summary>
    public int BufferSize { get; init; } = 5_000;

    /// <summary>Burn-in steps at the start of each sequence (unrolled without gradients from the stored state).</summary>
    public int BurnIn { get; init; } = 10;

    /// <summary>Learning steps per sequence, after the burn-in.</summary>
    public int SequenceLength { get; init; } = 20;

    /// <summary>Steps shared by consecutive sequences of an episode (less than <c>burn_in + sequence_length</c>).</summary>
    public int Overlap { get; init; } = 10;

    /// <summary>Environment steps collected before learning starts.</summary>
    public long LearningStarts { get; init; } = 2_000;

    /// <summary>Discount factor.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Steps of the n-step return (cut at the end of a sequence or episode).</summary>
    public int NSteps { get; init; } = 3;

    /// <summary>Environment steps between hard target-network updates.</summary>
    public int TargetUpdateInterval { get; init; } = 5_000;

    /// <summary>Vector steps between training phases.</summary>
    public int TrainFreq { get; init; } = 1;

    /// <summary>Gradient steps per training phase.</summary>
    public int GradientSteps { get; init; } = 1;

    /// <summary>Fraction of the run over which ε decays linearly.</summary>
    public double ExplorationFraction { get; init; } = 0.2;

    /// <summary>ε at the start.</summary>
    public double ExplorationInitialEps { get; init; } = 1.0;

    /// <summary>ε after the decay.</summary>
    public double ExplorationFinalEps { get; init; } = 0.02;

    /// <summary>Gradient norm clip.</summary>
    public double MaxGradNorm { get; init; } = 10;

    /// <summary><c>mse</c> (R2D2's squared TD error) or <c>huber</c> (smooth L1, δ = 1).</summary>
    public string Loss { get; init; } = "mse";

    /// <summary>R2D2's invertible value rescaling h (ε = 10⁻³) of the targets.</summary>
    public bool ValueRescaling { get; init; } = true;

    /// <summary>Double-Q targets (the online network chooses the bootstrap action, the target network evaluates it).</summary>
    public bool DoubleQ { get; init; } = true;

    /// <summary>
    /// Prioritized sequence replay with R2D2's η-mixed priorities (false: uniform, the default: on the small tasks
    /// measured here uniform replay was the more stable; see docs/r2d2.md).
    /// </summary>
    public bool Prioritized { get; init; }

    /// <summary>Priority exponent α.</summary>
    public double PriorityExponent { get; init; } = 0.9;

    /// <summary>Importance-sampling exponent β (fixed, as in R2D2).</summary>
    public double ImportanceSamplingExponent { get; init; } = 0.6;

    /// <summary>η of the sequence priority η·max|δ| + (1 − η)·mean|δ|.</summary>
    public double PriorityEta { get; init; } = 0.9;

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

    /// <summary>Torch intra-op threads (oversubscribing the cores makes small-network training many times slower).</summary>
    public int TorchThreads { get; init; } = 1;

    /// <summary>Environment steps between checkpoints (0 = only at the end and on interruption).</summary>
    public long CheckpointFreq { get; init; }

    /// <summary>Environment steps between log rows (progress.csv, TensorBoard scalars).</summary>
    public int LogInterval { get; init; } = 1000;

    /// <summary>The core configuration these keys describe.</summary>
    public CoreConfig CoreConfig => new()
    {
        Kind = Core,
        EncoderSizes = EncoderSizes,
        HiddenSize = HiddenSize,
        MemorySlots = MemorySlots,
        MemoryWidth = MemoryWidth,
        ReadHeads = ReadHeads,
        MemoryAllocation = MemoryAllocation,
    };

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>r2d2-tmaze</c>) or a YAML file, with optional <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not R2D2's, or a value out of range.</exception>
    public static R2d2Config FromPreset(string nameOrPath, params string[] overrides)
    {
        Preset preset = Presets.Load(nameOrPath);
        if (preset.Algo != R2d2Trainer.Algo)
        {
            throw new ConfigException($"{preset.Source} is a '{preset.Algo}' configuration, not '{R2d2Trainer.Algo}'.");
        }

        R2d2Config config = Schema.Apply(new R2d2Config(), preset.Values, preset.Source);
        foreach (string assignment in overrides)
        {
            config = Schema.ApplyOverride(config, assignment);
        }

        return config;
    }

    /// <summary>The keys of an R2D2 configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<R2d2Config> Schema { get; } = new ConfigSchema<R2d2Config>(R2d2Trainer.Algo)
        .Add("env", "environment id", c => c.Env, (c, v) => c with { Env = v }, v => string.IsNullOrWhiteSpace(v) ? "must be a registered environment id" : null)
        .Add("env_options", "options passed to the environment", c => c.EnvOptions, (c, v) => c with { EnvOptions = v })
        .Add("n_envs", "environments stepped together", c => c.NumEnvs, (c, v) => c with { NumEnvs = v }, Allowed.Between(1, 1024))
        .Add("n_timesteps", "total environment steps", c => c.TotalTimesteps, (c, v) => c with { TotalTimesteps = v }, Allowed.AtLeast(1L))
        .Add("core", "recurrent core: lstm or memory", c => c.Core, (c, v) => c with { Core = v }, Allowed.OneOf([.. CoreConfig.Kinds]))
        .Add("encoder_sizes", "widths of the core's observation encoder", c => c.EncoderSizes, (c, v) => c with { EncoderSizes = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("hidden_size", "LSTM (controller) hidden size", c => c.HiddenSize, (c, v) => c with { HiddenSize = v }, Allowed.Between(1, 65536))
        .Add("memory_slots", "external memory slots (core: memory)", c => c.MemorySlots, (c, v) => c with { MemorySlots = v }, Allowed.Between(1, Memory.External.ExternalMemoryConfig.MaxSize))
        .Add("memory_width", "external memory slot width (core: memory)", c => c.MemoryWidth, (c, v) => c with { MemoryWidth = v }, Allowed.Between(1, Memory.External.ExternalMemoryConfig.MaxSize))
        .Add("read_heads", "external memory read heads (core: memory)", c => c.ReadHeads, (c, v) => c with { ReadHeads = v }, Allowed.Between(1, Memory.External.ExternalMemoryConfig.MaxReadHeads))
        .Add("memory_allocation", "usage-based allocation of memory writes (core: memory)", c => c.MemoryAllocation, (c, v) => c with { MemoryAllocation = v })
        .Add("head_sizes", "hidden layer widths of the Q head", c => c.HeadSizes, (c, v) => c with { HeadSizes = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("dueling", "dueling Q head", c => c.Dueling, (c, v) => c with { Dueling = v })
        .Add("learning_rate", "Adam learning rate", c => c.LearningRate, (c, v) => c with { LearningRate = v }, Allowed.Above(0, 1))
        .Add("batch_size", "sequences per gradient step", c => c.BatchSize, (c, v) => c with { BatchSize = v }, Allowed.Between(1, 1 << 16))
        .Add("buffer_size", "replay capacity (sequences)", c => c.BufferSize, (c, v) => c with { BufferSize = v }, Allowed.Between(1, 1 << 30))
        .Add("burn_in", "burn-in steps per sequence (no gradients)", c => c.BurnIn, (c, v) => c with { BurnIn = v }, Allowed.Between(0, 65535))
        .Add("sequence_length", "learning steps per sequence, after the burn-in", c => c.SequenceLength, (c, v) => c with { SequenceLength = v }, Allowed.Between(1, 65536))
        .Add("overlap", "steps shared by consecutive sequences (< burn_in + sequence_length)", c => c.Overlap, (c, v) => c with { Overlap = v }, Allowed.Between(0, 65535))
        .Add("learning_starts", "steps before learning starts", c => c.LearningStarts, (c, v) => c with { LearningStarts = v }, Allowed.AtLeast(0L))
        .Add("gamma", "discount factor", c => c.Gamma, (c, v) => c with { Gamma = v }, Allowed.Between(0.0, 1.0))
        .Add("n_steps", "steps of the n-step return", c => c.NSteps, (c, v) => c with { NSteps = v }, Allowed.Between(1, 1000))
        .Add("target_update_interval", "environment steps between target updates", c => c.TargetUpdateInterval, (c, v) => c with { TargetUpdateInterval = v }, Allowed.AtLeast(1))
        .Add("train_freq", "vector steps between training phases", c => c.TrainFreq, (c, v) => c with { TrainFreq = v }, Allowed.AtLeast(1))
        .Add("gradient_steps", "gradient steps per training phase", c => c.GradientSteps, (c, v) => c with { GradientSteps = v }, Allowed.Between(1, 100_000))
        .Add("exploration_fraction", "fraction of the run over which epsilon decays", c => c.ExplorationFraction, (c, v) => c with { ExplorationFraction = v }, Allowed.Between(0.0, 1.0))
        .Add("exploration_initial_eps", "initial epsilon", c => c.ExplorationInitialEps, (c, v) => c with { ExplorationInitialEps = v }, Allowed.Between(0.0, 1.0))
        .Add("exploration_final_eps", "final epsilon", c => c.ExplorationFinalEps, (c, v) => c with { ExplorationFinalEps = v }, Allowed.Between(0.0, 1.0))
        .Add("max_grad_norm", "gradient norm clip", c => c.MaxGradNorm, (c, v) => c with { MaxGradNorm = v }, Allowed.Above(0))
        .Add("loss", "mse or huber", c => c.Loss, (c, v) => c with { Loss = v }, Allowed.OneOf("mse", "huber"))
        .Add("value_rescaling", "invertible value rescaling h of the targets (epsilon 1e-3)", c => c.ValueRescaling, (c, v) => c with { ValueRescaling = v })
        .Add("double_q", "Double-Q targets", c => c.DoubleQ, (c, v) => c with { DoubleQ = v })
        .Add("prioritized", "prioritized sequence replay", c => c.Prioritized, (c, v) => c with { Prioritized = v })
        .Add("priority_exponent", "priority exponent alpha", c => c.PriorityExponent, (c, v) => c with { PriorityExponent = v }, Allowed.Between(0.0, 1.0))
        .Add("importance_sampling_exponent", "importance-sampling exponent beta", c => c.ImportanceSamplingExponent, (c, v) => c with { ImportanceSamplingExponent = v }, Allowed.Between(0.0, 1.0))
        .Add("priority_eta", "eta of the priority eta*max|td| + (1-eta)*mean|td|", c => c.PriorityEta, (c, v) => c with { PriorityEta = v }, Allowed.Between(0.0, 1.0))
        .Add("eval_freq", "environment steps between evaluations (0: at the end only)", c => c.EvalFreq, (c, v) => c with { EvalFreq = v }, Allowed.AtLeast(0L))
        .Add("eval_episodes", "episodes per evaluation", c => c.EvalEpisodes, (c, v) => c with { EvalEpisodes = v }, Allowed.Between(1, 100_000))
        .Add("stop_at_return", "stop when the mean evaluation return reaches this (null: never)", c => c.StopAtReturn, (c, v) => c with { StopAtReturn = v }, v => v is null || double.IsFinite(v.Value) ? null : "must be a finite number or null")
        .Add("seed", "seed of everything random", c => c.Seed, (c, v) => c with { Seed = v }, Allowed.Between(0, int.MaxValue - 20_000))
        .Add("device", "cpu, cuda or cuda:N", c => c.Device, (c, v) => c with { Device = v }, v => v == "cpu" || v == "cuda" || (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v.AsSpan(5), out int i) && i >= 0) ? null : "must be cpu, cuda or cuda:N")
        .Add("torch_threads", "torch intra-op threads", c => c.TorchThreads, (c, v) => c with { TorchThreads = v }, Allowed.Between(1, 256))
        .Add("checkpoint_freq", "environment steps between checkpoints (0: at the end only)", c => c.CheckpointFreq, (c, v) => c with { CheckpointFreq = v }, Allowed.AtLeast(0L))
        .Add("log_interval", "environment steps between log rows", c => c.LogInterval, (c, v) => c with { LogInterval = v }, Allowed.AtLeast(1));
}
