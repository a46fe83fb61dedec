using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The preallocated storage of a sequence buffer: a ring of C sequences on the device. One float32 table
/// <c>[C, W]</c> holds each sequence's observations (when float32), actions, rewards, flags and mask (columns:
/// <see cref="SequenceLayout"/>); byte observations live in a uint8 tensor <c>[C, (T + 1) · obs]</c>; the initial
/// recurrent states in <see cref="SequenceStateStorage"/>. The valid length of each slot is mirrored on the host.
/// </summary>
internal sealed class SequenceStorage : IDisposable
{
    private readonly SequenceLayout _layout;
    private readonly Tensor _table;
    private readonly Tensor? _observationBytes;
    private readonly TensorRowWriter<float> _tableWriter;
    private readonly TensorRowWriter<byte>? _bytesWriter;
    private readonly SequenceStateStorage _states;
    private readonly int[] _lengths;
    private readonly long[] _observationBatchShape;
    private readonly long[] _actionBatchShape;
    private int[] _slotScratch;
    private int[] _rowScratch;
    private int _nextSlot;
    private int _size;
    private bool _disposed;

    public SequenceStorage(SequenceReplayOptions options, SequenceLayout layout, string name, bool forceDevicePath)
    {
        _layout = layout;
        Name = name;
        Capacity = options.Capacity;
        Device = options.Device ?? torch.CPU;
        _lengths = new int[Capacity];
        _observationBatchShape = [0, layout.Length + 1, .. options.ObservationShape.Select(d => (long)d)];
        _actionBatchShape = [0, layout.Length, layout.ActionDimension];
        _slotScratch = new int[layout.NumEnvs * layout.SnapshotsPerEnv];
        _rowScratch = new int[_slotScratch.Length];
        var created = new List<IDisposable>();
        try
        {
            // Nothing is read before it is written, so the big tensors stay uninitialized (their pages untouched).
            _table = Track(created, TensorMemory.Persistent([Capacity, layout.Width], ScalarType.Float32, Device, zero: false));
            _tableWriter = Track(created, new TensorRowWriter<float>(_table, layout.Width, layout.NumEnvs, forceDevicePath));
            if (!layout.ObservationsInTable)
            {
                _observationBytes = Track(created, TensorMemory.Persistent([Capacity, layout.ObservationValues], ScalarType.Byte, Device, zero: false));
                _bytesWriter = Track(created, new TensorRowWriter<byte>(_observationBytes, layout.ObservationValues, layout.NumEnvs, forceDevicePath));
            }

            _states = Track(created, new SequenceStateStorage(name, options.StateSpec, layout.NumEnvs * layout.SnapshotsPerEnv, Capacity, Device, forceDevicePath));
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

    /// <summary>The owning buffer's name, for messages.</summary>
    public string Name { get; }

    /// <summary>The number of sequence slots.</summary>
    public int Capacity { get; }

    /// <summary>The device of the tensors.</summary>
    public Device Device { get; }

    /// <summary>The number of stored sequences (slots [0, Count) hold one).</summary>
    public int Count => _size;

    /// <summary>The next slot to write.</summary>
    public int NextSlot => _nextSlot;

    /// <summary>The snapshots and stored initial states.</summary>
    public SequenceStateStorage States => _states;

    /// <summary>Bytes of tensor storage (table, byte observations, states, snapshots).</summary>
    public long TensorBytes => TensorMemory.ByteLength(_table) + (_observationBytes is null ? 0 : TensorMemory.ByteLength(_observationBytes)) + _states.TensorBytes;

    /// <summary>The valid length of the sequence in <paramref name="slot"/>.</summary>
    public int LengthOf(int slot) => _lengths[slot];

    /// <summary>
    /// Writes the emitted sequences to consecutive ring slots (only the last <see cref="Capacity"/> when more arrive at
    /// once, each in the slot it would have taken had they come one by one) and returns the slots written (a scratch
    /// span, valid until the next call).
    /// </summary>
    public ReadOnlySpan<int> Write(ReadOnlySpan<SequenceEmission> emissions, SequenceCutter cutter)
    {
        ThrowIfDisposed();
        var composer = new EmissionComposer(emissions, cutter);
        int written = WriteTable(ref composer, emissions.Length, out int first);
        if (written == 0)
        {
            return default;
        }

        for (int k = 0; k < written; k++)
        {
            _rowScratch[k] = emissions[first + k].SnapshotRow;
        }

        _states.Store(_rowScratch.AsSpan(0, written), _slotScratch.AsSpan(0, written));
        return MoveCursors(emissions.Length, written);
    }

    /// <summary>
    /// Writes complete sequences given as host rows (already checked: float32 observations in the table, float32 state
    /// parts) to consecutive ring slots, like <see cref="Write"/>, and returns the slots written (a scratch span, valid
    /// until the next call).
    /// </summary>
    public ReadOnlySpan<int> WriteRows(SequenceRows rows)
    {
        ThrowIfDisposed();
        var composer = new RowsComposer(rows);
        int written = WriteTable(ref composer, rows.Count, out int first);
        if (written == 0)
        {
            return default;
        }

        _states.StoreRows(rows.States, first, _slotScratch.AsSpan(0, written));
        return MoveCursors(rows.Count, written);
    }

    /// <summary>
    /// Gathers the sequences at <paramref name="indices"/> (int64 <c>[B]</c> on the device, each a stored slot). The
    /// batch takes ownership of <paramref name="indices"/> and <paramref name="weights"/>; if this throws, they remain
    /// the caller's.
    /// </summary>
    public SequenceBatch Gather(Tensor indices, Tensor? weights)
    {
        ThrowIfDisposed();
        Tensor? rows = null;
        Tensor? bytes = null;
        RecurrentState? state = null;
        try
        {
            rows = _table.index_select(0, indices);
            bytes = _observationBytes?.index_select(0, indices);
            state = _states.Gather(indices);
        }
        catch
        {
            rows?.Dispose();
            bytes?.Dispose();
            state?.Dispose();
            throw;
        }

        return Slice(_layout, rows, bytes, state, indices, weights, _observationBatchShape, _actionBatchShape);
    }

    /// <summary>
    /// The sequences at <paramref name="indices"/> (int64 <c>[B]</c> on the device, each a stored slot) as host rows
    /// with their initial states (float32 observations in the table and float32 state parts only).
    /// </summary>
    public SequenceRows GatherRows(Tensor indices)
    {
        ThrowIfDisposed();
        int b = (int)indices.shape[0];
        float[] table;
        using (Tensor rows = _table.index_select(0, indices))
        {
            table = ToHost<float>(rows, b);
        }

        long[] slots = ToHost<long>(indices, b);
        var lengths = new int[b];
        for (int i = 0; i < b; i++)
        {
            lengths[i] = _lengths[slots[i]];
        }

        return new SequenceRows(b, _layout.Width, table, lengths, _states.GatherRows(indices));
    }

    /// <summary>
    /// Cuts a batch out of gathered table rows: float32 <paramref name="rows"/> <c>[B, W]</c> in the table layout of
    /// <paramref name="layout"/>, and, when observations are stored as bytes, <paramref name="observationBytes"/> uint8
    /// <c>[B, (T + 1) · obs]</c>. The fields are views of <paramref name="rows"/> (observations and discrete actions
    /// converted). <paramref name="observationBatchShape"/> (<c>[·, T + 1, ..obs]</c>) and
    /// <paramref name="actionBatchShape"/> (<c>[·, T, d]</c>) are scratch arrays whose first element is set to B.
    /// The batch takes ownership of everything passed; if this throws, <paramref name="rows"/>,
    /// <paramref name="observationBytes"/> and <paramref name="state"/> are disposed, and <paramref name="indices"/> and
    /// <paramref name="weights"/> remain the caller's.
    /// </summary>
    internal static SequenceBatch Slice(SequenceLayout layout, Tensor rows, Tensor? observationBytes, RecurrentState state, Tensor indices, Tensor? weights, long[] observationBatchShape, long[] actionBatchShape)
    {
        long b = rows.shape[0];
        int t = layout.Length;
        var created = new List<Tensor>(8);
        try
        {
            observationBatchShape[0] = b;
            Tensor observations;
            if (layout.ObservationsInTable)
            {
                using Tensor columns = rows.narrow(1, 0, layout.ObservationValues);
                observations = Track(created, columns.view(observationBatchShape));
            }
            else
            {
                using Tensor floats = observationBytes!.to(ScalarType.Float32);
                observations = Track(created, floats.view(observationBatchShape));
            }

            Tensor actions;
            if (layout.Discrete)
            {
                using Tensor columns = rows.narrow(1, layout.ActionColumn, t);
                actions = Track(created, columns.to(ScalarType.Int64));
            }
            else
            {
                actionBatchShape[0] = b;
                using Tensor columns = rows.narrow(1, layout.ActionColumn, t * layout.ActionDimension);
                actions = Track(created, columns.view(actionBatchShape));
            }

            Tensor rewards = Track(created, rows.narrow(1, layout.RewardColumn, t));
            Tensor terminated = Track(created, rows.narrow(1, layout.TerminatedColumn, t));
            Tensor truncated = Track(created, rows.narrow(1, layout.TruncatedColumn, t));
            Tensor mask = Track(created, rows.narrow(1, layout.MaskColumn, t));
            var batch = new SequenceBatch(layout.BurnIn, layout.LearningLength, observations, actions, rewards, terminated, truncated, mask, state, indices, weights);
            rows.Dispose();   // the views keep the gathered memory alive
            observationBytes?.Dispose();
            return batch;
        }
        catch
        {
            foreach (Tensor tensor in created)
            {
                tensor.Dispose();
            }

            rows.Dispose();
            observationBytes?.Dispose();
            state.Dispose();
            throw;
        }
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
        _bytesWriter?.Dispose();
        _states.Dispose();
        _table.Dispose();
        _observationBytes?.Dispose();
    }

    // ---------------------------------------------------------------- persistence

    /// <summary>The ring cursors, for a buffer file's metadata.</summary>
    public SequenceStorageState CaptureState() => new() { Capacity = Capacity, Width = _layout.Width, NextSlot = _nextSlot, Size = _size };

    /// <summary>Writes the used rows of each tensor, the valid lengths and the snapshots as sections.</summary>
    public void WriteSections(BufferFileWriter writer)
    {
        ThrowIfDisposed();
        writer.WriteSection("table", _table, _size);
        if (_observationBytes is not null)
        {
            writer.WriteSection("observations_u8", _observationBytes, _size);
        }

        writer.WriteSection<int>("lengths", _lengths.AsSpan(0, _size), _size);
        _states.WriteSections(writer, _size);
    }

    /// <summary>
    /// Checks, before any storage is allocated, that the cursors and sections of <paramref name="reader"/> fit the
    /// options, and returns the saved valid lengths.
    /// </summary>
    public static int[] CheckSaved(BufferFileReader reader, SequenceReplayOptions options, SequenceLayout layout, SequenceStorageState? state)
    {
        string file = reader.Path;
        void Require(bool ok, string what)
        {
            if (!ok)
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: {what}.");
            }
        }

        Require(state is not null, "the metadata has no storage cursors");
        int capacity = options.Capacity;
        Require(state!.Capacity == capacity, $"capacity {state.Capacity}, options give {capacity}");
        Require(state.Width == layout.Width, $"table width {state.Width}, options give {layout.Width}");
        Require(state.Size >= 0 && state.Size <= capacity, $"size {state.Size} outside [0, {capacity}]");
        Require(state.NextSlot >= 0 && state.NextSlot < capacity, $"next slot {state.NextSlot} outside [0, {capacity})");
        Require(state.Size == capacity || state.NextSlot == state.Size, $"next slot {state.NextSlot} with size {state.Size} before the ring is full");

        long rows = state.Size;
        reader.Expect("table", ScalarType.Float32, rows, layout.Width);
        if (!layout.ObservationsInTable)
        {
            reader.Expect("observations_u8", ScalarType.Byte, rows, layout.ObservationValues);
        }

        reader.Expect("lengths", ScalarType.Int32, rows);
        SequenceStateStorage.CheckSaved(reader, options.StateSpec, rows, layout.NumEnvs * layout.SnapshotsPerEnv);
        int[] lengths = reader.ReadArray<int>("lengths");
        for (int i = 0; i < lengths.Length; i++)
        {
            Require(lengths[i] >= 1 && lengths[i] <= layout.Length, $"slot {i} has valid length {lengths[i]}, outside [1, {layout.Length}]");
        }

        return lengths;
    }

    /// <summary>Reads the sections checked by <see cref="CheckSaved"/> and restores the cursors.</summary>
    public void ReadSections(BufferFileReader reader, SequenceStorageState state, int[] lengths)
    {
        ThrowIfDisposed();
        reader.ReadInto("table", _table);
        if (_observationBytes is not null)
        {
            reader.ReadInto("observations_u8", _observationBytes);
        }

        _states.ReadSections(reader);
        lengths.CopyTo(_lengths, 0);
        _nextSlot = state.NextSlot;
        _size = state.Size;
    }

    // ---------------------------------------------------------------- inspection (tests, tools)

    /// <summary>Every stored sequence, read back from the device (slow: for tests and tools).</summary>
    public List<StoredSequence> Enumerate()
    {
        ThrowIfDisposed();
        var result = new List<StoredSequence>(_size);
        if (_size == 0)
        {
            return result;
        }

        float[] table = ToHost<float>(_table, _size);
        byte[]? bytes = _observationBytes is null ? null : ToHost<byte>(_observationBytes, _size);
        double[][] states = _states.ReadStored(_size);
        int w = _layout.Width;
        int t = _layout.Length;
        int ov = _layout.ObservationValues;
        int ad = t * _layout.ActionDimension;
        for (int s = 0; s < _size; s++)
        {
            ReadOnlySpan<float> row = table.AsSpan(s * w, w);
            float[] observations = _layout.ObservationsInTable
                ? row[..ov].ToArray()
                : [.. bytes!.AsSpan(s * ov, ov).ToArray().Select(x => (float)x)];
            double[][] state = new double[states.Length][];
            for (int p = 0; p < states.Length; p++)
            {
                int rowSize = states[p].Length / _size;
                state[p] = states[p].AsSpan(s * rowSize, rowSize).ToArray();
            }

            result.Add(new StoredSequence(
                s,
                _lengths[s],
                observations,
                row.Slice(_layout.ActionColumn, ad).ToArray(),
                row.Slice(_layout.RewardColumn, t).ToArray(),
                row.Slice(_layout.TerminatedColumn, t).ToArray(),
                row.Slice(_layout.TruncatedColumn, t).ToArray(),
                row.Slice(_layout.MaskColumn, t).ToArray(),
                state));
        }

        return result;
    }

    /// <summary>
    /// The segment loop shared by <see cref="Write"/> and <see cref="WriteRows"/>: composes the last (at most
    /// <see cref="Capacity"/>) of <paramref name="count"/> sequences into the table (and byte observations) from the
    /// slot after <see cref="NextSlot"/> that the first of them would take had they come one by one, records their
    /// valid lengths and their slots in the slot scratch, and returns how many were written; <paramref name="first"/>
    /// is the index of the first one written. The cursors are not moved (<see cref="MoveCursors"/>).
    /// </summary>
    private int WriteTable<TComposer>(ref TComposer composer, int count, out int first)
        where TComposer : IRowComposer, allows ref struct
    {
        first = Math.Max(0, count - Capacity);
        int written = count - first;
        if (written == 0)
        {
            return 0;
        }

        if (_slotScratch.Length < written)
        {
            _slotScratch = new int[written];
            _rowScratch = new int[written];
        }

        int maxRows = Math.Min(_tableWriter.MaxRowsPerWrite, _bytesWriter?.MaxRowsPerWrite ?? int.MaxValue);
        int width = _layout.Width;
        int byteWidth = _layout.ObservationValues;
        int pos = (int)((_nextSlot + (long)first) % Capacity);
        int k = 0;
        for (int j = first; j < count;)
        {
            int segment = Math.Min(Math.Min(count - j, Capacity - pos), maxRows);
            Span<float> rows = _tableWriter.Begin(pos, segment);
            Span<byte> bytes = _bytesWriter is null ? default : _bytesWriter.Begin(pos, segment);
            for (int r = 0; r < segment; r++)
            {
                _lengths[pos + r] = composer.Compose(j + r, rows.Slice(r * width, width), bytes.IsEmpty ? default : bytes.Slice(r * byteWidth, byteWidth));
                _slotScratch[k++] = pos + r;
            }

            _tableWriter.Commit(pos, segment);
            _bytesWriter?.Commit(pos, segment);
            pos = (pos + segment) % Capacity;
            j += segment;
        }

        return written;
    }

    /// <summary>Moves the ring cursors past <paramref name="count"/> sequences of which <paramref name="written"/> were stored; returns the slots written.</summary>
    private ReadOnlySpan<int> MoveCursors(int count, int written)
    {
        _nextSlot = (int)((_nextSlot + (long)count) % Capacity);
        _size = (int)Math.Min(Capacity, (long)_size + written);
        return _slotScratch.AsSpan(0, written);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(Name, $"{Name} was disposed.");
        }
    }

    private static T[] ToHost<T>(Tensor t, long rows)
        where T : unmanaged
    {
        using Tensor used = t.narrow(0, 0, rows);
        using Tensor host = used.cpu();
        using Tensor contiguous = host.contiguous();
        return contiguous.data<T>().ToArray();
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
}

/// <summary>The ring cursors of a <see cref="SequenceStorage"/>, saved as JSON metadata.</summary>
internal sealed record SequenceStorageState
{
    public int Capacity { get; init; }

    public int Width { get; init; }

    public int NextSlot { get; init; }

    public int Size { get; init; }
}

/// <summary>One stored sequence read back from a storage (tests and tools): flat arrays, the initial state per part as float64.</summary>
internal sealed record StoredSequence(int Slot, int Length, float[] Observations, float[] Actions, float[] Rewards, float[] Terminated, float[] Truncated, float[] Mask, double[][] InitialState);

/// <summary>Writes the sequences of one <see cref="SequenceStorage"/> write into table rows.</summary>
internal interface IRowComposer
{
    /// <summary>
    /// Writes sequence <paramref name="index"/> into <paramref name="row"/> (and its observations into
    /// <paramref name="observationBytes"/> when they are stored as bytes; empty otherwise) and returns its valid length.
    /// </summary>
    int Compose(int index, Span<float> row, Span<byte> observationBytes);
}

/// <summary>Composes a cutter's emissions (<see cref="SequenceCutter.Compose"/>).</summary>
internal readonly ref struct EmissionComposer : IRowComposer
{
    private readonly ReadOnlySpan<SequenceEmission> _emissions;
    private readonly SequenceCutter _cutter;

    public EmissionComposer(ReadOnlySpan<SequenceEmission> emissions, SequenceCutter cutter)
    {
        _emissions = emissions;
        _cutter = cutter;
    }

    /// <inheritdoc />
    public int Compose(int index, Span<float> row, Span<byte> observationBytes)
    {
        SequenceEmission emission = _emissions[index];
        _cutter.Compose(emission, row, observationBytes);
        return emission.Length;
    }
}

/// <summary>Copies pre-composed host rows (float32 observations in the table).</summary>
internal readonly struct RowsComposer : IRowComposer
{
    private readonly SequenceRows _rows;

    public RowsComposer(SequenceRows rows) => _rows = rows;

    /// <inheritdoc />
    public int Compose(int index, Span<float> row, Span<byte> observationBytes)
    {
        _rows.Table.AsSpan(index * row.Length, row.Length).CopyTo(row);
        return _rows.Lengths[index];
    }
}
