using System.Globalization;
using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;

namespace RlMemory.Training.Sac;

/// <summary>
/// Every setting of a SAC run (Haarnoja et al. 2018: twin Q-functions, a squashed Gaussian policy, automatic entropy
/// tuning, Polyak-averaged targets), with the meanings and defaults of Stable-Baselines3's SAC where both have the
/// setting, so rl-baselines3-zoo hyperparameters carry over. The YAML keys are in <see cref="Schema"/>.
/// </summary>
public sealed record SacConfig : RunConfig, IContinuousOffPolicyConfig
{
    /// <summary>The defaults: SB3's SAC, for 20,000 steps of Pendulum-v1.</summary>
    public SacConfig()
    {
        Env = "Pendulum-v1";
        TotalTimesteps = 20_000;
    }

    /// <summary>Hidden layer widths of the policy and of each Q-network.</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [256, 256];

    /// <summary>Adam learning rate of the policy, the Q-networks and the entropy coefficient.</summary>
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Transitions per gradient step.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Replay capacity in transitions.</summary>
    public int BufferSize { get; init; } = 1_000_000;

    /// <summary>Environment steps of uniformly random actions before learning starts.</summary>
    public long LearningStarts { get; init; } = 100;

    /// <summary>Discount factor.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Polyak coefficient of the target Q-networks' update.</summary>
    public double Tau { get; init; } = 0.005;

    /// <summary>Vector steps between training phases.</summary>
    public int TrainFreq { get; init; } = 1;

    /// <summary>Gradient steps per training phase; −1 = as many as environment steps collected since the last phase.</summary>
    public int GradientSteps { get; init; } = 1;

    /// <summary>Gradient steps (within a phase, as SB3 counts them) between target updates.</summary>
    public int TargetUpdateInterval { get; init; } = 1;

    /// <summary>
    /// The entropy coefficient α: <c>auto</c> (learned, starting at 1), <c>auto_X</c> (learned, starting at X), or a
    /// fixed positive number.
    /// </summary>
    public string EntCoef { get; init; } = "auto";

    /// <summary>The entropy the learned α aims at: <c>auto</c> (−dim(actions)) or a number.</summary>
    public string TargetEntropy { get; init; } = "auto";

    /// <summary>Steps of the n-step return.</summary>
    public int NSteps { get; init; } = 1;

    /// <summary>Whether α is learned (<see cref="EntCoef"/> is <c>auto</c> or <c>auto_X</c>).</summary>
    internal bool LearnsEntCoef => EntCoef.StartsWith("auto", StringComparison.Ordinal);

    /// <summary>The initial (or fixed) α.</summary>
    internal double InitialEntCoef => EntCoef == "auto" ? 1.0 : double.Parse(LearnsEntCoef ? EntCoef[5..] : EntCoef, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The target entropy for <paramref name="actionSize"/> action floats.</summary>
    internal double TargetEntropyFor(int actionSize) => TargetEntropy == "auto" ? -actionSize : double.Parse(TargetEntropy, NumberStyles.Float, CultureInfo.InvariantCulture);

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
    /// The configuration of a shipped preset (e.g. <c>sac-pendulum</c>) or a YAML file, with optional <c>key=value</c>
    /// overrides.
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset or file, a key that is not SAC's, or a value out of range.</exception>
    public static SacConfig FromPreset(string nameOrPath, params string[] overrides) =>
        FromPreset(Schema, nameOrPath, overrides);

    private static string? EntCoefProblem(string value)
    {
        if (value == "auto")
        {
            return null;
        }

        string number = value.StartsWith("auto_", StringComparison.Ordinal) ? value[5..] : value;
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x) && x > 0
            ? null
            : "must be auto, auto_X (learned from X > 0) or a fixed number > 0";
    }

    private static string? TargetEntropyProblem(string value) =>
        value == "auto" || (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x))
            ? null
            : "must be auto (-dim(actions)) or a finite number";

    /// <summary>The keys of a SAC configuration, their checks and their descriptions.</summary>
    public static ConfigSchema<SacConfig> Schema { get; } = new ConfigSchema<SacConfig>("sac")
        .AddEnvironmentKeys()
        .Add("net_arch", "hidden layer widths of the policy and of each Q-network", c => c.NetArch, (c, v) => c with { NetArch = v }, Allowed.IntList(1, 65536, allowEmpty: true))
        .Add("learning_rate", "Adam learning rate (policy, Q-networks, entropy coefficient)", c => c.LearningRate, (c, v) => c with { LearningRate = v }, Allowed.Above(0, 1))
        .Add("batch_size", "transitions per gradient step", c => c.BatchSize, (c, v) => c with { BatchSize = v }, Allowed.Between(1, 1 << 20))
        .Add("buffer_size", "replay capacity (transitions)", c => c.BufferSize, (c, v) => c with { BufferSize = v }, Allowed.Between(1, 1 << 30))
        .Add("learning_starts", "steps of uniformly random actions before learning starts", c => c.LearningStarts, (c, v) => c with { LearningStarts = v }, Allowed.AtLeast(0L))
        .Add("gamma", "discount factor", c => c.Gamma, (c, v) => c with { Gamma = v }, Allowed.Between(0.0, 1.0))
        .Add("tau", "Polyak coefficient of the target Q-networks", c => c.Tau, (c, v) => c with { Tau = v }, Allowed.Above(0, 1))
        .Add("train_freq", "steps per environment between training phases", c => c.TrainFreq, (c, v) => c with { TrainFreq = v }, Allowed.AtLeast(1))
        .Add("gradient_steps", "gradient steps per phase (-1: one per environment step)", c => c.GradientSteps, (c, v) => c with { GradientSteps = v }, v => v == -1 || v >= 1 ? null : "must be -1 or an integer >= 1")
        .Add("target_update_interval", "gradient steps between target updates", c => c.TargetUpdateInterval, (c, v) => c with { TargetUpdateInterval = v }, Allowed.AtLeast(1))
        .Add("ent_coef", "entropy coefficient: auto (learned from 1), auto_X (learned from X) or a fixed number", c => c.EntCoef, (c, v) => c with { EntCoef = v }, EntCoefProblem)
        .Add("target_entropy", "entropy the learned coefficient aims at: auto (-dim(actions)) or a number", c => c.TargetEntropy, (c, v) => c with { TargetEntropy = v }, TargetEntropyProblem)
        .Add("n_steps", "steps of the n-step return", c => c.NSteps, (c, v) => c with { NSteps = v }, Allowed.Between(1, 1000))
        .AddRunKeys();
}
