using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// TD3's policy (Fujimoto et al. 2018, as Stable-Baselines3's TD3 <c>Actor</c>): an MLP from observations to actions,
/// squashed by tanh into [−1, 1]; <see cref="Bounds"/> maps them into the action space's bounds. Layers use PyTorch's
/// default initialization.
/// </summary>
public sealed class DeterministicActor : Module<Tensor, Tensor>
{
    private readonly Sequential mu;

    /// <summary>Builds the network described by <paramref name="config"/> on <paramref name="device"/> (CPU by default).</summary>
    public DeterministicActor(ContinuousActorConfig config, Device? device = null)
        : base(nameof(DeterministicActor))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        if (config.StateDependentNoise)
        {
            throw new ArgumentException("DeterministicActor: StateDependentNoise (gSDE) belongs to SAC's squashed Gaussian policy; a deterministic policy has no noise of its own.", nameof(config));
        }

        var layers = MlpLayers.Hidden(config.ObservationSize, config.HiddenSizes, out long width);
        layers.Add(("out", Linear(width, config.ActionSize)));
        layers.Add(("tanh", Tanh()));
        mu = Sequential(layers);
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

    /// <summary>Actions in [−1, 1], [B, actions], for observations [B, obs].</summary>
    public override Tensor forward(Tensor observations) => mu.forward(observations);
}
