using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>Target networks as every learner here keeps them (DQN's, R2D2's, SAC's and TD3's): a frozen copy that follows its source.</summary>
internal static class TargetNetworks
{
    /// <summary>Makes <paramref name="target"/> a frozen copy of <paramref name="source"/>: the same weights, no gradients, evaluation mode.</summary>
    public static void Start(nn.Module target, nn.Module source)
    {
        target.load_state_dict(source.state_dict());
        foreach (var p in target.parameters())
        {
            p.requires_grad = false;
        }

        target.eval();
    }

    /// <summary>Moves <paramref name="target"/> towards <paramref name="source"/>: θ' ← τθ + (1 − τ)θ' (τ ≥ 1: a copy).</summary>
    public static void Update(nn.Module source, nn.Module target, double tau)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            using Scalar keep = (1 - tau).ToScalar(), take = tau.ToScalar();
            foreach (var (t, o) in target.parameters().Zip(source.parameters()))
            {
                if (tau >= 1)
                {
                    t.copy_(o);
                }
                else
                {
                    t.mul_(keep).add_(o, alpha: take);
                }
            }
        }
    }
}
