using System.Buffers;
using RlMemory.Environments.Vector;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// A replay buffer of transitions, preallocated on a torch device. <see cref="Add{TAction}"/> stores the
/// <see cref="VectorStep{TAction}"/> a vector environment returns; <see cref="Sample"/> draws on the device and
/// returns device tensors. How it draws is chosen at construction: uniformly (no <see cref="PriorityOptions"/>), or
/// proportionally to priorities (Schaul et al. 2016) with importance-sampling weights and
/// <see cref="UpdatePriorities"/>. n-step returns (<see cref="ReplayBufferOptions.NSteps"/>) and the memory-saving
/// layout (<see cref="ReplayBufferOptions.MemorySaving"/>, uniform only) are options of either.
/// </summary>
/// <remarks>
/// <para>The training loop:</para>
/// <code>
/// using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 100_000, ObservationShape = [4], NumEnvs = vec.NumEnvs });
/// VectorStep&lt;int&gt; step = vec.Step(actions);
/// buffer.Add(step);
/// using (TransitionBatch batch = buffer.Sample(256)) { /* learn */ }
/// </code>
/// <para><b>Autoreset.</b> The buffer follows Gymnasium 1.x's NEXT_STEP autoreset itself: after environment e ended
/// (terminated or truncated), its next entry is the reset pseudo-step (action ignored, reward 0, next observation =
/// the new episode's first) and is not stored as a transition. Call <see cref="BeginNewEpisodes"/> after resetting
/// the vector environment yourself.</para>
/// <para><b>Actions</b> are <c>int</c> (discrete) or <c>float</c> (continuous, N × d), as
/// <see cref="ReplayBufferOptions.Action"/> says.</para>
/// <para><b>Bad input</b> (wrong lengths, the wrong kind of action, NaN or infinite observations, rewards or
/// continuous actions, byte observations outside [0, 255]) is refused with an <see cref="ArgumentException"/> that
/// names the buffer, the argument, the index and the value; a refused call changes nothing. Entries of pseudo-steps
/// are ignored and not checked.</para>
/// <para><b>Prioritized sampling</b> keeps one priority per slot (on a CPU device in the sum/min trees of
/// <see cref="ManagedPrioritySampler"/>, elsewhere in a device tensor, <see cref="DevicePrioritySampler"/>); new
/// transitions get the maximal priority seen so far. The memory-saving layout is not available with it: its
/// unsampleable slots would need a priority of exactly zero, which the samplers cannot give an occupied slot.</para>
/// <para>Not thread-safe: use one buffer from one thread at a time.</para>
/// </remarks>
public sealed class ReplayBuffer : IReplayBuffer<TransitionBatch>, ITransitionSink
{
    private readonly TransitionStorage _storage;
    private readonly Generator? _generator;
    private readonly IPrioritySampler? _priorities;
    private readonly NStepAssembler? _nStep;
    private bool _disposed;

    /// <summary>Builds an empty buffer (allocating all its storage on <see cref="ReplayBufferOptions.Device"/>).</summary>
    /// <param name="options">What to store.</param>
    /// <param name="priorities">α and ε for prioritized sampling; null (the default) samples uniformly.</param>
    /// <exception cref="ArgumentException">The options break a rule between fields (see <see cref="ReplayBufferOptions.Validate"/>), or ask for prioritized sampling of the memory-saving layout.</exception>
    public ReplayBuffer(ReplayBufferOptions options, PriorityOptions? priorities = null)
        : this(options, priorities, forceDevicePath: false)
    {
    }

    internal ReplayBuffer(ReplayBufferOptions options, PriorityOptions? priorities, bool forceDevicePath)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (priorities is not null && options.MemorySaving)
        {
            throw new ArgumentException(
                "ReplayBuffer: the memory-saving mode is not available with prioritized replay (its unsampleable slots need priority 0); set MemorySaving = false or sample uniformly.",
                nameof(options));
        }

        _storage = TransitionStorage.Create(options, priorities is null ? "ReplayBuffer" : "PrioritizedReplayBuffer", forceDevicePath);
        try
        {
            PriorityOptions = priorities;
            if (priorities is null)
            {
                _generator = new Generator(options.Seed, _storage.Device);
            }
            else
            {
                _priorities = _storage.Device.type == DeviceType.CPU
                    ? new ManagedPrioritySampler(_storage.Capacity, priorities, options.Seed)
                    : new DevicePrioritySampler(_storage.Capacity, priorities, options.Seed, _storage.Device);
            }

            if (options.NSteps > 1)
            {
                _nStep = new NStepAssembler(options.NSteps, options.Gamma, options.NumEnvs, options.ObservationSize, options.Action);
            }
        }
        catch
        {
            _generator?.Dispose();
            _priorities?.Dispose();
            _storage.Dispose();
            throw;
        }
    }

    /// <summary>The options the buffer was built from.</summary>
    public ReplayBufferOptions Options => _storage.Options;

    /// <summary>α and ε of prioritized sampling; null when sampling is uniform.</summary>
    public PriorityOptions? PriorityOptions { get; }

    /// <inheritdoc />
    public bool Prioritized => _priorities is not null;

    /// <summary>A name for messages, e.g. <c>ReplayBuffer(capacity 1000000, obs [4])</c>.</summary>
    public string Name => _storage.Name;

    /// <summary>The device of the storage and of sampled batches.</summary>
    public Device Device => _storage.Device;

    /// <summary>
    /// Slots of storage: <see cref="ReplayBufferOptions.Capacity"/>, rounded down to a multiple of
    /// <see cref="ReplayBufferOptions.NumEnvs"/> in memory-saving mode (where at most <c>Capacity − NumEnvs</c>
    /// transitions can be sampled).
    /// </summary>
    public int Capacity => _storage.Capacity;

    /// <summary>The number of transitions that can be sampled.</summary>
    public long Count => _storage.Count;

    /// <summary>Bytes of tensor storage on the device.</summary>
    public long StorageBytes => _storage.TensorBytes;

    /// <summary>The priorities (for inspection and tests); null when sampling is uniform.</summary>
    public IPrioritySampler? PrioritySampler => _priorities;

    /// <summary>The storage (for tests and the file codec in this assembly).</summary>
    internal TransitionStorage Storage => _storage;

    /// <summary>The n-step assembler when <see cref="ReplayBufferOptions.NSteps"/> &gt; 1.</summary>
    internal NStepAssembler? NStep => _nStep;

    /// <summary>The uniform sampler's generator (null when prioritized).</summary>
    internal Generator? Generator => _generator;

    /// <summary>
    /// Stores one step of N environments: the observations the actions were chosen from, the actions (<c>int</c>
    /// discrete, <c>float</c> continuous), the rewards, the flags and what the step returned. With n-step returns the
    /// step goes through the buffer's <see cref="NStepAssembler"/>, which stores the transitions it completes.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input (see the class remarks); the buffer is unchanged.</exception>
    public void Add<TAction>(in VectorStep<TAction> step)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        if (_nStep is null)
        {
            Report(_storage.Add(step));
            return;
        }

        ActionSpans.Split(Name, "Add", Options.Action, step.Actions, out _, out _);
        CheckByteObservations(step.Observations, step.NextObservations);
        _nStep.AddStep(step, this);
    }

    /// <summary>
    /// Stores M complete transitions, each with its own next observation and <paramref name="discounts"/> entry (what an
    /// <see cref="NStepAssembler"/> emits). Not in memory-saving mode.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input; the buffer is unchanged.</exception>
    /// <exception cref="InvalidOperationException">The buffer is in memory-saving mode.</exception>
    public void AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        Report(_storage.AddTransitions(transitions, discounts));
    }

    /// <summary>
    /// Stores M complete transitions as <see cref="AddTransitions{TAction}(in VectorStep{TAction}, ReadOnlySpan{double})"/>
    /// does, each with the |TD error| the caller computed for it instead of the maximal priority (Ape-X: actors compute
    /// the initial priorities with their own copy of the network): p = (|δ| + ε)^α, and the maximal priority rises to
    /// the largest. A uniform buffer stores the transitions and ignores the priorities.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input, including a priority count other than M or a priority that is NaN, infinite or negative; the buffer is unchanged.</exception>
    /// <exception cref="InvalidOperationException">The buffer is in memory-saving mode.</exception>
    internal void AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts, ReadOnlySpan<double> tdErrorMagnitudes)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        int m = transitions.Rewards.Length;
        if (tdErrorMagnitudes.Length != m)
        {
            throw new ArgumentException($"{Name}: AddTransitions: {tdErrorMagnitudes.Length} initial priorities for {m} transitions; give one per transition.", nameof(tdErrorMagnitudes));
        }

        for (int i = 0; i < m; i++)
        {
            double v = tdErrorMagnitudes[i];
            if (!double.IsFinite(v) || v < 0)
            {
                throw new ArgumentException($"{Name}: AddTransitions: tdErrorMagnitudes[{i}] is {TransitionChecks.Text(v)}; initial priorities are |TD errors|: finite and ≥ 0.", nameof(tdErrorMagnitudes));
            }
        }

        SlotChanges changes = _storage.AddTransitions(transitions, discounts);
        Report(changes);
        int n = changes.CompletedCount;
        if (_priorities is null || n == 0)
        {
            return;
        }

        // The last n of the M transitions were written (all of them unless M exceeds the capacity).
        var slots = new int[n];
        for (int k = 0; k < n; k++)
        {
            slots[k] = (int)((changes.CompletedStart + k) % _storage.Capacity);
        }

        _priorities.UpdatePriorities(slots, tdErrorMagnitudes[(m - n)..]);
    }

    /// <summary>
    /// Tells the buffer that the vector environment was reset outside <c>Add</c> (e.g. <c>vec.Reset()</c>): the next
    /// step's entries are all real transitions. The transitions already stored are kept; with n-step returns the
    /// partial windows are stored as transitions that bootstrap from their last next observation.
    /// </summary>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        _nStep?.BeginNewEpisodes(this);
        _storage.BeginNewEpisodes();
    }

    /// <summary>
    /// Draws <paramref name="batchSize"/> stored transitions with replacement, on the device: uniformly, or with
    /// probability ∝ priority (stratified) and importance-sampling weights <c>(p_min / p_i)^β</c> in
    /// <see cref="TransitionBatch.Weights"/>. The caller owns the batch: dispose it, or sample inside a dispose scope.
    /// </summary>
    /// <param name="batchSize">Transitions to draw (at most <see cref="Count"/>).</param>
    /// <param name="beta">The importance-sampling exponent β in [0, 1] of prioritized sampling, usually annealed to 1
    /// over training; ignored by uniform sampling.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bad batch size or β.</exception>
    /// <exception cref="InvalidOperationException">The buffer is empty or holds fewer than <paramref name="batchSize"/> transitions.</exception>
    public TransitionBatch Sample(int batchSize, double beta = 1.0)
    {
        CheckSampleSize(batchSize, batches: 1);
        if (_priorities is null)
        {
            return SampleUniform((long)batchSize);
        }

        PrioritySample sample = _priorities.Sample(batchSize, beta);
        try
        {
            return _storage.Gather(sample.Indices, sample.Weights);
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Draws the minibatches of <paramref name="batches"/> consecutive gradient steps in one go (uniform sampling):
    /// <paramref name="batches"/> × <paramref name="batchSize"/> transitions, uniformly at random with replacement, in
    /// one batch whose rows [k·batchSize, (k+1)·batchSize) are minibatch k (split it with
    /// <see cref="TransitionBatch.Slice"/>). Equivalent in distribution to as many calls of <see cref="Sample"/>
    /// with no insert in between, at a fraction of the cost.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the total exceeds 2³¹ − 1.</exception>
    /// <exception cref="InvalidOperationException">The buffer is empty or holds fewer than <paramref name="batchSize"/>
    /// transitions, or samples by priority (whose priorities change between gradient steps).</exception>
    public TransitionBatch SampleBatches(int batchSize, int batches)
    {
        CheckSampleSize(batchSize, batches);
        if (_priorities is not null)
        {
            throw new InvalidOperationException($"{Name}: drawing several minibatches at once needs uniform sampling (priorities change after each gradient step); call Sample once per step.");
        }

        return SampleUniform((long)batchSize * batches);
    }

    /// <summary>
    /// Sets the priorities of the sampled transitions at <paramref name="indices"/> (from
    /// <see cref="TransitionBatch.Indices"/>) from their new |TD errors| (finite, ≥ 0): p = (|δ| + ε)^α. Nothing to do
    /// when sampling is uniform.
    /// </summary>
    /// <exception cref="ArgumentException">Mismatched tensors.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range or empty, or an error is NaN, infinite or negative; nothing changes.</exception>
    public void UpdatePriorities(Tensor indices, Tensor tdErrorMagnitudes)
    {
        ThrowIfDisposed();
        _priorities?.UpdatePriorities(indices, tdErrorMagnitudes);
    }

    /// <summary>
    /// Saves the buffer (options, contents, cursors, autoreset flags, n-step windows, priorities, random state) into
    /// <paramref name="directory"/> (created if needed) as <see cref="ReplayBufferFile.UniformFileName"/> or
    /// <see cref="ReplayBufferFile.PrioritizedFileName"/>. The file is written under a temporary name, flushed to disk
    /// and renamed, so an older save stays intact until the new one is complete.
    /// </summary>
    public void Save(string directory)
    {
        ThrowIfDisposed();
        ReplayBufferFile.Save(this, directory);
    }

    /// <summary>
    /// Loads a buffer saved by <see cref="Save"/> (or by an earlier UniformReplayBuffer or PrioritizedReplayBuffer)
    /// from <paramref name="directory"/> onto <paramref name="device"/> (default: the CPU). The file is verified in full
    /// (length, checksum, kind, version, consistency) before any storage is allocated; a bad file is refused with an
    /// <see cref="InvalidDataException"/> naming it and what is wrong.
    /// </summary>
    /// <remarks>
    /// The random state is restored when the device type matches the one saved (so the same samples follow). On
    /// another device type the generator is seeded from a hash of the saved state (deterministic, another stream).
    /// </remarks>
    /// <exception cref="FileNotFoundException">No saved buffer in the directory.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another kind or inconsistent.</exception>
    public static ReplayBuffer Load(string directory, Device? device = null) => ReplayBufferFile.Load(directory, device, expected: null, expectedPriorities: null, forceDevicePath: false);

    /// <summary>
    /// Loads a buffer like <see cref="Load(string, Device?)"/>, onto <paramref name="expected"/>'s device, and refuses a
    /// file saved with other options (capacity, observation shape or storage, action, environments, γ, n-step,
    /// memory-saving mode, uniform or prioritized sampling and α, ε; the seed is not compared): the message names the
    /// file, the field, the saved value and the expected one.
    /// </summary>
    /// <param name="directory">Where the buffer was saved.</param>
    /// <param name="expected">The options it must have been saved with.</param>
    /// <param name="priorities">The priority options it must have been saved with; null: uniform sampling.</param>
    public static ReplayBuffer Load(string directory, ReplayBufferOptions expected, PriorityOptions? priorities = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return ReplayBufferFile.Load(directory, expected.Device, expected, priorities, forceDevicePath: false);
    }

    /// <summary>Disposes the storage and the sampler.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _storage.Dispose();
        _generator?.Dispose();
        _priorities?.Dispose();
    }

    public override string ToString() => Name;

    void ITransitionSink.AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts) => AddTransitions(transitions, discounts);

    private TransitionBatch SampleUniform(long total)
    {
        long range = _storage.SampleRange;
        Tensor indices = torch.randint(0, range, [total], ScalarType.Int64, Device, generator: _generator);
        try
        {
            _storage.RedrawUnsampleable(indices, range, _generator!);
            return _storage.Gather(indices, weights: null);
        }
        catch
        {
            indices.Dispose();
            throw;
        }
    }

    private void CheckSampleSize(int batchSize, int batches)
    {
        ThrowIfDisposed();
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{Name}: the batch size must be at least 1, got {batchSize}.");
        }

        if (batches < 1 || (long)batches * batchSize > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(batches), batches, $"{Name}: the number of minibatches must be at least 1 and batches × batch size at most {int.MaxValue}, got {batches} × {batchSize}.");
        }

        long count = _storage.Count;
        if (count == 0)
        {
            throw new InvalidOperationException($"{Name}: cannot sample {batchSize} transitions from an empty buffer; add transitions first.");
        }

        if (batchSize > count)
        {
            throw new InvalidOperationException($"{Name}: cannot sample {batchSize} transitions: the buffer holds {count}. Sample at most Count transitions, or wait until it holds enough.");
        }
    }

    /// <summary>Gives every newly written slot the maximal priority (prioritized sampling).</summary>
    private void Report(SlotChanges changes)
    {
        int n = changes.CompletedCount;
        if (_priorities is null || n == 0)
        {
            return;
        }

        int[]? rented = n > 256 ? ArrayPool<int>.Shared.Rent(n) : null;
        Span<int> slots = rented is null ? stackalloc int[n] : rented.AsSpan(0, n);
        int capacity = _storage.Capacity;
        for (int k = 0; k < n; k++)
        {
            slots[k] = (int)((changes.CompletedStart + k) % capacity);
        }

        _priorities.AddAtMaxPriority(slots);
        if (rented is not null)
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// With n-step returns, byte observations are checked against [0, 255] before the assembler keeps them, so that
    /// its emissions cannot be refused later (the assembler itself checks lengths and finiteness).
    /// </summary>
    private void CheckByteObservations(ReadOnlySpan<float> observations, ReadOnlySpan<float> nextObservations)
    {
        if (Options.ObservationStorage != ObservationStorage.UInt8)
        {
            return;
        }

        int os = Options.ObservationSize;
        TransitionChecks.Length(Name, "Add", "observations", observations.Length, Options.NumEnvs, os, "env");
        TransitionChecks.Length(Name, "Add", "nextObservations", nextObservations.Length, Options.NumEnvs, os, "env");
        for (int e = 0; e < Options.NumEnvs; e++)
        {
            if (_nStep!.IsPseudoStep(e))
            {
                continue;
            }

            TransitionChecks.Observations(Name, "Add", "observations", observations.Slice(e * os, os), os, ObservationStorage.UInt8, default, "env");
            TransitionChecks.Observations(Name, "Add", "nextObservations", nextObservations.Slice(e * os, os), os, ObservationStorage.UInt8, default, "env");
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
}
