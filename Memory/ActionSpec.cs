namespace RlMemory.Memory;

/// <summary>The kind of actions a replay buffer stores.</summary>
public enum ActionKind
{
    /// <summary>One integer per transition (a <c>Discrete</c> action space); sampled as <c>int64 [B]</c>.</summary>
    Discrete,

    /// <summary><see cref="ActionSpec.Dimension"/> floats per transition (a <c>Box</c> action space); sampled as <c>float32 [B, d]</c>.</summary>
    Continuous,
}

/// <summary>
/// What one action is: <see cref="Discrete"/> (an integer) or <see cref="Continuous(int)"/> (a vector of floats).
/// </summary>
public sealed record ActionSpec
{
    /// <summary>
    /// The largest magnitude of a discrete action. Actions are kept in a float32 column next to the rewards (one
    /// gather per sample); float32 holds every integer up to 2^24 exactly.
    /// </summary>
    public const int MaxDiscreteMagnitude = 1 << 24;

    private ActionSpec(ActionKind kind, int dimension)
    {
        Kind = kind;
        Dimension = dimension;
    }

    /// <summary>Integer actions (one per transition).</summary>
    public static ActionSpec Discrete { get; } = new(ActionKind.Discrete, 1);

    /// <summary>Continuous actions of <paramref name="dimension"/> floats.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not in [1, 65536].</exception>
    public static ActionSpec Continuous(int dimension)
    {
        if (dimension is < 1 or > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"ActionSpec.Continuous: dimension must be in [1, 65536], got {dimension}.");
        }

        return new ActionSpec(ActionKind.Continuous, dimension);
    }

    /// <summary>Discrete or continuous.</summary>
    public ActionKind Kind { get; }

    /// <summary>Floats per action: 1 for discrete actions, <c>d</c> for continuous ones.</summary>
    public int Dimension { get; }

    /// <summary>Whether actions are integers.</summary>
    public bool IsDiscrete => Kind == ActionKind.Discrete;

    public override string ToString() => IsDiscrete ? "discrete" : $"continuous({Dimension})";
}

/// <summary>How a replay buffer stores observations.</summary>
public enum ObservationStorage
{
    /// <summary>As float32 (4 bytes per value).</summary>
    Float32,

    /// <summary>
    /// As bytes (1 byte per value), for image frames: on insert each float is rounded to the nearest integer and must
    /// lie in [0, 255]; samples return float32 values 0..255.
    /// </summary>
    UInt8,
}
