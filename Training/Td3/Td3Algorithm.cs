using RlMemory.Agents;
using RlMemory.Agents.Continuous;
using RlMemory.Training.Learning;

namespace RlMemory.Training.Td3;

/// <summary>
/// TD3 as the run loop drives it: the shared off-policy loop for Box actions
/// (<see cref="ContinuousOffPolicyAlgorithm{TLearner, TAgent}"/>) with TD3's learner, exploring with its deterministic
/// policy plus Gaussian noise, and an agent acting with the policy.
/// </summary>
internal sealed class Td3Algorithm : ContinuousOffPolicyAlgorithm<Td3Learner, Td3Agent>
{
    public Td3Algorithm(Td3Config config, AlgorithmContext<float[]> context)
        : this(config, context, ActorConfig(config, context, "TD3"))
    {
    }

    private Td3Algorithm(Td3Config config, AlgorithmContext<float[]> context, ContinuousActorConfig actor)
        : base(
            config,
            context,
            "Td3Networks",
            2 * (ArchitectureSize.Minimum(actor) + (2 * ArchitectureSize.Chain([actor.ObservationSize + actor.ActionSize, .. config.NetArch, 1]))),
            () => new Td3Learner(actor, context.Device, config),
            learner => new Td3Agent(learner.Actor, config.Env))
    {
    }
}
