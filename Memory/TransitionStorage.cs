using RlMemory.Environments.Vector;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The preallocated storage of a <see cref="ReplayBuffer"/>: tensors on the device, ring cursors, per-environment
/// autoreset tracking, batched writes and <see cref="Gather"/>. A sampler (uniform, prioritized) draws slot indices
/// and gathers them; the storage itself never draws. Two layouts implement it: <see cref="PlainTransitionStorage"/>
/// and <see cref="MemorySavingTransitionStorage"/> (<see cref="Create"/> picks one from the options).
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> One float32 table <c>[C, W]</c> holds, per slot, the observation (and, in the plain layout, the
/// next observation) when they are float32, then the action (a discrete action as a float, exact up to 2^24), the
/// reward, terminated, truncated and (plain layout) the discount. One <c>index_select</c> of the table gathers a batch;
/// the batch's fields are views of it. Byte observations live in their own uint8 tensors <c>[C, obsSize]</c>.</para>
/// <para><b>Autoreset.</b> After environment e ended, its next entry is the NEXT_STEP reset pseudo-step and is not
/// stored as a transition.</para>
/// </remarks>
internal abstract class TransitionStorage : IDisposable
{
    private readonly long[] _observationBatchShape;
    private bool _disposed;

    /// <param name="options">What to store (validated).</param>
    /// <param name="kind">The owning buffer's kind, for messages (e.g. <c>ReplayBuffer</c>).</param>
    /// <param name="capacity">Slots of storage.</param>
    /// <param name="storesNext">Whether each slot holds its own next observation and discount (the plain layout).</param>
    /// <param name="forceStaging">Write through CPU staging tensors and copy_ even on the CPU, and check sample
    /// validity with tensor operations (the path taken on other devices); for tests.</param>
    private protected TransitionStorage(ReplayBufferOptions options, string kind, int capacity, bool storesNext, bool forceStaging)
    {
        Options = options;
        Device = options.Device ?? torch.CPU;
        ForceDevicePath = forceStaging;
        NumEnvs = options.NumEnvs;
        ObservationSize = options.ObservationSize;
        Action = options.Action;
        ActionDimension = options.Action.Dimension;
        Discrete = options.Action.IsDiscrete;
        ObservationsInTable = options.ObservationStorage == ObservationStorage.Float32;
        Gamma = (float)options.Gamma;
        Capacity = capacity;
        Name = $"{kind}(capacity {options.Capacity}, obs [{ReplayBufferOptions.ShapeText(options.ObservationShape)}]"
            + (ObservationsInTable ? "" : " uint8")
            + (Discrete ? "" : $", actions {options.Action}")
            + (options.NSteps > 1 ? $", {options.NSteps}-step" : "")
            + (options.MemorySaving ? ", memory-saving" : "") + ")";

        int column = ObservationsInTable ? ObservationSize : 0;
        NextColumn = storesNext && ObservationsInTable ? column : -1;
        column += NextColumn >= 0 ? ObservationSize : 0;
        ActionColumn = column;
        RewardColumn = ActionColumn + ActionDimension;
        TerminatedColumn = RewardColumn + 1;
        TruncatedColumn = RewardColumn + 2;
        DiscountColumn = storesNext ? RewardColumn + 3 : -1;
        Width = RewardColumn + (storesNext ? 4 : 3);
        _observationBatchShape = [0, .. options.ObservationShape.Select(d => (long)d)];
        PreviousEndedFlags = new bool[NumEnvs];

        try
        {
            // Only a validity mask must start zeroed: no other slot is read before it is written. Leaving the big
            // tensors uninitialized also keeps their pages untouched (not resident) until the ring reaches them.
            Table = TensorMemory.Persistent([Capacity, Width], ScalarType.Float32, Device, zero: false);
            TableWriter = new TensorRowWriter<float>(Table, Width, NumEnvs, forceStaging);
            if (!ObservationsInTable)
            {
                ObservationBytes = TensorMemory.Persistent([Capacity, ObservationSize], ScalarType.Byte, Device, zero: false);
                ObservationWriter = new TensorRowWriter<byte>(ObservationBytes, ObservationSize, NumEnvs, forceStaging);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The buffer's name for messages, e.g. <c>ReplayBuffer(capacity 1000000, obs [4])</c>.</summary>
    public string Name { get; }

    /// <summary>The options the storage was built from.</summary>
    public ReplayBufferOptions Options { get; }

    /// <summary>The device of the tensors.</summary>
    public Device Device { get; }

    /// <summary>The number of slots.</summary>
    public int Capacity { get; }

    /// <summary>N, environments per step.</summary>
    public int NumEnvs { get; }

    /// <summary>Values per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The kind of action stored.</summary>
    public ActionSpec Action { get; }

    /// <summary>Floats per action (1 for discrete).</summary>
    public int ActionDimension { get; }

    /// <summary>Whether actions are discrete.</summary>
    public bool Discrete { get; }

    /// <summary>Whether observations are float32 columns of the table (else uint8 tensors).</summary>
    public bool ObservationsInTable { get; }

    /// <summary>Whether writes stage through CPU tensors and validity is checked with tensor operations.</summary>
    public bool ForceDevicePath { get; }

    /// <summary>The number of transitions that can be sampled.</summary>
    public abstract long Count { get; }

    /// <summary>Every sampleable slot lies in [0, SampleRange); see <see cref="IsSampleable"/>.</summary>
    public abstract long SampleRange { get; }

    /// <summary>Which environments ended (terminated or truncated) at the last step, so their next entry is an autoreset pseudo-step.</summary>
    public ReadOnlySpan<bool> PreviousEnded => PreviousEndedFlags;

    /// <summary>Table columns per slot.</summary>
    public int Width { get; }

    /// <summary>Bytes of tensor storage (not the staging areas).</summary>
    public virtual long TensorBytes =>
        TensorMemory.ByteLength(Table) + (ObservationBytes is null ? 0 : TensorMemory.ByteLength(ObservationBytes));

    private protected float Gamma { get; }

    private protected int NextColumn { get; }

    private protected int ActionColumn { get; }

    private protected int RewardColumn { get; }

    private protected int TerminatedColumn { get; }

    private protected int TruncatedColumn { get; }

    private protected int DiscountColumn { get; }

    private protected Tensor Table { get; } = null!;

    private protected TensorRowWriter<float> TableWriter { get; } = null!;

    private protected Tensor? ObservationBytes { get; }

    private protected TensorRowWriter<byte>? ObservationWriter { get; }

    private protected bool[] PreviousEndedFlags { get; }

    /// <summary>The storage for <paramref name="options"/> (validated here): memory-saving or plain.</summary>
    public static TransitionStorage Create(ReplayBufferOptions options, string kind, bool forceStaging = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.MemorySaving
            ? new MemorySavingTransitionStorage(options, kind, forceStaging)
            : new PlainTransitionStorage(options, kind, forceStaging);
    }

    /// <summary>Whether slot <paramref name="slot"/> holds a transition that can be sampled.</summary>
    public abstract bool IsSampleable(long slot);

    /// <summary>
    /// Stores one vector step: checks every span (lengths, rewards, actions, observations; entries of pseudo-steps are
    /// ignored) and writes the real transitions. A refused step changes nothing.
    /// </summary>
    public SlotChanges Add<TAction>(in VectorStep<TAction> step)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        const string call = "Add";
        var source = StepSpans.Of(Name, call, Action, step);
        int n = NumEnvs;
        CheckLengths(call, source, n, "env");
        ReadOnlySpan<bool> skip = PreviousEndedFlags;
        TransitionChecks.Rewards(Name, call, "rewards", source.Rewards, skip, "env");
        CheckActions(call, source, skip, "env");
        SlotChanges changes = AddStep(source);
        for (int e = 0; e < n; e++)
        {
            // An environment's next entry is a pseudo-step iff this one was real and ended.
            PreviousEndedFlags[e] = !PreviousEndedFlags[e] && (source.Terminated[e] || source.Truncated[e]);
        }

        return changes;
    }

    /// <summary>
    /// Stores M complete transitions, each with its own next observation and discount (what an
    /// <see cref="NStepAssembler"/> emits); the plain layout only.
    /// </summary>
    public SlotChanges AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        const string call = "AddTransitions";
        var source = StepSpans.Of(Name, call, Action, transitions, discounts);
        RequireTransitionsSupported();
        int m = source.Rewards.Length;
        int os = ObservationSize;
        CheckLengths(call, source, m, "transition");
        TransitionChecks.Length(Name, call, "discounts", source.Discounts.Length, m, 1, "transition");
        TransitionChecks.Rewards(Name, call, "rewards", source.Rewards, default, "transition");
        TransitionChecks.Discounts(Name, call, "discounts", source.Discounts);
        CheckActions(call, source, default, "transition");
        TransitionChecks.Observations(Name, call, "observations", source.Observations, os, Options.ObservationStorage, default, "transition");
        TransitionChecks.Observations(Name, call, "nextObservations", source.NextObservations, os, Options.ObservationStorage, default, "transition");
        return WriteTransitions(source);
    }

    /// <summary>The vector environment was reset outside <c>Add</c>: forget which environments ended.</summary>
    public virtual void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        Array.Clear(PreviousEndedFlags);
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

        // The intermediates die with the scope; the batch's fields (views of the gathered rows) move out of it.
        using var scope = torch.NewDisposeScope();
        Tensor rows = Table.index_select(0, indices);
        Tensor observations = ObservationsInTable ? ObservationColumns(rows, 0, b) : BytesToObservations(ObservationBytes!, indices, b);
        Tensor nextObservations = GatherNextObservations(rows, indices, b);
        Tensor actions = Discrete ? rows.select(1, ActionColumn).to(ScalarType.Int64) : rows.narrow(1, ActionColumn, ActionDimension);
        Tensor rewards = rows.select(1, RewardColumn);
        Tensor terminated = rows.select(1, TerminatedColumn);
        Tensor truncated = rows.select(1, TruncatedColumn);
        Tensor discounts = GatherDiscounts(rows, b);
        return new TransitionBatch(
            observations.MoveToOuterDisposeScope(), actions.MoveToOuterDisposeScope(), rewards.MoveToOuterDisposeScope(),
            nextObservations.MoveToOuterDisposeScope(), terminated.MoveToOuterDisposeScope(), truncated.MoveToOuterDisposeScope(),
            discounts.MoveToOuterDisposeScope(), indices, weights);
    }

    /// <summary>
    /// Replaces every entry of <paramref name="indices"/> (drawn uniformly from [0, <paramref name="range"/>)) that is
    /// not a sampleable slot by a new draw; nothing to do where every slot of the range is sampleable.
    /// </summary>
    public virtual void RedrawUnsampleable(Tensor indices, long range, Generator generator)
    {
    }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        DisposeTensors();
    }

    // ---------------------------------------------------------------- persistence (see ReplayBufferFile)

    /// <summary>The cursors and flags, for a buffer file's metadata.</summary>
    public abstract StorageState CaptureState();

    /// <summary>Writes the used rows of each tensor as sections.</summary>
    public virtual void WriteSections(BufferFileWriter writer)
    {
        ThrowIfDisposed();
        writer.WriteSection("table", Table, SampleRange);
        if (ObservationBytes is not null)
        {
            writer.WriteSection("observations_u8", ObservationBytes, SampleRange);
        }
    }

    /// <summary>Reads the sections (already checked by <see cref="ReplayBufferFile"/>) and restores the cursors.</summary>
    public virtual void ReadSections(BufferFileReader reader, StorageState state)
    {
        ThrowIfDisposed();
        reader.ReadInto("table", Table);
        if (ObservationBytes is not null)
        {
            reader.ReadInto("observations_u8", ObservationBytes);
        }

        state.PreviousEnded.CopyTo(PreviousEndedFlags, 0);
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

        HostCopy host = CopyToHost();
        for (long s = 0; s < range; s++)
        {
            if (!IsSampleable(s))
            {
                continue;
            }

            ReadOnlySpan<float> row = host.Row(s);
            result.Add(new StoredTransition(
                s,
                ObservationsInTable ? row[..ObservationSize].ToArray() : host.Bytes(s),
                row.Slice(ActionColumn, ActionDimension).ToArray(),
                row[RewardColumn],
                row[TerminatedColumn] != 0,
                row[TruncatedColumn] != 0,
                NextObservation(host, s),
                DiscountColumn >= 0 ? row[DiscountColumn] : Gamma));
        }

        return result;
    }

    // ---------------------------------------------------------------- the layouts' parts

    /// <summary>Writes one checked vector step (observations are checked by the layout, which knows which it reads).</summary>
    private protected abstract SlotChanges AddStep(in StepSpans source);

    /// <summary>Writes M checked complete transitions.</summary>
    private protected abstract SlotChanges WriteTransitions(in StepSpans source);

    /// <summary>Throws where the layout cannot hold transitions with their own next observations.</summary>
    private protected virtual void RequireTransitionsSupported()
    {
    }

    private protected abstract Tensor GatherNextObservations(Tensor rows, Tensor indices, long b);

    private protected abstract Tensor GatherDiscounts(Tensor rows, long b);

    private protected abstract float[] NextObservation(HostCopy host, long slot);

    private protected virtual HostCopy CopyToHost() => new(ToHost<float>(Table), ObservationBytes is null ? null : ToHost<byte>(ObservationBytes), Width, ObservationSize);

    private protected virtual void DisposeTensors()
    {
        TableWriter?.Dispose();
        ObservationWriter?.Dispose();
        Table?.Dispose();
        ObservationBytes?.Dispose();
    }

    /// <summary>Writes the action, reward and flags of source entry <paramref name="i"/> into a table row.</summary>
    private protected void WriteScalars(Span<float> row, in StepSpans source, int i)
    {
        if (Discrete)
        {
            row[ActionColumn] = source.DiscreteActions[i];
        }
        else
        {
            source.ContinuousActions.Slice(i * ActionDimension, ActionDimension).CopyTo(row.Slice(ActionColumn, ActionDimension));
        }

        row[RewardColumn] = (float)source.Rewards[i];
        row[TerminatedColumn] = source.Terminated[i] ? 1f : 0f;
        row[TruncatedColumn] = source.Truncated[i] ? 1f : 0f;
    }

    private protected void ThrowIfDisposed()
    {
        if (_disposed)
        {
            // ThrowIf(bool, object) would name the string's type, not the buffer.
            throw new ObjectDisposedException(Name, $"{Name} was disposed; create or load a new buffer.");
        }
    }

    private protected Tensor ObservationColumns(Tensor rows, int column, long b)
    {
        Tensor columns = rows.narrow(1, column, ObservationSize);
        if (_observationBatchShape.Length == 2)
        {
            return columns;
        }

        _observationBatchShape[0] = b;
        return columns.view(_observationBatchShape);
    }

    private protected Tensor BytesToObservations(Tensor bytes, Tensor indices, long b)
    {
        Tensor floats = bytes.index_select(0, indices).to(ScalarType.Float32);
        _observationBatchShape[0] = b;
        return floats.view(_observationBatchShape);
    }

    private protected static T[] ToHost<T>(Tensor t)
        where T : unmanaged
    {
        using Tensor host = t.to(torch.CPU);
        using Tensor contiguous = host.contiguous();
        return contiguous.data<T>().ToArray();
    }

    /// <summary>Each span holds <paramref name="m"/> entries (observations and actions <paramref name="m"/> rows of theirs).</summary>
    private void CheckLengths(string call, in StepSpans source, int m, string entry)
    {
        int os = ObservationSize;
        TransitionChecks.Length(Name, call, "observations", source.Observations.Length, m, os, entry);
        TransitionChecks.Length(Name, call, "nextObservations", source.NextObservations.Length, m, os, entry);
        TransitionChecks.Length(Name, call, "actions", Discrete ? source.DiscreteActions.Length : source.ContinuousActions.Length, m, ActionDimension, entry);
        TransitionChecks.Length(Name, call, "rewards", source.Rewards.Length, m, 1, entry);
        TransitionChecks.Length(Name, call, "terminated", source.Terminated.Length, m, 1, entry);
        TransitionChecks.Length(Name, call, "truncated", source.Truncated.Length, m, 1, entry);
    }

    private void CheckActions(string call, in StepSpans source, ReadOnlySpan<bool> skip, string entry)
    {
        if (Discrete)
        {
            TransitionChecks.DiscreteActions(Name, call, "actions", source.DiscreteActions, skip, entry);
        }
        else
        {
            TransitionChecks.ContinuousActions(Name, call, "actions", source.ContinuousActions, ActionDimension, skip, entry);
        }
    }

    /// <summary>The storage's tensors copied to the host (for <see cref="Enumerate"/>).</summary>
    private protected sealed record HostCopy(float[] Table, byte[]? ObservationBytes, int Width, int ObservationSize)
    {
        public byte[]? NextObservationBytes { get; init; }

        public ReadOnlySpan<float> Row(long slot) => Table.AsSpan((int)(slot * Width), Width);

        public float[] Bytes(long slot) => Floats(ObservationBytes!.AsSpan((int)(slot * ObservationSize), ObservationSize));

        public float[] NextBytes(long slot) => Floats(NextObservationBytes!.AsSpan((int)(slot * ObservationSize), ObservationSize));

        public static float[] Floats(ReadOnlySpan<byte> bytes)
        {
            var f = new float[bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
            {
                f[i] = bytes[i];
            }

            return f;
        }
    }
}

/// <summary>
/// What a write changed, for a sampler that keeps per-slot state (priorities): slots
/// [<paramref name="CompletedStart"/>, +<paramref name="CompletedCount"/>) (mod capacity) now hold new transitions
/// (in the memory-saving layout some may be unsampleable: ask <see cref="TransitionStorage.IsSampleable"/>), and slots
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
