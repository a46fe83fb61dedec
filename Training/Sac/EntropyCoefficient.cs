using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Sac;

/// <summary>SAC's entropy coefficient as a module (one parameter, log α), so checkpoints save it with the networks.</summary>
internal sealed class EntropyCoefficient : Module
{
    private readonly Parameter log_ent_coef;

    /// <param name="initial">The initial coefficient α₀ (log α starts at log α₀).</param>
    /// <param name="device">The device.</param>
    public EntropyCoefficient(double initial, Device device)
        : base(nameof(EntropyCoefficient))
    {
        log_ent_coef = Parameter(full([1], Math.Log(initial), ScalarType.Float32, device));
        RegisterComponents();
    }

    /// <summary>log α.</summary>
    public Parameter LogValue => log_ent_coef;
}
