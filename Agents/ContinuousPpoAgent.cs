using System.Text.Json;
using RlMemory.Agents.ActorCritic;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>
/// A trained PPO agent for continuous (Box) actions: an <see cref="ActorCriticNetwork"/> with a Gaussian policy
/// (feed-forward or recurrent) that plays the distribution's mean, clipped to the Box's bounds (SB3's deterministic
/// <c>predict</c>). Saved with <see cref="Save"/> as one checked file (weights, the architecture and the bounds as JSON;
/// loading executes no code); <see cref="Begin"/> carries a recurrent state per environment.
/// </summary>
/// <example>
/// <code>
/// using var agent = (ContinuousPpoAgent)AgentFile.Load("runs/ppo-pendulum/final_model.rlagent");
/// using IEpisodeActor&lt;float[]&gt; actor = agent.Begin(1);
/// float[][] action = [new float[agent.ActionSize]];
/// actor.Act(observation, [0], action);     // after an episode ends: actor.Reset(0)
/// </code>
/// </example>
public sealed class ContinuousPpoAgent : IContinuousAgent
{
    /// <summary>The kind recorded in agent files.</summary>
    public const string Kind = "ContinuousPpoAgent";

    private const int KindVersion = 1;
    private readonly bool _ownsNetwork;
    private readonly float[] _low;
    private readonly float[] _high;

    /// <summary>
    /// Wraps <paramref name="network"/> (a <c>gaussian</c> or <c>gsde</c> policy; owned and disposed by the agent when
    /// <paramref name="ownsNetwork"/>) acting within [<paramref name="low"/>, <paramref name="high"/>].
    /// </summary>
    /// <exception cref="ArgumentException">The network's actions are discrete, or the bounds do not fit its action size (or are NaN, or low &gt; high).</exception>
    public ContinuousPpoAgent(ActorCriticNetwork network, IReadOnlyList<float> low, IReadOnlyList<float> high, string? envId = null, bool ownsNetwork = false)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        if (!network.Config.IsContinuous)
        {
            throw new ArgumentException("ContinuousPpoAgent plays continuous actions; this network's actions are discrete: use PpoAgent.", nameof(network));
        }

        int d = network.Config.ActionCount;
        if (low.Count != d || high.Count != d || Enumerable.Range(0, d).Any(i => float.IsNaN(low[i]) || float.IsNaN(high[i]) || low[i] > high[i]))
        {
            throw new ArgumentException($"ContinuousPpoAgent: the bounds [{string.Join(", ", low)}] … [{string.Join(", ", high)}] must be {d} numbers each with low ≤ high.", nameof(high));
        }

        _low = [.. low];
        _high = [.. high];
        EnvId = envId;
        _ownsNetwork = ownsNetwork;
    }

    /// <summary>The actor-critic network.</summary>
    public ActorCriticNetwork Network { get; }

    /// <summary>The network's architecture.</summary>
    public ActorCriticConfig Config => Network.Config;

    /// <inheritdoc />
    string IAgent.Kind => Kind;

    /// <inheritdoc />
    public string? EnvId { get; }

    /// <inheritdoc />
    public int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public int ActionSize => Config.ActionCount;

    /// <inheritdoc />
    public IReadOnlyList<float> Low => _low;

    /// <inheritdoc />
    public IReadOnlyList<float> High => _high;

    /// <inheritdoc />
    public IEpisodeActor<float[]> Begin(int environments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        return new MeanActor(this, environments);
    }

    /// <summary>Saves the weights, the architecture and the bounds to <paramref name="path"/> (atomically).</summary>
    public void Save(string path)
    {
        string metadata = JsonSerializer.Serialize(new AgentMetadata(Config, _low, _high, EnvId), AgentsJsonContext.Default.ContinuousPpoAgentMetadata);
        ModuleFile.Save(path, Kind, KindVersion, metadata, ("policy", Network));
    }

    /// <summary>Loads an agent saved by <see cref="Save"/>, building its network from the saved architecture.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, not a continuous PPO agent, or names an architecture this version cannot build.</exception>
    public static ContinuousPpoAgent Load(string path, Device? device = null) =>
        ActorCriticFile.Load(
            path, Kind, AgentsJsonContext.Default.ContinuousPpoAgentMetadata, m => m.Config,
            (m, config) => !config.IsContinuous || m.Low is null || m.High is null ? "is not a continuous policy with bounds" : null,
            device, (network, m) => new ContinuousPpoAgent(network, m.Low, m.High, m.EnvId, ownsNetwork: true));

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsNetwork)
        {
            Network.Dispose();
        }
    }

    /// <summary>What an agent file records besides the weights.</summary>
    internal sealed record AgentMetadata(ActorCriticConfig Config, float[] Low, float[] High, string? EnvId);

    /// <summary>The mean action, clipped to the bounds, for a fixed set of environments with a recurrent state row each.</summary>
    private sealed class MeanActor(ContinuousPpoAgent agent, int environments) : IEpisodeActor<float[]>
    {
        private readonly ActorCriticRows _rows = new(agent.Network, environments, Kind);

        public int Environments => _rows.Environments;

        public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<float[]> actions)
        {
            int d = agent.ActionSize;
            for (int k = 0; k < actions.Length; k++)
            {
                if (actions[k] is null || actions[k].Length != d)
                {
                    throw new ArgumentException($"{Kind}: each action must be a float[{d}]; entry {k} is {(actions[k] is null ? "null" : $"float[{actions[k].Length}]")}.", nameof(actions));
                }
            }

            ReadOnlySpan<float> outputs = _rows.Forward(observations, rows, actions.Length);
            for (int k = 0; k < rows.Length; k++)
            {
                ReadOnlySpan<float> mean = outputs.Slice(k * _rows.Width, d);
                for (int a = 0; a < d; a++)
                {
                    actions[k][a] = float.IsNaN(mean[a]) ? mean[a] : Math.Clamp(mean[a], agent._low[a], agent._high[a]);
                }
            }
        }

        public void Reset(int row) => _rows.Reset(row);

        public void Dispose() => _rows.Dispose();
    }
}
