using RlMemory.Agents;
using RlMemory.App.Plots;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>
/// The last <see cref="Capacity"/> steps of an agent's memory traces (see <see cref="IMemoryIntrospection"/>): for each
/// trace, a time × slot table that <see cref="MemoryHeatmap"/> draws. A ring buffer: adding a step allocates nothing.
/// </summary>
public sealed class MemoryTraceWindow
{
    private readonly float[] _values;
    private int _next;

    /// <summary>Creates an empty window of <paramref name="capacity"/> steps for traces <paramref name="names"/> over <paramref name="slots"/> slots.</summary>
    /// <exception cref="ArgumentException">No trace names, a blank name, or a size out of range.</exception>
    public MemoryTraceWindow(IReadOnlyList<string> names, int slots, int capacity = 64)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count is < 1 or > 16)
        {
            throw new ArgumentException($"MemoryTraceWindow: expected 1 to 16 traces, got {names.Count}.", nameof(names));
        }

        if (names.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("MemoryTraceWindow: trace names must not be blank.", nameof(names));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, 1 << 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 4096);
        Names = [.. names];
        Slots = slots;
        Capacity = capacity;
        long size = (long)capacity * names.Count * slots;
        if (size > 1 << 26)
        {
            throw new ArgumentException($"MemoryTraceWindow: {capacity} steps × {names.Count} traces × {slots} slots is too large (at most 2^26 floats).", nameof(slots));
        }

        _values = new float[size];
    }

    /// <summary>Creates a window for the traces an actor with external memory gives.</summary>
    public static MemoryTraceWindow For(IMemoryIntrospection memory, int capacity = 64)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return new MemoryTraceWindow(memory.TraceNames, memory.MemorySlots, capacity);
    }

    /// <summary>The trace names, in order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The number of slots per trace.</summary>
    public int Slots { get; }

    /// <summary>The most steps kept.</summary>
    public int Capacity { get; }

    /// <summary>The steps held (at most <see cref="Capacity"/>).</summary>
    public int Count { get; private set; }

    /// <summary>The floats one step has: <c>Names.Count × Slots</c>.</summary>
    public int StepSize => Names.Count * Slots;

    /// <summary>Adds a step (<see cref="StepSize"/> floats, trace-major), dropping the oldest when full.</summary>
    /// <exception cref="ArgumentException">The step has the wrong length.</exception>
    public void Add(ReadOnlySpan<float> step)
    {
        if (step.Length != StepSize)
        {
            throw new ArgumentException($"MemoryTraceWindow: a step has {Names.Count} traces × {Slots} slots = {StepSize} floats, got {step.Length}.", nameof(step));
        }

        step.CopyTo(_values.AsSpan(_next * StepSize, StepSize));
        _next = (_next + 1) % Capacity;
        Count = Math.Min(Count + 1, Capacity);
    }

    /// <summary>Forgets every step (a new episode starts).</summary>
    public void Clear()
    {
        Count = 0;
        _next = 0;
    }

    /// <summary>The value of <paramref name="trace"/> at <paramref name="slot"/> in the step <paramref name="age"/> steps ago (0 is the newest).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public float Value(int age, int trace, int slot)
    {
        if ((uint)age >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(age), age, $"MemoryTraceWindow: holds {Count} steps.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(trace);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(trace, Names.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, Slots);
        return StepValues(age)[trace * Slots + slot];
    }

    /// <summary>The largest value of <paramref name="trace"/> over the steps held (0 when empty; NaN and negative values are ignored).</summary>
    public float Max(int trace)
    {
        float max = 0;
        for (int age = 0; age < Count; age++)
        {
            foreach (float v in StepValues(age).Slice(trace * Slots, Slots))
            {
                if (v > max)
                {
                    max = v;
                }
            }
        }

        return max;
    }

    /// <summary>The step <paramref name="age"/> steps ago, all traces.</summary>
    internal ReadOnlySpan<float> StepValues(int age)
    {
        int index = ((_next - 1 - age) % Capacity + Capacity) % Capacity;
        return _values.AsSpan(index * StepSize, StepSize);
    }
}
