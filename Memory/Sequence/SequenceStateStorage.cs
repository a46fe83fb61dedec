using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The recurrent states of a sequence buffer, per part of the <see cref="RecurrentStateSpec"/>: the snapshots taken at
/// the starts of open sequences (<c>[N · K, ..shape]</c>, see <see cref="SequenceCutter"/>) and the initial state of
/// every stored sequence (<c>[C, ..shape]</c>), both on the storage device.
/// </summary>
/// <remarks>
/// On the CPU, rows are copied with <c>memcpy</c> between the tensors' memory (no tensor operation, no allocation) when
/// the actor's state is a contiguous CPU tensor. Otherwise (another device, or a strided state) the copies are
/// <c>index_select</c> / <c>index_copy_</c> under <c>no_grad</c>.
/// </remarks>
internal sealed unsafe class SequenceStateStorage : IDisposable
{
    private readonly string _owner;
    private readonly RecurrentStateSpec _spec;
    private readonly Device _device;
    private readonly bool _direct;
    private readonly Tensor[] _snapshots;
    private readonly Tensor[] _stored;
    private readonly byte*[] _snapshotAddresses;
    private readonly byte*[] _storedAddresses;
    private readonly long[] _rowBytes;
    private readonly int[] _rowSizes;
    private bool _disposed;

    public SequenceStateStorage(string owner, RecurrentStateSpec spec, int snapshotRows, int capacity, Device device, bool forceDevicePath)
    {
        _owner = owner;
        _spec = spec;
        _device = device;
        int parts = spec.Parts.Count;
        _snapshots = new Tensor[parts];
        _stored = new Tensor[parts];
        _snapshotAddresses = new byte*[parts];
        _storedAddresses = new byte*[parts];
        _rowBytes = new long[parts];
        _rowSizes = new int[parts];
        try
        {
            for (int i = 0; i < parts; i++)
            {
                RecurrentStatePart part = spec.Parts[i];
                // Snapshots start zeroed so that a saved file holds no uninitialized bytes.
                _snapshots[i] = TensorMemory.Persistent([snapshotRows, .. part.Shape], part.DType, device, zero: true);
                _stored[i] = TensorMemory.Persistent([capacity, .. part.Shape], part.DType, device, zero: false);
                // RecurrentStatePart.RowSize enumerates the shape (it allocates): computed once here.
                _rowSizes[i] = (int)part.RowSize;
                _rowBytes[i] = _rowSizes[i] * _snapshots[i].element_size();
            }

            _direct = !forceDevicePath && device.type == DeviceType.CPU;
            if (_direct)
            {
                for (int i = 0; i < parts; i++)
                {
                    _snapshotAddresses[i] = TensorMemory.Address(_snapshots[i]);
                    _storedAddresses[i] = TensorMemory.Address(_stored[i]);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Bytes of the stored initial states and the snapshots.</summary>
    public long TensorBytes => _stored.Concat(_snapshots).Sum(t => t is null ? 0 : TensorMemory.ByteLength(t));

    /// <summary>
    /// Refuses a state that does not fit the spec (parts, shapes, types) or has a number of rows other than
    /// <paramref name="rows"/>. Allocates nothing when it fits.
    /// </summary>
    public void CheckLayout(RecurrentState state, int rows, string call, string argument)
    {
        ArgumentNullException.ThrowIfNull(state, argument);
        RecurrentStateSpec given = state.Spec;
        bool same = given.Parts.Count == _spec.Parts.Count;
        for (int i = 0; same && i < _spec.Parts.Count; i++)
        {
            RecurrentStatePart a = given.Parts[i];
            RecurrentStatePart b = _spec.Parts[i];
            same = string.Equals(a.Name, b.Name, StringComparison.Ordinal) && a.DType == b.DType && a.Shape.Count == b.Shape.Count;
            for (int k = 0; same && k < a.Shape.Count; k++)
            {
                same = a.Shape[k] == b.Shape[k];
            }
        }

        if (!same)
        {
            throw new ArgumentException($"{_owner}: {call}: {argument} has layout {given}, but the buffer stores {_spec} (names, per-row shapes and types must match).", argument);
        }

        if (state.BatchSize != rows)
        {
            throw new ArgumentException($"{_owner}: {call}: {argument} has {state.BatchSize} rows; it needs one per environment ({rows}).", argument);
        }
    }

    /// <summary>Refuses NaN or infinite values in the floating-point parts of the rows <paramref name="envs"/> of <paramref name="state"/>.</summary>
    public void CheckFinite(RecurrentState state, ReadOnlySpan<int> envs, string call, string argument)
    {
        if (envs.IsEmpty)
        {
            return;
        }

        IReadOnlyList<Tensor> tensors = state.Tensors;
        for (int i = 0; i < tensors.Count; i++)
        {
            RecurrentStatePart part = _spec.Parts[i];
            if (part.DType is not (ScalarType.Float32 or ScalarType.Float64))
            {
                continue;
            }

            Tensor source = tensors[i];
            int rowSize = _rowSizes[i];
            if (TensorMemory.IsHostAccessible(source))
            {
                byte* address = TensorMemory.Address(source);
                foreach (int env in envs)
                {
                    int bad = part.DType == ScalarType.Float32
                        ? SpanMath.IndexOfNonFinite(new ReadOnlySpan<float>((float*)address + ((long)env * rowSize), rowSize))
                        : IndexOfNonFinite(new ReadOnlySpan<double>((double*)address + ((long)env * rowSize), rowSize));
                    if (bad >= 0)
                    {
                        double value = part.DType == ScalarType.Float32 ? ((float*)address)[((long)env * rowSize) + bad] : ((double*)address)[((long)env * rowSize) + bad];
                        throw NonFinite(call, argument, part, env, bad, value);
                    }
                }

                continue;
            }

            using DisposeScope scope = NewDisposeScope();
            using IDisposable noGrad = torch.no_grad();
            Tensor index = torch.tensor(ToLongs(envs), ScalarType.Int64, source.device);
            Tensor rows = source.index_select(0, index);
            if (rows.isfinite().all().item<bool>())
            {
                continue;
            }

            double[] host = rows.detach().to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
            int at = Array.FindIndex(host, v => !double.IsFinite(v));
            throw NonFinite(call, argument, part, envs[at / rowSize], at % rowSize, host[at]);
        }
    }

    /// <summary>Copies rows <paramref name="envs"/> of <paramref name="state"/> into snapshot rows <paramref name="rows"/>.</summary>
    public void Snapshot(RecurrentState state, ReadOnlySpan<int> envs, ReadOnlySpan<int> rows)
    {
        ThrowIfDisposed();
        if (envs.IsEmpty)
        {
            return;
        }

        IReadOnlyList<Tensor> tensors = state.Tensors;
        for (int i = 0; i < tensors.Count; i++)
        {
            Tensor source = tensors[i];
            if (_direct && TensorMemory.IsHostAccessible(source))
            {
                byte* from = TensorMemory.Address(source);
                long rowBytes = _rowBytes[i];
                for (int j = 0; j < envs.Length; j++)
                {
                    Buffer.MemoryCopy(from + (envs[j] * rowBytes), _snapshotAddresses[i] + (rows[j] * rowBytes), rowBytes, rowBytes);
                }

                continue;
            }

            using DisposeScope scope = NewDisposeScope();
            using IDisposable noGrad = torch.no_grad();
            Tensor pick = torch.tensor(ToLongs(envs), ScalarType.Int64, source.device);
            Tensor destination = torch.tensor(ToLongs(rows), ScalarType.Int64, _device);
            Tensor picked = source.index_select(0, pick).to(_device);
            _snapshots[i].index_copy_(0, destination, picked);
        }
    }

    /// <summary>Copies snapshot rows <paramref name="rows"/> into the stored initial states of <paramref name="slots"/>.</summary>
    public void Store(ReadOnlySpan<int> rows, ReadOnlySpan<int> slots)
    {
        ThrowIfDisposed();
        if (rows.IsEmpty)
        {
            return;
        }

        for (int i = 0; i < _stored.Length; i++)
        {
            if (_direct)
            {
                long rowBytes = _rowBytes[i];
                for (int j = 0; j < rows.Length; j++)
                {
                    Buffer.MemoryCopy(_snapshotAddresses[i] + (rows[j] * rowBytes), _storedAddresses[i] + (slots[j] * rowBytes), rowBytes, rowBytes);
                }

                continue;
            }

            using DisposeScope scope = NewDisposeScope();
            using IDisposable noGrad = torch.no_grad();
            Tensor from = torch.tensor(ToLongs(rows), ScalarType.Int64, _device);
            Tensor to = torch.tensor(ToLongs(slots), ScalarType.Int64, _device);
            _stored[i].index_copy_(0, to, _snapshots[i].index_select(0, from));
        }
    }

    /// <summary>The initial states of the sequences at <paramref name="indices"/> (int64 [B] on the device), as a new state in the current scope.</summary>
    public RecurrentState Gather(Tensor indices)
    {
        ThrowIfDisposed();
        var parts = new (string Name, Tensor Value)[_stored.Length];
        try
        {
            for (int i = 0; i < _stored.Length; i++)
            {
                parts[i] = (_spec.Parts[i].Name, _stored[i].index_select(0, indices));
            }

            return new RecurrentState(parts);
        }
        catch
        {
            foreach ((string _, Tensor value) in parts)
            {
                value?.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Copies host rows [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <c>slots.Length</c>) of each part
    /// of <paramref name="states"/> (float32 parts only; one array per part, <c>rows × part.RowSize</c> floats, already
    /// checked) into the stored initial states of <paramref name="slots"/>.
    /// </summary>
    public void StoreRows(float[][] states, int firstRow, ReadOnlySpan<int> slots)
    {
        ThrowIfDisposed();
        if (slots.IsEmpty)
        {
            return;
        }

        for (int i = 0; i < _stored.Length; i++)
        {
            RequireFloat32(i);
            int rowSize = _rowSizes[i];
            if (_direct)
            {
                long rowBytes = _rowBytes[i];
                fixed (float* from = states[i])
                {
                    for (int j = 0; j < slots.Length; j++)
                    {
                        Buffer.MemoryCopy(from + ((long)(firstRow + j) * rowSize), _storedAddresses[i] + (slots[j] * rowBytes), rowBytes, rowBytes);
                    }
                }

                continue;
            }

            using DisposeScope scope = NewDisposeScope();
            using IDisposable noGrad = torch.no_grad();
            float[] values = states[i].AsSpan(firstRow * rowSize, slots.Length * rowSize).ToArray();
            Tensor rows = torch.tensor(values, [slots.Length, .. _spec.Parts[i].Shape], device: _device);
            Tensor to = torch.tensor(ToLongs(slots), ScalarType.Int64, _device);
            _stored[i].index_copy_(0, to, rows);
        }
    }

    /// <summary>
    /// Copies snapshot rows <paramref name="rows"/> of each part (float32 parts only) into host arrays, one per part, at
    /// rows [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <c>rows.Length</c>) of <paramref name="destinations"/>.
    /// </summary>
    public void ReadSnapshots(ReadOnlySpan<int> rows, float[][] destinations, int firstRow)
    {
        ThrowIfDisposed();
        if (rows.IsEmpty)
        {
            return;
        }

        for (int i = 0; i < _snapshots.Length; i++)
        {
            RequireFloat32(i);
            int rowSize = _rowSizes[i];
            if (_direct)
            {
                long rowBytes = _rowBytes[i];
                fixed (float* to = destinations[i])
                {
                    for (int j = 0; j < rows.Length; j++)
                    {
                        Buffer.MemoryCopy(_snapshotAddresses[i] + (rows[j] * rowBytes), to + ((long)(firstRow + j) * rowSize), rowBytes, rowBytes);
                    }
                }

                continue;
            }

            using DisposeScope scope = NewDisposeScope();
            using IDisposable noGrad = torch.no_grad();
            Tensor index = torch.tensor(ToLongs(rows), ScalarType.Int64, _device);
            Tensor picked = _snapshots[i].index_select(0, index).cpu().contiguous();
            picked.data<float>().CopyTo(destinations[i].AsSpan(firstRow * rowSize, rows.Length * rowSize));
        }
    }

    /// <summary>
    /// The initial states of the sequences at <paramref name="indices"/> (int64 <c>[B]</c> on the device) as host
    /// arrays, one per part (float32 parts only), each <c>B × part.RowSize</c> floats.
    /// </summary>
    public float[][] GatherRows(Tensor indices)
    {
        ThrowIfDisposed();
        var result = new float[_stored.Length][];
        for (int i = 0; i < _stored.Length; i++)
        {
            RequireFloat32(i);
            using DisposeScope scope = NewDisposeScope();
            using IDisposable noGrad = torch.no_grad();
            Tensor picked = _stored[i].index_select(0, indices).cpu().contiguous();
            result[i] = picked.data<float>().ToArray();
        }

        return result;
    }

    /// <summary>Every stored initial state in [0, <paramref name="rows"/>) as float64 values, row-major (tests and tools).</summary>
    public double[][] ReadStored(long rows)
    {
        var result = new double[_stored.Length][];
        for (int i = 0; i < _stored.Length; i++)
        {
            if (rows == 0)
            {
                result[i] = [];
                continue;
            }

            using Tensor used = _stored[i].narrow(0, 0, rows);
            using Tensor asDouble = used.to(ScalarType.Float64);
            using Tensor host = asDouble.cpu();
            using Tensor contiguous = host.contiguous();
            result[i] = contiguous.data<double>().ToArray();
        }

        return result;
    }

    // ---------------------------------------------------------------- persistence

    /// <summary>Writes the stored states of [0, <paramref name="rows"/>) and every snapshot as sections.</summary>
    public void WriteSections(BufferFileWriter writer, long rows)
    {
        ThrowIfDisposed();
        for (int i = 0; i < _stored.Length; i++)
        {
            writer.WriteSection($"state_{i}", _stored[i], rows);
            writer.WriteSection($"snapshot_{i}", _snapshots[i]);
        }
    }

    /// <summary>Checks, before anything is allocated, that the file's state sections fit <paramref name="spec"/>.</summary>
    public static void CheckSaved(BufferFileReader reader, RecurrentStateSpec spec, long rows, int snapshotRows)
    {
        for (int i = 0; i < spec.Parts.Count; i++)
        {
            RecurrentStatePart part = spec.Parts[i];
            reader.Expect($"state_{i}", part.DType, [rows, .. part.Shape]);
            reader.Expect($"snapshot_{i}", part.DType, [snapshotRows, .. part.Shape]);
        }
    }

    /// <summary>Reads the sections checked by <see cref="CheckSaved"/>.</summary>
    public void ReadSections(BufferFileReader reader)
    {
        ThrowIfDisposed();
        for (int i = 0; i < _stored.Length; i++)
        {
            reader.ReadInto($"state_{i}", _stored[i]);
            reader.ReadInto($"snapshot_{i}", _snapshots[i]);
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
        foreach (Tensor t in _snapshots.Concat(_stored))
        {
            t?.Dispose();
        }
    }

    private void RequireFloat32(int part)
    {
        if (_spec.Parts[part].DType != ScalarType.Float32)
        {
            throw new InvalidOperationException($"{_owner}: recurrent state part {_spec.Parts[part]} is not float32; host state rows carry float32 parts only.");
        }
    }

    private static long[] ToLongs(ReadOnlySpan<int> values)
    {
        var result = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = values[i];
        }

        return result;
    }

    private static int IndexOfNonFinite(ReadOnlySpan<double> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private ArgumentException NonFinite(string call, string argument, RecurrentStatePart part, int env, int element, double value) =>
        new($"{_owner}: {call}: {argument} part '{part.Name}' of env {env} (element {element}) is {TransitionChecks.Text(value)}; recurrent states must be finite.", argument);

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(_owner, $"{_owner} was disposed.");
        }
    }
}
