using RlMemory.Environments.Vector;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Cuts the step streams of N environments into R2D2 sequences on the host, exactly as
/// <see cref="SequenceReplayBuffer.Add"/> does (same burn-in, learning length, overlap, minimum length, autoreset
/// pseudo-steps skipped, <see cref="BeginNewEpisodes"/> flush, same checks and messages), but instead of storing them it
/// queues the completed sequences, with the recurrent state before each, for <see cref="Take"/>: what a distributed
/// actor ships to its replay shards (<see cref="SequenceReplayBuffer.AddRows(SequenceRows)"/>).
/// </summary>
/// <remarks>
/// <para>The options' <see cref="SequenceReplayOptions.Capacity"/>, <see cref="SequenceReplayOptions.Prioritized"/>,
/// priority settings and <see cref="SequenceReplayOptions.Device"/> are ignored; observations must be stored as float32
/// and every state part must be float32. States are taken from CPU tensors.</para>
/// <para>The queue grows as needed (amortized: no allocation per step once it is large enough); take sequences
/// regularly. Not thread-safe.</para>
/// </remarks>
internal sealed class SequenceCollector : IDisposable
{
    private readonly SequenceLayout _layout;
    private readonly SequenceCutter _cutter;
    private readonly SequenceStateStorage _states;
    private readonly SequenceEmission[] _emissions;
    private readonly int[] _snapshotEnvs;
    private readonly int[] _snapshotRows;
    private readonly int[] _emissionRows;
    private readonly int[] _stateRowSizes;
    private float[] _table = [];
    private int[] _lengths = [];
    private readonly float[][] _queuedStates;
    private int _head;
    private int _count;
    private bool _disposed;

    /// <summary>Builds a collector for the environments and sequences <paramref name="options"/> describe.</summary>
    /// <exception cref="ArgumentException">The options break a rule between fields (see
    /// <see cref="SequenceReplayOptions.Validate"/>), store observations as uint8, or have a state part that is not float32.</exception>
    public SequenceCollector(SequenceReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string? unsupported = SequenceRowChecks.Unsupported(options);
        if (unsupported is not null)
        {
            throw new ArgumentException($"SequenceCollector: {unsupported}; build it with ObservationStorage = Float32 and float32 state parts.", nameof(options));
        }

        Options = options;
        _layout = new SequenceLayout(options);
        Name = $"SequenceCollector(T {options.BurnIn}+{options.LearningLength}, overlap {options.Overlap}, obs [{SequenceReplayOptions.ShapeText(options.ObservationShape)}]"
            + (_layout.Discrete ? "" : $", actions {options.Action}")
            + $", {options.NumEnvs} envs)";
        _cutter = new SequenceCutter(_layout);
        _emissions = new SequenceEmission[_cutter.MaxEmissions];
        _snapshotEnvs = new int[_layout.NumEnvs];
        _snapshotRows = new int[_layout.NumEnvs];
        _emissionRows = new int[_cutter.MaxEmissions];
        _stateRowSizes = [.. options.StateSpec.Parts.Select(p => (int)p.RowSize)];
        _queuedStates = [.. _stateRowSizes.Select(_ => Array.Empty<float>())];

        // The snapshots of open sequences live in CPU tensors, taken and checked by the buffer's own code; the stored
        // states are unused (the queue holds them on the host).
        _states = new SequenceStateStorage(Name, options.StateSpec, _layout.NumEnvs * _layout.SnapshotsPerEnv, capacity: 1, torch.CPU, forceDevicePath: false);
    }

    /// <summary>The options the collector was built from.</summary>
    public SequenceReplayOptions Options { get; }

    /// <summary>A name for messages, e.g. <c>SequenceCollector(T 40+40, overlap 40, obs [4], 16 envs)</c>.</summary>
    public string Name { get; }

    /// <summary>The number of completed sequences queued (that <see cref="Take"/> can return).</summary>
    public int Count => _count;

    /// <summary>
    /// One flag per environment: whether its next step begins an episode (as
    /// <see cref="SequenceReplayBuffer.NextStepBeginsEpisode"/>); a recurrent actor resets those rows of its state. The
    /// span is valid until the next call on the collector.
    /// </summary>
    public ReadOnlySpan<bool> NextStepBeginsEpisode
    {
        get
        {
            ThrowIfDisposed();
            return _cutter.NextStepBeginsEpisode;
        }
    }

    /// <summary>
    /// Records one step of N environments (as <see cref="SequenceReplayBuffer.Add"/>) and queues the sequences it
    /// completes. <paramref name="stateBeforeStep"/> is the actor's recurrent state before this step (<c>[N, ..]</c>
    /// per part, on the CPU); the collector copies the rows of the environments that start a sequence at this step and
    /// keeps no reference to it.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input: wrong lengths, the wrong kind of action, NaN or infinite values, a
    /// state of another layout or row count or not on the CPU. The collector is unchanged.</exception>
    public void Add<TAction>(in VectorStep<TAction> step, RecurrentState stateBeforeStep)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        const string call = "Add";
        StepSpans input = StepSpans.Of(Name, call, Options.Action, step);
        int starting = SequenceStepChecks.Check(Name, call, _layout, _cutter, _states, input, stateBeforeStep, _snapshotEnvs, _snapshotRows);
        if (stateBeforeStep.Device.type != DeviceType.CPU)
        {
            throw new ArgumentException($"{Name}: {call}: stateBeforeStep is on {stateBeforeStep.Device}; the collector takes states on the CPU (move it with state.To(torch.CPU)).", nameof(stateBeforeStep));
        }

        // Everything checked: keep the state rows of the sequences that start now, then cut and queue.
        _states.Snapshot(stateBeforeStep, _snapshotEnvs.AsSpan(0, starting), _snapshotRows.AsSpan(0, starting));
        int count = _cutter.Advance(input, _emissions);
        Enqueue(count);
    }

    /// <summary>
    /// Tells the collector that the vector environment was reset outside <c>Add</c>: the open sequences are flushed and
    /// queued as <see cref="SequenceReplayBuffer.BeginNewEpisodes"/> stores them; every environment's next step starts a
    /// new episode.
    /// </summary>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        int count = _cutter.Flush(_emissions);
        Enqueue(count);
    }

    /// <summary>Removes the oldest <paramref name="count"/> queued sequences and returns them as host rows with their initial states.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is below 1 or above <see cref="Count"/>.</exception>
    public SequenceRows Take(int count)
    {
        ThrowIfDisposed();
        if (count < 1 || count > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{Name}: Take needs a count in [1, Count = {_count}], got {count}."
                + (_count == 0 ? " No sequence is complete yet." : ""));
        }

        int w = _layout.Width;
        float[] table = _table.AsSpan(_head * w, count * w).ToArray();
        int[] lengths = _lengths.AsSpan(_head, count).ToArray();
        var states = new float[_stateRowSizes.Length][];
        for (int p = 0; p < states.Length; p++)
        {
            int rowSize = _stateRowSizes[p];
            states[p] = _queuedStates[p].AsSpan(_head * rowSize, count * rowSize).ToArray();
        }

        _head += count;
        _count -= count;
        if (_count == 0)
        {
            _head = 0;
        }

        return new SequenceRows(count, w, table, lengths, states);
    }

    /// <summary>Disposes the state snapshots.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _states.Dispose();
    }

    public override string ToString() => Name;

    /// <summary>Composes the <paramref name="emitted"/> emissions at the end of the queue, with their snapshot states.</summary>
    private void Enqueue(int emitted)
    {
        if (emitted == 0)
        {
            return;
        }

        EnsureRoom(emitted);
        int w = _layout.Width;
        int at = _head + _count;
        for (int i = 0; i < emitted; i++)
        {
            SequenceEmission emission = _emissions[i];
            _cutter.Compose(emission, _table.AsSpan((at + i) * w, w), default);
            _lengths[at + i] = emission.Length;
            _emissionRows[i] = emission.SnapshotRow;
        }

        _states.ReadSnapshots(_emissionRows.AsSpan(0, emitted), _queuedStates, at);
        _count += emitted;
    }

    /// <summary>Makes room for <paramref name="extra"/> more rows after the queue: moves it to the front, or grows it.</summary>
    private void EnsureRoom(int extra)
    {
        int rows = _lengths.Length;
        long needed = (long)_count + extra;
        if (_head + needed <= rows)
        {
            return;
        }

        int w = _layout.Width;
        if (needed <= rows)
        {
            // Room enough once the taken rows at the front are reclaimed.
            Array.Copy(_table, _head * w, _table, 0, _count * w);
            Array.Copy(_lengths, _head, _lengths, 0, _count);
            for (int p = 0; p < _queuedStates.Length; p++)
            {
                int rowSize = _stateRowSizes[p];
                Array.Copy(_queuedStates[p], _head * rowSize, _queuedStates[p], 0, _count * rowSize);
            }

            _head = 0;
            return;
        }

        long grown = Math.Max(needed, Math.Max(16, 2L * rows));
        long maxRows = Array.MaxLength / Math.Max(w, _stateRowSizes.Max());
        if (needed > maxRows)
        {
            throw new InvalidOperationException($"{Name}: the queue would hold {needed} sequences, more than the {maxRows} a host array of rows can; Take sequences more often.");
        }

        int newRows = (int)Math.Min(grown, maxRows);
        var table = new float[newRows * w];
        var lengths = new int[newRows];
        _table.AsSpan(_head * w, _count * w).CopyTo(table);
        _lengths.AsSpan(_head, _count).CopyTo(lengths);
        for (int p = 0; p < _queuedStates.Length; p++)
        {
            int rowSize = _stateRowSizes[p];
            var states = new float[newRows * rowSize];
            _queuedStates[p].AsSpan(_head * rowSize, _count * rowSize).CopyTo(states);
            _queuedStates[p] = states;
        }

        _table = table;
        _lengths = lengths;
        _head = 0;
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(Name, $"{Name} was disposed.");
        }
    }
}
