using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The preallocated storage of a replay buffer: tensors on the device, ring cursors, per-environment autoreset
/// tracking, batched writes and <see cref="Gather"/>. A sampler (uniform, prioritized) draws slot indices and gathers
/// them; the storage itself never draws.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> One float32 table <c>[C, W]</c> holds, per slot, the observation and (plain mode) the next
/// observation when they are float32, then the action (a discrete action as a float, exact up to 2^24), the reward,
/// terminated, truncated and (plain mode) the discount. One <c>index_select</c> of the table gathers a batch; the
/// batch's fields are views of it. Byte observations live in their own uint8 tensors <c>[C, obsSize]</c>.</para>
/// <para><b>Plain mode</b>: a ring of C complete transitions; <see cref="AddStep(ReadOnlySpan{float}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{bool}, ReadOnlySpan{bool}, ReadOnlySpan{float})"/>
/// skips each environment's autoreset pseudo-step and writes the other transitions to consecutive slots.</para>
/// <para><b>Memory-saving mode</b>: rows of N slots (slot = row · N + env), C rounded down to a multiple of N, only
/// observations stored; the next observation of slot s is in slot s + N (mod C). A step completes the current row
/// (action, reward, flags) and writes its next observations into the following row, which becomes the pending row
/// (not sampleable) and overwrites the oldest. Pseudo-steps and orphaned rows (see <see cref="BeginNewEpisodes"/>)
/// are marked invalid in a bool mask on the device (mirrored on the host).</para>
/// </remarks>
internal sealed class TransitionStorage : IDisposable
{
    private const int MaxRejectionRounds = 100_000;

    private readonly int _rowsInRing;
    private readonly int _width;
    private readonly int _nextCol;
    private readonly int _actCol;
    private readonly int _rewCol;
    private readonly int _termCol;
    private readonly int _truncCol;
    private readonly int _discCol;
    private readonly float _gamma;
    private readonly long[] _observationBatchShape;

    private readonly Tensor _table;
    private readonly Tensor? _obsBytes;
    private readonly Tensor? _nextBytes;
    private readonly Tensor? _valid;
    private readonly TensorRowWriter<float> _tableWriter;
    private readonly TensorRowWriter<byte>? _obsWriter;
    private readonly TensorRowWriter<byte>? _nextWriter;
    private readonly TensorRowWriter<bool>? _validWriter;

    private readonly bool[] _previousEnded;
    private readonly bool[]? _validHost;
    private readonly int[]? _rowValid;
    private readonly float[]? _pendingObs;
    private readonly int[] _envScratch;
    private int[] _positionScratch = new int[256];

    // Plain mode: the next slot to write and how many slots hold transitions.
    private int _nextSlot;
    private int _size;

    // Memory-saving mode: the newest row (pending or orphaned), whether it awaits its step, the complete rows behind
    // it, the sampleable transitions, and whether the ring has wrapped.
    private int _head = -1;
    private bool _pending;
    private int _completeRows;
    private long _validCount;
    private bool _wrapped;

    private bool _disposed;

    /// <param name="options">What to store (validated here).</param>
    /// <param name="kind">The owning buffer's type name, for messages (e.g. <c>UniformReplayBuffer</c>).</param>
    /// <param name="forceStaging">Write through CPU staging tensors and copy_ even on the CPU, and check sample
    /// validity with tensor operations (the path taken on other devices); for tests.</param>
    public TransitionStorage(ReplayBufferOptions options, string kind, bool forceStaging = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Device = options.Device ?? torch.CPU;
        ForceDevicePath = forceStaging;
        NumEnvs = options.NumEnvs;
        ObservationSize = options.ObservationSize;
        ActionDimension = options.Action.Dimension;
        Discrete = options.Action.IsDiscrete;
        MemorySaving = options.MemorySaving;
        ObservationsInTable = options.ObservationStorage == ObservationStorage.Float32;
        _gamma = (float)options.Gamma;
        _rowsInRing = MemorySaving ? options.Capacity / NumEnvs : 0;
        Capacity = MemorySaving ? _rowsInRing * NumEnvs : options.Capacity;
        Name = $"{kind}(capacity {options.Capacity}, obs [{ReplayBufferOptions.ShapeText(options.ObservationShape)}]"
            + (ObservationsInTable ? "" : " uint8")
            + (Discrete ? "" : $", actions {options.Action}")
            + (options.NSteps > 1 ? $", {options.NSteps}-step" : "")
            + (MemorySaving ? ", memory-saving" : "") + ")";

        int column = 0;
        if (ObservationsInTable)
        {
            column = ObservationSize;
            if (!MemorySaving)
            {
                _nextCol = column;
                column += ObservationSize;
            }
        }

        _actCol = column;
        _rewCol = _actCol + ActionDimension;
        _termCol = _rewCol + 1;
        _truncCol = _rewCol + 2;
        _discCol = MemorySaving ? -1 : _rewCol + 3;
        _width = MemorySaving ? _rewCol + 3 : _rewCol + 4;
        _observationBatchShape = [0, .. options.ObservationShape.Select(d => (long)d)];

        _previousEnded = new bool[NumEnvs];
        _envScratch = new int[NumEnvs];
        var created = new List<IDisposable>();
        try
        {
            // Only the validity mask must start zeroed: no other slot is read before it is written. Leaving the big
            // tensors uninitialized also keeps their pages untouched (not resident) until the ring reaches them.
            _table = Track(created, TensorMemory.Persistent([Capacity, _width], ScalarType.Float32, Device, zero: false));
            _tableWriter = Track(created, new TensorRowWriter<float>(_table, _width, NumEnvs, forceStaging));
            if (!ObservationsInTable)
            {
                _obsBytes = Track(created, TensorMemory.Persistent([Capacity, ObservationSize], ScalarType.Byte, Device, zero: false));
                _obsWriter = Track(created, new TensorRowWriter<byte>(_obsBytes, ObservationSize, NumEnvs, forceStaging));
                if (!MemorySaving)
                {
                    _nextBytes = Track(created, TensorMemory.Persistent([Capacity, ObservationSize], ScalarType.Byte, Device, zero: false));
                    _nextWriter = Track(created, new TensorRowWriter<byte>(_nextBytes, ObservationSize, NumEnvs, forceStaging));
                }
            }

            if (MemorySaving)
            {
                _valid = Track(created, TensorMemory.Persistent([Capacity], ScalarType.Bool, Device, zero: true));
                _validWriter = Track(created, new TensorRowWriter<bool>(_valid, 1, NumEnvs, forceStaging));
                _validHost = new bool[Capacity];
                _rowValid = new int[_rowsInRing];
                if (ObservationsInTable)
                {
                    _pendingObs = new float[NumEnvs * ObservationSize];
                }
            }
        }
        catch
        {
            foreach (IDisposable d in created)
            {
                d.Dispose();
            }

            throw;
        }
    }

    /// <summary>The buffer's name for messages, e.g. <c>UniformReplayBuffer(capacity 1000000, obs [4])</c>.</summary>
    public string Name { get; }

    /// <summary>The options the storage was built from.</summary>
    public ReplayBufferOptions Options { get; }

    /// <summary>The device of the tensors.</summary>
    public Device Device { get; }

    /// <summary>The number of slots (the capacity, rounded down to a multiple of N in memory-saving mode).</summary>
    public int Capacity { get; }

    /// <summary>N, environments per step.</summary>
    public int NumEnvs { get; }

    /// <summary>Values per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per action (1 for discrete).</summary>
    public int ActionDimension { get; }

    /// <summary>Whether actions are discrete.</summary>
    public bool Discrete { get; }

    /// <summary>Whether next observations are read from the following row.</summary>
    public bool MemorySaving { get; }

    /// <summary>Whether observations are float32 columns of the table (else uint8 tensors).</summary>
    public bool ObservationsInTable { get; }

    /// <summary>Whether writes stage through CPU tensors and validity is checked with tensor operations.</summary>
    public bool ForceDevicePath { get; }

    /// <summary>The number of transitions that can be sampled.</summary>
    public long Count => MemorySaving ? _validCount : _size;

    /// <summary>
    /// Every sampleable slot lies in [0, SampleRange). In plain mode all of them are sampleable; in memory-saving mode
    /// the range also holds the pending row and invalid slots (see <see cref="IsSampleable"/>).
    /// </summary>
    public long SampleRange => MemorySaving ? (_head < 0 ? 0 : _wrapped ? Capacity : (long)(_head + 1) * NumEnvs) : _size;

    /// <summary>Which environments ended (terminated or truncated) at the last step, so their next entry is an autoreset pseudo-step.</summary>
    public ReadOnlySpan<bool> PreviousEnded => _previousEnded;

    /// <summary>Whether slot <paramref name="slot"/> holds a transition that can be sampled.</summary>
    public bool IsSampleable(long slot) => slot >= 0 && slot < SampleRange && (!MemorySaving || _validHost![slot]);

    /// <summary>AddStep with discrete actions (see the class remarks for what each mode writes).</summary>
    public SlotChanges AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        RequireActionKind(discrete: true, "AddStep");
        var source = new RowSource(observations, actions, default, rewards, terminated, truncated, nextObservations, default);
        return AddStepCore(source);
    }

    /// <summary>AddStep with continuous actions (N × d floats).</summary>
    public SlotChanges AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        RequireActionKind(discrete: false, "AddStep");
        var source = new RowSource(observations, default, actions, rewards, terminated, truncated, nextObservations, default);
        return AddStepCore(source);
    }

    /// <summary>Stores M complete transitions (plain mode only) with discrete actions.</summary>
    public SlotChanges AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        RequireActionKind(discrete: true, "AddTransitions");
        var source = new RowSource(observations, actions, default, rewards, terminated, truncated, nextObservations, discounts);
        return AddTransitionsCore(source);
    }

    /// <summary>Stores M complete transitions (plain mode only) with continuous actions.</summary>
    public SlotChanges AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        RequireActionKind(discrete: false, "AddTransitions");
        var source = new RowSource(observations, default, actions, rewards, terminated, truncated, nextObservations, discounts);
        return AddTransitionsCore(source);
    }

    /// <summary>
    /// The vector environment was reset outside <c>AddStep</c>: forget which environments ended, and in memory-saving
    /// mode leave the newest row as it is (it holds the next observations of the last step) but not sampleable, so
    /// the next step starts a fresh row.
    /// </summary>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        Array.Clear(_previousEnded);
        _pending = false;
    }

    /// <summary>
    /// Gathers the transitions at <paramref name="indices"/> (int64 <c>[B]</c> on the device, each a sampleable
    /// slot). The batch takes ownership of <paramref name="indices"/> and <paramref name="weights"/>; if this throws,
    /// they remain the caller's.
    /// </summary>
    public TransitionBatch Gather(Tensor indices, Tensor? weights)
    {
        ThrowIfDisposed();
        if (indices.dtype != ScalarType.Int64 || indices.dim() != 1)
        {
            throw new ArgumentException($"{Name}: Gather needs int64 indices of shape [B], got {indices.dtype} [{string.Join(", ", indices.shape)}].", nameof(indices));
        }

        long b = indices.shape[0];
        var created = new List<Tensor>(12);
        try
        {
            Tensor rows = Track(created, _table.index_select(0, indices));
            Tensor observations = ObservationsInTable
                ? Track(created, ObservationColumns(rows, 0, b))
                : Track(created, BytesToObservations(_obsBytes!, indices, b));

            Tensor nextObservations;
            if (!MemorySaving)
            {
                nextObservations = ObservationsInTable
                    ? Track(created, ObservationColumns(rows, _nextCol, b))
                    : Track(created, BytesToObservations(_nextBytes!, indices, b));
            }
            else
            {
                Tensor nextIndices = Track(created, indices.add(NumEnvs));
                nextIndices.remainder_(Capacity);
                nextObservations = ObservationsInTable
                    ? Track(created, NextObservationColumns(nextIndices, b))
                    : Track(created, BytesToObservations(_obsBytes!, nextIndices, b));
            }

            Tensor actions;
            if (Discrete)
            {
                Tensor column = Track(created, rows.select(1, _actCol));
                actions = Track(created, column.to(ScalarType.Int64));
            }
            else
            {
                actions = Track(created, rows.narrow(1, _actCol, ActionDimension));
            }

            Tensor rewards = Track(created, rows.select(1, _rewCol));
            Tensor terminated = Track(created, rows.select(1, _termCol));
            Tensor truncated = Track(created, rows.select(1, _truncCol));
            Tensor discounts = MemorySaving
                ? Track(created, torch.full([b], _gamma, ScalarType.Float32, Device))
                : Track(created, rows.select(1, _discCol));

            var batch = new TransitionBatch(observations, actions, rewards, nextObservations, terminated, truncated, discounts, indices, weights);
            // Release the intermediates (the views keep the gathered memory alive).
            foreach (Tensor t in created)
            {
                if (!ReferenceEquals(t, observations) && !ReferenceEquals(t, actions) && !ReferenceEquals(t, rewards) && !ReferenceEquals(t, nextObservations)
                    && !ReferenceEquals(t, terminated) && !ReferenceEquals(t, truncated) && !ReferenceEquals(t, discounts))
                {
                    t.Dispose();
                }
            }

            return batch;
        }
        catch
        {
            foreach (Tensor t in created)
            {
                t.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Memory-saving mode: replaces every entry of <paramref name="indices"/> (drawn uniformly from
    /// [0, <paramref name="range"/>)) that is not a sampleable slot by a new uniform draw from the same range, until all
    /// are sampleable. This is an exact uniform draw over the sampleable slots. Redraws are taken in ascending position
    /// order, one <c>randint</c> per round, so the host path (CPU) and the tensor path give identical results.
    /// </summary>
    public unsafe void RedrawUnsampleable(Tensor indices, long range, Generator generator)
    {
        if (!MemorySaving || Count == range)
        {
            return;
        }

        if (Count == 0)
        {
            throw new InvalidOperationException($"{Name}: no sampleable transition to draw.");
        }

        int b = (int)indices.shape[0];
        if (!ForceDevicePath && TensorMemory.IsHostAccessible(indices))
        {
            long* p = (long*)TensorMemory.Address(indices);
            if (_positionScratch.Length < b)
            {
                _positionScratch = new int[b];
            }

            for (int round = 0; round < MaxRejectionRounds; round++)
            {
                int k = 0;
                for (int i = 0; i < b; i++)
                {
                    if (!_validHost![p[i]])
                    {
                        _positionScratch[k++] = i;
                    }
                }

                if (k == 0)
                {
                    return;
                }

                using Tensor redraw = torch.randint(0, range, [k], ScalarType.Int64, Device, generator: generator);
                long* q = (long*)TensorMemory.Address(redraw);
                for (int j = 0; j < k; j++)
                {
                    p[_positionScratch[j]] = q[j];
                }
            }
        }
        else
        {
            for (int round = 0; round < MaxRejectionRounds; round++)
            {
                using Tensor ok = _valid!.index_select(0, indices);
                using Tensor bad = ok.logical_not();
                using Tensor found = bad.nonzero();
                long k = found.shape[0];
                if (k == 0)
                {
                    return;
                }

                using Tensor positions = found.view(-1);
                using Tensor redraw = torch.randint(0, range, [k], ScalarType.Int64, Device, generator: generator);
                indices.index_copy_(0, positions, redraw);
            }
        }

        throw new InvalidOperationException($"{Name}: rejection sampling did not find sampleable slots after {MaxRejectionRounds} rounds ({Count} sampleable of {range}); this is a bug.");
    }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _tableWriter.Dispose();
        _obsWriter?.Dispose();
        _nextWriter?.Dispose();
        _validWriter?.Dispose();
        _table.Dispose();
        _obsBytes?.Dispose();
        _nextBytes?.Dispose();
        _valid?.Dispose();
    }

    /// <summary>Bytes of tensor storage (table, byte observations, validity mask; not the staging areas).</summary>
    public long TensorBytes =>
        TensorMemory.ByteLength(_table) + (_obsBytes is null ? 0 : TensorMemory.ByteLength(_obsBytes))
        + (_nextBytes is null ? 0 : TensorMemory.ByteLength(_nextBytes)) + (_valid is null ? 0 : TensorMemory.ByteLength(_valid));

    // ---------------------------------------------------------------- persistence

    /// <summary>The cursors and flags, for a buffer file's metadata.</summary>
    public StorageState CaptureState() => new()
    {
        Capacity = Capacity,
        Width = _width,
        NextSlot = _nextSlot,
        Size = _size,
        Head = _head,
        Pending = _pending,
        CompleteRows = _completeRows,
        Wrapped = _wrapped,
        PreviousEnded = [.. _previousEnded],
    };

    /// <summary>Rows [0, SavedRows) of each tensor hold everything that can be sampled (and the pending row).</summary>
    public long SavedRows => SampleRange;

    /// <summary>Writes the used rows of each tensor as sections.</summary>
    public void WriteSections(BufferFileWriter writer)
    {
        ThrowIfDisposed();
        long rows = SavedRows;
        writer.WriteSection("table", _table, rows);
        if (_obsBytes is not null)
        {
            writer.WriteSection("observations_u8", _obsBytes, rows);
        }

        if (_nextBytes is not null)
        {
            writer.WriteSection("next_observations_u8", _nextBytes, rows);
        }

        if (_valid is not null)
        {
            writer.WriteSection("valid", _valid, rows);
        }
    }

    /// <summary>
    /// Checks, before any storage is allocated, that <paramref name="state"/> and the sections of
    /// <paramref name="reader"/> fit <paramref name="options"/>.
    /// </summary>
    public static void CheckSaved(BufferFileReader reader, ReplayBufferOptions options, StorageState state)
    {
        string file = reader.Path;
        int n = options.NumEnvs;
        bool ms = options.MemorySaving;
        int capacity = ms ? options.Capacity / n * n : options.Capacity;
        int rowsInRing = ms ? capacity / n : 0;
        bool inTable = options.ObservationStorage == ObservationStorage.Float32;
        int obsSize = options.ObservationSize;
        int width = (inTable ? (ms ? obsSize : 2 * obsSize) : 0) + options.Action.Dimension + (ms ? 3 : 4);

        void Require(bool ok, string what)
        {
            if (!ok)
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: {what}.");
            }
        }

        Require(state.Capacity == capacity, $"capacity {state.Capacity}, options give {capacity}");
        Require(state.Width == width, $"table width {state.Width}, options give {width}");
        Require(state.PreviousEnded is not null && state.PreviousEnded.Length == n, $"{state.PreviousEnded?.Length} end flags for {n} environments");
        long rows;
        if (ms)
        {
            Require(state.Head >= -1 && state.Head < rowsInRing, $"head row {state.Head} outside [-1, {rowsInRing})");
            Require(state.NextSlot == 0 && state.Size == 0, "plain-mode cursors set in memory-saving mode");
            int expectedComplete = state.Head < 0 ? 0 : state.Wrapped ? rowsInRing - 1 : state.Head;
            Require(state.CompleteRows == expectedComplete, $"{state.CompleteRows} complete rows, head {state.Head} and wrapped={state.Wrapped} give {expectedComplete}");
            Require(!(state.Pending && state.Head < 0), "a pending row before any row was written");
            rows = state.Head < 0 ? 0 : state.Wrapped ? capacity : (long)(state.Head + 1) * n;
        }
        else
        {
            Require(state.Size >= 0 && state.Size <= capacity, $"size {state.Size} outside [0, {capacity}]");
            Require(state.NextSlot >= 0 && state.NextSlot < capacity, $"next slot {state.NextSlot} outside [0, {capacity})");
            Require(state.Size == capacity || state.NextSlot == state.Size, $"next slot {state.NextSlot} with size {state.Size} before the ring is full");
            Require(state.Head == -1 && !state.Pending && state.CompleteRows == 0 && !state.Wrapped, "memory-saving cursors set in plain mode");
            rows = state.Size;
        }

        reader.Expect("table", ScalarType.Float32, rows, width);
        if (!inTable)
        {
            reader.Expect("observations_u8", ScalarType.Byte, rows, obsSize);
            if (!ms)
            {
                reader.Expect("next_observations_u8", ScalarType.Byte, rows, obsSize);
            }
        }

        if (ms)
        {
            reader.Expect("valid", ScalarType.Bool, rows);
        }
    }

    /// <summary>Reads the sections (already checked by <see cref="CheckSaved"/>) and restores the cursors.</summary>
    public void ReadSections(BufferFileReader reader, StorageState state)
    {
        ThrowIfDisposed();
        reader.ReadInto("table", _table);
        if (_obsBytes is not null)
        {
            reader.ReadInto("observations_u8", _obsBytes);
        }

        if (_nextBytes is not null)
        {
            reader.ReadInto("next_observations_u8", _nextBytes);
        }

        state.PreviousEnded.CopyTo(_previousEnded, 0);
        _nextSlot = state.NextSlot;
        _size = state.Size;
        _head = state.Head;
        _pending = state.Pending;
        _completeRows = state.CompleteRows;
        _wrapped = state.Wrapped;
        if (!MemorySaving)
        {
            return;
        }

        reader.ReadInto("valid", _valid!);
        long rows = SampleRange;
        if (rows > 0)
        {
            using Tensor used = _valid!.narrow(0, 0, rows);
            using Tensor host = used.to(torch.CPU);
            bool[] flags = host.data<bool>().ToArray();
            flags.CopyTo(_validHost!, 0);
        }

        // The pending row is never sampleable; a file that says otherwise is refused.
        if (_head >= 0 && Enumerable.Range(_head * NumEnvs, NumEnvs).Any(s => _validHost![s]))
        {
            throw new InvalidDataException($"{reader.Path}: inconsistent buffer state: the newest row {_head} is marked sampleable.");
        }

        _validCount = 0;
        for (int r = 0; r < _rowsInRing; r++)
        {
            int count = 0;
            for (int e = 0; e < NumEnvs; e++)
            {
                count += _validHost![r * NumEnvs + e] ? 1 : 0;
            }

            _rowValid![r] = count;
            _validCount += count;
        }

        if (_pendingObs is not null && _head >= 0)
        {
            using Tensor headRows = _table.narrow(0, (long)_head * NumEnvs, NumEnvs);
            using Tensor obs = headRows.narrow(1, 0, ObservationSize);
            using Tensor host = obs.to(torch.CPU);
            using Tensor contiguous = host.contiguous();
            contiguous.data<float>().CopyTo(_pendingObs, 0);
        }
    }

    // ---------------------------------------------------------------- inspection (tests, tools)

    /// <summary>Every sampleable transition, read back from the device (slow: for tests and tools).</summary>
    public List<StoredTransition> Enumerate()
    {
        ThrowIfDisposed();
        var result = new List<StoredTransition>();
        long range = SampleRange;
        if (range == 0)
        {
            return result;
        }

        float[] table = ToHost<float>(_table);
        byte[]? obsBytes = _obsBytes is null ? null : ToHost<byte>(_obsBytes);
        byte[]? nextBytes = _nextBytes is null ? null : ToHost<byte>(_nextBytes);
        int os = ObservationSize;
        for (long s = 0; s < range; s++)
        {
            if (!IsSampleable(s))
            {
                continue;
            }

            long next = MemorySaving ? (s + NumEnvs) % Capacity : s;
            ReadOnlySpan<float> row = table.AsSpan((int)(s * _width), _width);
            float[] obs = ObservationsInTable ? row[..os].ToArray() : Floats(obsBytes!.AsSpan((int)(s * os), os));
            float[] nextObs = MemorySaving
                ? (ObservationsInTable ? table.AsSpan((int)(next * _width), os).ToArray() : Floats(obsBytes!.AsSpan((int)(next * os), os)))
                : (ObservationsInTable ? row.Slice(_nextCol, os).ToArray() : Floats(nextBytes!.AsSpan((int)(s * os), os)));
            result.Add(new StoredTransition(
                s,
                obs,
                row.Slice(_actCol, ActionDimension).ToArray(),
                row[_rewCol],
                row[_termCol] != 0,
                row[_truncCol] != 0,
                nextObs,
                MemorySaving ? _gamma : row[_discCol]));
        }

        return result;
    }

    // ---------------------------------------------------------------- writes

    private SlotChanges AddStepCore(in RowSource source)
    {
        ThrowIfDisposed();
        const string call = "AddStep";
        int n = NumEnvs;
        int os = ObservationSize;
        TransitionChecks.Length(Name, call, "observations", source.Observations.Length, n, os, "env");
        TransitionChecks.Length(Name, call, "nextObservations", source.NextObservations.Length, n, os, "env");
        TransitionChecks.Length(Name, call, "actions", Discrete ? source.DiscreteActions.Length : source.ContinuousActions.Length, n, ActionDimension, "env");
        TransitionChecks.Length(Name, call, "rewards", source.Rewards.Length, n, 1, "env");
        TransitionChecks.Length(Name, call, "terminated", source.Terminated.Length, n, 1, "env");
        TransitionChecks.Length(Name, call, "truncated", source.Truncated.Length, n, 1, "env");

        ReadOnlySpan<bool> skip = _previousEnded;
        TransitionChecks.Rewards(Name, call, "rewards", source.Rewards, skip, "env");
        if (Discrete)
        {
            TransitionChecks.DiscreteActions(Name, call, "actions", source.DiscreteActions, skip, "env");
        }
        else
        {
            TransitionChecks.ContinuousActions(Name, call, "actions", source.ContinuousActions, ActionDimension, skip, "env");
        }

        if (MemorySaving)
        {
            // Observations are read only when a fresh row starts; next observations are always stored (a pseudo-step's
            // next observation is the first of a new episode).
            if (!_pending)
            {
                TransitionChecks.Observations(Name, call, "observations", source.Observations, os, Options.ObservationStorage, default, "env");
            }

            TransitionChecks.Observations(Name, call, "nextObservations", source.NextObservations, os, Options.ObservationStorage, default, "env");
            return AddStepMemorySaving(source);
        }

        TransitionChecks.Observations(Name, call, "observations", source.Observations, os, Options.ObservationStorage, skip, "env");
        TransitionChecks.Observations(Name, call, "nextObservations", source.NextObservations, os, Options.ObservationStorage, skip, "env");

        int m = 0;
        for (int e = 0; e < n; e++)
        {
            if (!_previousEnded[e])
            {
                _envScratch[m++] = e;
            }
        }

        SlotChanges changes = WritePlainRows(source, _envScratch.AsSpan(0, m), m);
        UpdatePreviousEnded(source);
        return changes;
    }

    private SlotChanges AddTransitionsCore(in RowSource source)
    {
        ThrowIfDisposed();
        const string call = "AddTransitions";
        if (MemorySaving)
        {
            throw new InvalidOperationException($"{Name}: AddTransitions stores transitions with their own next observations, which memory-saving mode cannot hold (it reads a next observation from the following step). Use AddStep, or build the buffer with MemorySaving = false.");
        }

        int m = source.Rewards.Length;
        int os = ObservationSize;
        TransitionChecks.Length(Name, call, "observations", source.Observations.Length, m, os, "transition");
        TransitionChecks.Length(Name, call, "nextObservations", source.NextObservations.Length, m, os, "transition");
        TransitionChecks.Length(Name, call, "actions", Discrete ? source.DiscreteActions.Length : source.ContinuousActions.Length, m, ActionDimension, "transition");
        TransitionChecks.Length(Name, call, "terminated", source.Terminated.Length, m, 1, "transition");
        TransitionChecks.Length(Name, call, "truncated", source.Truncated.Length, m, 1, "transition");
        TransitionChecks.Length(Name, call, "discounts", source.Discounts.Length, m, 1, "transition");
        TransitionChecks.Rewards(Name, call, "rewards", source.Rewards, default, "transition");
        TransitionChecks.Discounts(Name, call, "discounts", source.Discounts);
        if (Discrete)
        {
            TransitionChecks.DiscreteActions(Name, call, "actions", source.DiscreteActions, default, "transition");
        }
        else
        {
            TransitionChecks.ContinuousActions(Name, call, "actions", source.ContinuousActions, ActionDimension, default, "transition");
        }

        TransitionChecks.Observations(Name, call, "observations", source.Observations, os, Options.ObservationStorage, default, "transition");
        TransitionChecks.Observations(Name, call, "nextObservations", source.NextObservations, os, Options.ObservationStorage, default, "transition");
        return WritePlainRows(source, default, m);
    }

    /// <summary>
    /// Writes <paramref name="count"/> transitions to consecutive ring slots. Row j comes from source index
    /// <c>map[j]</c> (or j when <paramref name="map"/> is empty). When more than the capacity arrive at once, only the
    /// last <see cref="Capacity"/> are written (the others would be overwritten in the same call).
    /// </summary>
    private SlotChanges WritePlainRows(in RowSource source, ReadOnlySpan<int> map, int count)
    {
        int first = Math.Max(0, count - Capacity);
        int start = _nextSlot;
        int pos = _nextSlot;
        int os = ObservationSize;
        int maxRows = Math.Min(_tableWriter.MaxRowsPerWrite, _obsWriter?.MaxRowsPerWrite ?? int.MaxValue);
        for (int j = first; j < count;)
        {
            int segment = Math.Min(Math.Min(count - j, Capacity - pos), maxRows);
            Span<float> table = _tableWriter.Begin(pos, segment);
            Span<byte> obs = _obsWriter is null ? default : _obsWriter.Begin(pos, segment);
            Span<byte> next = _nextWriter is null ? default : _nextWriter.Begin(pos, segment);
            for (int k = 0; k < segment; k++)
            {
                int i = map.IsEmpty ? j + k : map[j + k];
                Span<float> row = table.Slice(k * _width, _width);
                if (ObservationsInTable)
                {
                    source.Observations.Slice(i * os, os).CopyTo(row);
                    source.NextObservations.Slice(i * os, os).CopyTo(row.Slice(_nextCol, os));
                }
                else
                {
                    SpanMath.RoundToBytes(source.Observations.Slice(i * os, os), obs.Slice(k * os, os));
                    SpanMath.RoundToBytes(source.NextObservations.Slice(i * os, os), next.Slice(k * os, os));
                }

                WriteScalars(row, source, i);
                row[_discCol] = source.Discounts.IsEmpty ? _gamma : (float)source.Discounts[i];
            }

            _tableWriter.Commit(pos, segment);
            _obsWriter?.Commit(pos, segment);
            _nextWriter?.Commit(pos, segment);
            pos = (pos + segment) % Capacity;
            j += segment;
        }

        int written = count - first;
        _nextSlot = pos;
        _size = (int)Math.Min(Capacity, (long)_size + written);
        return new SlotChanges(start, written, 0, 0);
    }

    private SlotChanges AddStepMemorySaving(in RowSource source)
    {
        int n = NumEnvs;
        if (!_pending)
        {
            AdvanceHead();
            WriteObservationRow(_head, source.Observations);
            _pending = true;
        }

        // Complete the pending row: its observations are already stored; add action, reward and flags.
        int h = _head;
        long first = (long)h * n;
        Span<float> table = _tableWriter.Begin(first, n);
        int os = ObservationSize;
        for (int e = 0; e < n; e++)
        {
            Span<float> row = table.Slice(e * _width, _width);
            if (_pendingObs is not null)
            {
                _pendingObs.AsSpan(e * os, os).CopyTo(row);
            }

            if (_previousEnded[e])
            {
                row[_actCol..].Clear();
            }
            else
            {
                WriteScalars(row, source, e);
            }
        }

        _tableWriter.Commit(first, n);
        Span<bool> valid = _validWriter!.Begin(first, n);
        int validInRow = 0;
        for (int e = 0; e < n; e++)
        {
            bool ok = !_previousEnded[e];
            valid[e] = ok;
            _validHost![first + e] = ok;
            validInRow += ok ? 1 : 0;
        }

        _validWriter.Commit(first, n);
        _rowValid![h] = validInRow;
        _validCount += validInRow;

        // The next observations start the following row, which becomes the pending one.
        AdvanceHead();
        WriteObservationRow(_head, source.NextObservations);
        UpdatePreviousEnded(source);
        return new SlotChanges(first, n, (long)_head * n, n);
    }

    /// <summary>Moves the head to the next row; the old head becomes a complete row; a full ring drops its oldest row.</summary>
    private void AdvanceHead()
    {
        if (_head < 0)
        {
            _head = 0;
            return;
        }

        int next = (_head + 1) % _rowsInRing;
        if (_completeRows == _rowsInRing - 1)
        {
            // The ring is full: the next row is the oldest complete row, overwritten now.
            _validCount -= _rowValid![next];
            _rowValid[next] = 0;
        }
        else
        {
            _completeRows++;
        }

        if (next == 0)
        {
            _wrapped = true;
        }

        _head = next;
    }

    /// <summary>Writes N observations into row <paramref name="row"/> (other columns zero) and marks it not sampleable.</summary>
    private void WriteObservationRow(int row, ReadOnlySpan<float> observations)
    {
        int n = NumEnvs;
        int os = ObservationSize;
        long first = (long)row * n;
        Span<float> table = _tableWriter.Begin(first, n);
        table.Clear();
        if (ObservationsInTable)
        {
            for (int e = 0; e < n; e++)
            {
                observations.Slice(e * os, os).CopyTo(table.Slice(e * _width, os));
            }

            observations.CopyTo(_pendingObs);
        }

        _tableWriter.Commit(first, n);
        if (_obsWriter is not null)
        {
            SpanMath.RoundToBytes(observations, _obsWriter.Begin(first, n));
            _obsWriter.Commit(first, n);
        }

        _validWriter!.Begin(first, n).Clear();
        _validWriter.Commit(first, n);
        _validHost.AsSpan((int)first, n).Clear();
    }

    /// <summary>Writes the action, reward and flags of source entry <paramref name="i"/> into a table row.</summary>
    private void WriteScalars(Span<float> row, in RowSource source, int i)
    {
        if (Discrete)
        {
            row[_actCol] = source.DiscreteActions[i];
        }
        else
        {
            source.ContinuousActions.Slice(i * ActionDimension, ActionDimension).CopyTo(row.Slice(_actCol, ActionDimension));
        }

        row[_rewCol] = (float)source.Rewards[i];
        row[_termCol] = source.Terminated[i] ? 1f : 0f;
        row[_truncCol] = source.Truncated[i] ? 1f : 0f;
    }

    /// <summary>An environment's next entry is a pseudo-step iff this one was real and ended.</summary>
    private void UpdatePreviousEnded(in RowSource source)
    {
        for (int e = 0; e < NumEnvs; e++)
        {
            _previousEnded[e] = !_previousEnded[e] && (source.Terminated[e] || source.Truncated[e]);
        }
    }

    private void RequireActionKind(bool discrete, string call)
    {
        if (discrete != Discrete)
        {
            throw new ArgumentException(discrete
                ? $"{Name}: {call} got integer actions, but the buffer stores continuous actions of dimension {ActionDimension}; pass them as ReadOnlySpan<float> (N × {ActionDimension})."
                : $"{Name}: {call} got float actions, but the buffer stores discrete actions; pass them as ReadOnlySpan<int>.", "actions");
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            // ThrowIf(bool, object) would name the string's type, not the buffer.
            throw new ObjectDisposedException(Name, $"{Name} was disposed; create or load a new buffer.");
        }
    }

    // ---------------------------------------------------------------- gather helpers

    private Tensor ObservationColumns(Tensor rows, int column, long b)
    {
        Tensor columns = rows.narrow(1, column, ObservationSize);
        if (_observationBatchShape.Length == 2)
        {
            return columns;
        }

        using (columns)
        {
            _observationBatchShape[0] = b;
            return columns.view(_observationBatchShape);
        }
    }

    private Tensor NextObservationColumns(Tensor nextIndices, long b)
    {
        using Tensor nextRows = _table.index_select(0, nextIndices);
        return ObservationColumns(nextRows, 0, b);
    }

    private Tensor BytesToObservations(Tensor bytes, Tensor indices, long b)
    {
        using Tensor gathered = bytes.index_select(0, indices);
        using Tensor floats = gathered.to(ScalarType.Float32);
        _observationBatchShape[0] = b;
        return floats.view(_observationBatchShape);
    }

    private static T Track<T>(List<IDisposable> list, T item)
        where T : IDisposable
    {
        list.Add(item);
        return item;
    }

    private static Tensor Track(List<Tensor> list, Tensor t)
    {
        list.Add(t);
        return t;
    }

    private static T[] ToHost<T>(Tensor t)
        where T : unmanaged
    {
        using Tensor host = t.to(torch.CPU);
        using Tensor contiguous = host.contiguous();
        return contiguous.data<T>().ToArray();
    }

    private static float[] Floats(ReadOnlySpan<byte> bytes)
    {
        var f = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            f[i] = bytes[i];
        }

        return f;
    }

    /// <summary>The spans of one write, with either discrete or continuous actions.</summary>
    private readonly ref struct RowSource(
        ReadOnlySpan<float> observations,
        ReadOnlySpan<int> discreteActions,
        ReadOnlySpan<float> continuousActions,
        ReadOnlySpan<double> rewards,
        ReadOnlySpan<bool> terminated,
        ReadOnlySpan<bool> truncated,
        ReadOnlySpan<float> nextObservations,
        ReadOnlySpan<double> discounts)
    {
        public ReadOnlySpan<float> Observations { get; } = observations;

        public ReadOnlySpan<int> DiscreteActions { get; } = discreteActions;

        public ReadOnlySpan<float> ContinuousActions { get; } = continuousActions;

        public ReadOnlySpan<double> Rewards { get; } = rewards;

        public ReadOnlySpan<bool> Terminated { get; } = terminated;

        public ReadOnlySpan<bool> Truncated { get; } = truncated;

        public ReadOnlySpan<float> NextObservations { get; } = nextObservations;

        public ReadOnlySpan<double> Discounts { get; } = discounts;
    }
}

/// <summary>
/// What a write changed, for a sampler that keeps per-slot state (priorities): slots
/// [<paramref name="CompletedStart"/>, +<paramref name="CompletedCount"/>) (mod capacity) now hold new transitions
/// (in memory-saving mode some may be unsampleable: ask <see cref="TransitionStorage.IsSampleable"/>), and slots
/// [<paramref name="ClearedStart"/>, +<paramref name="ClearedCount"/>) are no longer sampleable.
/// </summary>
internal readonly record struct SlotChanges(long CompletedStart, int CompletedCount, long ClearedStart, int ClearedCount);

/// <summary>One stored transition read back from a storage (tests and tools).</summary>
internal sealed record StoredTransition(long Slot, float[] Observation, float[] Action, float Reward, bool Terminated, bool Truncated, float[] NextObservation, float Discount)
{
    /// <summary>A text key of the contents (not the slot), for comparing sets of transitions.</summary>
    public string Key =>
        string.Join(",", Observation.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "|"
        + string.Join(",", Action.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "|"
        + Reward.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "|" + Terminated + "|" + Truncated + "|"
        + string.Join(",", NextObservation.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "|"
        + Discount.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The cursors of a <see cref="TransitionStorage"/>, saved as JSON metadata.</summary>
internal sealed record StorageState
{
    public int Capacity { get; init; }

    public int Width { get; init; }

    public int NextSlot { get; init; }

    public int Size { get; init; }

    public int Head { get; init; }

    public bool Pending { get; init; }

    public int CompleteRows { get; init; }

    public bool Wrapped { get; init; }

    public bool[] PreviousEnded { get; init; } = [];
}
