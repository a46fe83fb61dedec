using TorchSharp;

namespace RlMemory.Memory;

/// <summary>
/// What a replay buffer stores and where. Each property checks its value when it is set (the message names the field,
/// the value and the allowed range); rules that involve several fields are checked when a buffer is built from the
/// options (<see cref="Validate"/>).
/// </summary>
/// <remarks>
/// <example>
/// <code>
/// var options = new ReplayBufferOptions { Capacity = 1_000_000, ObservationShape = [4], NumEnvs = 16, Gamma = 0.99 };
/// using var buffer = new ReplayBuffer(options);
/// </code>
/// </example>
/// </remarks>
public sealed record ReplayBufferOptions
{
    /// <summary>The largest number of environments per step.</summary>
    public const int MaxNumEnvs = OptionChecks.MaxNumEnvs;

    /// <summary>The largest n of n-step returns.</summary>
    public const int MaxNSteps = 1000;

    /// <summary>The largest number of values in one observation (2^26).</summary>
    public const int MaxObservationSize = OptionChecks.MaxObservationSize;

    private readonly int _capacity = 1;
    private readonly int[] _observationShape = [1];
    private readonly ObservationStorage _observationStorage = ObservationStorage.Float32;
    private readonly ActionSpec _action = ActionSpec.Discrete;
    private readonly int _numEnvs = 1;
    private readonly double _gamma = 0.99;
    private readonly int _nSteps = 1;

    /// <summary>
    /// The number of transitions the buffer holds; when full, the oldest are overwritten. In <see cref="MemorySaving"/>
    /// mode it is rounded down to a multiple of <see cref="NumEnvs"/>, and one row of <see cref="NumEnvs"/> slots holds
    /// the newest observations, so at most <c>Capacity − NumEnvs</c> transitions can be sampled. Allowed: [1, 2^31 − 1].
    /// </summary>
    public required int Capacity
    {
        get => _capacity;
        init => _capacity = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Capacity), value, $"ReplayBufferOptions.Capacity must be in [1, {int.MaxValue}], got {value}.");
    }

    /// <summary>
    /// The shape of one observation, e.g. <c>[4]</c> for CartPole or <c>[84, 84]</c> for a frame. Environments hand
    /// observations over flattened (row-major); samples come back as <c>[B, ..ObservationShape]</c>. Allowed: 1 to 8
    /// dimensions, each at least 1, at most <see cref="MaxObservationSize"/> values in all. The array is copied.
    /// </summary>
    public required IReadOnlyList<int> ObservationShape
    {
        get => _observationShape;
        init => _observationShape = OptionChecks.Shape("ReplayBufferOptions", value);
    }

    /// <summary>How observations are stored: <see cref="Memory.ObservationStorage.Float32"/> (default) or <see cref="Memory.ObservationStorage.UInt8"/>.</summary>
    public ObservationStorage ObservationStorage
    {
        get => _observationStorage;
        init => _observationStorage = Enum.IsDefined(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ObservationStorage), value, $"ReplayBufferOptions.ObservationStorage must be Float32 or UInt8, got {(int)value}.");
    }

    /// <summary>The action of one transition: <see cref="ActionSpec.Discrete"/> (default) or <see cref="ActionSpec.Continuous(int)"/>.</summary>
    public ActionSpec Action
    {
        get => _action;
        init => _action = OptionChecks.Action("ReplayBufferOptions", value);
    }

    /// <summary>The number of environments of the vector environment that feeds <c>Add</c>. Allowed: [1, 65536]; default 1.</summary>
    public int NumEnvs
    {
        get => _numEnvs;
        init => _numEnvs = OptionChecks.NumEnvs("ReplayBufferOptions", value);
    }

    /// <summary>
    /// The discount factor γ. <c>Add</c> stores γ (or γ^k for n-step returns) as each transition's discount, so a
    /// learner's target is <c>r + discount · (1 − terminated) · V(s')</c>. Allowed: [0, 1]; default 0.99.
    /// </summary>
    public double Gamma
    {
        get => _gamma;
        init => _gamma = value is >= 0 and <= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Gamma), value, $"ReplayBufferOptions.Gamma must be in [0, 1], got {value}.");
    }

    /// <summary>
    /// n of n-step returns: with n &gt; 1, <c>Add</c> assembles (s, a, Σγᵏr, s_{t+n}, γⁿ) transitions per
    /// environment (see <see cref="NStepAssembler"/>). Allowed: [1, 1000]; default 1. Not with <see cref="MemorySaving"/>.
    /// </summary>
    public int NSteps
    {
        get => _nSteps;
        init => _nSteps = value is >= 1 and <= MaxNSteps
            ? value
            : throw new ArgumentOutOfRangeException(nameof(NSteps), value, $"ReplayBufferOptions.NSteps must be in [1, {MaxNSteps}], got {value}.");
    }

    /// <summary>
    /// Store each observation once and read a transition's next observation from the same environment's slot of the
    /// following step (about half the memory for large observations). Correct across episode ends, truncations and the
    /// ring's wrap-around; only <c>Add</c> can feed it (not <c>AddTransitions</c>), and only with <see cref="NSteps"/> = 1.
    /// Default false.
    /// </summary>
    public bool MemorySaving { get; init; }

    /// <summary>The device the storage lives on; null (default) means the CPU.</summary>
    public torch.Device? Device { get; init; }

    /// <summary>The seed of the buffer's own random generator (sampling); default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>The number of values in one observation (the product of <see cref="ObservationShape"/>).</summary>
    public int ObservationSize => OptionChecks.Size(_observationShape);

    /// <summary>
    /// Checks the rules between fields: <see cref="MemorySaving"/> needs <c>Capacity ≥ 2 · NumEnvs</c> and
    /// <see cref="NSteps"/> = 1; otherwise <c>Capacity ≥ NumEnvs</c>; and one step's data must fit in 2^31 values.
    /// </summary>
    /// <exception cref="ArgumentException">A rule is broken; the message names the fields and values.</exception>
    public void Validate()
    {
        if (MemorySaving)
        {
            if (NSteps != 1)
            {
                throw new ArgumentException($"ReplayBufferOptions: MemorySaving stores one observation per step and cannot hold n-step transitions; got NSteps = {NSteps}. Use NSteps = 1 or MemorySaving = false.");
            }

            if ((long)Capacity < 2L * NumEnvs)
            {
                throw new ArgumentException($"ReplayBufferOptions: MemorySaving needs Capacity ≥ 2 × NumEnvs ({2L * NumEnvs}), got Capacity = {Capacity} with NumEnvs = {NumEnvs}.");
            }
        }
        else if (Capacity < NumEnvs)
        {
            throw new ArgumentException($"ReplayBufferOptions: Capacity ({Capacity}) must be at least NumEnvs ({NumEnvs}), so that one step fits.");
        }

        long perStep = (long)NumEnvs * (NSteps + 1) * ObservationSize;
        if (perStep > int.MaxValue / 2)
        {
            throw new ArgumentException($"ReplayBufferOptions: NumEnvs × (NSteps + 1) × observation size = {perStep} values is too large (at most {int.MaxValue / 2}).");
        }
    }

    public bool Equals(ReplayBufferOptions? other) =>
        other is not null
        && _capacity == other._capacity
        && _observationShape.AsSpan().SequenceEqual(other._observationShape)
        && _observationStorage == other._observationStorage
        && _action == other._action
        && _numEnvs == other._numEnvs
        && _gamma.Equals(other._gamma)
        && _nSteps == other._nSteps
        && MemorySaving == other.MemorySaving
        && SameDevice(Device, other.Device)
        && Seed == other.Seed;

    public override int GetHashCode() =>
        HashCode.Combine(_capacity, ShapeText(_observationShape), _observationStorage, _action, _numEnvs, _gamma, HashCode.Combine(_nSteps, MemorySaving, Seed));

    public override string ToString() =>
        $"ReplayBufferOptions {{ Capacity = {Capacity}, ObservationShape = [{ShapeText(_observationShape)}], ObservationStorage = {ObservationStorage}, Action = {Action}, NumEnvs = {NumEnvs}, Gamma = {Gamma}, NSteps = {NSteps}, MemorySaving = {MemorySaving}, Device = {Device?.ToString() ?? "cpu"}, Seed = {Seed} }}";

    /// <summary>Whether two devices are the same (null means the CPU).</summary>
    internal static bool SameDevice(torch.Device? a, torch.Device? b)
    {
        torch.Device x = a ?? torch.CPU, y = b ?? torch.CPU;
        return x.type == y.type && (x.type == DeviceType.CPU || x.index == y.index);
    }

    internal static string ShapeText(IReadOnlyList<int> shape) => OptionChecks.ShapeText(shape);
}
