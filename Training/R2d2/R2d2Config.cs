using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;

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
public sealed record R2d2Config : CoreRunConfig, IQLearningConfig
{
    /// <summary>The defaults: an LSTM of 64 units on CartPoleNoVel-v1, 8 environments, 100,000 steps.</summary>
    public R2d2Config()
    {
        Env = "CartPoleNoVel-v1";
        NumEnvs = 8;
    }

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

    /// <summary>Refuses keys that cannot go together (each key's own range is checked by <see cref="Schema"/>).</summary>
    /// <exception cref="ConfigException">The sequences, n-step returns, buffer or core do not fit together.</exception>
    internal void ValidateCombinations()
    {
        int total = BurnIn + SequenceLength;
        if (total > SequenceReplayOptions.MaxSequenceLength)
        {
            throw new ConfigException($"burn_in + sequence_length = {BurnIn} + {SequenceLength} = {total} exceeds {SequenceReplayOptions.MaxSequenceLength}.");
        }

        if (Overlap >= total)
        {
            throw new ConfigException($"overlap = {Overlap} must be less than burn_in + sequence_length = {BurnIn} + {SequenceLength} = {total} (consecutive sequences must start at different steps); allowed: [0, {total - 1}].");
        }

        if (NSteps > SequenceLength)
        {
            throw new ConfigException($"n_steps = {NSteps} must be at most sequence_length = {SequenceLength}: an n-step return is cut at the end of the learning part.");
        }

        if (BufferSize < BatchSize)
        {
            throw new ConfigException($"buffer_size ({BufferSize} sequences) must be at least batch_size ({BatchSize} sequences).");
        }

        try
        {
            CoreConfig!.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(e.Message, e);
        }
    }

    /// <summary>
    /// The configuration of a shipped preset (e.g. <c>r2d2-tmaze</c>) or a YAML file, with optional <c>key=value</c> overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not R2D2's, or a value out of range.</exception>
    public static R2d2Config FromPreset(string nameOrPath, params string[] overrides) =>
        FromPreset(Schema, nameOrPath, overrides);

    /// <summary>The keys of an R2D2 configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<R2d2Config> Schema { get; } = new ConfigSchema<R2d2Config>(R2d2Trainer.Algo)
        .AddEnvironmentKeys()
        .AddCoreKeys(feedForward: false)
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
        .AddRunKeys();
}
