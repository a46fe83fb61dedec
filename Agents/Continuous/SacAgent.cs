using static TorchSharp.torch;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// A trained SAC agent: a <see cref="SquashedGaussianActor"/> that acts deterministically (tanh of the Gaussian's mean,
/// rescaled into the action space's bounds). Save it with <see cref="ContinuousAgent.Save"/>; loading executes no code.
/// </summary>
/// <example>
/// <code>
/// using var agent = SacAgent.Load("runs/sac-pendulum-seed0/final_model.rlagent");
/// float[] torque = agent.Act(observation);
/// </code>
/// </example>
public sealed class SacAgent : ContinuousAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "SacAgent";

    /// <summary>Wraps <paramref name="actor"/> (owned and disposed by the agent when <paramref name="ownsNetwork"/>).</summary>
    public SacAgent(SquashedGaussianActor actor, string? envId = null, bool ownsNetwork = false)
        : base(actor, actor?.Config!, Kind, 1, envId, ownsNetwork)
    {
        Actor = actor!;
    }

    /// <summary>The policy network.</summary>
    public SquashedGaussianActor Actor { get; }

    /// <summary>Loads an agent saved by <see cref="ContinuousAgent.Save"/>, building its network from the saved configuration.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not a SAC agent file.</exception>
    public static SacAgent Load(string path, Device? device = null) =>
        Load(path, Kind, device, (config, d) => new SquashedGaussianActor(config, d), (actor, env) => new SacAgent(actor, env, ownsNetwork: true));

    private protected override Tensor Squashed(Tensor observations) => Actor.Deterministic(observations);
}
