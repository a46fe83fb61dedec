using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The device storage of a <see cref="RolloutBuffer"/>: one float32 table <c>[T · N + 1, W]</c>. Row <c>t · N + n</c>
/// holds environment n's entry of step t: the observation, the action (a discrete action as a float, exact up to
/// 2^24), V(s_t), log π(a_t | s_t), the advantage, the return, the mask (1 valid, 0 autoreset pseudo-step) and the
/// episode-start flag. The last row is all zeros: padded positions of sequence minibatches point at it. One
/// <c>index_select</c> gathers a minibatch; its fields are views of the gathered rows.
/// </summary>
internal sealed unsafe class RolloutTable : IDisposable
{
    /// <summary>Columns after the observation and the action: value, log-prob, advantage, return, mask, episode start.</summary>
    public const int ExtraColumns = 6;

    private readonly Tensor _table;
    private readonly TensorRowWriter<float> _writer;
    private readonly byte* _address;
    private bool _disposed;

    public RolloutTable(int numSteps, int numEnvs, int observationSize, int actionDimension, Device device, bool forceStaging)
    {
        NumSteps = numSteps;
        NumEnvs = numEnvs;
        ObservationSize = observationSize;
        ActionDimension = actionDimension;
        ActionColumn = observationSize;
        ValueColumn = ActionColumn + actionDimension;
        LogProbColumn = ValueColumn + 1;
        AdvantageColumn = ValueColumn + 2;
        ReturnColumn = ValueColumn + 3;
        MaskColumn = ValueColumn + 4;
        EpisodeStartColumn = ValueColumn + 5;
        Width = ValueColumn + ExtraColumns;
        Entries = (long)numSteps * numEnvs;
        PaddingRow = Entries;

        // Zeroed: the padding row must read as zeros, and advantages are never read before they are computed.
        _table = TensorMemory.Persistent([Entries + 1, Width], ScalarType.Float32, device, zero: true);
        try
        {
            _writer = new TensorRowWriter<float>(_table, Width, numEnvs, forceStaging);
            Direct = _writer.Direct;
            if (Direct)
            {
                _address = TensorMemory.Address(_table);
            }
        }
        catch
        {
            _table.Dispose();
            throw;
        }
    }

    public int NumSteps { get; }

    public int NumEnvs { get; }

    public int ObservationSize { get; }

    public int ActionDimension { get; }

    public int Width { get; }

    public int ActionColumn { get; }

    public int ValueColumn { get; }

    public int LogProbColumn { get; }

    public int AdvantageColumn { get; }

    public int ReturnColumn { get; }

    public int MaskColumn { get; }

    public int EpisodeStartColumn { get; }

    /// <summary>T · N, the entries of a full rollout.</summary>
    public long Entries { get; }

    /// <summary>The index of the all-zero row.</summary>
    public long PaddingRow { get; }

    /// <summary>Whether writes and reads go straight to the tensor's memory (a contiguous CPU table).</summary>
    public bool Direct { get; }

    /// <summary>The tensor (for persistence).</summary>
    public Tensor Tensor => _table;

    public long Bytes => TensorMemory.ByteLength(_table);

    /// <summary>A span over the N rows of step <paramref name="step"/> to fill; <see cref="CommitStep"/> makes them reach the device.</summary>
    public Span<float> BeginStep(int step) => _writer.Begin((long)step * NumEnvs, NumEnvs);

    public void CommitStep(int step) => _writer.Commit((long)step * NumEnvs, NumEnvs);

    /// <summary>Copies <paramref name="source"/> (N values, any device) into column <paramref name="column"/> of step <paramref name="step"/>.</summary>
    public void CopyColumn(int step, int column, Tensor source)
    {
        using var scope = torch.NewDisposeScope();
        Tensor destination = _table.narrow(0, (long)step * NumEnvs, NumEnvs).select(1, column);
        destination.copy_(source.reshape(NumEnvs));
    }

    /// <summary>Reads column <paramref name="column"/> of the first <paramref name="entries"/> rows.</summary>
    public void ReadColumn(int column, long entries, Span<float> destination)
    {
        if (entries == 0)
        {
            return;
        }

        if (Direct)
        {
            float* p = (float*)_address + column;
            for (long i = 0; i < entries; i++)
            {
                destination[(int)i] = p[i * Width];
            }

            return;
        }

        using var scope = torch.NewDisposeScope();
        Tensor host = _table.narrow(0, 0, entries).select(1, column).to(torch.CPU).contiguous();
        new ReadOnlySpan<float>((void*)TensorMemory.Address(host), (int)entries).CopyTo(destination);
    }

    /// <summary>Writes two adjacent columns (<paramref name="column"/> and the next) of the first rows.</summary>
    public void WriteColumnPair(int column, ReadOnlySpan<float> first, ReadOnlySpan<float> second)
    {
        int entries = first.Length;
        if (entries == 0)
        {
            return;
        }

        if (Direct)
        {
            float* p = (float*)_address + column;
            for (int i = 0; i < entries; i++)
            {
                p[(long)i * Width] = first[i];
                p[(long)i * Width + 1] = second[i];
            }

            return;
        }

        using var scope = torch.NewDisposeScope();
        Tensor staging = torch.empty([entries, 2], ScalarType.Float32, torch.CPU);
        var span = new Span<float>((void*)TensorMemory.Address(staging), entries * 2);
        for (int i = 0; i < entries; i++)
        {
            span[2 * i] = first[i];
            span[2 * i + 1] = second[i];
        }

        _table.narrow(0, 0, entries).narrow(1, column, 2).copy_(staging);
    }

    /// <summary>The rows at <paramref name="indices"/> (int64 on the table's device), as a new <c>[K, W]</c> tensor.</summary>
    public Tensor Gather(Tensor indices) => _table.index_select(0, indices);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writer.Dispose();
        _table.Dispose();
    }
}
