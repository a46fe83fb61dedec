using RlMemory.Memory.Persistence;
using TorchSharp;

namespace RlMemory.Memory;

/// <summary>Where a <see cref="RolloutBuffer"/> normalizes advantages (to mean 0, standard deviation 1).</summary>
public enum AdvantageNormalization
{
    /// <summary>Advantages are returned as computed.</summary>
    None,

    /// <summary>
    /// Over the valid entries of each minibatch, when it has at least two (Stable-Baselines3 and CleanRL). The default.
    /// </summary>
    PerMinibatch,

    /// <summary>
    /// Once, over all valid entries of the rollout, by <see cref="RolloutBuffer.ComputeReturnsAndAdvantages(ReadOnlySpan{float})"/>
    /// (every minibatch then shares one scale).
    /// </summary>
    PerRollout,
}

/// <summary>
/// What a <see cref="RolloutBuffer"/> stores and how it computes advantages. Each property checks its value when it
/// is set (the message names the field, the value and the allowed range); rules that involve several fields are
/// checked by <see cref="Validate"/>, which the buffer calls.
/// </summary>
/// <example>
/// <code>
/// var options = new RolloutBufferOptions { NumSteps = 128, NumEnvs = 8, ObservationShape = [4], Gamma = 0.99, GaeLambda = 0.95 };
/// using var buffer = new RolloutBuffer(options);
/// </code>
/// </example>
public sealed record RolloutBufferOptions
{
    /// <summary>The largest number of environments.</summary>
    public const int MaxNumEnvs = OptionChecks.MaxNumEnvs;

    /// <summary>The largest number of steps per environment in one rollout.</summary>
    public const int MaxNumSteps = 1 << 24;

    /// <summary>The largest number of entries (steps × environments) in one rollout (2^27).</summary>
    public const long MaxEntries = 1L << 27;

    /// <summary>The largest number of values in one observation (2^26).</summary>
    public const int MaxObservationSize = OptionChecks.MaxObservationSize;

    /// <summary>The constant added to the standard deviation when advantages are normalized (as in SB3 and CleanRL).</summary>
    public const double NormalizationEpsilon = 1e-8;

    private readonly int _numSteps = 1;
    private readonly int _numEnvs = 1;
    private readonly int[] _observationShape = [1];
    private readonly ActionSpec _action = ActionSpec.Discrete;
    private readonly double _gamma = 0.99;
    private readonly double _gaeLambda = 0.95;
    private readonly AdvantageNormalization _normalization = AdvantageNormalization.PerMinibatch;
    private readonly RecurrentStateSpec? _recurrentState;

    /// <summary>
    /// T, the steps per environment in one rollout (SB3's <c>n_steps</c>): <see cref="RolloutBuffer"/>'s <c>Add</c> is
    /// called T times, then the rollout is full. Allowed: [1, 2^24].
    /// </summary>
    public required int NumSteps
    {
        get => _numSteps;
        init => _numSteps = value is >= 1 and <= MaxNumSteps
            ? value
            : throw new ArgumentOutOfRangeException(nameof(NumSteps), value, $"RolloutBufferOptions.NumSteps must be in [1, {MaxNumSteps}], got {value}.");
    }

    /// <summary>N, the environments of the vector environment that feeds <c>Add</c>. Allowed: [1, 65536]; default 1.</summary>
    public int NumEnvs
    {
        get => _numEnvs;
        init => _numEnvs = OptionChecks.NumEnvs("RolloutBufferOptions", value);
    }

    /// <summary>
    /// The shape of one observation, e.g. <c>[4]</c>. Observations are handed over flattened (row-major) and come back
    /// as <c>[B, ..ObservationShape]</c>. Allowed: 1 to 8 dimensions, each at least 1, at most 2^26 values in all.
    /// The array is copied.
    /// </summary>
    public required IReadOnlyList<int> ObservationShape
    {
        get => _observationShape;
        init => _observationShape = OptionChecks.Shape("RolloutBufferOptions", value);
    }

    /// <summary>The action of one step: <see cref="ActionSpec.Discrete"/> (default) or <see cref="ActionSpec.Continuous(int)"/>.</summary>
    public ActionSpec Action
    {
        get => _action;
        init => _action = OptionChecks.Action("RolloutBufferOptions", value);
    }

    /// <summary>The discount factor γ. Allowed: [0, 1]; default 0.99.</summary>
    public double Gamma
    {
        get => _gamma;
        init => _gamma = value is >= 0 and <= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Gamma), value, $"RolloutBufferOptions.Gamma must be in [0, 1], got {value}.");
    }

    /// <summary>λ of GAE(λ): 0 gives one-step TD advantages, 1 Monte-Carlo returns minus the value. Allowed: [0, 1]; default 0.95.</summary>
    public double GaeLambda
    {
        get => _gaeLambda;
        init => _gaeLambda = value is >= 0 and <= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(GaeLambda), value, $"RolloutBufferOptions.GaeLambda must be in [0, 1], got {value}.");
    }

    /// <summary>Where advantages are normalized; default <see cref="Memory.AdvantageNormalization.PerMinibatch"/> (SB3, CleanRL).</summary>
    public AdvantageNormalization AdvantageNormalization
    {
        get => _normalization;
        init => _normalization = Enum.IsDefined(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(AdvantageNormalization), value, $"RolloutBufferOptions.AdvantageNormalization must be None, PerMinibatch or PerRollout, got {(int)value}.");
    }

    /// <summary>
    /// The layout of the policy's recurrent state, for recurrent policies: <c>Add</c> then needs the state before each
    /// step, and sequence minibatches carry each sequence's initial state. Null (default) for feed-forward policies.
    /// Parts must be float32, float64, int32, int64, uint8 or bool (the types a buffer file holds).
    /// </summary>
    public RecurrentStateSpec? RecurrentState
    {
        get => _recurrentState;
        init => _recurrentState = CheckStateSpec(value);
    }

    /// <summary>The device of the storage and of minibatches; null (default) means the CPU.</summary>
    public torch.Device? Device { get; init; }

    /// <summary>The seed of the buffer's own generator (minibatch shuffling); default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>The number of values in one observation (the product of <see cref="ObservationShape"/>).</summary>
    public int ObservationSize => (int)_observationShape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Checks the rules between fields: at most 2^27 entries (<see cref="NumSteps"/> × <see cref="NumEnvs"/>), and one step's data (N × (observation size + action + 6)) at most 2^30 values.</summary>
    /// <exception cref="ArgumentException">A rule is broken; the message names the fields and values.</exception>
    public void Validate()
    {
        long entries = (long)NumSteps * NumEnvs;
        if (entries > MaxEntries)
        {
            throw new ArgumentException($"RolloutBufferOptions: NumSteps × NumEnvs = {NumSteps} × {NumEnvs} = {entries} entries is too many (at most {MaxEntries}).");
        }

        long perStep = (long)NumEnvs * (ObservationSize + Action.Dimension + RolloutTable.ExtraColumns);
        if (perStep > 1 << 30)
        {
            throw new ArgumentException($"RolloutBufferOptions: NumEnvs × (observation size + action + {RolloutTable.ExtraColumns}) = {perStep} values per step is too large (at most {1 << 30}).");
        }
    }

    public bool Equals(RolloutBufferOptions? other) =>
        other is not null
        && _numSteps == other._numSteps
        && _numEnvs == other._numEnvs
        && _observationShape.AsSpan().SequenceEqual(other._observationShape)
        && _action == other._action
        && _gamma.Equals(other._gamma)
        && _gaeLambda.Equals(other._gaeLambda)
        && _normalization == other._normalization
        && Equals(_recurrentState, other._recurrentState)
        && ReplayBufferOptions.SameDevice(Device, other.Device)
        && Seed == other.Seed;

    public override int GetHashCode() =>
        HashCode.Combine(_numSteps, _numEnvs, ReplayBufferOptions.ShapeText(_observationShape), _action, _gamma, _gaeLambda, _normalization, HashCode.Combine(_recurrentState, Seed));

    public override string ToString() =>
        $"RolloutBufferOptions {{ NumSteps = {NumSteps}, NumEnvs = {NumEnvs}, ObservationShape = [{ReplayBufferOptions.ShapeText(_observationShape)}], Action = {Action}, Gamma = {Gamma}, GaeLambda = {GaeLambda}, AdvantageNormalization = {AdvantageNormalization}, RecurrentState = {RecurrentState?.ToString() ?? "none"}, Device = {Device?.ToString() ?? "cpu"}, Seed = {Seed} }}";


    private static RecurrentStateSpec? CheckStateSpec(RecurrentStateSpec? spec)
    {
        if (spec is null)
        {
            return null;
        }

        if (spec.Parts.Count == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RecurrentState), spec.ToString(), "RolloutBufferOptions.RecurrentState must have at least one part (or be null for a feed-forward policy).");
        }

        foreach (RecurrentStatePart part in spec.Parts)
        {
            if (BufferFileFormat.Code(part.DType) == 0)
            {
                throw new ArgumentOutOfRangeException(nameof(RecurrentState), spec.ToString(), $"RolloutBufferOptions.RecurrentState: part {part} has dtype {part.DType}; allowed: Float32, Float64, Int32, Int64, Byte, Bool.");
            }

            if (part.RowSize > MaxObservationSize)
            {
                throw new ArgumentOutOfRangeException(nameof(RecurrentState), spec.ToString(), $"RolloutBufferOptions.RecurrentState: part {part} has {part.RowSize} values per environment; at most {MaxObservationSize}.");
            }
        }

        return spec;
    }
}
