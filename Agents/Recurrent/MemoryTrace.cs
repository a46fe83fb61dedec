using System.Runtime.InteropServices;
using RlMemory.Memory.External;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// A record of how a <see cref="MemoryCore"/> used its memory, step by step, for one batch row: the write weighting,
/// each read head's weighting and the usage after every step (plain float arrays on the host). Turn it on with
/// <see cref="MemoryCore.Trace"/>; off (null, the default) it costs nothing. Draw it with
/// <c>RlMemory.App.Plots.MemoryHeatmap</c> (in the rlmemory app).
/// </summary>
/// <example>
/// <code>
/// core.Trace = new MemoryTrace(core.Config.Memory, row: 0);
/// // … act for an episode with core.Step …
/// MemoryHeatmap.SavePng(core.Trace, "runs/memory.png");
/// core.Trace = null;
/// </code>
/// </example>
public sealed class MemoryTrace
{
    private readonly List<float[]> _steps = [];

    /// <summary>Creates an empty trace of batch row <paramref name="row"/> for a memory of <paramref name="slots"/> slots and <paramref name="readHeads"/> read heads.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the row is negative.</exception>
    public MemoryTrace(int slots, int readHeads, int row = 0)
    {
        if (slots < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(slots), slots, $"MemoryTrace: slots must be at least 1, got {slots}.");
        }

        if (readHeads < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(readHeads), readHeads, $"MemoryTrace: readHeads must be at least 1, got {readHeads}.");
        }

        if (row < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"MemoryTrace: row must be at least 0, got {row}.");
        }

        Slots = slots;
        ReadHeads = readHeads;
        Row = row;
    }

    /// <summary>Creates an empty trace of batch row <paramref name="row"/> for a memory configured by <paramref name="config"/>.</summary>
    public MemoryTrace(ExternalMemoryConfig config, int row = 0)
        : this((config ?? throw new ArgumentNullException(nameof(config))).Slots, config.ReadHeads, row)
    {
    }

    /// <summary>The batch row recorded.</summary>
    public int Row { get; }

    /// <summary>N, the memory's slots.</summary>
    public int Slots { get; }

    /// <summary>R, the memory's read heads.</summary>
    public int ReadHeads { get; }

    /// <summary>The number of steps recorded.</summary>
    public int Count => _steps.Count;

    /// <summary>Floats stored per step: N (write) + R·N (reads) + N (usage).</summary>
    private int StepSize => Slots * (ReadHeads + 2);

    /// <summary>The write weighting w^w after step <paramref name="step"/> (N floats).</summary>
    public ReadOnlySpan<float> WriteWeights(int step) => StepData(step).AsSpan(0, Slots);

    /// <summary>Read head <paramref name="head"/>'s weighting w^r after step <paramref name="step"/> (N floats).</summary>
    public ReadOnlySpan<float> ReadWeights(int step, int head)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(head);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(head, ReadHeads);
        return StepData(step).AsSpan(Slots * (1 + head), Slots);
    }

    /// <summary>The usage u after step <paramref name="step"/> (N floats).</summary>
    public ReadOnlySpan<float> Usage(int step) => StepData(step).AsSpan(Slots * (1 + ReadHeads), Slots);

    /// <summary>Appends one step (N write weights, R·N read weights head after head, N usages).</summary>
    /// <exception cref="ArgumentException">A span does not have the trace's size.</exception>
    public void Add(ReadOnlySpan<float> writeWeights, ReadOnlySpan<float> readWeights, ReadOnlySpan<float> usage)
    {
        if (writeWeights.Length != Slots || readWeights.Length != Slots * ReadHeads || usage.Length != Slots)
        {
            throw new ArgumentException(
                $"MemoryTrace: a step has {Slots} write weights, {Slots * ReadHeads} read weights and {Slots} usages; got {writeWeights.Length}, {readWeights.Length} and {usage.Length}.");
        }

        var data = new float[StepSize];
        writeWeights.CopyTo(data);
        readWeights.CopyTo(data.AsSpan(Slots));
        usage.CopyTo(data.AsSpan(Slots * (1 + ReadHeads)));
        _steps.Add(data);
    }

    /// <summary>Forgets every step (e.g. at the start of an episode).</summary>
    public void Clear() => _steps.Clear();

    /// <summary>Appends the traced row of a memory step: write weights [B, N], read weights [B, R, N], usage [B, N] (one host copy).</summary>
    internal void Record(Tensor writeWeights, Tensor readWeights, Tensor usage)
    {
        long batch = writeWeights.shape[0];
        if (Row >= batch)
        {
            throw new ArgumentException($"MemoryTrace: it records batch row {Row}, but the batch has {batch} rows.");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor row = cat([writeWeights[Row], readWeights[Row].flatten(), usage[Row]]).to(ScalarType.Float32).cpu().contiguous();
        var data = new float[StepSize];
        MemoryMarshal.Cast<byte, float>(row.bytes).CopyTo(data);
        _steps.Add(data);
    }

    private float[] StepData(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, Count);
        return _steps[step];
    }
}
