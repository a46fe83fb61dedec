using System.Diagnostics;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The memory-saving layout: rows of N slots (slot = row · N + env), C rounded down to a multiple of N, only
/// observations stored; the next observation of slot s is in slot s + N (mod C). A step completes the current row
/// (action, reward, flags) and writes its next observations into the following row, which becomes the pending row
/// (not sampleable) and overwrites the oldest. Pseudo-steps and orphaned rows (see <see cref="BeginNewEpisodes"/>)
/// are marked invalid in a bool mask on the device (mirrored on the host), and samplers redraw them
/// (<see cref="RedrawUnsampleable"/>).
/// </summary>
internal sealed class MemorySavingTransitionStorage : TransitionStorage
{
    private const int MaxRejectionRounds = 100_000;

    private readonly int _rowsInRing;
    private readonly Tensor _valid = null!;
    private readonly TensorRowWriter<bool> _validWriter = null!;
    private readonly bool[] _validHost;
    private readonly int[] _rowValid;
    private readonly float[]? _pendingObs;
    private int[] _positionScratch = new int[256];

    // The newest row (pending or orphaned), whether it awaits its step, the complete rows behind it, the sampleable
    // transitions, and whether the ring has wrapped.
    private int _head = -1;
    private bool _pending;
    private int _completeRows;
    private long _validCount;
    private bool _wrapped;

    public MemorySavingTransitionStorage(ReplayBufferOptions options, string kind, bool forceStaging = false)
        : base(options, kind, options.Capacity / options.NumEnvs * options.NumEnvs, storesNext: false, forceStaging)
    {
        _rowsInRing = Capacity / NumEnvs;
        _validHost = new bool[Capacity];
        _rowValid = new int[_rowsInRing];
        _pendingObs = ObservationsInTable ? new float[NumEnvs * ObservationSize] : null;
        try
        {
            _valid = TensorMemory.Persistent([Capacity], ScalarType.Bool, Device, zero: true);
            _validWriter = new TensorRowWriter<bool>(_valid, 1, NumEnvs, forceStaging);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override long Count => _validCount;

    /// <summary>The written rows, including the pending row and invalid slots.</summary>
    public override long SampleRange => _head < 0 ? 0 : _wrapped ? Capacity : (long)(_head + 1) * NumEnvs;

    /// <inheritdoc />
    public override long TensorBytes => base.TensorBytes + TensorMemory.ByteLength(_valid);

    /// <inheritdoc />
    public override bool IsSampleable(long slot) => slot >= 0 && slot < SampleRange && _validHost[slot];

    /// <summary>
    /// Forgets which environments ended and leaves the newest row as it is (it holds the next observations of the last
    /// step) but not sampleable, so the next step starts a fresh row.
    /// </summary>
    public override void BeginNewEpisodes()
    {
        base.BeginNewEpisodes();
        _pending = false;
    }

    /// <summary>
    /// Replaces every entry of <paramref name="indices"/> (drawn uniformly from [0, <paramref name="range"/>)) that is
    /// not a sampleable slot by a new uniform draw from the same range, until all are sampleable: an exact uniform draw
    /// over the sampleable slots. Redraws are taken in ascending position order, one <c>randint</c> per round, so the
    /// host path (CPU) and the tensor path give identical results.
    /// </summary>
    public override unsafe void RedrawUnsampleable(Tensor indices, long range, Generator generator)
    {
        if (Count == range)
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
                    if (!_validHost[p[i]])
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
                using Tensor ok = _valid.index_select(0, indices);
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

    /// <inheritdoc />
    public override StorageState CaptureState() => new()
    {
        Capacity = Capacity,
        Width = Width,
        Head = _head,
        Pending = _pending,
        CompleteRows = _completeRows,
        Wrapped = _wrapped,
        PreviousEnded = [.. PreviousEnded],
    };

    /// <inheritdoc />
    public override void WriteSections(BufferFileWriter writer)
    {
        base.WriteSections(writer);
        writer.WriteSection("valid", _valid, SampleRange);
    }

    /// <inheritdoc />
    public override void ReadSections(BufferFileReader reader, StorageState state)
    {
        base.ReadSections(reader, state);
        _head = state.Head;
        _pending = state.Pending;
        _completeRows = state.CompleteRows;
        _wrapped = state.Wrapped;
        reader.ReadInto("valid", _valid);
        long rows = SampleRange;
        if (rows > 0)
        {
            using Tensor used = _valid.narrow(0, 0, rows);
            using Tensor host = used.to(torch.CPU);
            host.data<bool>().ToArray().CopyTo(_validHost, 0);
        }

        // The pending row is never sampleable; a file that says otherwise is refused.
        if (_head >= 0 && Enumerable.Range(_head * NumEnvs, NumEnvs).Any(s => _validHost[s]))
        {
            throw new InvalidDataException($"{reader.Path}: inconsistent buffer state: the newest row {_head} is marked sampleable.");
        }

        _validCount = 0;
        for (int r = 0; r < _rowsInRing; r++)
        {
            int count = 0;
            for (int e = 0; e < NumEnvs; e++)
            {
                count += _validHost[r * NumEnvs + e] ? 1 : 0;
            }

            _rowValid[r] = count;
            _validCount += count;
        }

        if (_pendingObs is not null && _head >= 0)
        {
            using Tensor headRows = Table.narrow(0, (long)_head * NumEnvs, NumEnvs);
            using Tensor obs = headRows.narrow(1, 0, ObservationSize);
            using Tensor host = obs.to(torch.CPU);
            using Tensor contiguous = host.contiguous();
            contiguous.data<float>().CopyTo(_pendingObs, 0);
        }
    }

    private protected override void RequireTransitionsSupported() =>
        throw new InvalidOperationException($"{Name}: AddTransitions stores transitions with their own next observations, which memory-saving mode cannot hold (it reads a next observation from the following step). Use Add, or build the buffer with MemorySaving = false.");

    private protected override SlotChanges WriteTransitions(in StepSpans source) =>
        throw new UnreachableException("AddTransitions refuses the memory-saving layout before anything is written.");

    private protected override SlotChanges AddStep(in StepSpans source)
    {
        // Observations are read only when a fresh row starts; next observations are always stored (a pseudo-step's
        // next observation is the first of a new episode).
        const string call = "Add";
        if (!_pending)
        {
            TransitionChecks.Observations(Name, call, "observations", source.Observations, ObservationSize, Options.ObservationStorage, default, "env");
        }

        TransitionChecks.Observations(Name, call, "nextObservations", source.NextObservations, ObservationSize, Options.ObservationStorage, default, "env");
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
        Span<float> table = TableWriter.Begin(first, n);
        int os = ObservationSize;
        int width = Width;
        ReadOnlySpan<bool> ended = PreviousEnded;
        for (int e = 0; e < n; e++)
        {
            Span<float> row = table.Slice(e * width, width);
            if (_pendingObs is not null)
            {
                _pendingObs.AsSpan(e * os, os).CopyTo(row);
            }

            if (ended[e])
            {
                row[ActionColumn..].Clear();
            }
            else
            {
                WriteScalars(row, source, e);
            }
        }

        TableWriter.Commit(first, n);
        Span<bool> valid = _validWriter.Begin(first, n);
        int validInRow = 0;
        for (int e = 0; e < n; e++)
        {
            bool ok = !ended[e];
            valid[e] = ok;
            _validHost[first + e] = ok;
            validInRow += ok ? 1 : 0;
        }

        _validWriter.Commit(first, n);
        _rowValid[h] = validInRow;
        _validCount += validInRow;

        // The next observations start the following row, which becomes the pending one.
        AdvanceHead();
        WriteObservationRow(_head, source.NextObservations);
        return new SlotChanges(first, n, (long)_head * n, n);
    }

    private protected override Tensor GatherNextObservations(Tensor rows, Tensor indices, long b)
    {
        using Scalar envs = ((long)NumEnvs).ToScalar(), capacity = ((long)Capacity).ToScalar(); // held until the calls return (HeldScalars)
        Tensor nextIndices = indices.add(envs, HeldScalars.One);
        nextIndices.remainder_(capacity);
        return ObservationsInTable
            ? ObservationColumns(Table.index_select(0, nextIndices), 0, b)
            : BytesToObservations(ObservationBytes!, nextIndices, b);
    }

    private protected override Tensor GatherDiscounts(Tensor rows, long b)
    {
        using Scalar gamma = Gamma.ToScalar(); // held until the call returns (HeldScalars)
        return torch.full([b], gamma, ScalarType.Float32, Device);
    }

    private protected override float[] NextObservation(HostCopy host, long slot)
    {
        long next = (slot + NumEnvs) % Capacity;
        return ObservationsInTable ? host.Row(next)[..ObservationSize].ToArray() : host.Bytes(next);
    }

    private protected override void DisposeTensors()
    {
        base.DisposeTensors();
        _validWriter?.Dispose();
        _valid?.Dispose();
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
            _validCount -= _rowValid[next];
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
        Span<float> table = TableWriter.Begin(first, n);
        table.Clear();
        if (ObservationsInTable)
        {
            for (int e = 0; e < n; e++)
            {
                observations.Slice(e * os, os).CopyTo(table.Slice(e * Width, os));
            }

            observations.CopyTo(_pendingObs);
        }

        TableWriter.Commit(first, n);
        if (ObservationWriter is not null)
        {
            SpanMath.RoundToBytes(observations, ObservationWriter.Begin(first, n));
            ObservationWriter.Commit(first, n);
        }

        _validWriter.Begin(first, n).Clear();
        _validWriter.Commit(first, n);
        _validHost.AsSpan((int)first, n).Clear();
    }
}
