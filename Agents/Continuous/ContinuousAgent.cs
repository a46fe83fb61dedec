using System.Runtime.InteropServices;
using System.Text.Json;
using static TorchSharp.torch;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// What the agents with Box actions share (<see cref="SacAgent"/>, <see cref="Td3Agent"/>): a policy network giving
/// deterministic actions in [−1, 1], rescaled into the action space's bounds; batched acting; the episode-actor
/// interface; and one checked file with the weights and the architecture as JSON (loading executes no code).
/// </summary>
public abstract class ContinuousAgent : IContinuousAgent
{
    private readonly nn.Module _network;
    private readonly Device _device;
    private readonly string _kind;
    private readonly int _kindVersion;
    private readonly bool _ownsNetwork;

    /// <param name="network">The policy network (disposed with the agent when <paramref name="ownsNetwork"/>).</param>
    /// <param name="config">Its architecture and the action bounds.</param>
    /// <param name="kind">The kind recorded in agent files.</param>
    /// <param name="kindVersion">The version of that kind's file layout.</param>
    /// <param name="envId">The environment the agent was trained on, if known.</param>
    /// <param name="ownsNetwork">Whether the agent disposes the network.</param>
    private protected ContinuousAgent(nn.Module network, ContinuousActorConfig config, string kind, int kindVersion, string? envId, bool ownsNetwork)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        _device = network.parameters().First().device;
        Config = config ?? throw new ArgumentNullException(nameof(config));
        Bounds = new ActionBounds(config.Low, config.High);
        _kind = kind;
        _kindVersion = kindVersion;
        EnvId = envId;
        _ownsNetwork = ownsNetwork;
    }

    /// <inheritdoc />
    string IAgent.Kind => _kind;

    /// <summary>The network's architecture and the action bounds.</summary>
    public ContinuousActorConfig Config { get; }

    /// <inheritdoc />
    public string? EnvId { get; }

    /// <inheritdoc />
    public int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public int ActionSize => Config.ActionSize;

    /// <inheritdoc />
    public IReadOnlyList<float> Low => Config.Low;

    /// <inheritdoc />
    public IReadOnlyList<float> High => Config.High;

    private ActionBounds Bounds { get; }

    /// <summary>The deterministic action for one observation, within the action space's bounds.</summary>
    public float[] Act(ReadOnlySpan<float> observation)
    {
        var action = new float[ActionSize];
        Act(observation, action);
        return action;
    }

    /// <summary>
    /// The deterministic actions for a batch of observations ([n × obs] floats) into <paramref name="actions"/> ([n ×
    /// actions] floats), within the action space's bounds.
    /// </summary>
    /// <exception cref="ArgumentException">The spans' lengths do not fit the agent's sizes.</exception>
    public void Act(ReadOnlySpan<float> observations, Span<float> actions)
    {
        int n = actions.Length / ActionSize;
        if (n < 1 || actions.Length != n * ActionSize || observations.Length != n * ObservationSize)
        {
            throw new ArgumentException(
                $"{_kind}: {observations.Length} observation floats and {actions.Length} action floats; expected n × {ObservationSize} and n × {ActionSize} for n ≥ 1 observations.",
                nameof(actions));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor input = tensor(observations.ToArray(), [n, ObservationSize], device: _device);
        Tensor squashed = Squashed(input).cpu();
        Bounds.Rescale(MemoryMarshal.Cast<byte, float>(squashed.bytes), actions);
    }

    /// <inheritdoc />
    public IEpisodeActor<float[]> Begin(int environments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        return new StatelessActor(this, environments);
    }

    /// <summary>Saves the weights and the configuration to <paramref name="path"/> (atomically).</summary>
    public void Save(string path)
    {
        string metadata = JsonSerializer.Serialize(new ContinuousAgentMetadata(Config, EnvId), AgentsJsonContext.Default.ContinuousAgentMetadata);
        ModuleFile.Save(path, _kind, _kindVersion, metadata, ("actor", _network));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsNetwork)
        {
            _network.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The deterministic actions in [−1, 1], [n, actions], for observations [n, obs].</summary>
    private protected abstract Tensor Squashed(Tensor observations);

    /// <summary>Loads an agent file of <paramref name="kind"/>, building its network with <paramref name="build"/> and the agent with <paramref name="wrap"/>.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not of this kind.</exception>
    private protected static TAgent Load<TAgent, TNetwork>(string path, string kind, Device? device, Func<ContinuousActorConfig, Device?, TNetwork> build, Func<TNetwork, string?, TAgent> wrap)
        where TNetwork : nn.Module
    {
        ContinuousAgentMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, kind), AgentsJsonContext.Default.ContinuousAgentMetadata)
                ?? throw new InvalidDataException($"{path}: the agent metadata is empty.");
            (metadata.Config ?? throw new InvalidDataException($"{path}: the agent metadata has no configuration.")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent metadata is invalid: {e.Message}", e);
        }

        ModuleFile.RequireStoredParameters(path, kind, ArchitectureSize.Minimum(metadata.Config), metadata.Config.Description);
        TNetwork network = build(metadata.Config, device);
        try
        {
            ModuleFile.Load(path, kind, ("actor", network));
            return wrap(network, metadata.EnvId);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>A feed-forward agent carries no state: rows only count; each row's array receives its action.</summary>
    private sealed class StatelessActor(ContinuousAgent agent, int environments) : IEpisodeActor<float[]>
    {
        private float[] _flat = [];

        public int Environments { get; } = environments;

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<float[]> actions)
        {
            if (rows.Length != actions.Length)
            {
                throw new ArgumentException($"{agent._kind}: {rows.Length} rows but {actions.Length} actions.", nameof(actions));
            }

            foreach (int row in rows)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(row, nameof(rows));
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Environments, nameof(rows));
            }

            int d = agent.ActionSize;
            if (_flat.Length < actions.Length * d)
            {
                _flat = new float[Environments * d];
            }

            Span<float> flat = _flat.AsSpan(0, actions.Length * d);
            agent.Act(observations, flat);
            for (int k = 0; k < actions.Length; k++)
            {
                if (actions[k] is null || actions[k].Length != d)
                {
                    throw new ArgumentException($"{agent._kind}: action {k} must be an array of {d} floats.", nameof(actions));
                }

                flat.Slice(k * d, d).CopyTo(actions[k]);
            }
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
}

/// <summary>What a continuous agent's file records besides the weights.</summary>
/// <param name="Config">The policy's architecture and the action bounds.</param>
/// <param name="EnvId">The environment it was trained on.</param>
internal sealed record ContinuousAgentMetadata(ContinuousActorConfig Config, string? EnvId);
