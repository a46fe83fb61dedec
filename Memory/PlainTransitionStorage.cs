using RlMemory.Memory.Persistence;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The plain layout: a ring of C complete transitions, each slot with its own next observation and discount.
/// A vector step skips each environment's autoreset pseudo-step and writes the other transitions to consecutive slots;
/// <see cref="TransitionStorage.AddTransitions"/> writes what an n-step assembler emits.
/// </summary>
internal sealed class PlainTransitionStorage : TransitionStorage
{
    private readonly Tensor? _nextBytes;
    private readonly TensorRowWriter<byte>? _nextWriter;
    private readonly int[] _envScratch;

    // The next slot to write and how many slots hold transitions.
    private int _nextSlot;
    private int _size;

    public PlainTransitionStorage(ReplayBufferOptions options, string kind, bool forceStaging = false)
        : base(options, kind, options.Capacity, storesNext: true, forceStaging)
    {
        _envScratch = new int[NumEnvs];
        if (ObservationsInTable)
        {
            return;
        }

        try
        {
            _nextBytes = TensorMemory.Persistent([Capacity, ObservationSize], ScalarType.Byte, Device, zero: false);
            _nextWriter = new TensorRowWriter<byte>(_nextBytes, ObservationSize, NumEnvs, forceStaging);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override long Count => _size;

    /// <summary>Every slot in [0, size) holds a sampleable transition.</summary>
    public override long SampleRange => _size;

    /// <inheritdoc />
    public override long TensorBytes => base.TensorBytes + (_nextBytes is null ? 0 : TensorMemory.ByteLength(_nextBytes));

    /// <inheritdoc />
    public override bool IsSampleable(long slot) => slot >= 0 && slot < _size;

    /// <inheritdoc />
    public override StorageState CaptureState() => new()
    {
        Capacity = Capacity,
        Width = Width,
        NextSlot = _nextSlot,
        Size = _size,
        Head = -1,
        PreviousEnded = [.. PreviousEnded],
    };

    /// <inheritdoc />
    public override void WriteSections(BufferFileWriter writer)
    {
        base.WriteSections(writer);
        if (_nextBytes is not null)
        {
            writer.WriteSection("next_observations_u8", _nextBytes, SampleRange);
        }
    }

    /// <inheritdoc />
    public override void ReadSections(BufferFileReader reader, StorageState state)
    {
        base.ReadSections(reader, state);
        if (_nextBytes is not null)
        {
            reader.ReadInto("next_observations_u8", _nextBytes);
        }

        _nextSlot = state.NextSlot;
        _size = state.Size;
    }

    private protected override SlotChanges AddStep(in StepSpans source)
    {
        const string call = "Add";
        ReadOnlySpan<bool> skip = PreviousEnded;
        TransitionChecks.Observations(Name, call, "observations", source.Observations, ObservationSize, Options.ObservationStorage, skip, "env");
        TransitionChecks.Observations(Name, call, "nextObservations", source.NextObservations, ObservationSize, Options.ObservationStorage, skip, "env");
        int m = 0;
        for (int e = 0; e < NumEnvs; e++)
        {
            if (!skip[e])
            {
                _envScratch[m++] = e;
            }
        }

        return WriteRows(source, _envScratch.AsSpan(0, m), m);
    }

    private protected override SlotChanges WriteTransitions(in StepSpans source) => WriteRows(source, default, source.Rewards.Length);

    private protected override Tensor GatherNextObservations(Tensor rows, Tensor indices, long b) =>
        ObservationsInTable ? ObservationColumns(rows, NextColumn, b) : BytesToObservations(_nextBytes!, indices, b);

    private protected override Tensor GatherDiscounts(Tensor rows, long b) => rows.select(1, DiscountColumn);

    private protected override float[] NextObservation(HostCopy host, long slot) => ObservationsInTable
        ? host.Row(slot).Slice(NextColumn, ObservationSize).ToArray()
        : host.NextBytes(slot);

    private protected override HostCopy CopyToHost() => base.CopyToHost() with { NextObservationBytes = _nextBytes is null ? null : ToHost<byte>(_nextBytes) };

    private protected override void DisposeTensors()
    {
        base.DisposeTensors();
        _nextWriter?.Dispose();
        _nextBytes?.Dispose();
    }

    /// <summary>
    /// Writes <paramref name="count"/> transitions to consecutive ring slots. Row j comes from source index
    /// <c>map[j]</c> (or j when <paramref name="map"/> is empty). When more than the capacity arrive at once, only the
    /// last <see cref="TransitionStorage.Capacity"/> are written (the others would be overwritten in the same call).
    /// </summary>
    private SlotChanges WriteRows(in StepSpans source, ReadOnlySpan<int> map, int count)
    {
        int first = Math.Max(0, count - Capacity);
        int start = _nextSlot;
        int pos = _nextSlot;
        int os = ObservationSize;
        int width = Width;
        int maxRows = Math.Min(TableWriter.MaxRowsPerWrite, ObservationWriter?.MaxRowsPerWrite ?? int.MaxValue);
        for (int j = first; j < count;)
        {
            int segment = Math.Min(Math.Min(count - j, Capacity - pos), maxRows);
            Span<float> table = TableWriter.Begin(pos, segment);
            Span<byte> obs = ObservationWriter is null ? default : ObservationWriter.Begin(pos, segment);
            Span<byte> next = _nextWriter is null ? default : _nextWriter.Begin(pos, segment);
            for (int k = 0; k < segment; k++)
            {
                int i = map.IsEmpty ? j + k : map[j + k];
                Span<float> row = table.Slice(k * width, width);
                if (ObservationsInTable)
                {
                    source.Observations.Slice(i * os, os).CopyTo(row);
                    source.NextObservations.Slice(i * os, os).CopyTo(row.Slice(NextColumn, os));
                }
                else
                {
                    SpanMath.RoundToBytes(source.Observations.Slice(i * os, os), obs.Slice(k * os, os));
                    SpanMath.RoundToBytes(source.NextObservations.Slice(i * os, os), next.Slice(k * os, os));
                }

                WriteScalars(row, source, i);
                row[DiscountColumn] = source.Discounts.IsEmpty ? Gamma : (float)source.Discounts[i];
            }

            TableWriter.Commit(pos, segment);
            ObservationWriter?.Commit(pos, segment);
            _nextWriter?.Commit(pos, segment);
            pos = (pos + segment) % Capacity;
            j += segment;
        }

        int written = count - first;
        _nextSlot = pos;
        _size = (int)Math.Min(Capacity, (long)_size + written);
        return new SlotChanges(start, written, 0, 0);
    }
}
