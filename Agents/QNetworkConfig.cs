using System.Text.Json.Serialization;

namespace RlMemory.Agents;

/// <summary>
/// The architecture of a <see cref="QNetwork"/>: an MLP from observations to one Q-value per action, optionally with a
/// dueling head (Wang et al. 2016). Serialized as JSON next to the weights when an agent is saved.
/// </summary>
public sealed record QNetworkConfig
{
    /// <summary>The number of floats in one observation.</summary>
    public required int ObservationSize { get; init; }

    /// <summary>The number of discrete actions.</summary>
    public required int ActionCount { get; init; }

    /// <summary>The widths of the hidden layers (ReLU after each); empty for a linear Q-function.</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [256, 256];

    /// <summary>Split the head into a state value V(s) and advantages A(s, a): Q = V + A − mean(A).</summary>
    public bool Dueling { get; init; }

    /// <summary>Throws when a field is out of range, naming it, the value and what is allowed.</summary>
    public QNetworkConfig Validate()
    {
        if (ObservationSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ObservationSize), ObservationSize, "QNetworkConfig.ObservationSize must be at least 1.");
        }

        if (ActionCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ActionCount), ActionCount, "QNetworkConfig.ActionCount must be at least 1.");
        }

        if (HiddenSizes is null)
        {
            throw new ArgumentNullException(nameof(HiddenSizes), "QNetworkConfig.HiddenSizes must be a list (empty for a linear Q-function).");
        }

        for (int i = 0; i < HiddenSizes.Count; i++)
        {
            if (HiddenSizes[i] < 1 || HiddenSizes[i] > 1 << 16)
            {
                throw new ArgumentOutOfRangeException(nameof(HiddenSizes), HiddenSizes[i], $"QNetworkConfig.HiddenSizes[{i}] must be in [1, 65536].");
            }
        }

        return this;
    }

    /// <summary>A short description, e.g. <c>MLP 4-256-256-2 (dueling)</c>.</summary>
    [JsonIgnore]
    public string Description =>
        $"MLP {string.Join("-", new[] { ObservationSize }.Concat(HiddenSizes).Append(ActionCount))}{(Dueling ? " (dueling)" : string.Empty)}";
}
