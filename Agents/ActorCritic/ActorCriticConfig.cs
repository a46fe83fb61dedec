using System.Text.Json.Serialization;
using RlMemory.Agents.Recurrent;

namespace RlMemory.Agents.ActorCritic;

/// <summary>
/// The architecture of an <see cref="ActorCriticNetwork"/>: a body (a recurrent core, or none for a feed-forward
/// policy), a policy MLP ending in one logit per discrete action or one mean per entry of a continuous action (see
/// <see cref="Distribution"/>), and a value MLP ending in V(s). Serialized as JSON next to the weights when an agent
/// is saved.
/// </summary>
public sealed record ActorCriticConfig
{
    /// <summary>The activation functions the head MLPs may use.</summary>
    public static IReadOnlyList<string> Activations { get; } = ["tanh", "relu"];

    /// <summary>The critic placements: on the core's features (<c>shared</c>), on a second core of its own (<c>separate</c>), or on the observations (<c>mlp</c>).</summary>
    public static IReadOnlyList<string> Critics { get; } = ["shared", "separate", "mlp"];

    /// <summary>
    /// The action distributions: <c>categorical</c> (discrete actions), <c>gaussian</c> (continuous actions: a diagonal
    /// Gaussian whose log standard deviations are parameters independent of the state, as SB3's
    /// <c>DiagGaussianDistribution</c>) and <c>gsde</c> (continuous actions with generalized state-dependent exploration,
    /// Raffin et al. 2022, as SB3's <c>StateDependentNoiseDistribution</c> with <c>full_std</c>).
    /// </summary>
    public static IReadOnlyList<string> Distributions { get; } = ["categorical", "gaussian", "gsde"];

    /// <summary>Floats in one observation.</summary>
    public required int ObservationSize { get; init; }

    /// <summary>The number of discrete actions (<c>categorical</c>), or the size of the action vector (<c>gaussian</c>, <c>gsde</c>).</summary>
    public required int ActionCount { get; init; }

    /// <summary>The action distribution, one of <see cref="Distributions"/> (<c>categorical</c> by default: discrete actions).</summary>
    public string Distribution { get; init; } = "categorical";

    /// <summary>
    /// The initial log standard deviation of the Gaussian distributions (SB3's <c>log_std_init</c>, 0 by default): every
    /// entry of the state-independent log std (<c>gaussian</c>) or of the exploration weights' log std (<c>gsde</c>).
    /// </summary>
    public double LogStdInit { get; init; }

    /// <summary>The recurrent core (see <see cref="CoreConfig"/>); null for a feed-forward policy, whose heads read the observations.</summary>
    public CoreConfig? Core { get; init; }

    /// <summary>Hidden layer widths of the policy MLP and of the value MLP (each has its own layers, as SB3's <c>net_arch</c> list).</summary>
    public IReadOnlyList<int> NetArch { get; init; } = [64, 64];

    /// <summary>The activation after each hidden layer of the heads: <c>tanh</c> (SB3's default) or <c>relu</c>.</summary>
    public string Activation { get; init; } = "tanh";

    /// <summary>
    /// Where the value MLP reads from: <c>shared</c>, the core's features (the critic shares the actor's memory);
    /// <c>separate</c>, the features of a second core of the same configuration (sb3-contrib's default
    /// <c>enable_critic_lstm: true</c>; twice the recurrent work); or <c>mlp</c>, the observations (a feed-forward critic,
    /// as sb3-contrib's <c>enable_critic_lstm: false</c>). All three are the same without a core.
    /// </summary>
    public string Critic { get; init; } = "shared";

    /// <summary>Orthogonal initialization of the heads as SB3 does it (gain √2 for hidden layers, 0.01 for the logits, 1 for the value; zero biases); false keeps PyTorch's defaults.</summary>
    public bool OrthoInit { get; init; } = true;

    /// <summary>
    /// Normalize observations with running statistics held by the network (<c>(obs − mean) / √(var + 1e-8)</c>,
    /// clipped to ±10, as SB3's <c>VecNormalize</c>); the trainer sets them, and a saved agent keeps them.
    /// </summary>
    public bool NormalizeObservations { get; init; }

    /// <summary>Whether the network carries a recurrent state.</summary>
    [JsonIgnore]
    public bool IsRecurrent => Core is not null;

    /// <summary>Whether the actions are continuous (a Gaussian distribution).</summary>
    [JsonIgnore]
    public bool IsContinuous => Distribution != "categorical";

    /// <summary>A short description, e.g. <c>lstm(64) → pi [64], vf [64] (relu)</c>.</summary>
    [JsonIgnore]
    public string Description =>
        $"{(Core is null ? "mlp" : Core.ToString())}, obs {ObservationSize}, {(IsContinuous ? $"{ActionCount}-dimensional {Distribution} actions" : $"{ActionCount} actions")}, heads [{string.Join(", ", NetArch)}] ({Activation}, critic {Critic}){(NormalizeObservations ? ", normalized observations" : string.Empty)}";

    /// <summary>Throws when a field is out of range, naming it, the value and what is allowed.</summary>
    public ActorCriticConfig Validate()
    {
        if (ObservationSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ObservationSize), ObservationSize, "ActorCriticConfig.ObservationSize must be at least 1.");
        }

        if (ActionCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ActionCount), ActionCount, "ActorCriticConfig.ActionCount must be at least 1.");
        }

        if (NetArch is null || NetArch.Any(w => w is < 1 or > 1 << 16))
        {
            throw new ArgumentOutOfRangeException(nameof(NetArch), "ActorCriticConfig.NetArch must be a list of widths in [1, 65536] (empty for linear heads).");
        }

        if (!Activations.Contains(Activation))
        {
            throw new ArgumentException($"ActorCriticConfig.Activation must be one of {string.Join(", ", Activations)}, got '{Activation}'.", nameof(Activation));
        }

        if (!Critics.Contains(Critic))
        {
            throw new ArgumentException($"ActorCriticConfig.Critic must be one of {string.Join(", ", Critics)}, got '{Critic}'.", nameof(Critic));
        }

        if (!Distributions.Contains(Distribution))
        {
            throw new ArgumentException($"ActorCriticConfig.Distribution must be one of {string.Join(", ", Distributions)}, got '{Distribution}'.", nameof(Distribution));
        }

        if (!double.IsFinite(LogStdInit) || Math.Abs(LogStdInit) > 20)
        {
            throw new ArgumentOutOfRangeException(nameof(LogStdInit), LogStdInit, "ActorCriticConfig.LogStdInit must be a number in [-20, 20].");
        }

        Core?.Validate();
        return this;
    }
}
