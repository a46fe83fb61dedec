using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// SAC's policy (Haarnoja et al. 2018, as Stable-Baselines3's <c>Actor</c>): an MLP whose two heads give the mean and
/// the log standard deviation (clamped to [−20, 2]) of a diagonal Gaussian over pre-squash actions u; the action is
/// tanh(u) in [−1, 1], and its log-probability carries the change of variables, log π(a|s) = Σ log N(u; μ, σ) −
/// Σ log(1 − tanh(u)² + 10⁻⁶). <see cref="Bounds"/> maps [−1, 1] into the action space's bounds. Layers use PyTorch's
/// default initialization.
/// </summary>
public sealed class SquashedGaussianActor : Module<Tensor, (Tensor Mean, Tensor LogStd)>
{
    /// <summary>The smallest log standard deviation (SB3's <c>LOG_STD_MIN</c>).</summary>
    public const double LogStdMin = -20;

    /// <summary>The largest log standard deviation (SB3's <c>LOG_STD_MAX</c>).</summary>
    public const double LogStdMax = 2;

    /// <summary>The ε inside log(1 − tanh(u)² + ε) that keeps the correction finite at the bounds (SB3's value).</summary>
    public const double SquashEpsilon = 1e-6;

    private static readonly double HalfLogTwoPi = 0.5 * Math.Log(2 * Math.PI);

    private readonly Sequential body;
    private readonly Linear mu;
    private readonly Linear log_std;

    /// <summary>Builds the network described by <paramref name="config"/> on <paramref name="device"/> (CPU by default).</summary>
    public SquashedGaussianActor(ContinuousActorConfig config, Device? device = null)
        : base(nameof(SquashedGaussianActor))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        body = Sequential(MlpLayers.Hidden(config.ObservationSize, config.HiddenSizes, out long width));
        mu = Linear(width, config.ActionSize);
        log_std = Linear(width, config.ActionSize);
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

    /// <summary>The Gaussian's mean and clamped log standard deviation, each [B, actions], for observations [B, obs].</summary>
    public override (Tensor Mean, Tensor LogStd) forward(Tensor observations)
    {
        using var scope = NewDisposeScope();
        Tensor features = body.forward(observations);
        Tensor mean = mu.forward(features);
        Tensor logStd = log_std.forward(features).clamp(LogStdMin, LogStdMax);
        return (mean.MoveToOuterDisposeScope(), logStd.MoveToOuterDisposeScope());
    }

    /// <summary>The deterministic action tanh(μ) in [−1, 1], [B, actions].</summary>
    public Tensor Deterministic(Tensor observations)
    {
        using var scope = NewDisposeScope();
        var (mean, _) = forward(observations);
        return mean.tanh().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A reparameterized sample a = tanh(μ + σ·ε), ε ~ N(0, I) drawn from <paramref name="generator"/>, in [−1, 1]
    /// [B, actions], with its log-probability [B] (gradients flow to the weights through both).
    /// </summary>
    public (Tensor Action, Tensor LogProb) Sample(Tensor observations, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var (mean, logStd) = forward(observations);
        Tensor noise = randn(mean.shape, mean.dtype, mean.device, generator: generator);
        Tensor action = mean.add(logStd.exp().mul(noise)).tanh();

        // log N(u; μ, σ) = −ε²/2 − log σ − log √(2π) with u = μ + σε, then the tanh correction.
        using Scalar half = 0.5.ToScalar(), constant = HalfLogTwoPi.ToScalar(), one = 1.ToScalar(), epsilon = SquashEpsilon.ToScalar();
        Tensor gaussian = noise.square().mul(half).add(logStd).add(constant).neg().sum(1);
        Tensor squash = action.square().neg().add(one).add(epsilon).log().sum(1);
        return (action.MoveToOuterDisposeScope(), gaussian.sub(squash).MoveToOuterDisposeScope());
    }
}
