using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// What a <see cref="SequenceReplayBuffer"/> stores and how it cuts sequences (R2D2, Kapturowski et al. 2019). Each
/// property checks its value when it is set (the message names the field, the value and the allowed range); rules that
/// involve several fields are checked by <see cref="Validate"/>, which the buffer calls.
/// </summary>
/// <remarks>
/// A sequence has <see cref="SequenceLength"/> = <see cref="BurnIn"/> + <see cref="LearningLength"/> steps. Sequences
/// start at each episode's first step and then every <see cref="Stride"/> = <c>SequenceLength − Overlap</c> steps, so
/// consecutive sequences of an episode share <see cref="Overlap"/> steps. R2D2 used 80-step sequences (burn-in 40,
/// learning 40) with an overlap of 40, which are the defaults.
/// <example>
/// <code>
/// var options = new SequenceReplayOptions
/// {
///     Capacity = 10_000,                    // sequences
///     ObservationShape = [4],
///     NumEnvs = 16,
///     StateSpec = new RecurrentStateSpec([new("h", [128], ScalarType.Float32), new("c", [128], ScalarType.Float32)]),
///     Prioritized = true,
/// };
/// </code>
/// </example>
/// </remarks>
public sealed record SequenceReplayOptions
{
    /// <summary>The longest sequence (burn-in plus learning part).</summary>
    public const int MaxSequenceLength = 1 << 16;

    private readonly int _capacity = 1;
    private readonly int _burnIn = 40;
    private readonly int _learningLength = 40;
    private readonly int _overlap = 40;
    private readonly int[] _observationShape = [1];
    private readonly ObservationStorage _observationStorage = ObservationStorage.Float32;
    private readonly ActionSpec _action = ActionSpec.Discrete;
    private readonly int _numEnvs = 1;
    private readonly RecurrentStateSpec _stateSpec = new([new RecurrentStatePart("h", [1], ScalarType.Float32)]);
    private readonly PriorityOptions _priority = new() { Alpha = 0.9 };
    private readonly double _eta = 0.9;
    private readonly int _minSequenceLength = 1;

    /// <summary>The number of sequences the buffer holds; when full, the oldest are overwritten. Allowed: [1, 2^31 − 1].</summary>
    public required int Capacity
    {
        get => _capacity;
        init => _capacity = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Capacity), value, $"SequenceReplayOptions.Capacity must be in [1, {int.MaxValue}] sequences, got {Text(value)}.");
    }

    /// <summary>
    /// B, the burn-in steps at the start of each sequence: a learner unrolls its network over them from the stored
    /// initial state only to warm the state up, and learns on the rest. Allowed: [0, 65535]; default 40 (R2D2).
    /// </summary>
    public int BurnIn
    {
        get => _burnIn;
        init => _burnIn = value is >= 0 and < MaxSequenceLength
            ? value
            : throw new ArgumentOutOfRangeException(nameof(BurnIn), value, $"SequenceReplayOptions.BurnIn must be in [0, {MaxSequenceLength - 1}], got {Text(value)}.");
    }

    /// <summary>L, the steps after the burn-in that a learner trains on. Allowed: [1, 65536]; default 40 (R2D2).</summary>
    public int LearningLength
    {
        get => _learningLength;
        init => _learningLength = value is >= 1 and <= MaxSequenceLength
            ? value
            : throw new ArgumentOutOfRangeException(nameof(LearningLength), value, $"SequenceReplayOptions.LearningLength must be in [1, {MaxSequenceLength}], got {Text(value)}.");
    }

    /// <summary>
    /// The steps that consecutive sequences of an episode share: the next sequence starts
    /// <see cref="Stride"/> = <c>SequenceLength − Overlap</c> steps after the previous one. Allowed: [0, SequenceLength − 1]
    /// (the upper bound is checked by <see cref="Validate"/>); default 40 (R2D2).
    /// </summary>
    public int Overlap
    {
        get => _overlap;
        init => _overlap = value >= 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Overlap), value, $"SequenceReplayOptions.Overlap must be in [0, SequenceLength − 1], got {Text(value)}.");
    }

    /// <summary>
    /// The shape of one observation, e.g. <c>[4]</c>. Environments hand observations over flattened (row-major);
    /// samples come back as <c>[B, T + 1, ..ObservationShape]</c>. Allowed: 1 to 8 dimensions, each at least 1, at most
    /// 2^26 values in all. The array is copied.
    /// </summary>
    public required IReadOnlyList<int> ObservationShape
    {
        get => _observationShape;
        init => _observationShape = OptionChecks.Shape("SequenceReplayOptions", value);
    }

    /// <summary>How observations are stored: <see cref="Memory.ObservationStorage.Float32"/> (default) or <see cref="Memory.ObservationStorage.UInt8"/> (frames; values rounded, in [0, 255]).</summary>
    public ObservationStorage ObservationStorage
    {
        get => _observationStorage;
        init => _observationStorage = Enum.IsDefined(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ObservationStorage), value, $"SequenceReplayOptions.ObservationStorage must be Float32 or UInt8, got {(int)value}.");
    }

    /// <summary>The action of one step: <see cref="ActionSpec.Discrete"/> (default) or <see cref="ActionSpec.Continuous(int)"/>.</summary>
    public ActionSpec Action
    {
        get => _action;
        init => _action = OptionChecks.Action("SequenceReplayOptions", value);
    }

    /// <summary>The number of environments of the vector environment that feeds <c>Add</c>. Allowed: [1, 65536]; default 1.</summary>
    public int NumEnvs
    {
        get => _numEnvs;
        init => _numEnvs = OptionChecks.NumEnvs("SequenceReplayOptions", value);
    }

    /// <summary>
    /// The layout of the actor's recurrent state, stored once per sequence (the state before its first step), e.g. an
    /// LSTM's <c>{h [128] Float32, c [128] Float32}</c>. Allowed: at least one part, each with at least one element, of
    /// type uint8, bool, int32, int64, float32 or float64.
    /// </summary>
    public required RecurrentStateSpec StateSpec
    {
        get => _stateSpec;
        init => _stateSpec = CheckStateSpec(value);
    }

    /// <summary>The device the storage lives on; null (default) means the CPU.</summary>
    public torch.Device? Device { get; init; }

    /// <summary>The seed of the buffer's random generators (uniform draws, priority sampling); default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Whether sequences are sampled in proportion to their priority (<see cref="Priority"/>, <see cref="Eta"/>); default false (uniform).</summary>
    public bool Prioritized { get; init; }

    /// <summary>
    /// α and ε of prioritized sampling: a sequence with priority p is stored as <c>(p + ε)^α</c>. Default α = 0.9 (R2D2's
    /// priority exponent), ε = 1e-6. Used only when <see cref="Prioritized"/> is true.
    /// </summary>
    public PriorityOptions Priority
    {
        get => _priority;
        init => _priority = value ?? throw new ArgumentNullException(nameof(Priority), "SequenceReplayOptions.Priority must not be null; use new PriorityOptions { Alpha = …, Epsilon = … }.");
    }

    /// <summary>
    /// η of R2D2's sequence priority <c>p = η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c> over the valid learning steps.
    /// Allowed: [0, 1]; default 0.9 (R2D2).
    /// </summary>
    public double Eta
    {
        get => _eta;
        init => _eta = value is >= 0 and <= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Eta), value, $"SequenceReplayOptions.Eta must be in [0, 1], got {TransitionChecks.Text(value)}.");
    }

    /// <summary>
    /// The fewest valid steps a sequence cut short (by an episode end or <see cref="SequenceReplayBuffer.BeginNewEpisodes"/>)
    /// must have to be stored, padded; shorter ones are dropped. Full sequences are always stored. Allowed:
    /// [1, SequenceLength] (the upper bound is checked by <see cref="Validate"/>); default 1 (store everything). Set it to
    /// <c>BurnIn + 1</c> to drop the sequences whose valid steps all lie in the burn-in (they give a learner nothing).
    /// </summary>
    public int MinSequenceLength
    {
        get => _minSequenceLength;
        init => _minSequenceLength = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MinSequenceLength), value, $"SequenceReplayOptions.MinSequenceLength must be in [1, SequenceLength], got {Text(value)}.");
    }

    /// <summary>T = <see cref="BurnIn"/> + <see cref="LearningLength"/>, the steps per sequence.</summary>
    public int SequenceLength => _burnIn + _learningLength;

    /// <summary><c>SequenceLength − Overlap</c>: the steps between the starts of consecutive sequences of an episode.</summary>
    public int Stride => SequenceLength - _overlap;

    /// <summary>The number of values in one observation (the product of <see cref="ObservationShape"/>).</summary>
    public int ObservationSize => _observationShape.Aggregate(1, (a, b) => a * b);

    /// <summary>
    /// Checks the rules between fields: <c>SequenceLength ≤ 65536</c>, <c>Overlap &lt; SequenceLength</c>,
    /// <c>MinSequenceLength ≤ SequenceLength</c>, and that one stored sequence and the per-environment windows fit in
    /// 2^31 − 1 values.
    /// </summary>
    /// <exception cref="ArgumentException">A rule is broken; the message names the fields and values.</exception>
    public void Validate()
    {
        int t = SequenceLength;
        if (t > MaxSequenceLength)
        {
            throw new ArgumentException($"SequenceReplayOptions: SequenceLength = BurnIn + LearningLength = {_burnIn} + {_learningLength} = {t} exceeds {MaxSequenceLength}.");
        }

        if (_overlap >= t)
        {
            throw new ArgumentException($"SequenceReplayOptions.Overlap must be in [0, {t - 1}] (less than SequenceLength = BurnIn + LearningLength = {t}), got {_overlap}.");
        }

        if (_minSequenceLength > t)
        {
            throw new ArgumentException($"SequenceReplayOptions.MinSequenceLength must be in [1, {t}] (at most SequenceLength), got {_minSequenceLength}.");
        }

        long os = ObservationSize;
        long width = ((long)t + 1) * os + ((long)t * (_action.Dimension + 4));
        if (width > int.MaxValue / 2)
        {
            throw new ArgumentException($"SequenceReplayOptions: one sequence of {t} steps with observations [{ShapeText(_observationShape)}] and actions {_action} holds {width} values; at most {int.MaxValue / 2} are allowed. Use shorter sequences or smaller observations.");
        }

        long window = (long)_numEnvs * t * (os + _action.Dimension + 3);
        if (window > int.MaxValue / 2)
        {
            throw new ArgumentException($"SequenceReplayOptions: NumEnvs × SequenceLength × (observation + action + 3) = {window} values of per-environment windows; at most {int.MaxValue / 2} are allowed.");
        }
    }

    public bool Equals(SequenceReplayOptions? other) =>
        other is not null
        && _capacity == other._capacity
        && _burnIn == other._burnIn
        && _learningLength == other._learningLength
        && _overlap == other._overlap
        && _observationShape.AsSpan().SequenceEqual(other._observationShape)
        && _observationStorage == other._observationStorage
        && _action == other._action
        && _numEnvs == other._numEnvs
        && _stateSpec.Equals(other._stateSpec)
        && ReplayBufferOptions.SameDevice(Device, other.Device)
        && Seed == other.Seed
        && Prioritized == other.Prioritized
        && _priority == other._priority
        && _eta.Equals(other._eta)
        && _minSequenceLength == other._minSequenceLength;

    public override int GetHashCode() =>
        HashCode.Combine(
            HashCode.Combine(_capacity, _burnIn, _learningLength, _overlap, ShapeText(_observationShape), _observationStorage, _action, _numEnvs),
            HashCode.Combine(_stateSpec, Seed, Prioritized, _priority, _eta, _minSequenceLength));

    public override string ToString() =>
        $"SequenceReplayOptions {{ Capacity = {Capacity}, BurnIn = {BurnIn}, LearningLength = {LearningLength}, Overlap = {Overlap}, ObservationShape = [{ShapeText(_observationShape)}], ObservationStorage = {ObservationStorage}, Action = {Action}, NumEnvs = {NumEnvs}, StateSpec = {StateSpec}, Device = {Device?.ToString() ?? "cpu"}, Seed = {Seed}, Prioritized = {Prioritized}, Priority = {Priority}, Eta = {TransitionChecks.Text(Eta)}, MinSequenceLength = {MinSequenceLength} }}";

    internal static string ShapeText(IReadOnlyList<int> shape) => OptionChecks.ShapeText(shape);

    /// <summary>Whether a recurrent-state part of this type can be stored (and saved: the buffer file's types).</summary>
    internal static bool IsStorable(ScalarType dtype) => dtype is ScalarType.Byte or ScalarType.Bool or ScalarType.Int32 or ScalarType.Int64 or ScalarType.Float32 or ScalarType.Float64;

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);


    private static RecurrentStateSpec CheckStateSpec(RecurrentStateSpec value)
    {
        if (value is null)
        {
            throw new ArgumentNullException(nameof(StateSpec), "SequenceReplayOptions.StateSpec must not be null; e.g. new RecurrentStateSpec([new(\"h\", [128], ScalarType.Float32), new(\"c\", [128], ScalarType.Float32)]).");
        }

        if (value.Parts.Count == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StateSpec), value.ToString(), "SequenceReplayOptions.StateSpec must have at least one part (e.g. an LSTM's h and c).");
        }

        foreach (RecurrentStatePart part in value.Parts)
        {
            if (!IsStorable(part.DType))
            {
                throw new ArgumentOutOfRangeException(nameof(StateSpec), value.ToString(), $"SequenceReplayOptions.StateSpec: part {part} has type {part.DType}; allowed types are Byte, Bool, Int32, Int64, Float32 and Float64.");
            }

            if (part.Shape.Count > 7 || part.RowSize < 1 || part.RowSize > ReplayBufferOptions.MaxObservationSize)
            {
                throw new ArgumentOutOfRangeException(nameof(StateSpec), value.ToString(), $"SequenceReplayOptions.StateSpec: part {part} must have 0 to 7 dimensions and 1 to {ReplayBufferOptions.MaxObservationSize} elements per row.");
            }
        }

        return value;
    }
}
