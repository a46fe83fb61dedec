using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// An <see cref="IPrioritySampler"/> on the CPU: a <see cref="SumTree"/> for sampling by prefix sum and a
/// <see cref="MinTree"/> for the smallest priority, both in managed arrays, with a seeded xoshiro256** generator for
/// the uniform draws. Sampling B slots and updating B priorities cost O(B log N) with no allocation on the span
/// overloads. Not thread-safe.
/// </summary>
/// <remarks>
/// Use it when the replay storage lives on the CPU. On a GPU, <see cref="DevicePrioritySampler"/> avoids copying the
/// sampled indices and the TD errors between host and device (this sampler still works there: its tensor overloads
/// copy the B indices and weights to <see cref="Device"/>, and the B magnitudes back).
/// </remarks>
public sealed class ManagedPrioritySampler : IPrioritySampler
{
    private const string Name = nameof(ManagedPrioritySampler);

    private readonly SumTree _sums;
    private readonly MinTree _minima;
    private readonly bool[] _filled;
    private readonly Xoshiro256StarStar _random;
    private double[] _scratchDoubles = [];
    private double[] _scratchMagnitudes = [];
    private int[] _scratchSlots = [];
    private float[] _scratchWeights = [];
    private int _count;
    private double _maxPriority = 1.0;

    /// <summary>Creates an empty sampler.</summary>
    /// <param name="capacity">The number of slots, in [1, <see cref="SumTree.MaxCapacity"/>].</param>
    /// <param name="options">α and ε.</param>
    /// <param name="seed">Seeds the generator: the same seed and the same calls give the same samples.</param>
    /// <param name="device">Where <see cref="Sample(int, double)"/> puts its tensors; default CPU.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is out of range.</exception>
    public ManagedPrioritySampler(int capacity, PriorityOptions options, ulong seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        PriorityArguments.CheckCapacity(Name, capacity, SumTree.MaxCapacity);
        _sums = new SumTree(capacity);
        _minima = new MinTree(capacity);
        _filled = new bool[capacity];
        _random = new Xoshiro256StarStar(seed);
        Options = options;
        Device = device ?? CPU;
    }

    /// <inheritdoc />
    public int Capacity => _sums.Capacity;

    /// <inheritdoc />
    public int Count => _count;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public PriorityOptions Options { get; }

    /// <inheritdoc />
    public double MaxPriority => _maxPriority;

    /// <summary>The sum of all stored priorities (Σ p_i).</summary>
    public double TotalPriority => _sums.Total;

    /// <summary>The smallest stored priority among filled slots; +∞ while empty.</summary>
    public double MinPriority => _minima.Min;

    /// <summary>The stored priority <c>p_i</c> of <paramref name="slot"/> (0 if it holds no item).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slot"/> is outside [0, <see cref="Capacity"/>).</exception>
    public double PriorityOf(int slot) => _sums[slot];

    /// <inheritdoc />
    public void AddAtMaxPriority(ReadOnlySpan<int> slots)
    {
        const string owner = Name + "." + nameof(AddAtMaxPriority);
        PrioritySamplerArguments.CheckSlots(owner, slots, Capacity);
        if (slots.Length == 0)
        {
            return;
        }

        Span<double> priorities = Scratch(ref _scratchDoubles, slots.Length);
        priorities.Fill(Math.Pow(_maxPriority, Options.Alpha));
        _sums.Update(slots, priorities);
        _minima.Update(slots, priorities);
        foreach (int slot in slots)
        {
            if (!_filled[slot])
            {
                _filled[slot] = true;
                _count++;
            }
        }
    }

    /// <summary>
    /// Stratified sampling into spans, without allocating: draws <c>slots.Length</c> slots (one per mass segment, in
    /// segment order) and writes their importance-sampling weights <c>(p_min / p_i)^β</c>. See
    /// <see cref="IPrioritySampler.Sample(int, double)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The spans are empty, or <paramref name="beta"/> is outside [0, 1].</exception>
    /// <exception cref="InvalidOperationException">No slot holds an item yet.</exception>
    public void Sample(double beta, Span<int> slots, Span<float> weights)
    {
        const string owner = Name + "." + nameof(Sample);
        PriorityArguments.CheckSameLength(owner, nameof(slots), slots.Length, nameof(weights), weights.Length);
        PrioritySamplerArguments.CheckSample(owner, slots.Length, beta, _count);
        int batchSize = slots.Length;
        Span<double> masses = Scratch(ref _scratchDoubles, batchSize);
        double segment = _sums.Total / batchSize;
        for (int i = 0; i < batchSize; i++)
        {
            // Segment i is [i, i + 1) · Total / B; rounding can give exactly Total, which the tree clamps.
            masses[i] = (i + _random.NextDouble()) * segment;
        }

        _sums.FindPrefixSums(masses, slots);
        double minPriority = _minima.Min;
        for (int i = 0; i < batchSize; i++)
        {
            weights[i] = (float)Math.Pow(minPriority / _sums[slots[i]], beta);
        }
    }

    /// <inheritdoc />
    public PrioritySample Sample(int batchSize, double beta)
    {
        PrioritySamplerArguments.CheckSample(Name + "." + nameof(Sample), batchSize, beta, _count);
        Span<int> slots = Scratch(ref _scratchSlots, batchSize);
        Span<float> weights = Scratch(ref _scratchWeights, batchSize);
        Sample(beta, slots, weights);

        using DisposeScope scope = NewDisposeScope();
        Tensor indices = empty(batchSize, ScalarType.Int64);
        Span<long> indexSpan = MemoryMarshal.Cast<byte, long>(indices.bytes);
        for (int i = 0; i < batchSize; i++)
        {
            indexSpan[i] = slots[i];
        }

        Tensor weightTensor = empty(batchSize, ScalarType.Float32);
        weights.CopyTo(MemoryMarshal.Cast<byte, float>(weightTensor.bytes));
        if (Device.type != DeviceType.CPU)
        {
            indices = indices.to(Device);
            weightTensor = weightTensor.to(Device);
        }

        scope.MoveToOuter(indices, weightTensor);
        return new PrioritySample(indices, weightTensor);
    }

    /// <inheritdoc />
    public void UpdatePriorities(ReadOnlySpan<int> slots, ReadOnlySpan<double> tdErrorMagnitudes)
    {
        const string owner = Name + "." + nameof(UpdatePriorities);
        Span<double> priorities = Scratch(ref _scratchDoubles, slots.Length);
        double maxRaw = PrioritySamplerArguments.ComputeUpdate(
            owner, slots, tdErrorMagnitudes, _filled, _count, Options, float32: false, priorities);
        if (slots.Length == 0)
        {
            return;
        }

        // The sum tree may still refuse (total overflow) and then changes nothing; after it, nothing can fail.
        _sums.Update(slots, priorities);
        _minima.Update(slots, priorities);
        _maxPriority = Math.Max(_maxPriority, maxRaw);
    }

    /// <inheritdoc />
    public void UpdatePriorities(Tensor slots, Tensor tdErrorMagnitudes)
    {
        const string owner = Name + "." + nameof(UpdatePriorities);
        PrioritySamplerArguments.CheckVector(owner, nameof(slots), slots);
        PrioritySamplerArguments.CheckVector(owner, nameof(tdErrorMagnitudes), tdErrorMagnitudes);
        PrioritySamplerArguments.CheckSlotType(owner, slots);
        PrioritySamplerArguments.CheckMagnitudeType(owner, tdErrorMagnitudes);
        PriorityArguments.CheckSameLength(owner, nameof(slots), (int)slots.shape[0], nameof(tdErrorMagnitudes), (int)tdErrorMagnitudes.shape[0]);
        int n = (int)slots.shape[0];
        Span<int> hostSlots = Scratch(ref _scratchSlots, n);
        Span<double> magnitudes = Scratch(ref _scratchMagnitudes, n);
        PrioritySamplerArguments.CopySlots(owner, slots, hostSlots, Capacity);
        PrioritySamplerArguments.CopyMagnitudes(tdErrorMagnitudes, magnitudes);
        UpdatePriorities(hostSlots, magnitudes);
    }

    /// <inheritdoc />
    public PrioritySamplerState ExportState()
    {
        var priorities = new double[Capacity];
        _sums.CopyTo(priorities);
        return new PrioritySamplerState
        {
            Priorities = priorities,
            MaxPriority = _maxPriority,
            Alpha = Options.Alpha,
            RandomAlgorithm = Xoshiro256StarStar.Algorithm,
            RandomState = _random.ExportState(),
        };
    }

    /// <inheritdoc />
    public void ImportState(PrioritySamplerState state)
    {
        const string owner = Name + "." + nameof(ImportState);
        int count = PrioritySamplerArguments.CheckState(owner, state, Capacity, Options, Xoshiro256StarStar.Algorithm, float32: false);
        Xoshiro256StarStar.CheckState(owner, state.RandomState);

        // The sum tree may refuse (total overflow) and then changes nothing; after it, nothing can fail.
        _sums.SetAll(state.Priorities);
        var minima = new double[Capacity];
        for (int i = 0; i < minima.Length; i++)
        {
            double p = state.Priorities[i];
            minima[i] = p > 0 ? p : double.PositiveInfinity;
            _filled[i] = p > 0;
        }

        _minima.SetAll(minima);
        _count = count;
        _maxPriority = state.MaxPriority;
        _random.ImportState(state.RandomState);
    }

    /// <inheritdoc />
    public void Clear()
    {
        _sums.Clear();
        _minima.Clear();
        Array.Clear(_filled);
        _count = 0;
        _maxPriority = 1.0;
    }

    /// <summary>Nothing to release (no native resources); present for <see cref="IPrioritySampler"/>.</summary>
    public void Dispose()
    {
    }

    private static Span<T> Scratch<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[Math.Max(length, 2 * buffer.Length)];
        }

        return buffer.AsSpan(0, length);
    }
}
