using System.Globalization;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Sac;

/// <summary>
/// Every setting of a SAC run (Haarnoja et al. 2018: twin Q-functions, a squashed Gaussian policy, automatic entropy
/// tuning, Polyak-averaged targets), with the meanings and defaults of Stable-Baselines3's SAC where both have the
/// setting, so rl-baselines3-zoo hyperparameters carry over. The YAML keys are in <see cref="Schema"/>.
/// </summary>
public sealed record SacConfig : ContinuousOffPolicyConfig
{
    /// <summary>The defaults: SB3's SAC (256-256 networks, learning rate 3e-4), for 20,000 steps of Pendulum-v1.</summary>
    public SacConfig()
    {
        Env = "Pendulum-v1";
        TotalTimesteps = 20_000;
    }

    /// <summary>Gradient steps (within a phase, as SB3 counts them) between target updates.</summary>
    public int TargetUpdateInterval { get; init; } = 1;

    /// <summary>
    /// The entropy coefficient α: <c>auto</c> (learned, starting at 1), <c>auto_X</c> (learned, starting at X), or a
    /// fixed positive number.
    /// </summary>
    public string EntCoef { get; init; } = "auto";

    /// <summary>The entropy the learned α aims at: <c>auto</c> (−dim(actions)) or a number.</summary>
    public string TargetEntropy { get; init; } = "auto";

    /// <summary>Whether α is learned (<see cref="EntCoef"/> is <c>auto</c> or <c>auto_X</c>).</summary>
    internal bool LearnsEntCoef => EntCoef.StartsWith("auto", StringComparison.Ordinal);

    /// <summary>The initial (or fixed) α.</summary>
    internal double InitialEntCoef => EntCoef == "auto" ? 1.0 : double.Parse(LearnsEntCoef ? EntCoef[5..] : EntCoef, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The target entropy for <paramref name="actionSize"/> action floats.</summary>
    internal double TargetEntropyFor(int actionSize) => TargetEntropy == "auto" ? -actionSize : double.Parse(TargetEntropy, NumberStyles.Float, CultureInfo.InvariantCulture);

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
        .AddOffPolicyKeys("policy, Q-networks, entropy coefficient")
        .Add("target_update_interval", "gradient steps between target updates", c => c.TargetUpdateInterval, (c, v) => c with { TargetUpdateInterval = v }, Allowed.AtLeast(1))
        .Add("ent_coef", "entropy coefficient: auto (learned from 1), auto_X (learned from X) or a fixed number", c => c.EntCoef, (c, v) => c with { EntCoef = v }, EntCoefProblem)
        .Add("target_entropy", "entropy the learned coefficient aims at: auto (-dim(actions)) or a number", c => c.TargetEntropy, (c, v) => c with { TargetEntropy = v }, TargetEntropyProblem)
        .AddRunKeys();
}
