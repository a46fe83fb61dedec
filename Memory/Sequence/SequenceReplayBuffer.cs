using System.Globalization;
using System.Text.Json;
using RlMemory.Environments.Vector;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Sequence replay for recurrent agents (R2D2, Kapturowski et al. 2019): it cuts each environment's stream into
/// fixed-length, overlapping sequences (burn-in + learning part), stores each with the actor's recurrent state before
/// its first step, and samples batches of sequences uniformly or by priority. Storage is preallocated on a torch
/// device; sampling draws indices on the device and returns device tensors.
/// </summary>
/// <remarks>
/// <para>The actor loop:</para>
/// <code>
/// (actions, next) = actor.Act(vec.Observations, state);   // state: the RecurrentState before this step
/// VectorStep&lt;int&gt; step = vec.Step(actions);
/// buffer.Add(step, state);
/// using (Tensor reset = torch.tensor(buffer.NextStepBeginsEpisode.ToArray()))
///     state = next.ResetRows(reset);                      // the reset state starts each new episode
/// </code>
/// <para><b>Cutting.</b> Sequences of an episode start at its steps 0, s, 2s, … (s = <see cref="SequenceReplayOptions.Stride"/>)
/// and are stored when they hold T steps. At an episode end every sequence not yet full is stored padded (mask 0), its
/// slot after the last valid step holding the final observation; sequences with fewer valid steps than
/// <see cref="SequenceReplayOptions.MinSequenceLength"/> are dropped. The stored initial state of a sequence is the
/// row of <c>stateBeforeStep</c> passed at its first step; the buffer keeps only those rows (at most ⌈T / s⌉ per
/// environment), never the state of every step.</para>
/// <para><b>Autoreset.</b> Gymnasium 1.x NEXT_STEP autoreset: after an environment's episode ended, its next entry is
/// the reset pseudo-step, which is skipped (its values, state row included, are neither stored nor checked). Call
/// <see cref="BeginNewEpisodes"/> after resetting the vector environment yourself.</para>
/// <para><b>Bad input</b> is refused with an exception that names the buffer, the argument, the index and the value; a
/// refused call changes nothing (contents, partial sequences, priorities, generators).</para>
/// <para>Not thread-safe: use one buffer from one thread at a time.</para>
/// </remarks>
public sealed class SequenceReplayBuffer : IReplayBuffer<SequenceBatch>
{
    /// <summary>The kind recorded in saved files.</summary>
    public const string Kind = "SequenceReplayBuffer";

    /// <summary>The version of the saved metadata and sections of this kind.</summary>
    public const int KindVersion = 1;

    /// <summary>The file name inside the directory given to <see cref="Save"/> and <see cref="Load(string, Device?)"/>.</summary>
    public const string FileName = "sequence-replay.rlmb";

    private readonly SequenceLayout _layout;
    private readonly SequenceCutter _cutter;
    private readonly SequenceStorage _storage;
    private readonly Generator _generator;
    private readonly IPrioritySampler? _sampler;
    private readonly SequenceEmission[] _emissions;
    private readonly int[] _snapshotEnvs;
    private readonly int[] _snapshotRows;
    private int[] _slotScratch = [];
    private double[] _priorityScratch = [];
    private bool _disposed;

    /// <summary>Builds an empty buffer, allocating all its storage on the device.</summary>
    /// <exception cref="ArgumentException">The options break a rule between fields (see <see cref="SequenceReplayOptions.Validate"/>).</exception>
    public SequenceReplayBuffer(SequenceReplayOptions options)
        : this(options, forceDevicePath: false)
    {
    }

    /// <param name="options">What to store.</param>
    /// <param name="forceDevicePath">Write through CPU staging tensors and copy states with tensor operations even on
    /// the CPU, and use the <see cref="DevicePrioritySampler"/> (the paths taken on other devices); for tests.</param>
    internal SequenceReplayBuffer(SequenceReplayOptions options, bool forceDevicePath)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        ForceDevicePath = forceDevicePath;
        _layout = new SequenceLayout(options);
        Name = $"{Kind}(capacity {options.Capacity}, T {options.BurnIn}+{options.LearningLength}, overlap {options.Overlap}, obs [{SequenceReplayOptions.ShapeText(options.ObservationShape)}]"
            + (_layout.ObservationsInTable ? "" : " uint8")
            + (_layout.Discrete ? "" : $", actions {options.Action}")
            + (options.Prioritized ? ", prioritized" : "") + ")";
        _cutter = new SequenceCutter(_layout);
        _emissions = new SequenceEmission[_cutter.MaxEmissions];
        _snapshotEnvs = new int[_layout.NumEnvs];
        _snapshotRows = new int[_layout.NumEnvs];
        _storage = new SequenceStorage(options, _layout, Name, forceDevicePath);
        try
        {
            _generator = new Generator(options.Seed, _storage.Device);
            if (options.Prioritized)
            {
                ulong seed = SamplerSeed(options.Seed);
                _sampler = _storage.Device.type == DeviceType.CPU && !forceDevicePath
                    ? new ManagedPrioritySampler(options.Capacity, options.Priority, seed, _storage.Device)
                    : new DevicePrioritySampler(options.Capacity, options.Priority, seed, _storage.Device);
            }
        }
        catch
        {
            _generator?.Dispose();
            _storage.Dispose();
            throw;
        }
    }

    /// <summary>The options the buffer was built from.</summary>
    public SequenceReplayOptions Options { get; }

    /// <summary>A name for messages, e.g. <c>SequenceReplayBuffer(capacity 10000, T 40+40, overlap 40, obs [4])</c>.</summary>
    public string Name { get; }

    /// <summary>The device of the storage and of sampled batches.</summary>
    public Device Device => _storage.Device;

    /// <summary>The number of sequences the buffer holds when full.</summary>
    public int Capacity => _storage.Capacity;

    /// <summary>The number of stored sequences (that can be sampled).</summary>
    public int Count => _storage.Count;

    /// <inheritdoc />
    public bool Prioritized => _sampler is not null;

    long IReplayBuffer<SequenceBatch>.Count => Count;

    /// <summary>
    /// One flag per environment: whether its next step begins an episode, i.e. its last entry was an autoreset
    /// pseudo-step (or nothing was added since the buffer was built or <see cref="BeginNewEpisodes"/>). A recurrent actor
    /// resets those rows of its state before the next step, and only those, so that a new episode's first sequence
    /// starts from the reset state. Right after an episode's last step the flag is still false: the next entry is the
    /// pseudo-step. The span is valid until the next call on the buffer.
    /// </summary>
    public ReadOnlySpan<bool> NextStepBeginsEpisode
    {
        get
        {
            ThrowIfDisposed();
            return _cutter.NextStepBeginsEpisode;
        }
    }

    /// <summary>Bytes of tensor storage on the device (sequences, initial states, state snapshots).</summary>
    public long StorageBytes => _storage.TensorBytes;

    /// <summary>Whether the buffer was built to take the device paths on the CPU (tests).</summary>
    internal bool ForceDevicePath { get; }

    /// <summary>The storage (tests in this assembly).</summary>
    internal SequenceStorage Storage => _storage;

    /// <summary>The stream cutter (tests in this assembly).</summary>
    internal SequenceCutter Cutter => _cutter;

    /// <summary>The priority sampler of a prioritized buffer (tests in this assembly).</summary>
    internal IPrioritySampler? Sampler => _sampler;

    /// <summary>
    /// Stores one step of N environments: the observations the actions were chosen from, the actions (<c>int</c>
    /// discrete, <c>float</c> N × d continuous), the rewards, the flags and what the step returned.
    /// <paramref name="stateBeforeStep"/> is the actor's recurrent state before this step (<c>[N, ..]</c> per part, any
    /// device); the buffer copies the rows of the environments that start a sequence at this step and keeps no
    /// reference to it.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input: wrong lengths, the wrong kind of action, NaN or infinite values,
    /// a state of another layout or row count. The buffer is unchanged.</exception>
    public void Add<TAction>(in VectorStep<TAction> step, RecurrentState stateBeforeStep)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        AddStepCore(StepSpans.Of(Name, "Add", Options.Action, step), stateBeforeStep);
    }

    /// <summary>
    /// Tells the buffer that the vector environment was reset outside <c>Add</c> (e.g. <c>vec.Reset()</c>). The
    /// partial sequences are flushed, not dropped: each open sequence with at least
    /// <see cref="SequenceReplayOptions.MinSequenceLength"/> valid steps is stored padded, its last step with the flags
    /// the environment reported (normally neither terminated nor truncated, so a learner bootstraps from the last next
    /// observation, as after a truncation). The next step of every environment starts a new episode and a new sequence.
    /// </summary>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        int count = _cutter.Flush(_emissions);
        Store(count);
    }

    /// <summary>
    /// Draws <paramref name="batchSize"/> stored sequences with replacement, on the device: uniformly (with the
    /// buffer's own generator) or, for a prioritized buffer, in proportion to <c>(p + ε)^α</c> with importance-sampling
    /// weights <c>(p_min / p_i)^β</c>. The caller owns the batch: dispose it, or sample inside a dispose scope.
    /// </summary>
    /// <param name="batchSize">The number of sequences, in [1, <see cref="Count"/>].</param>
    /// <param name="beta">The importance-sampling exponent β in [0, 1] of a prioritized buffer (see <see cref="LinearBetaSchedule"/>); a uniform buffer ignores it.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or <paramref name="beta"/> is outside [0, 1].</exception>
    /// <exception cref="InvalidOperationException">The buffer is empty or holds fewer than <paramref name="batchSize"/> sequences.</exception>
    public SequenceBatch Sample(int batchSize, double beta = 0)
    {
        ThrowIfDisposed();
        CheckBatchSize(batchSize, nameof(batchSize));
        if (!(beta is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"{Name}: beta must be in [0, 1], got {TransitionChecks.Text(beta)}.");
        }

        int count = CheckStored(batchSize);
        Tensor indices;
        Tensor? weights = null;
        if (_sampler is null)
        {
            indices = torch.randint(0, count, [batchSize], ScalarType.Int64, Device, generator: _generator);
        }
        else
        {
            PrioritySample sample = _sampler.Sample(batchSize, beta);
            indices = sample.Indices;
            weights = sample.Weights;
        }

        try
        {
            return _storage.Gather(indices, weights);
        }
        catch
        {
            indices.Dispose();
            weights?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Stores complete sequences given as host rows (cut by a <see cref="SequenceCollector"/>, possibly in another
    /// process), oldest first, into consecutive ring slots as <see cref="Add"/> would (when more than
    /// <see cref="Capacity"/> arrive, the last Capacity are kept); a prioritized buffer gives them the highest
    /// priority so far. The rows are checked in full first (see <see cref="SequenceRowChecks"/>); bad rows are refused
    /// and the buffer is unchanged. The partial sequences of <see cref="Add"/> are not affected.
    /// </summary>
    /// <exception cref="ArgumentException">The rows do not fit the buffer (width, array lengths, state parts) or hold a
    /// value it must not store; the message names the buffer, the field, the sequence and the value.</exception>
    /// <exception cref="InvalidOperationException">The buffer stores uint8 observations or a state part that is not float32.</exception>
    internal void AddRows(SequenceRows rows) => AddRows(rows, null);

    /// <summary>
    /// Stores complete sequences as <see cref="AddRows(SequenceRows)"/> does, each with the priority the caller computed
    /// for it instead of the highest so far (R2D2's actors compute initial priorities with their own copy of the
    /// network): <paramref name="priorities"/>[i] is sequence i's <c>η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c>,
    /// stored as <c>(p + ε)^α</c>; the highest priority rises to the largest. A uniform buffer ignores them.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="AddRows(SequenceRows)"/>, or a priority count other than the
    /// rows' or a priority that is NaN, infinite or negative (named with its sequence); the buffer is unchanged.</exception>
    internal void AddRows(SequenceRows rows, double[]? priorities)
    {
        ThrowIfDisposed();
        const string call = "AddRows";
        RequireRowLayout(call);
        SequenceRowChecks.Shape(Name, call, _layout, Options.StateSpec, rows);
        SequenceRowChecks.Values(Name, call, _layout, Options.StateSpec, rows);
        if (priorities is not null)
        {
            if (priorities.Length != rows.Count)
            {
                throw new ArgumentException($"{Name}: {call}: {priorities.Length} priorities for {rows.Count} sequences; give one per sequence.", nameof(priorities));
            }

            for (int i = 0; i < priorities.Length; i++)
            {
                if (!double.IsFinite(priorities[i]) || priorities[i] < 0)
                {
                    throw new ArgumentException($"{Name}: {call}: the priority of sequence {i} is {TransitionChecks.Text(priorities[i])}; priorities are finite and ≥ 0.", nameof(priorities));
                }
            }
        }

        ReadOnlySpan<int> slots = _storage.WriteRows(rows);
        if (_sampler is not null && !slots.IsEmpty)
        {
            _sampler.AddAtMaxPriority(slots);
            if (priorities is not null)
            {
                // The last slots.Length rows were written (all of them unless more than the capacity came).
                _sampler.UpdatePriorities(slots, priorities.AsSpan(rows.Count - slots.Length));
            }
        }
    }

    /// <summary>
    /// Draws <paramref name="count"/> stored sequences uniformly with replacement, with the buffer's own generator (the
    /// draws of <see cref="Sample"/>), and returns them as host rows with their initial states, for shipping to a
    /// learner (<see cref="ToBatch"/> turns them into a batch there).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The buffer is prioritized, is empty or holds fewer than
    /// <paramref name="count"/> sequences, or stores uint8 observations or a state part that is not float32.</exception>
    internal SequenceRows SampleRows(int count)
    {
        ThrowIfDisposed();
        const string call = "SampleRows";
        if (_sampler is not null)
        {
            throw new InvalidOperationException($"{Name}: {call} draws uniformly and the buffer is prioritized; use SamplePrioritizedRows.");
        }

        RequireRowLayout(call);
        CheckBatchSize(count, nameof(count));
        int stored = CheckStored(count);
        using Tensor indices = torch.randint(0, stored, [count], ScalarType.Int64, Device, generator: _generator);
        return _storage.GatherRows(indices);
    }

    /// <summary>
    /// Draws <paramref name="count"/> stored sequences of a prioritized buffer in proportion to their priorities (the
    /// draws of <see cref="Sample"/>) and returns them as host rows with their initial states, their slots (for
    /// <see cref="UpdatePriorities(ReadOnlySpan{int}, ReadOnlySpan{double})"/>) and their importance-sampling weights
    /// <c>(p_min / p_i)^β</c>, for shipping to a learner.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not positive or <paramref name="beta"/> is outside [0, 1].</exception>
    /// <exception cref="InvalidOperationException">The buffer samples uniformly, is empty or holds fewer than
    /// <paramref name="count"/> sequences, or stores uint8 observations or a state part that is not float32.</exception>
    internal (SequenceRows Rows, long[] Slots, float[] Weights) SamplePrioritizedRows(int count, double beta)
    {
        ThrowIfDisposed();
        const string call = "SamplePrioritizedRows";
        IPrioritySampler sampler = _sampler ?? throw new InvalidOperationException($"{Name}: {call}: the buffer samples uniformly; use SampleRows, or build it with Prioritized = true.");
        if (!(beta is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"{Name}: beta must be in [0, 1], got {TransitionChecks.Text(beta)}.");
        }

        RequireRowLayout(call);
        CheckBatchSize(count, nameof(count));
        CheckStored(count);
        using var scope = torch.NewDisposeScope();
        PrioritySample sample = sampler.Sample(count, beta);
        SequenceRows rows = _storage.GatherRows(sample.Indices); // int64 slots on the buffer's device
        using Tensor slots = sample.Indices.cpu().contiguous();
        using Tensor weights = sample.Weights.to(ScalarType.Float32).cpu().contiguous();
        return (rows, slots.data<long>().ToArray(), weights.data<float>().ToArray());
    }

    /// <summary>
    /// Sets the priorities of stored sequences to values computed elsewhere (a learner in another process): each
    /// <paramref name="priorities"/>[i] is the sequence's <c>η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c> (see
    /// <see cref="UpdatePriorities(Tensor, Tensor, Tensor)"/>), stored as <c>(p + ε)^α</c>. Checked in full first; if
    /// anything is invalid, nothing changes. Repeated slots keep the last value.
    /// </summary>
    /// <exception cref="InvalidOperationException">The buffer is not prioritized.</exception>
    /// <exception cref="ArgumentException">The spans differ in length, or a priority is NaN, infinite or negative.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A slot is outside [0, <see cref="Capacity"/>) or holds no sequence.</exception>
    internal void UpdatePriorities(ReadOnlySpan<int> slots, ReadOnlySpan<double> priorities)
    {
        ThrowIfDisposed();
        string owner = $"{Name}.UpdatePriorities";
        IPrioritySampler sampler = _sampler ?? throw new InvalidOperationException($"{owner}: the buffer samples uniformly and keeps no priorities; build it with Prioritized = true.");
        if (slots.Length != priorities.Length)
        {
            throw new ArgumentException($"{owner}: {slots.Length} slots but {priorities.Length} priorities. Nothing was changed.", nameof(priorities));
        }

        int count = _storage.Count;
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] < 0 || slots[i] >= count)
            {
                throw new ArgumentOutOfRangeException(nameof(slots), slots[i], $"{owner}: slot {slots[i]} (position {i}) holds no sequence; the buffer holds slots [0, {count}). Nothing was changed.");
            }

            if (!double.IsFinite(priorities[i]) || priorities[i] < 0)
            {
                throw new ArgumentException($"{owner}: the priority at position {i} is {TransitionChecks.Text(priorities[i])}; priorities are finite and ≥ 0. Nothing was changed.", nameof(priorities));
            }
        }

        sampler.UpdatePriorities(slots, priorities);
    }

    /// <summary>
    /// Turns host rows (<see cref="SampleRows"/>, possibly from other processes) into a batch on
    /// <paramref name="options"/>' device (the CPU by default), cut by the same code as <see cref="Sample"/>: float32
    /// observations <c>[B, T + 1, ..obs]</c>, int64 <c>[B, T]</c> discrete or float32 <c>[B, T, d]</c> continuous
    /// actions, float32 rewards, flags and mask <c>[B, T]</c>, the initial state with <paramref name="options"/>'
    /// state spec, <see cref="SequenceBatch.Indices"/> <c>0 … B − 1</c> (the rows' positions, not slots of a buffer)
    /// and <paramref name="weights"/> as <see cref="SequenceBatch.Weights"/> (importance weights of a prioritized
    /// sample, one per row; null: none). Only the shape of the rows is checked (the values were checked where they were stored). The
    /// caller owns the batch.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid or not float32 (observations, state parts), or the
    /// rows do not fit them.</exception>
    internal static SequenceBatch ToBatch(SequenceRows rows, SequenceReplayOptions options, float[]? weights = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(options);
        const string owner = $"{Kind}.ToBatch";
        options.Validate();
        string? unsupported = SequenceRowChecks.Unsupported(options);
        if (unsupported is not null)
        {
            throw new ArgumentException($"{owner}: {unsupported}.", nameof(options));
        }

        var layout = new SequenceLayout(options);
        SequenceRowChecks.Shape(owner, "rows", layout, options.StateSpec, rows);
        if (weights is not null && weights.Length != rows.Count)
        {
            throw new ArgumentException($"{owner}: {weights.Length} importance weights for {rows.Count} sequences.", nameof(weights));
        }

        Device device = options.Device ?? torch.CPU;
        int b = rows.Count;
        IReadOnlyList<RecurrentStatePart> parts = options.StateSpec.Parts;
        var states = new (string Name, Tensor Value)[parts.Count];
        Tensor? table = null;
        Tensor? indices = null;
        Tensor? weightTensor = null;
        RecurrentState? state = null;
        try
        {
            table = torch.tensor(rows.Table, [b, layout.Width], device: device);
            for (int p = 0; p < parts.Count; p++)
            {
                states[p] = (parts[p].Name, torch.tensor(rows.States[p], [b, .. parts[p].Shape], device: device));
            }

            state = new RecurrentState(states);
            indices = torch.arange(b, ScalarType.Int64, device);
            weightTensor = weights is null ? null : torch.tensor(weights, [b], device: device);
        }
        catch
        {
            table?.Dispose();
            foreach ((string _, Tensor value) in states)
            {
                value?.Dispose();
            }

            indices?.Dispose();
            weightTensor?.Dispose();
            throw;
        }

        long[] observationShape = [0, layout.Length + 1, .. options.ObservationShape.Select(d => (long)d)];
        long[] actionShape = [0, layout.Length, layout.ActionDimension];
        try
        {
            return SequenceStorage.Slice(layout, table, null, state, indices, weightTensor, observationShape, actionShape);
        }
        catch
        {
            indices.Dispose();
            weightTensor?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sets the priority of each sampled sequence from its TD errors over the learning part:
    /// <c>p = η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c> over the steps where <paramref name="mask"/> is 1 (R2D2's mix;
    /// 0 when no learning step is valid), stored as <c>(p + ε)^α</c>. The whole batch is checked first; if anything is
    /// invalid, nothing changes. Repeated indices keep the last value (on a GPU, one of them).
    /// </summary>
    /// <param name="indices"><see cref="SequenceBatch.Indices"/>: int64 or int32 <c>[B]</c>, stored slots.</param>
    /// <param name="tdErrors">Signed TD errors of the learning steps, floating point <c>[B, L]</c> (any device).</param>
    /// <param name="mask">The learning part of the mask, <c>[B, L]</c> of 0/1 (float or bool):
    /// <c>batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength)</c>. TD errors where it is 0 are ignored.</param>
    /// <exception cref="InvalidOperationException">The buffer is not prioritized.</exception>
    /// <exception cref="ArgumentException">Wrong shapes or types, a NaN or infinite TD error at a valid step, or a mask value other than 0 and 1.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, <see cref="Capacity"/>) or names a slot that holds no sequence, or a priority overflows.</exception>
    public void UpdatePriorities(Tensor indices, Tensor tdErrors, Tensor mask)
    {
        ThrowIfDisposed();
        string owner = $"{Name}.UpdatePriorities";
        if (_sampler is null)
        {
            throw new InvalidOperationException($"{owner}: the buffer samples uniformly and keeps no priorities; build it with Prioritized = true.");
        }

        ArgumentNullException.ThrowIfNull(indices);
        PrioritySamplerArguments.CheckVector(owner, nameof(indices), indices);
        PrioritySamplerArguments.CheckSlotType(owner, indices);
        int b = (int)indices.shape[0];
        Span<int> slots = Scratch(ref _slotScratch, b);
        Span<double> priorities = Scratch(ref _priorityScratch, b);
        SequencePriorities.Compute(owner, tdErrors, mask, Options.Eta, b, _layout.LearningLength, priorities, allowHostPath: !ForceDevicePath);
        PrioritySamplerArguments.CopySlots(owner, indices, slots, Capacity);
        int count = _storage.Count;
        for (int i = 0; i < b; i++)
        {
            if (slots[i] >= count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), slots[i], $"{owner}: index {slots[i]} (position {i} in the batch) holds no sequence; the buffer holds slots [0, {count}). Nothing was changed.");
            }
        }

        try
        {
            _sampler.UpdatePriorities(slots, priorities);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentOutOfRangeException($"{owner}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{owner}: {e.Message}", e);
        }
    }

    // ---------------------------------------------------------------- persistence

    /// <summary>
    /// Saves the buffer (options, stored sequences and initial states, ring cursors, each environment's partial
    /// sequences and state snapshots, priorities, generator states) to
    /// <c><paramref name="directory"/>/sequence-replay.rlmb</c>, creating the directory if needed. The file is written
    /// under a temporary name, flushed to disk and renamed, so an older save stays intact until the new one is complete.
    /// </summary>
    public void Save(string directory)
    {
        ThrowIfDisposed();
        ArgumentException.ThrowIfNullOrEmpty(directory);
        PrioritySamplerState? samplerState = _sampler?.ExportState();
        var metadata = new SavedSequenceMetadata
        {
            Options = SavedSequenceOptions.From(Options),
            Storage = _storage.CaptureState(),
            Cutter = _cutter.CaptureState(),
            GeneratorDeviceType = Device.type.ToString(),
            Sampler = samplerState is null ? null : new SavedSamplerInfo { MaxPriority = samplerState.MaxPriority, Alpha = samplerState.Alpha, RandomAlgorithm = samplerState.RandomAlgorithm },
        };
        using var writer = BufferFileWriter.Create(Path.Combine(directory, FileName), Kind, KindVersion, JsonSerializer.Serialize(metadata, MemoryJsonContext.Default.SequenceMetadata));
        _storage.WriteSections(writer);
        _cutter.WriteSections(writer);
        using (Tensor state = _generator.get_state())
        {
            writer.WriteSection("generator_state", state);
        }

        if (samplerState is not null)
        {
            writer.WriteSection<double>("priorities", samplerState.Priorities, samplerState.Priorities.Length);
            writer.WriteSection<byte>("sampler_random_state", samplerState.RandomState, samplerState.RandomState.Length);
        }

        writer.Commit();
    }

    /// <summary>
    /// Loads a buffer saved by <see cref="Save"/> from <paramref name="directory"/> onto <paramref name="device"/>
    /// (default: the CPU). The file is verified in full (length, checksum, kind, version, options, cursors, every
    /// section's type and shape, lengths, partial sequences, priorities) before any tensor is allocated; a bad file is
    /// refused with an <see cref="InvalidDataException"/> naming it and what is wrong, and nothing is half-loaded.
    /// </summary>
    /// <remarks>
    /// Generators continue their saved streams when the device type matches the one saved (so the same samples follow).
    /// On another device type (the CPU and CUDA generators differ, and a prioritized buffer uses another sampler there),
    /// the uniform generator is seeded from a hash of its saved state and the priority sampler keeps its own seeded
    /// generator: deterministic, but a different stream. Priorities are always restored.
    /// </remarks>
    /// <exception cref="FileNotFoundException">No saved buffer in the directory.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another kind or inconsistent.</exception>
    public static SequenceReplayBuffer Load(string directory, Device? device = null) => LoadCore(directory, device, expected: null, forceDevicePath: false);

    /// <summary>
    /// Loads a buffer like <see cref="Load(string, Device?)"/>, onto <paramref name="expected"/>'s device, and refuses
    /// a file saved with other options (capacity, sequence lengths, overlap, observation shape or storage, action,
    /// environments, state layout, prioritization, α, ε, η, minimum length; the seed is not compared): the message
    /// names the file, the field, the saved value and the expected one.
    /// </summary>
    public static SequenceReplayBuffer Load(string directory, SequenceReplayOptions expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return LoadCore(directory, expected.Device, expected, forceDevicePath: false);
    }

    internal static SequenceReplayBuffer LoadCore(string directory, Device? device, SequenceReplayOptions? expected, bool forceDevicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        using BufferFileReader reader = BufferFileReader.Open(Path.Combine(directory, FileName));
        string file = reader.Path;
        SavedFields.RequireKind(reader, Kind, KindVersion);
        SavedSequenceMetadata metadata = SavedFields.Metadata(reader, MemoryJsonContext.Default.SequenceMetadata);

        if (metadata.Options is null || metadata.Storage is null || metadata.Cutter is null || metadata.GeneratorDeviceType is null)
        {
            throw new InvalidDataException($"{file}: the metadata lacks options, storage cursors, per-environment state or generator device.");
        }

        SequenceReplayOptions saved = SavedFields.Options(reader, () =>
        {
            SequenceReplayOptions options = metadata.Options.ToOptions(device);
            options.Validate();
            return options;
        });

        if (expected is not null)
        {
            CheckExpected(file, saved, expected);
        }

        var layout = new SequenceLayout(saved);
        int[] lengths = SequenceStorage.CheckSaved(reader, saved, layout, metadata.Storage);
        SavedWindows windows = SequenceCutter.ReadSaved(reader, layout, metadata.Cutter);
        BufferSection generatorState = SavedFields.GeneratorSection(reader);

        PrioritySamplerState? samplerState = saved.Prioritized ? ReadSamplerState(reader, saved, metadata.Sampler, metadata.Storage.Size) : null;

        // Everything checked: now allocate and read. A failure from here on (an I/O error) disposes the new buffer.
        var buffer = new SequenceReplayBuffer(saved, forceDevicePath);
        try
        {
            buffer._storage.ReadSections(reader, metadata.Storage, lengths);
            buffer._cutter.Restore(windows);
            SavedFields.RestoreGenerator(reader, generatorState, buffer._generator, metadata.GeneratorDeviceType, buffer.Device);

            if (samplerState is not null)
            {
                IPrioritySampler sampler = buffer._sampler!;
                PrioritySamplerState current = sampler.ExportState();
                if (samplerState.RandomAlgorithm != current.RandomAlgorithm)
                {
                    samplerState = samplerState with { RandomAlgorithm = current.RandomAlgorithm, RandomState = current.RandomState };
                }

                try
                {
                    sampler.ImportState(samplerState);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"{file}: the saved priorities were refused: {e.Message}", e);
                }
            }

            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Disposes the storage, the generator and the sampler.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _storage.Dispose();
        _generator.Dispose();
        _sampler?.Dispose();
    }

    public override string ToString() => Name;

    // ---------------------------------------------------------------- adding

    private void AddStepCore(in StepSpans input, RecurrentState state)
    {
        ThrowIfDisposed();
        const string call = "Add";
        int starting = SequenceStepChecks.Check(Name, call, _layout, _cutter, _storage.States, input, state, _snapshotEnvs, _snapshotRows);

        // Everything checked: keep the state rows of the sequences that start now, then cut and store.
        _storage.States.Snapshot(state, _snapshotEnvs.AsSpan(0, starting), _snapshotRows.AsSpan(0, starting));
        int count = _cutter.Advance(input, _emissions);
        Store(count);
    }

    private void Store(int count)
    {
        ReadOnlySpan<int> slots = _storage.Write(_emissions.AsSpan(0, count), _cutter);
        if (_sampler is not null && !slots.IsEmpty)
        {
            _sampler.AddAtMaxPriority(slots);
        }
    }

    // ---------------------------------------------------------------- persistence helpers

    private static PrioritySamplerState ReadSamplerState(BufferFileReader reader, SequenceReplayOptions options, SavedSamplerInfo? info, int size)
    {
        string file = reader.Path;
        if (info?.RandomAlgorithm is null)
        {
            throw new InvalidDataException($"{file}: the metadata of a prioritized buffer lacks the sampler's state.");
        }

        reader.Expect("priorities", ScalarType.Float64, options.Capacity);
        BufferSection random = reader.Section("sampler_random_state");
        if (random.DType != ScalarType.Byte || random.Shape.Count != 1)
        {
            throw new InvalidDataException($"{file}: section 'sampler_random_state' is {random}, expected uint8 [n].");
        }

        var state = new PrioritySamplerState
        {
            Priorities = reader.ReadArray<double>("priorities"),
            MaxPriority = info.MaxPriority,
            Alpha = info.Alpha,
            RandomAlgorithm = info.RandomAlgorithm,
            RandomState = reader.ReadArray<byte>("sampler_random_state"),
        };
        try
        {
            PrioritySamplerArguments.CheckState(Kind, state, options.Capacity, options.Priority, state.RandomAlgorithm, float32: false);
            if (state.RandomAlgorithm == Xoshiro256StarStar.Algorithm)
            {
                Xoshiro256StarStar.CheckState(Kind, state.RandomState);
            }
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{file}: the saved priorities are not valid: {e.Message}", e);
        }

        for (int i = 0; i < state.Priorities.Length; i++)
        {
            if ((state.Priorities[i] > 0) != (i < size))
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: slot {i} has priority {TransitionChecks.Text(state.Priorities[i])}, but the buffer holds slots [0, {size}) (stored sequences have priorities > 0, other slots 0).");
            }
        }

        return state;
    }

    private static void CheckExpected(string path, SequenceReplayOptions saved, SequenceReplayOptions expected)
    {
        void Same<T>(string field, T savedValue, T expectedValue, Func<T, string> show)
        {
            if (!EqualityComparer<T>.Default.Equals(savedValue, expectedValue))
            {
                throw new InvalidDataException($"{path} was saved with {field} {show(savedValue)}, but {show(expectedValue)} is expected; load it without expected options, or build the buffer with the saved ones.");
            }
        }

        static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);
        Same("ObservationShape", $"[{SequenceReplayOptions.ShapeText(saved.ObservationShape)}]", $"[{SequenceReplayOptions.ShapeText(expected.ObservationShape)}]", s => s);
        Same("ObservationStorage", saved.ObservationStorage, expected.ObservationStorage, s => s.ToString());
        Same("Action", saved.Action, expected.Action, a => a.ToString());
        Same("NumEnvs", saved.NumEnvs, expected.NumEnvs, Int);
        Same("Capacity", saved.Capacity, expected.Capacity, Int);
        Same("BurnIn", saved.BurnIn, expected.BurnIn, Int);
        Same("LearningLength", saved.LearningLength, expected.LearningLength, Int);
        Same("Overlap", saved.Overlap, expected.Overlap, Int);
        Same("MinSequenceLength", saved.MinSequenceLength, expected.MinSequenceLength, Int);
        Same("StateSpec", saved.StateSpec, expected.StateSpec, s => s.ToString());
        Same("Prioritized", saved.Prioritized, expected.Prioritized, v => v.ToString());
        if (saved.Prioritized)
        {
            Same("Priority", saved.Priority, expected.Priority, p => p.ToString());
            Same("Eta", saved.Eta, expected.Eta, TransitionChecks.Text);
        }
    }

    /// <summary>The priority sampler's seed: distinct from the uniform generator's (SplitMix64 of the buffer's seed).</summary>
    private static ulong SamplerSeed(ulong seed)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Refuses a sample size below 1 (<paramref name="argument"/> names the parameter).</summary>
    private void CheckBatchSize(int batchSize, string argument)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(argument, batchSize, $"{Name}: the batch size must be at least 1, got {batchSize}.");
        }
    }

    /// <summary>Refuses to sample <paramref name="batchSize"/> sequences from a buffer holding fewer; returns the number stored.</summary>
    private int CheckStored(int batchSize)
    {
        int count = _storage.Count;
        if (count == 0)
        {
            throw new InvalidOperationException($"{Name}: cannot sample {batchSize} sequences from an empty buffer; add steps until a sequence is complete (or an episode ends) first.");
        }

        if (batchSize > count)
        {
            throw new InvalidOperationException($"{Name}: cannot sample {batchSize} sequences: the buffer holds {count}. Sample at most Count sequences, or wait until it holds enough.");
        }

        return count;
    }

    /// <summary>Refuses host rows (<see cref="SequenceRows"/>) in a buffer whose observations or state parts are not float32.</summary>
    private void RequireRowLayout(string call)
    {
        string? unsupported = SequenceRowChecks.Unsupported(Options);
        if (unsupported is not null)
        {
            throw new InvalidOperationException($"{Name}: {call}: {unsupported}; build the buffer with float32 observations and state parts.");
        }
    }

    private static Span<T> Scratch<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[Math.Max(length, 2 * buffer.Length)];
        }

        return buffer.AsSpan(0, length);
    }

    private void ThrowIfDisposed()
    {
        // ObjectDisposedException.ThrowIf(bool, object) would name the type of its argument (System.String), not the buffer.
        if (_disposed)
        {
            throw new ObjectDisposedException(Name, $"{Name} was disposed.");
        }
    }

    /// <summary>The metadata of a saved sequence buffer.</summary>
    internal sealed record SavedSequenceMetadata
    {
        public SavedSequenceOptions? Options { get; init; }

        public SequenceStorageState? Storage { get; init; }

        public SequenceCutterState? Cutter { get; init; }

        public string? GeneratorDeviceType { get; init; }

        public SavedSamplerInfo? Sampler { get; init; }
    }

    /// <summary>The sampler's scalar state (its arrays are sections).</summary>
    internal sealed record SavedSamplerInfo
    {
        public double MaxPriority { get; init; }

        public double Alpha { get; init; }

        public string? RandomAlgorithm { get; init; }
    }
}

/// <summary>The sequence options as saved (everything but the device, which is chosen at load time).</summary>
internal sealed record SavedSequenceOptions : SavedStepLayout
{
    public int Capacity { get; init; }

    public int BurnIn { get; init; }

    public int LearningLength { get; init; }

    public int Overlap { get; init; }

    public string ObservationStorage { get; init; } = "";

    public StatePart[] StateParts { get; init; } = [];

    public bool Prioritized { get; init; }

    public double Alpha { get; init; }

    public double Epsilon { get; init; }

    public double Eta { get; init; }

    public int MinSequenceLength { get; init; }

    public static SavedSequenceOptions From(SequenceReplayOptions o) => WithLayout(
        new SavedSequenceOptions
        {
            Capacity = o.Capacity,
            BurnIn = o.BurnIn,
            LearningLength = o.LearningLength,
            Overlap = o.Overlap,
            ObservationStorage = o.ObservationStorage.ToString(),
            StateParts = [.. o.StateSpec.Parts.Select(p => new StatePart { Name = p.Name, Shape = [.. p.Shape], DType = BufferFileFormat.Name(p.DType) })],
            Prioritized = o.Prioritized,
            Alpha = o.Priority.Alpha,
            Epsilon = o.Priority.Epsilon,
            Eta = o.Eta,
            MinSequenceLength = o.MinSequenceLength,
        },
        o.ObservationShape,
        o.Action,
        o.NumEnvs,
        o.Seed);

    /// <summary>The options on <paramref name="device"/>; invalid values throw <see cref="ArgumentException"/>.</summary>
    public SequenceReplayOptions ToOptions(Device? device)
    {
        ObservationStorage storage = SavedFields.Storage(ObservationStorage);

        if (StateParts is null)
        {
            throw new ArgumentException("no recurrent state parts");
        }

        var parts = new List<RecurrentStatePart>(StateParts.Length);
        foreach (StatePart part in StateParts)
        {
            if (part?.Name is null || part.Shape is null)
            {
                throw new ArgumentException("a recurrent state part without a name or shape");
            }

            ScalarType dtype = SavedFields.DType(part.DType) ?? throw new ArgumentException($"unknown recurrent state type '{part.DType}' of part '{part.Name}'");
            parts.Add(new RecurrentStatePart(part.Name, [.. part.Shape], dtype));
        }

        return new SequenceReplayOptions
        {
            Capacity = Capacity,
            BurnIn = BurnIn,
            LearningLength = LearningLength,
            Overlap = Overlap,
            ObservationShape = Shape(),
            ObservationStorage = storage,
            Action = Action(),
            NumEnvs = NumEnvs,
            StateSpec = new RecurrentStateSpec(parts),
            Device = device,
            Seed = Seed,
            Prioritized = Prioritized,
            Priority = new PriorityOptions { Alpha = Alpha, Epsilon = Epsilon },
            Eta = Eta,
            MinSequenceLength = MinSequenceLength,
        };
    }

    /// <summary>One recurrent-state part as saved.</summary>
    internal sealed record StatePart
    {
        public string? Name { get; init; }

        public long[]? Shape { get; init; }

        public string? DType { get; init; }
    }
}
