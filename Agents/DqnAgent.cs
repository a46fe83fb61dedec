using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>
/// A trained DQN agent: a <see cref="QNetwork"/> that acts greedily. Save it with <see cref="Save"/> (weights and the
/// network's configuration as JSON in one checked file; loading executes no code) and act with <see cref="Act(ReadOnlySpan{float})"/>.
/// </summary>
/// <example>
/// <code>
/// using var agent = DqnAgent.Load("runs/dqn-cartpole/final_model.rlagent");
/// int action = agent.Act(observation);
/// </code>
/// </example>
public sealed class DqnAgent : IDiscreteAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "DqnAgent";

    private const int KindVersion = 1;
    private readonly bool _ownsNetwork;
    private BatchedActor? _actor;

    /// <summary>Wraps <paramref name="network"/> (owned and disposed by the agent when <paramref name="ownsNetwork"/>).</summary>
    public DqnAgent(QNetwork network, string? envId = null, bool ownsNetwork = false)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        EnvId = envId;
        _ownsNetwork = ownsNetwork;
    }

    /// <summary>The Q-network.</summary>
    public QNetwork Network { get; }

    /// <inheritdoc />
    string IAgent.Kind => Kind;

    /// <summary>The network's architecture.</summary>
    public QNetworkConfig Config => Network.Config;

    /// <summary>The environment the agent was trained on, if known.</summary>
    public string? EnvId { get; }

    /// <inheritdoc />
    public int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public int ActionCount => Config.ActionCount;

    /// <summary>The greedy action for one observation.</summary>
    public int Act(ReadOnlySpan<float> observation)
    {
        Span<int> action = stackalloc int[1];
        Act(observation, action);
        return action[0];
    }

    /// <summary>The greedy actions for a batch of observations ([n × obs] floats, n = <paramref name="actions"/>.Length).</summary>
    public void Act(ReadOnlySpan<float> observations, Span<int> actions)
    {
        if (_actor is null || _actor.MaxBatch < actions.Length)
        {
            _actor?.Dispose();
            _actor = new BatchedActor(Network, Math.Max(1, actions.Length), seed: 0);
        }

        _actor.Greedy(observations, actions);
    }

    /// <inheritdoc />
    public IEpisodeActor Begin(int environments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        return new GreedyActor(this, environments);
    }

    /// <summary>Saves the weights and the configuration to <paramref name="path"/> (atomically).</summary>
    public void Save(string path)
    {
        string metadata = JsonSerializer.Serialize(new AgentMetadata(Config, EnvId), AgentsJsonContext.Default.AgentMetadata);
        ModuleFile.Save(path, Kind, KindVersion, metadata, ("q", Network));
    }

    /// <summary>Loads an agent saved by <see cref="Save"/>, building its network from the saved configuration.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not an agent file.</exception>
    public static DqnAgent Load(string path, Device? device = null)
    {
        AgentMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, Kind), AgentsJsonContext.Default.AgentMetadata)
                ?? throw new InvalidDataException($"{path}: the agent metadata is empty.");
            (metadata.Config ?? throw new InvalidDataException($"{path}: the agent metadata has no configuration.")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent metadata is invalid: {e.Message}", e);
        }

        ModuleFile.RequireStoredParameters(path, Kind, ArchitectureSize.Minimum(metadata.Config), metadata.Config.Description);
        var network = new QNetwork(metadata.Config, device);
        try
        {
            ModuleFile.Load(path, Kind, ("q", network));
            return new DqnAgent(network, metadata.EnvId, ownsNetwork: true);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replaces this agent's weights with those saved in <paramref name="path"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not an agent file, or its architecture differs (the message names both).</exception>
    public void LoadWeights(string path)
    {
        var metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, Kind), AgentsJsonContext.Default.AgentMetadata);
        if (metadata is not null && metadata.Config != Config && !SameArchitecture(metadata.Config, Config))
        {
            throw new InvalidDataException($"{path} holds a {metadata.Config.Description} agent; this agent is a {Config.Description}.");
        }

        ModuleFile.Load(path, Kind, ("q", Network));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The cached actor only: an agent that shares a trainer's network stays usable (it builds a new actor).
        _actor?.Dispose();
        _actor = null;
        if (_ownsNetwork)
        {
            Network.Dispose();
        }
    }

    private static bool SameArchitecture(QNetworkConfig a, QNetworkConfig b) =>
        a.ObservationSize == b.ObservationSize && a.ActionCount == b.ActionCount && a.Dueling == b.Dueling && a.HiddenSizes.SequenceEqual(b.HiddenSizes);

    /// <summary>A feed-forward agent carries no state: rows only count.</summary>
    private sealed class GreedyActor(DqnAgent agent, int environments) : IEpisodeActor
    {
        public int Environments { get; } = environments;

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
        {
            if (rows.Length != actions.Length)
            {
                throw new ArgumentException($"DqnAgent: {rows.Length} rows but {actions.Length} actions.", nameof(actions));
            }

            foreach (int row in rows)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(row, nameof(rows));
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Environments, nameof(rows));
            }

            agent.Act(observations, actions);
        }

        public void Reset(int row)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(row);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Environments);
        }

        public void Dispose()
        {
        }
    }

    internal sealed record AgentMetadata(QNetworkConfig Config, string? EnvId);
}
