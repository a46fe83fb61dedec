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
        if (network.Config.IsContinuous)
        {
            throw new ArgumentException($"PpoAgent plays discrete actions; this network's actions are continuous ({network.Config.Distribution}): use ContinuousPpoAgent.", nameof(network));
        }

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
    public static PpoAgent Load(string path, Device? device = null) =>
        ActorCriticFile.Load(
            path, Kind, AgentsJsonContext.Default.PpoAgentMetadata, m => m.Config,
            (_, config) => config.IsContinuous ? "describes a policy with continuous actions (a ContinuousPpoAgent's)" : null,
            device, (network, m) => new PpoAgent(network, m.EnvId, ownsNetwork: true));

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

    /// <summary>Greedy actions (the most probable) for a fixed set of environments, each with its own recurrent state row.</summary>
    private sealed class GreedyActor(ActorCriticNetwork network, int environments) : IEpisodeActor
    {
        private readonly ActorCriticRows _rows = new(network, environments, Kind);

        public int Environments => _rows.Environments;

        /// <summary>The recurrent state after the last step, one row per environment (null for a feed-forward policy).</summary>
        public RecurrentState? State => _rows.State;

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
        {
            ReadOnlySpan<float> logits = _rows.Forward(observations, rows, actions.Length);
            int width = _rows.Width;
            for (int k = 0; k < rows.Length; k++)
            {
                ReadOnlySpan<float> row = logits.Slice(k * width, width);
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

        public void Reset(int row) => _rows.Reset(row);

        public void Dispose() => _rows.Dispose();
    }
}
