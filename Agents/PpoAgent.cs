using System.Runtime.InteropServices;
using System.Text.Json;
using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>
/// A trained PPO agent: an <see cref="ActorCriticNetwork"/> (feed-forward or recurrent) that plays greedy actions (the
/// most probable one). Save it with <see cref="Save"/> (weights and the architecture as JSON in one checked file;
/// loading executes no code) and play with <see cref="Begin"/>, which carries a recurrent state per environment.
/// </summary>
/// <example>
/// <code>
/// using var agent = PpoAgent.Load("runs/ppo-cartpole-novel/final_model.rlagent");
/// using IEpisodeActor actor = agent.Begin(1);
/// actor.Act(observation, [0], action);     // after an episode ends: actor.Reset(0)
/// </code>
/// </example>
public sealed class PpoAgent : IDiscreteAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "PpoAgent";

    private const int KindVersion = 1;
    private readonly bool _ownsNetwork;

    /// <summary>Wraps <paramref name="network"/> (owned and disposed by the agent when <paramref name="ownsNetwork"/>).</summary>
    public PpoAgent(ActorCriticNetwork network, string? envId = null, bool ownsNetwork = false)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        EnvId = envId;
        _ownsNetwork = ownsNetwork;
    }

    /// <summary>The actor-critic network.</summary>
    public ActorCriticNetwork Network { get; }

    /// <summary>The network's architecture.</summary>
    public ActorCriticConfig Config => Network.Config;

    /// <inheritdoc />
    string IAgent.Kind => Kind;

    /// <summary>The environment the agent was trained on, if known.</summary>
    public string? EnvId { get; }

    /// <inheritdoc />
    public int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public int ActionCount => Config.ActionCount;

    /// <inheritdoc />
    public IEpisodeActor Begin(int environments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        var actor = new GreedyActor(Network, environments);
        return MemoryStateActor.Wrap(actor, Network.StateSpec, () => actor.State!);
    }

    /// <summary>Saves the weights and the architecture to <paramref name="path"/> (atomically).</summary>
    public void Save(string path)
    {
        string metadata = JsonSerializer.Serialize(new AgentMetadata(Config, EnvId), AgentsJsonContext.Default.PpoAgentMetadata);
        ModuleFile.Save(path, Kind, KindVersion, metadata, ("policy", Network));
    }

    /// <summary>Loads an agent saved by <see cref="Save"/>, building its network from the saved architecture.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, not a PPO agent, or names an architecture this version cannot build.</exception>
    public static PpoAgent Load(string path, Device? device = null)
    {
        AgentMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, Kind), AgentsJsonContext.Default.PpoAgentMetadata)
                ?? throw new InvalidDataException($"{path}: the agent metadata is empty.");
            (metadata.Config ?? throw new InvalidDataException($"{path}: the agent metadata has no configuration.")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent metadata is invalid: {e.Message}", e);
        }

        ModuleFile.RequireStoredParameters(path, Kind, ArchitectureSize.Minimum(metadata.Config), metadata.Config.Description);
        ActorCriticNetwork network;
        try
        {
            network = new ActorCriticNetwork(metadata.Config, device);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent's configuration cannot be built: {e.Message}", e);
        }

        try
        {
            ModuleFile.Load(path, Kind, ("policy", network));
            return new PpoAgent(network, metadata.EnvId, ownsNetwork: true);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsNetwork)
        {
            Network.Dispose();
        }
    }

    /// <summary>What an agent file records besides the weights.</summary>
    internal sealed record AgentMetadata(ActorCriticConfig Config, string? EnvId);

    /// <summary>
    /// Greedy actions for a fixed set of environments, each with its own recurrent state row: a call advances only the
    /// rows it names (one forward pass for them), <see cref="Reset"/> returns one row to the initial state.
    /// </summary>
    private sealed class GreedyActor : IEpisodeActor
    {
        private readonly ActorCriticNetwork _network;
        private readonly Tensor _observations;
        private readonly RecurrentState? _state;
        private readonly RecurrentState? _initial;
        private readonly int _observationSize;
        private readonly int _actionCount;
        private readonly float[] _logits;
        private readonly long[] _rows;
        private readonly bool[] _seen;
        private bool _disposed;

        public GreedyActor(ActorCriticNetwork network, int environments)
        {
            _network = network;
            Environments = environments;
            _observationSize = network.Config.ObservationSize;
            _actionCount = network.Config.ActionCount;
            _observations = empty([environments, _observationSize], ScalarType.Float32, CPU).DetachFromDisposeScope();
            _state = network.InitialState(environments)?.DetachFromDisposeScope();
            _initial = network.InitialState(1)?.DetachFromDisposeScope();
            _logits = new float[environments * _actionCount];
            _rows = new long[environments];
            _seen = new bool[environments];
        }

        public int Environments { get; }

        /// <summary>The recurrent state after the last step, one row per environment (null for a feed-forward policy).</summary>
        public RecurrentState? State => _state;

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int n = rows.Length;
            if (actions.Length != n || observations.Length != n * _observationSize)
            {
                throw new ArgumentException(
                    $"PpoAgent: {n} rows need {n} actions and {n} × {_observationSize} observation floats; got {actions.Length} and {observations.Length}.", nameof(observations));
            }

            if (n == 0)
            {
                return;
            }

            Array.Clear(_seen);
            bool all = n == Environments;
            for (int k = 0; k < n; k++)
            {
                int row = rows[k];
                if (row < 0 || row >= Environments || _seen[row])
                {
                    throw new ArgumentException($"PpoAgent: rows must be distinct environments in [0, {Environments - 1}]; got {row} at position {k}.", nameof(rows));
                }

                _seen[row] = true;
                _rows[k] = row;
                all &= row == k;
            }

            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                observations.CopyTo(MemoryMarshal.Cast<byte, float>(_observations.bytes));
                Tensor input = all ? _observations : _observations.narrow(0, 0, n);
                Device device = _network.Device;
                if (device.type != DeviceType.CPU)
                {
                    input = input.to(device);
                }

                Tensor logits;
                if (_state is null)
                {
                    (logits, _) = _network.Forward(input);
                }
                else if (all)
                {
                    (logits, _, RecurrentState? next) = _network.Step(input, _state);
                    for (int i = 0; i < _state.Tensors.Count; i++)
                    {
                        _state.Tensors[i].copy_(next!.Tensors[i]);
                    }
                }
                else
                {
                    Tensor index = tensor(_rows.AsSpan(0, n).ToArray(), device: _state.Device);
                    RecurrentState selected = _state.Select(index);
                    (logits, _, RecurrentState? next) = _network.Step(input, selected);
                    for (int i = 0; i < _state.Tensors.Count; i++)
                    {
                        _state.Tensors[i].index_copy_(0, index, next!.Tensors[i]);
                    }
                }

                Tensor host = (logits.device_type == DeviceType.CPU ? logits : logits.cpu()).contiguous();
                MemoryMarshal.Cast<byte, float>(host.bytes).CopyTo(_logits);
            }

            for (int k = 0; k < n; k++)
            {
                ReadOnlySpan<float> row = _logits.AsSpan(k * _actionCount, _actionCount);
                int best = 0;
                for (int a = 1; a < row.Length; a++)
                {
                    if (row[a] > row[best])
                    {
                        best = a;
                    }
                }

                actions[k] = best;
            }
        }

        public void Reset(int row)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentOutOfRangeException.ThrowIfNegative(row);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Environments);
            if (_state is null)
            {
                return;
            }

            using var scope = NewDisposeScope();
            using (no_grad())
            {
                for (int i = 0; i < _state.Tensors.Count; i++)
                {
                    _state.Tensors[i].narrow(0, row, 1).copy_(_initial!.Tensors[i]);
                }
            }
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _observations.Dispose();
            _state?.Dispose();
            _initial?.Dispose();
        }
    }
}
