using static TorchSharp.torch;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// A trained TD3 agent: a <see cref="DeterministicActor"/> whose actions are rescaled into the action space's bounds.
/// Save it with <see cref="ContinuousAgent.Save"/>; loading executes no code.
/// </summary>
/// <example>
/// <code>
/// using var agent = Td3Agent.Load("runs/td3-pendulum-seed0/final_model.rlagent");
/// float[] torque = agent.Act(observation);
/// </code>
/// </example>
public sealed class Td3Agent : ContinuousAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "Td3Agent";

    /// <summary>Wraps <paramref name="actor"/> (owned and disposed by the agent when <paramref name="ownsNetwork"/>).</summary>
    public Td3Agent(DeterministicActor actor, string? envId = null, bool ownsNetwork = false)
        : base(actor, actor?.Config!, Kind, 1, envId, ownsNetwork)
    {
        Actor = actor!;
    }

    /// <summary>The policy network.</summary>
    public DeterministicActor Actor { get; }

    /// <summary>Loads an agent saved by <see cref="ContinuousAgent.Save"/>, building its network from the saved configuration.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not a TD3 agent file.</exception>
    public static Td3Agent Load(string path, Device? device = null) =>
        Load(path, Kind, device, (config, d) => new DeterministicActor(config, d), (actor, env) => new Td3Agent(actor, env, ownsNetwork: true));

    private protected override Tensor Squashed(Tensor observations) => Actor.forward(observations);
}
