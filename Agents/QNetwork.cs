using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents;

/// <summary>
/// A Q-network: an MLP mapping a batch of observations [B, obs] to Q-values [B, actions], with a plain linear head or
/// a dueling head (V(s) + A(s, a) − mean_a A(s, a)). Layers use PyTorch's default initialization.
/// </summary>
public sealed class QNetwork : Module<Tensor, Tensor>
{
    private readonly Sequential body;
    private readonly Linear? head;
    private readonly Linear? value;
    private readonly Linear? advantage;

    /// <summary>Builds the network described by <paramref name="config"/> on <paramref name="device"/> (CPU by default).</summary>
    public QNetwork(QNetworkConfig config, Device? device = null)
        : base(nameof(QNetwork))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        body = Sequential(MlpLayers.Hidden(config.ObservationSize, config.HiddenSizes, out long width));
        if (config.Dueling)
        {
            value = Linear(width, 1);
            advantage = Linear(width, config.ActionCount);
        }
        else
        {
            head = Linear(width, config.ActionCount);
        }

        RegisterComponents();
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>The architecture.</summary>
    public QNetworkConfig Config { get; }

    /// <summary>Q-values [B, actions] for observations [B, obs].</summary>
    public override Tensor forward(Tensor observations)
    {
        using var scope = NewDisposeScope();
        Tensor features = body.forward(observations);
        Tensor q;
        if (head is not null)
        {
            q = head.forward(features);
        }
        else
        {
            Tensor v = value!.forward(features);
            Tensor a = advantage!.forward(features);
            q = v + a - a.mean([1], keepdim: true);
        }

        return q.MoveToOuterDisposeScope();
    }
}
