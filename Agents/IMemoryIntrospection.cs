namespace RlMemory.Agents;

/// <summary>
/// An optional view into an agent's external memory, implemented by the <see cref="IEpisodeActor"/> of agents that have
/// one. After each <see cref="IEpisodeActor{TAction}.Act"/>, it gives, for one environment row, the step's addressing weights over
/// the memory's slots as named vectors: for example the write weights, the read weights of each head and the slots'
/// usage. The viewer (<c>rlmemory watch</c>) and <c>rlmemory record --with-memory</c> draw them as heatmaps, time
/// against slot. Feed-forward and LSTM-only actors do not implement it.
/// </summary>
/// <remarks>
/// Trace names follow <see cref="MemoryTraceNames"/> where they fit (<c>write</c>, <c>read 0</c>, <c>read 1</c>, …,
/// <c>usage</c>); other names are drawn just the same. Values are expected in [0, 1] (weights and usage); the viewer
/// scales each trace by its largest value on screen.
/// </remarks>
public interface IMemoryIntrospection
{
    /// <summary>The number of memory slots N (the length of every trace vector).</summary>
    int MemorySlots { get; }

    /// <summary>The traces one step gives, in the order <see cref="TryReadLastStep"/> writes them.</summary>
    IReadOnlyList<string> TraceNames { get; }

    /// <summary>
    /// Copies the weights of environment <paramref name="row"/>'s last step into <paramref name="destination"/>:
    /// <c>TraceNames.Count × MemorySlots</c> floats, trace-major (all of the first trace's slots, then the next trace's).
    /// </summary>
    /// <returns>False, leaving <paramref name="destination"/> unchanged, when the row has not acted since it was started or reset.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has the wrong length, or <paramref name="row"/> is out of range.</exception>
    bool TryReadLastStep(int row, Span<float> destination);
}

/// <summary>The conventional names of memory traces (see <see cref="IMemoryIntrospection.TraceNames"/>).</summary>
public static class MemoryTraceNames
{
    /// <summary>The write weights over the slots.</summary>
    public const string Write = "write";

    /// <summary>How much each slot is in use (DNC-style usage).</summary>
    public const string Usage = "usage";

    /// <summary>The read weights of read head <paramref name="head"/> (0-based): <c>read 0</c>, <c>read 1</c>, ….</summary>
    public static string Read(int head) => head >= 0
        ? $"read {head}"
        : throw new ArgumentOutOfRangeException(nameof(head), head, "MemoryTraceNames.Read: the head index must be non-negative.");
}
