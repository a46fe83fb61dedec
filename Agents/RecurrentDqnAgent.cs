using System.Text.Json;
using RlMemory.Agents.Recurrent;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>
/// A trained recurrent Q-learning (R2D2) agent: a <see cref="RecurrentQNetwork"/> that acts greedily and carries a
/// recurrent state per environment. Save it with <see cref="Save"/> (weights and the architecture, core included, as
/// JSON in one checked file; loading executes no code) and play with <see cref="Begin"/>.
/// </summary>
/// <example>
/// <code>
/// using var agent = (IDiscreteAgent)AgentFile.Load("runs/r2d2-tmaze-seed0/best_model.rlagent");
/// using IEpisodeActor actor = agent.Begin(1);
/// actor.Act(observation, [0], action);     // the state of row 0 advances
/// actor.Reset(0);                          // at the next episode
/// </code>
/// </example>
public sealed class RecurrentDqnAgent : IDiscreteAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "RecurrentDqnAgent";

    private const int KindVersion = 1;
    private readonly bool _ownsNetwork;

    /// <summary>Wraps <paramref name="network"/> (owned and disposed by the agent when <paramref name="ownsNetwork"/>).</summary>
    public RecurrentDqnAgent(RecurrentQNetwork network, string? envId = null, bool ownsNetwork = false)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        EnvId = envId;
        _ownsNetwork = ownsNetwork;
    }

    /// <summary>The recurrent Q-network.</summary>
    public RecurrentQNetwork Network { get; }

    /// <inheritdoc />
    string IAgent.Kind => Kind;

    /// <summary>The network's architecture.</summary>
    public RecurrentQNetworkConfig Config => Network.Config;

    /// <inheritdoc />
    public string? EnvId { get; }

    /// <inheritdoc />
    public int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public int ActionCount => Config.ActionCount;

    /// <summary>A greedy actor for <paramref name="environments"/> environments, each row starting at the initial state.</summary>
    public RecurrentQActor BeginActor(int environments) => new(Network, environments);

    /// <inheritdoc />
    public IEpisodeActor Begin(int environments)
    {
        RecurrentQActor actor = BeginActor(environments);
        return MemoryStateActor.Wrap(actor, Network.StateSpec, () => actor.State);
    }

    /// <summary>Saves the weights and the architecture to <paramref name="path"/> (atomically).</summary>
    public void Save(string path)
    {
        string metadata = JsonSerializer.Serialize(new RecurrentAgentMetadata(Config, EnvId), AgentsJsonContext.Default.RecurrentAgentMetadata);
        ModuleFile.Save(path, Kind, KindVersion, metadata, ("q", Network));
    }

    /// <summary>Loads an agent saved by <see cref="Save"/>, building its network (core included) from the saved architecture.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, not a recurrent agent, or names a core this build does not have.</exception>
    public static RecurrentDqnAgent Load(string path, Device? device = null)
    {
        RecurrentAgentMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, Kind), AgentsJsonContext.Default.RecurrentAgentMetadata)
                ?? throw new InvalidDataException($"{path}: the agent metadata is empty.");
            (metadata.Config ?? throw new InvalidDataException($"{path}: the agent metadata has no configuration.")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NullReferenceException)
        {
            throw new InvalidDataException($"{path}: the agent metadata is invalid: {e.Message}", e);
        }

        ModuleFile.RequireStoredParameters(path, Kind, ArchitectureSize.Minimum(metadata.Config), $"core {metadata.Config.Core}, {metadata.Config.ActionCount} actions");
        RecurrentQNetwork network;
        try
        {
            network = new RecurrentQNetwork(metadata.Config, device);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent's configuration cannot be built: {e.Message}", e);
        }

        try
        {
            ModuleFile.Load(path, Kind, ("q", network));
            return new RecurrentDqnAgent(network, metadata.EnvId, ownsNetwork: true);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Replaces this agent's weights with those saved in <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a recurrent agent file, or its architecture differs (the message names both).</exception>
    public void LoadWeights(string path)
    {
        var metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, Kind), AgentsJsonContext.Default.RecurrentAgentMetadata);
        if (metadata is not null && !metadata.Config.SameArchitecture(Config))
        {
            throw new InvalidDataException($"{path} holds a {metadata.Config.Description} agent; this agent is a {Config.Description}.");
        }

        ModuleFile.Load(path, Kind, ("q", Network));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsNetwork)
        {
            Network.Dispose();
        }
    }

    internal sealed record RecurrentAgentMetadata(RecurrentQNetworkConfig Config, string? EnvId);
}
