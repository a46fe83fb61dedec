using RlMemory.Agents;
using RlMemory.Agents.Continuous;
using RlMemory.Training.Learning;

namespace RlMemory.Training.Sac;

/// <summary>
/// SAC as the run loop drives it: the shared off-policy loop for Box actions
/// (<see cref="ContinuousOffPolicyAlgorithm{TLearner, TAgent}"/>) with SAC's learner, exploring with its stochastic
/// policy (with gSDE, its exploration matrices held as SB3 holds them), and an agent acting with the policy's mean.
/// </summary>
internal sealed class SacAlgorithm : ContinuousOffPolicyAlgorithm<SacLearner, SacAgent>
{
    public SacAlgorithm(SacConfig config, AlgorithmContext<float[]> context)
        : this(config, context, ActorConfig(config, context, "SAC") with { StateDependentNoise = config.UseSde, LogStdInit = config.LogStdInit })
    {
    }

    private SacAlgorithm(SacConfig config, AlgorithmContext<float[]> context, ContinuousActorConfig actor)
        : base(
            config,
            context,
            "SacNetworks",
            ArchitectureSize.Minimum(actor) + (2 * ArchitectureSize.Chain([actor.ObservationSize + actor.ActionSize, .. config.NetArch, 1])),
            () => new SacLearner(actor, context.Device, config),
            learner => new SacAgent(learner.Actor, config.Env))
    {
    }
}
