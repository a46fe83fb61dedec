using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// An <see cref="IPrioritySampler"/> whose priorities live in a device tensor ([capacity], float64 or float32).
/// Sampling runs entirely on the device: a cumulative sum of the priorities, B stratified uniform draws from a
/// <see cref="Generator"/> on the device, <c>searchsorted</c> to find the slots, and the weights from the smallest
/// priority, so the indices and weights come back as device tensors without any host round trip. Updates scatter
/// into the tensor (<c>index_put_</c>). Not thread-safe.
/// </summary>
/// <remarks>
/// <para>Cost: sampling is O(N) work on the device (the cumulative sum and the minimum are recomputed after every change
/// of priorities, and reused while none happens), against O(B log N) for <see cref="ManagedPrioritySampler"/>. On a GPU
/// a pass over 10^6 priorities takes microseconds, and avoiding the host round trips matters more; on the CPU use
/// <see cref="ManagedPrioritySampler"/>. This class runs on the CPU too (that is how it is tested).</para>
/// <para>Host and device: <see cref="AddAtMaxPriority"/> and the span overload of <see cref="UpdatePriorities(ReadOnlySpan{int}, ReadOnlySpan{double})"/>
/// check their arguments on the host and copy them to the device (no synchronization). The tensor overload checks on
/// the device and reads back one flag (one synchronization). <see cref="MaxPriority"/>, <see cref="ExportState"/> and
/// <see cref="ImportState"/> synchronize.</para>
/// <para>Numerics: with float32 storage the cumulative sum is float32 too. Each running sum is rounded to about 6e-8 of
/// its value, so an item whose priority is below about 6e-8 of the running sum where it sits can get a zero-width or
/// doubled interval (on CUDA the scan also accumulates in float32). float64 (the default) makes this negligible.</para>
/// </remarks>
public sealed class DevicePrioritySampler : IPrioritySampler
{
    private static readonly Scalar Infinity = double.PositiveInfinity.ToScalar(); // held (HeldScalars)

    private const string Name = nameof(DevicePrioritySampler);

    private readonly Tensor _priorities;
    private readonly Tensor _maxPriority;
    private readonly Generator _generator;
    private readonly bool[] _filled;
    private readonly ScalarType _dtype;
    private int[] _scratchSlots = [];
    private double[] _scratchDoubles = [];
    private double[] _scratchMagnitudes = [];
    private Tensor? _cumulative;
    private Tensor? _minPriority;
    private int _count;
    private bool _disposed;

    /// <summary>Creates an empty sampler with its priorities and generator on <paramref name="device"/>.</summary>
    /// <param name="capacity">The number of slots, ≥ 1.</param>
    /// <param name="options">α and ε.</param>
    /// <param name="seed">Seeds the device generator: the same seed, device and calls give the same samples.</param>
    /// <param name="device">Where the priorities, the generator and the sampled tensors live.</param>
    /// <param name="dtype">The priorities' type: <see cref="ScalarType.Float64"/> (default) or <see cref="ScalarType.Float32"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> &lt; 1, or <paramref name="dtype"/> is neither float64 nor float32.</exception>
    public DevicePrioritySampler(int capacity, PriorityOptions options, ulong seed, Device device, ScalarType dtype = ScalarType.Float64)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        PriorityArguments.CheckCapacity(Name, capacity, Array.MaxLength);
        if (dtype is not (ScalarType.Float64 or ScalarType.Float32))
        {
            throw new ArgumentOutOfRangeException(
                nameof(dtype), dtype, $"{Name}: dtype must be Float64 or Float32; got {dtype}.");
        }

        Options = options;
        Device = device;
        _dtype = dtype;
        _filled = new bool[capacity];
        _priorities = zeros(capacity, dtype, device).DetachFromDisposeScope();
        _maxPriority = ones(Array.Empty<long>(), ScalarType.Float64, device).DetachFromDisposeScope();
        _generator = new Generator(seed, device);
        RandomAlgorithm = $"torch.Generator({device.type})";
    }

    /// <inheritdoc />
    public int Capacity => _filled.Length;

    /// <inheritdoc />
    public int Count => _count;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public PriorityOptions Options { get; }

    /// <summary>The priorities' type (float64 or float32).</summary>
    public ScalarType DType => _dtype;

    /// <summary>The name written with exported random states: <c>torch.Generator(&lt;device type&gt;)</c>.</summary>
    public string RandomAlgorithm { get; }

    /// <inheritdoc />
    /// <remarks>Reads a device scalar: synchronizes with the device.</remarks>
    public double MaxPriority
    {
        get
        {
            ThrowIfDisposed();
            using DisposeScope scope = NewDisposeScope();
            return _maxPriority.item<double>();
        }
    }

    /// <inheritdoc />
    public void AddAtMaxPriority(ReadOnlySpan<int> slots)
    {
        const string owner = Name + "." + nameof(AddAtMaxPriority);
        ThrowIfDisposed();
        PrioritySamplerArguments.CheckSlots(owner, slots, Capacity);
        if (slots.Length == 0)
        {
            return;
        }

        using (DisposeScope scope = NewDisposeScope())
        {
            Tensor index = SlotsOnDevice(slots);
            using Scalar alpha = Options.Alpha.ToScalar(); // held (HeldScalars)
            _priorities.index_put_(_maxPriority.pow(alpha).to(_dtype), index);
        }

        foreach (int slot in slots)
        {
            if (!_filled[slot])
            {
                _filled[slot] = true;
                _count++;
            }
        }

        InvalidateCaches();
    }

    /// <inheritdoc />
    public PrioritySample Sample(int batchSize, double beta)
    {
        ThrowIfDisposed();
        PrioritySamplerArguments.CheckSample(Name + "." + nameof(Sample), batchSize, beta, _count);
        (Tensor cumulative, Tensor minPriority) = Caches();

        using DisposeScope scope = NewDisposeScope();
        Tensor total = cumulative.narrow(0, Capacity - 1, 1);
        // Segment i is [i, i + 1) · total / B: one uniform draw per segment.
        using Scalar batch = ((long)batchSize).ToScalar(), exponent = beta.ToScalar(); // held (HeldScalars)
        Tensor masses = arange(batchSize, _dtype, Device)
            .add_(rand(batchSize, _dtype, Device, generator: _generator), HeldScalars.One)
            .mul_(total.div(batch));
        // right: the leftmost slot whose inclusive cumulative sum exceeds the mass (never a zero-priority slot).
        Tensor indices = searchsorted(cumulative, masses, right: true);
        // A mass that rounds up to the total (or beyond) maps to the last slot with positive priority.
        Tensor lastPositive = searchsorted(cumulative, total, right: false);
        indices = indices.minimum(lastPositive);
        Tensor weights = minPriority.div(_priorities.index_select(0, indices)).pow_(exponent).to(ScalarType.Float32);
        scope.MoveToOuter(indices, weights);
        return new PrioritySample(indices, weights);
    }

    /// <inheritdoc />
    public void UpdatePriorities(ReadOnlySpan<int> slots, ReadOnlySpan<double> tdErrorMagnitudes)
    {
        const string owner = Name + "." + nameof(UpdatePriorities);
        ThrowIfDisposed();
        Span<double> priorities = Scratch(ref _scratchDoubles, slots.Length);
        double maxRaw = PrioritySamplerArguments.ComputeUpdate(
            owner, slots, tdErrorMagnitudes, _filled, _count, Options, _dtype == ScalarType.Float32, priorities);
        if (slots.Length == 0)
        {
            return;
        }

        using (DisposeScope scope = NewDisposeScope())
        {
            Tensor index = SlotsOnDevice(slots);
            Tensor values = empty(slots.Length, ScalarType.Float64);
            priorities.CopyTo(MemoryMarshal.Cast<byte, double>(values.bytes));
            _priorities.index_put_(values.to(_dtype, Device), index);
            using Scalar atLeast = maxRaw.ToScalar(); // held until the call returns (HeldScalars)
            _maxPriority.clamp_min_(atLeast);
        }

        InvalidateCaches();
    }

    /// <inheritdoc />
    public void UpdatePriorities(Tensor slots, Tensor tdErrorMagnitudes)
    {
        const string owner = Name + "." + nameof(UpdatePriorities);
        ThrowIfDisposed();
        PrioritySamplerArguments.CheckVector(owner, nameof(slots), slots);
        PrioritySamplerArguments.CheckVector(owner, nameof(tdErrorMagnitudes), tdErrorMagnitudes);
        PrioritySamplerArguments.CheckSlotType(owner, slots);
        PrioritySamplerArguments.CheckMagnitudeType(owner, tdErrorMagnitudes);
        PriorityArguments.CheckSameLength(owner, nameof(slots), (int)slots.shape[0], nameof(tdErrorMagnitudes), (int)tdErrorMagnitudes.shape[0]);
        if (slots.shape[0] == 0)
        {
            return;
        }

        using (DisposeScope scope = NewDisposeScope())
        {
            Tensor index = slots.to(ScalarType.Int64, Device);
            // Checked in the precision given (a tiny negative float64 must not round to −0 first); priorities are
            // computed in float64 like the host path and then rounded to the storage type.
            Tensor given = tdErrorMagnitudes.detach().to(Device);
            using Scalar epsilon = Options.Epsilon.ToScalar(), alpha = Options.Alpha.ToScalar(); // held (HeldScalars)
            using Scalar capacity = ((long)Capacity).ToScalar(), last = ((long)Capacity - 1).ToScalar();
            Tensor raw = given.to(ScalarType.Float64).add(epsilon, HeldScalars.One); // not add_: to() aliases a float64 input
            Tensor priorities = raw.pow(alpha).to(_dtype);
            Tensor inRange = index.ge(HeldScalars.Zero).logical_and_(index.lt(capacity));
            Tensor filled = _priorities.index_select(0, index.clamp(HeldScalars.Zero, last)).gt(HeldScalars.Zero);
            Tensor valid = inRange.logical_and_(filled)
                .logical_and_(given.isfinite()).logical_and_(given.ge(HeldScalars.Zero))
                .logical_and_(priorities.isfinite()).logical_and_(priorities.gt(HeldScalars.Zero))
                .all();
            if (!valid.item<bool>())
            {
                throw Diagnose(owner, slots, tdErrorMagnitudes);
            }

            _priorities.index_put_(priorities, index);
            _maxPriority.copy_(_maxPriority.maximum(raw.max()));
        }

        InvalidateCaches();
    }

    /// <inheritdoc />
    public PrioritySamplerState ExportState()
    {
        ThrowIfDisposed();
        using DisposeScope scope = NewDisposeScope();
        double[] priorities = MemoryMarshal.Cast<byte, double>(_priorities.to(ScalarType.Float64, CPU).contiguous().bytes).ToArray();
        byte[] randomState = _generator.get_state().cpu().contiguous().bytes.ToArray();
        return new PrioritySamplerState
        {
            Priorities = priorities,
            MaxPriority = _maxPriority.item<double>(),
            Alpha = Options.Alpha,
            RandomAlgorithm = RandomAlgorithm,
            RandomState = randomState,
        };
    }

    /// <inheritdoc />
    public void ImportState(PrioritySamplerState state)
    {
        const string owner = Name + "." + nameof(ImportState);
        ThrowIfDisposed();
        int count = PrioritySamplerArguments.CheckState(owner, state, Capacity, Options, RandomAlgorithm, _dtype == ScalarType.Float32);

        using (DisposeScope scope = NewDisposeScope())
        {
            long expectedLength = _generator.get_state().numel();
            if (state.RandomState.Length != expectedLength)
            {
                throw new ArgumentException(
                    $"{owner}: a {RandomAlgorithm} state is {expectedLength} bytes; got {state.RandomState.Length}. Nothing was changed.",
                    nameof(state));
            }

            if (TorchGeneratorState.Problem(_generator, state.RandomState) is string problem)
            {
                throw new ArgumentException($"{owner}: the random state {problem}. Nothing was changed.", nameof(state));
            }

            // The generator goes first: if torch refuses the bytes, nothing else has changed yet.
            try
            {
                _generator.set_state(tensor(state.RandomState, ScalarType.Byte));
            }
            catch (Exception ex) when (ex is System.Runtime.InteropServices.ExternalException or ArgumentException)
            {
                throw new ArgumentException($"{owner}: torch refused the random state: {ex.Message} Nothing was changed.", nameof(state), ex);
            }

            _priorities.copy_(tensor(state.Priorities, ScalarType.Float64).to(_dtype, Device));
            using Scalar max = state.MaxPriority.ToScalar();
            _maxPriority.fill_(max);
        }

        for (int i = 0; i < _filled.Length; i++)
        {
            _filled[i] = state.Priorities[i] > 0;
        }

        _count = count;
        InvalidateCaches();
    }

    /// <inheritdoc />
    public void Clear()
    {
        ThrowIfDisposed();
        _priorities.zero_();
        _maxPriority.fill_(HeldScalars.One);
        Array.Clear(_filled);
        _count = 0;
        InvalidateCaches();
    }

    /// <summary>Releases the device tensors and the generator.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        InvalidateCaches();
        _priorities.Dispose();
        _maxPriority.Dispose();
        _generator.Dispose();
    }

    /// <summary>The cumulative sum of the priorities and the smallest positive priority, recomputed after a change.</summary>
    private (Tensor Cumulative, Tensor MinPriority) Caches()
    {
        if (_cumulative is null || _minPriority is null)
        {
            using DisposeScope scope = NewDisposeScope();
            Tensor cumulative = _priorities.cumsum(0);
            // Empty slots hold 0; the minimum is over filled slots only (their priorities are > 0). A full sampler
            // (the steady state of a ring buffer) has no empty slot to mask.
            Tensor minPriority = _count == Capacity
                ? _priorities.min()
                : _priorities.masked_fill(_priorities.eq(HeldScalars.Zero), Infinity).min();
            scope.Detach(cumulative, minPriority);
            _cumulative = cumulative;
            _minPriority = minPriority;
        }

        return (_cumulative, _minPriority);
    }

    private void InvalidateCaches()
    {
        _cumulative?.Dispose();
        _minPriority?.Dispose();
        _cumulative = null;
        _minPriority = null;
    }

    /// <summary>The slots as an int64 tensor on the device (in the current scope).</summary>
    private Tensor SlotsOnDevice(ReadOnlySpan<int> slots)
    {
        Tensor index = empty(slots.Length, ScalarType.Int64);
        Span<long> values = MemoryMarshal.Cast<byte, long>(index.bytes);
        for (int i = 0; i < slots.Length; i++)
        {
            values[i] = slots[i];
        }

        return Device.type == DeviceType.CPU ? index : index.to(Device);
    }

    /// <summary>Finds the first invalid element of a refused tensor update, on the host, and builds its exception.</summary>
    private Exception Diagnose(string owner, Tensor slots, Tensor tdErrorMagnitudes)
    {
        int n = (int)slots.shape[0];
        Span<int> hostSlots = Scratch(ref _scratchSlots, n);
        Span<double> magnitudes = Scratch(ref _scratchMagnitudes, n);
        PrioritySamplerArguments.CopySlots(owner, slots, hostSlots, Capacity); // throws for an out-of-range slot
        PrioritySamplerArguments.CopyMagnitudes(tdErrorMagnitudes, magnitudes);
        Span<double> priorities = Scratch(ref _scratchDoubles, n);
        PrioritySamplerArguments.ComputeUpdate(owner, hostSlots, magnitudes, _filled, _count, Options, _dtype == ScalarType.Float32, priorities);
        // Unreachable unless the device's pow rounds differently from the host's at the edge of the range.
        return new ArgumentOutOfRangeException(
            nameof(tdErrorMagnitudes),
            $"{owner}: a priority (|δ| + ε)^α computed on the device is not finite and > 0 in {_dtype} (overflow or underflow). Nothing was changed.");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static Span<T> Scratch<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[Math.Max(length, 2 * buffer.Length)];
        }

        return buffer.AsSpan(0, length);
    }
}
