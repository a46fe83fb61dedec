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

    /// <summary>
    /// Generalized state-dependent exploration (gSDE, Raffin et al. 2022; SB3's <c>use_sde</c>): the policy's noise is
    /// its last hidden layer's features times an exploration matrix, held for a while when acting (see
    /// <see cref="SdeSampleFreq"/>) and drawn anew at each gradient step.
    /// </summary>
    public bool UseSde { get; init; }

    /// <summary>With gSDE: new exploration matrices every this many vector steps (−1: only after each training phase, as SB3's <c>sde_sample_freq</c>).</summary>
    public int SdeSampleFreq { get; init; } = -1;

    /// <summary>With gSDE: act with the policy, not uniformly, before <c>learning_starts</c> (SB3's <c>use_sde_at_warmup</c>).</summary>
    public bool UseSdeAtWarmup { get; init; }

    /// <summary>With gSDE: the initial log standard deviation of the exploration weights (SB3's <c>log_std_init</c>).</summary>
    public double LogStdInit { get; init; } = -3;

    /// <inheritdoc />
    internal override bool PolicyActsInWarmup => UseSde && UseSdeAtWarmup;

    /// <summary>Whether α is learned (<see cref="EntCoef"/> is <c>auto</c> or <c>auto_X</c>).</summary>
    internal bool LearnsEntCoef => EntCoef.StartsWith("auto", StringComparison.Ordinal);

    /// <summary>The initial (or fixed) α.</summary>
    internal double InitialEntCoef => EntCoef == "auto" ? 1.0 : double.Parse(LearnsEntCoef ? EntCoef[5..] : EntCoef, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The target entropy for <paramref name="actionSize"/> action floats.</summary>
    internal double TargetEntropyFor(int actionSize) => TargetEntropy == "auto" ? -actionSize : double.Parse(TargetEntropy, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    /// <exception cref="ConfigException">Also: a gSDE setting without <c>use_sde</c>.</exception>
    internal override void ValidateCombinations()
    {
        base.ValidateCombinations();
        if (!UseSde && (SdeSampleFreq != -1 || UseSdeAtWarmup || LogStdInit != -3))
        {
            string keys = string.Join(", ", new[] { SdeSampleFreq != -1 ? "sde_sample_freq" : null, UseSdeAtWarmup ? "use_sde_at_warmup" : null, LogStdInit != -3 ? "log_std_init" : null }.OfType<string>());
            throw new ConfigException($"{keys} set without use_sde: these settings belong to gSDE; set use_sde: true or remove them.");
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
        .AddOffPolicyKeys("policy, Q-networks, entropy coefficient")
        .Add("target_update_interval", "gradient steps between target updates", c => c.TargetUpdateInterval, (c, v) => c with { TargetUpdateInterval = v }, Allowed.AtLeast(1))
        .Add("ent_coef", "entropy coefficient: auto (learned from 1), auto_X (learned from X) or a fixed number", c => c.EntCoef, (c, v) => c with { EntCoef = v }, EntCoefProblem)
        .Add("use_sde", "generalized state-dependent exploration (gSDE) instead of independent Gaussian noise", c => c.UseSde, (c, v) => c with { UseSde = v })
        .Add("sde_sample_freq", "gSDE: new exploration matrices every this many vector steps (-1: after each training phase)", c => c.SdeSampleFreq, (c, v) => c with { SdeSampleFreq = v }, v => v == -1 || v is >= 1 and <= 1 << 20 ? null : "must be -1 or in [1, 1048576]")
        .Add("use_sde_at_warmup", "gSDE: act with the policy instead of uniformly before learning_starts", c => c.UseSdeAtWarmup, (c, v) => c with { UseSdeAtWarmup = v })
        .Add("log_std_init", "gSDE: initial log standard deviation of the exploration weights", c => c.LogStdInit, (c, v) => c with { LogStdInit = v }, Allowed.Between(-20.0, 20.0))
        .Add("target_entropy", "entropy the learned coefficient aims at: auto (-dim(actions)) or a number", c => c.TargetEntropy, (c, v) => c with { TargetEntropy = v }, TargetEntropyProblem)
        .AddRunKeys();
}
