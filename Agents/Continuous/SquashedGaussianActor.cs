using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// SAC's policy (Haarnoja et al. 2018, as Stable-Baselines3's <c>Actor</c>): an MLP giving the mean and standard
/// deviation of a diagonal Gaussian over pre-squash actions u; the action is tanh(u) in [−1, 1], and its
/// log-probability carries the change of variables, log π(a|s) = Σ log N(u; μ, σ) − Σ log(1 − tanh(u)² + 10⁻⁶).
/// <see cref="Bounds"/> maps [−1, 1] into the action space's bounds. Layers use PyTorch's default initialization.
/// </summary>
/// <remarks>
/// The standard deviation comes from a log-std head clamped to [−20, 2], or, with
/// <see cref="ContinuousActorConfig.StateDependentNoise"/> (gSDE, SB3's <c>use_sde</c> with <c>full_std</c> and learned
/// features), from the last hidden layer's features z: the noise is z·M with an exploration matrix M whose entries are
/// drawn from N(0, exp(log std)²), so σ² = z²·exp(log std)² + 10⁻⁶ per action, and the mean is clipped to [−2, 2]
/// (SB3's <c>clip_mean</c>).
/// </remarks>
public sealed class SquashedGaussianActor : Module<Tensor, (Tensor Mean, Tensor LogStd)>
{
    /// <summary>The smallest log standard deviation (SB3's <c>LOG_STD_MIN</c>).</summary>
    public const double LogStdMin = -20;

    /// <summary>The largest log standard deviation (SB3's <c>LOG_STD_MAX</c>).</summary>
    public const double LogStdMax = 2;

    /// <summary>The ε inside log(1 − tanh(u)² + ε) that keeps the correction finite at the bounds (SB3's value).</summary>
    public const double SquashEpsilon = 1e-6;

    /// <summary>With gSDE, the mean is clipped to ± this (SB3's <c>clip_mean</c>).</summary>
    public const double ClipMean = 2;

    /// <summary>With gSDE, the ε added to the variance (SB3's <c>StateDependentNoiseDistribution.epsilon</c>).</summary>
    public const double VarianceEpsilon = 1e-6;

    // 1 − float32's machine ε (torch.finfo(float32).eps = 2⁻²³), where SB3 clamps actions before atanh.
    private const double Inside = 1 - (1.0 / (1 << 23));

    private static readonly double HalfLogTwoPi = 0.5 * Math.Log(2 * Math.PI);

    private readonly Sequential body;
    private readonly Linear mu;
    private readonly Linear? log_std;
    private readonly Parameter? sde_log_std;

    /// <summary>Builds the network described by <paramref name="config"/> on <paramref name="device"/> (CPU by default).</summary>
    public SquashedGaussianActor(ContinuousActorConfig config, Device? device = null)
        : base(nameof(SquashedGaussianActor))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        body = Sequential(MlpLayers.Hidden(config.ObservationSize, config.HiddenSizes, out long width));
        LatentWidth = (int)width;
        mu = Linear(width, config.ActionSize);
        if (config.StateDependentNoise)
        {
            sde_log_std = Parameter(full([width, config.ActionSize], config.LogStdInit, ScalarType.Float32));
        }
        else
        {
            log_std = Linear(width, config.ActionSize);
        }

        RegisterComponents();
        Bounds = new ActionBounds(config.Low, config.High);
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>The architecture.</summary>
    public ContinuousActorConfig Config { get; }

    /// <summary>The action space's bounds.</summary>
    public ActionBounds Bounds { get; }

    /// <summary>Whether the noise is state-dependent (gSDE): actions are drawn with exploration matrices.</summary>
    public bool StateDependentNoise => sde_log_std is not null;

    /// <summary>The width of the features the gSDE noise is drawn from (the last hidden layer, or the observation without one).</summary>
    public int LatentWidth { get; }

    /// <summary>The Gaussian's mean and log standard deviation, each [B, actions], for observations [B, obs].</summary>
    public override (Tensor Mean, Tensor LogStd) forward(Tensor observations)
    {
        using var scope = NewDisposeScope();
        var (mean, logStd, _) = Parameters(observations);
        return (mean.MoveToOuterDisposeScope(), logStd.MoveToOuterDisposeScope());
    }

    /// <summary>The deterministic action tanh(μ) in [−1, 1], [B, actions].</summary>
    public Tensor Deterministic(Tensor observations)
    {
        using var scope = NewDisposeScope();
        Tensor features = body.forward(observations);
        return Mean(features).tanh().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// gSDE: <paramref name="count"/> exploration matrices [count, latent width, actions], each entry drawn from
    /// N(0, exp(log std)²) with <paramref name="generator"/> (differentiable in log std where gradients are on).
    /// </summary>
    /// <exception cref="InvalidOperationException">The policy's noise is not state-dependent.</exception>
    public Tensor ExplorationMatrices(long count, Generator? generator)
    {
        Parameter logStd = sde_log_std ?? throw new InvalidOperationException("Exploration matrices belong to gSDE policies (StateDependentNoise); this policy has a log-std head.");
        using var scope = NewDisposeScope();
        Tensor noise = randn([count, LatentWidth, Config.ActionSize], logStd.dtype, logStd.device, generator: generator);
        return noise.mul(logStd.exp()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A reparameterized sample a = tanh(u) in [−1, 1] [B, actions], with its log-probability [B] (gradients flow to
    /// the weights through both). Without gSDE, u = μ + σ·ε with ε ~ N(0, I) drawn from <paramref name="generator"/>.
    /// With gSDE, u = μ + z·M, M being <paramref name="exploration"/> — one matrix [latent, actions] for every row, or
    /// one per row [B, latent, actions] — or, when that is null, one matrix drawn from <paramref name="generator"/>;
    /// the log-probability is then SB3's, of atanh(a) clamped inside (−1, 1).
    /// </summary>
    public (Tensor Action, Tensor LogProb) Sample(Tensor observations, Generator? generator, Tensor? exploration = null)
    {
        using var scope = NewDisposeScope();
        var (mean, logStd, latent) = Parameters(observations);
        using Scalar half = 0.5.ToScalar(), constant = HalfLogTwoPi.ToScalar(), one = 1.ToScalar(), epsilon = SquashEpsilon.ToScalar();
        if (latent is null)
        {
            Tensor noise = randn(mean.shape, mean.dtype, mean.device, generator: generator);
            Tensor action = mean.add(logStd.exp().mul(noise)).tanh();

            // log N(u; μ, σ) = −ε²/2 − log σ − log √(2π) with u = μ + σε, then the tanh correction.
            Tensor gaussian = noise.square().mul(half).add(logStd).add(constant).neg().sum(1);
            Tensor squash = action.square().neg().add(one).add(epsilon).log().sum(1);
            return (action.MoveToOuterDisposeScope(), gaussian.sub(squash).MoveToOuterDisposeScope());
        }

        Tensor matrix = exploration ?? ExplorationMatrices(1, generator)[0];
        Tensor stateNoise = matrix.dim() == 3 ? latent.unsqueeze(1).bmm(matrix).squeeze(1) : latent.mm(matrix);
        Tensor squashed = mean.add(stateNoise).tanh();

        // SB3 inverts the squash (TanhBijector.inverse: atanh of the action clamped one float ε inside ±1).
        using Scalar low = (-Inside).ToScalar(), high = Inside.ToScalar();
        Tensor pre = squashed.clamp(low, high).atanh();
        Tensor z = pre.sub(mean).div(logStd.exp());
        Tensor logDensity = z.square().mul(half).add(logStd).add(constant).neg().sum(1);
        Tensor correction = pre.tanh().square().neg().add(one).add(epsilon).log().sum(1);
        return (squashed.MoveToOuterDisposeScope(), logDensity.sub(correction).MoveToOuterDisposeScope());
    }

    private Tensor Mean(Tensor features)
    {
        Tensor mean = mu.forward(features);
        return StateDependentNoise ? mean.clamp(-ClipMean, ClipMean) : mean;
    }

    // The mean, log σ and (gSDE) the latent features z.
    private (Tensor Mean, Tensor LogStd, Tensor? Latent) Parameters(Tensor observations)
    {
        Tensor features = body.forward(observations);
        Tensor mean = Mean(features);
        if (sde_log_std is null)
        {
            return (mean, log_std!.forward(features).clamp(LogStdMin, LogStdMax), null);
        }

        // σ² = z² · exp(log std)² + ε (SB3's learn_features: z keeps its gradient in SAC); log σ = ½ log σ².
        using Scalar two = 2.ToScalar(), half = 0.5.ToScalar(), epsilon = VarianceEpsilon.ToScalar();
        Tensor variance = features.square().mm(sde_log_std.mul(two).exp()).add(epsilon);
        return (mean, variance.log().mul(half), features);
    }
}
