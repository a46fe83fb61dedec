using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Learning;

/// <summary>
/// Two independent Q-functions Q₀(s, a) and Q₁(s, a), each an MLP over the observation and the action (in [−1, 1])
/// concatenated, as Stable-Baselines3's <c>ContinuousCritic</c> with two critics (clipped double Q: SAC and TD3 take the
/// smaller). Layers use PyTorch's default initialization.
/// </summary>
internal sealed class TwinCritic : Module<Tensor, Tensor, (Tensor Q0, Tensor Q1)>
{
    private readonly Sequential qf0;
    private readonly Sequential qf1;

    /// <param name="observationSize">Floats in one observation.</param>
    /// <param name="actionSize">Floats in one action.</param>
    /// <param name="hiddenSizes">The hidden widths of each Q-network (ReLU after each).</param>
    /// <param name="device">The device (CPU by default).</param>
    public TwinCritic(int observationSize, int actionSize, IReadOnlyList<int> hiddenSizes, Device? device = null)
        : base(nameof(TwinCritic))
    {
        qf0 = Mlp(observationSize + actionSize, hiddenSizes);
        qf1 = Mlp(observationSize + actionSize, hiddenSizes);
        RegisterComponents();
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>Q₀ and Q₁, each [B], for observations [B, obs] and actions [B, actions].</summary>
    public override (Tensor Q0, Tensor Q1) forward(Tensor observations, Tensor actions)
    {
        using var scope = NewDisposeScope();
        Tensor input = cat([observations, actions], 1);
        return (qf0.forward(input).squeeze(1).MoveToOuterDisposeScope(), qf1.forward(input).squeeze(1).MoveToOuterDisposeScope());
    }

    private static Sequential Mlp(long input, IReadOnlyList<int> hiddenSizes)
    {
        var layers = Agents.MlpLayers.Hidden(input, hiddenSizes, out long width);
        layers.Add(("out", Linear(width, 1)));
        return Sequential(layers);
    }
}
