using System.Text.Json.Serialization;

namespace RlMemory.Agents.Continuous;

/// <summary>
/// The architecture of a policy for Box actions (<see cref="SquashedGaussianActor"/>, <see cref="DeterministicActor"/>):
/// an MLP from observations to actions squashed by tanh into [−1, 1] and rescaled into the action space's bounds
/// (<see cref="Low"/>, <see cref="High"/>). Serialized as JSON next to the weights when an agent is saved.
/// </summary>
public sealed record ContinuousActorConfig
{
    /// <summary>The number of floats in one observation.</summary>
    public required int ObservationSize { get; init; }

    /// <summary>The lower bound of each action element (finite).</summary>
    public required IReadOnlyList<float> Low { get; init; }

    /// <summary>The upper bound of each action element (finite, above <see cref="Low"/>).</summary>
    public required IReadOnlyList<float> High { get; init; }

    /// <summary>The widths of the hidden layers (ReLU after each).</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [256, 256];

    /// <summary>
    /// SAC with generalized state-dependent exploration (gSDE, Raffin et al. 2022; SB3's <c>use_sde</c>): the mean is
    /// clipped to [−2, 2] and the noise is the last hidden layer's features times an exploration matrix drawn with
    /// standard deviations exp(log std), a learned [last hidden width × actions] parameter, instead of a log-std head.
    /// </summary>
    public bool StateDependentNoise { get; init; }

    /// <summary>With <see cref="StateDependentNoise"/>: the initial log std of every exploration weight (SB3's <c>log_std_init</c>, −3 by default).</summary>
    public double LogStdInit { get; init; } = -3;

    /// <summary>The number of floats in one action.</summary>
    [JsonIgnore]
    public int ActionSize => Low?.Count ?? 0;

    /// <summary>Throws when a field is out of range, naming it, the value and what is allowed.</summary>
    public ContinuousActorConfig Validate()
    {
        if (ObservationSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ObservationSize), ObservationSize, "ContinuousActorConfig.ObservationSize must be at least 1.");
        }

        if (Low is null || High is null || Low.Count < 1 || Low.Count != High.Count)
        {
            throw new ArgumentException($"ContinuousActorConfig: Low and High must be bounds of the same length, at least 1 (got {Low?.Count.ToString() ?? "none"} and {High?.Count.ToString() ?? "none"}).", nameof(Low));
        }

        for (int i = 0; i < Low.Count; i++)
        {
            if (!float.IsFinite(Low[i]) || !float.IsFinite(High[i]) || !(Low[i] < High[i]))
            {
                throw new ArgumentOutOfRangeException(nameof(Low), $"ContinuousActorConfig: action element {i} has bounds [{Low[i]}, {High[i]}]; they must be finite with low < high.");
            }
        }

        if (HiddenSizes is null)
        {
            throw new ArgumentNullException(nameof(HiddenSizes), "ContinuousActorConfig.HiddenSizes must be a list (empty for a linear policy).");
        }

        for (int i = 0; i < HiddenSizes.Count; i++)
        {
            if (HiddenSizes[i] < 1 || HiddenSizes[i] > 1 << 16)
            {
                throw new ArgumentOutOfRangeException(nameof(HiddenSizes), HiddenSizes[i], $"ContinuousActorConfig.HiddenSizes[{i}] must be in [1, 65536].");
            }
        }

        if (!double.IsFinite(LogStdInit) || LogStdInit < -20 || LogStdInit > 20)
        {
            throw new ArgumentOutOfRangeException(nameof(LogStdInit), LogStdInit, "ContinuousActorConfig.LogStdInit must be in [-20, 20].");
        }

        return this;
    }

    /// <summary>A short description, e.g. <c>MLP 3-256-256-1</c>.</summary>
    [JsonIgnore]
    public string Description =>
        $"MLP {string.Join("-", new[] { ObservationSize }.Concat(HiddenSizes ?? []).Append(ActionSize))}{(StateDependentNoise ? ", gSDE" : string.Empty)}";
}
