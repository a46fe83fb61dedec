using System.Runtime.InteropServices;
using System.Text.Json;
using static TorchSharp.torch;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// A trained SAC agent: a <see cref="SquashedGaussianActor"/> that acts deterministically (tanh of the Gaussian's mean,
/// rescaled into the action space's bounds). Save it with <see cref="Save"/> (weights and the network's configuration
/// as JSON in one checked file; loading executes no code).
/// </summary>
/// <example>
/// <code>
/// using var agent = SacAgent.Load("runs/sac-pendulum/final_model.rlagent");
/// float[] torque = agent.Act(observation);
/// </code>
/// </example>
public sealed class SacAgent : IContinuousAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "SacAgent";

    private const int KindVersion = 1;
    private readonly bool _ownsNetwork;

    /// <summary>Wraps <paramref name="actor"/> (owned and disposed by the agent when <paramref name="ownsNetwork"/>).</summary>
    public SacAgent(SquashedGaussianActor actor, string? envId = null, bool ownsNetwork = false)
    {
        Actor = actor ?? throw new ArgumentNullException(nameof(actor));
        EnvId = envId;
        _ownsNetwork = ownsNetwork;
    }

    /// <summary>The policy network.</summary>
    public SquashedGaussianActor Actor { get; }

    /// <inheritdoc />
    string IAgent.Kind => Kind;

    /// <summary>The network's architecture and the action bounds.</summary>
    public SquashedGaussianActorConfig Config => Actor.Config;

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
                $"SacAgent: {observations.Length} observation floats and {actions.Length} action floats; expected n × {ObservationSize} and n × {ActionSize} for n ≥ 1 observations.",
                nameof(actions));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Device device = Actor.parameters().First().device;
        Tensor input = tensor(observations.ToArray(), [n, ObservationSize], device: device);
        Tensor squashed = Actor.Deterministic(input).cpu();
        Actor.Rescale(MemoryMarshal.Cast<byte, float>(squashed.bytes), actions);
    }

    /// <inheritdoc />
    public IEpisodeActor<float[]> Begin(int environments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        return new DeterministicActor(this, environments);
    }

    /// <summary>Saves the weights and the configuration to <paramref name="path"/> (atomically).</summary>
    public void Save(string path)
    {
        string metadata = JsonSerializer.Serialize(new AgentMetadata(Config, EnvId), AgentsJsonContext.Default.SacAgentMetadata);
        ModuleFile.Save(path, Kind, KindVersion, metadata, ("actor", Actor));
    }

    /// <summary>Loads an agent saved by <see cref="Save"/>, building its network from the saved configuration.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not a SAC agent file.</exception>
    public static SacAgent Load(string path, Device? device = null)
    {
        AgentMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, Kind), AgentsJsonContext.Default.SacAgentMetadata)
                ?? throw new InvalidDataException($"{path}: the agent metadata is empty.");
            (metadata.Config ?? throw new InvalidDataException($"{path}: the agent metadata has no configuration.")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent metadata is invalid: {e.Message}", e);
        }

        ModuleFile.RequireStoredParameters(path, Kind, ArchitectureSize.Minimum(metadata.Config), metadata.Config.Description);
        var actor = new SquashedGaussianActor(metadata.Config, device);
        try
        {
            ModuleFile.Load(path, Kind, ("actor", actor));
            return new SacAgent(actor, metadata.EnvId, ownsNetwork: true);
        }
        catch
        {
            actor.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsNetwork)
        {
            Actor.Dispose();
        }
    }

    /// <summary>A feed-forward agent carries no state: rows only count; each row's array receives its action.</summary>
    private sealed class DeterministicActor(SacAgent agent, int environments) : IEpisodeActor<float[]>
    {
        private float[] _flat = [];

        public int Environments { get; } = environments;

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<float[]> actions)
        {
            if (rows.Length != actions.Length)
            {
                throw new ArgumentException($"SacAgent: {rows.Length} rows but {actions.Length} actions.", nameof(actions));
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
                    throw new ArgumentException($"SacAgent: action {k} must be an array of {d} floats.", nameof(actions));
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

    internal sealed record AgentMetadata(SquashedGaussianActorConfig Config, string? EnvId);
}
