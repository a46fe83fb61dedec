using System.Buffers;
using System.Text.Json;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Proportional prioritized experience replay (Schaul et al. 2016): the transition storage of
/// <see cref="UniformReplayBuffer"/> combined with an <see cref="IPrioritySampler"/>. New transitions get the maximal
/// priority seen so far; <see cref="Sample"/> draws stratified by priority and returns importance-sampling weights
/// in <see cref="TransitionBatch.Weights"/>; <see cref="UpdatePriorities"/> takes the new |TD errors| of the sampled
/// transitions. On a CPU device the sum/min trees of <see cref="ManagedPrioritySampler"/> are used; on other devices
/// <see cref="DevicePrioritySampler"/> keeps the priorities on the device so sampling needs no host round trip.
/// </summary>
/// <remarks>
/// Autoreset handling, bad-input checks and n-step assembly are those of <see cref="UniformReplayBuffer"/>. The
/// memory-saving mode is not available here: its unsampleable slots would need a priority of exactly zero, which the
/// samplers cannot give an occupied slot.
/// </remarks>
public sealed class PrioritizedReplayBuffer : ITransitionSink, IDisposable
{
    /// <summary>The kind recorded in saved files.</summary>
    public const string Kind = "PrioritizedReplayBuffer";

    /// <summary>The version of the saved metadata and sections of this kind.</summary>
    public const int KindVersion = 1;

    /// <summary>The file name inside the directory given to <see cref="Save"/> and <see cref="Load"/>.</summary>
    public const string FileName = "prioritized-replay-buffer.rlmb";

    private readonly TransitionStorage _storage;
    private readonly IPrioritySampler _sampler;
    private readonly NStepAssembler? _nStep;
    private readonly PrioritySink _sink;
    private bool _disposed;

    /// <summary>Builds an empty buffer on <see cref="ReplayBufferOptions.Device"/> (the CPU by default).</summary>
    /// <exception cref="ArgumentException">The options are inconsistent, or ask for the memory-saving mode.</exception>
    public PrioritizedReplayBuffer(ReplayBufferOptions options, PriorityOptions? priorities = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MemorySaving)
        {
            throw new ArgumentException(
                "PrioritizedReplayBuffer: the memory-saving mode is not available with prioritized replay (its unsampleable slots need priority 0); set MemorySaving = false.",
                nameof(options));
        }

        _storage = new TransitionStorage(options, Kind);
        try
        {
            PriorityOptions = priorities ?? new PriorityOptions();
            _sampler = _storage.Device.type == DeviceType.CPU
                ? new ManagedPrioritySampler(_storage.Capacity, PriorityOptions, options.Seed)
                : new DevicePrioritySampler(_storage.Capacity, PriorityOptions, options.Seed, _storage.Device);
            _sink = new PrioritySink(_storage, _sampler);
            if (options.NSteps > 1)
            {
                _nStep = new NStepAssembler(options.NSteps, options.Gamma, options.NumEnvs, options.ObservationSize, options.Action);
            }
        }
        catch
        {
            _sampler?.Dispose();
            _storage.Dispose();
            throw;
        }
    }

    /// <summary>The options the buffer was built from.</summary>
    public ReplayBufferOptions Options => _storage.Options;

    /// <summary>α and ε of the priorities.</summary>
    public PriorityOptions PriorityOptions { get; }

    /// <summary>A name for messages.</summary>
    public string Name => _storage.Name;

    /// <summary>The device of the storage and of sampled batches.</summary>
    public Device Device => _storage.Device;

    /// <summary>Slots of storage.</summary>
    public int Capacity => _storage.Capacity;

    /// <summary>The number of transitions that can be sampled.</summary>
    public long Count => _storage.Count;

    /// <summary>The sampler (its priorities, for inspection and tests).</summary>
    public IPrioritySampler Sampler => _sampler;

    /// <summary>Stores one step of N environments with discrete actions (see <see cref="UniformReplayBuffer"/>).</summary>
    /// <exception cref="ArgumentException">Bad input; the buffer is unchanged.</exception>
    public void AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        ThrowIfDisposed();
        if (_nStep is null)
        {
            _sink.Report(_storage.AddStep(observations, actions, rewards, terminated, truncated, nextObservations));
        }
        else
        {
            _nStep.AddStep(observations, actions, rewards, terminated, truncated, nextObservations, _sink);
        }
    }

    /// <summary>Stores one step of N environments with continuous actions (N × d floats).</summary>
    /// <exception cref="ArgumentException">Bad input; the buffer is unchanged.</exception>
    public void AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        ThrowIfDisposed();
        if (_nStep is null)
        {
            _sink.Report(_storage.AddStep(observations, actions, rewards, terminated, truncated, nextObservations));
        }
        else
        {
            _nStep.AddStep(observations, actions, rewards, terminated, truncated, nextObservations, _sink);
        }
    }

    /// <summary>Stores M complete transitions (each at the maximal priority).</summary>
    public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        ThrowIfDisposed();
        _sink.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);
    }

    /// <summary>Stores M complete transitions with continuous actions (each at the maximal priority).</summary>
    public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        ThrowIfDisposed();
        _sink.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);
    }

    /// <summary>Tells the buffer the vector environment was reset outside <c>AddStep</c> (see <see cref="UniformReplayBuffer.BeginNewEpisodes"/>).</summary>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        _nStep?.BeginNewEpisodes(_sink);
        _storage.BeginNewEpisodes();
    }

    /// <summary>
    /// Draws <paramref name="batchSize"/> transitions with probability ∝ priority (stratified, with replacement) and
    /// returns them with importance-sampling weights <c>(p_min / p_i)^β</c> in <see cref="TransitionBatch.Weights"/>.
    /// </summary>
    /// <param name="batchSize">Transitions to draw (at most <see cref="Count"/>).</param>
    /// <param name="beta">The importance-sampling exponent β in [0, 1], usually annealed to 1 over training.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bad batch size or β.</exception>
    /// <exception cref="InvalidOperationException">The buffer is empty or holds fewer than <paramref name="batchSize"/> transitions.</exception>
    public TransitionBatch Sample(int batchSize, double beta)
    {
        ThrowIfDisposed();
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{Name}: the batch size must be at least 1, got {batchSize}.");
        }

        long count = _storage.Count;
        if (count == 0)
        {
            throw new InvalidOperationException($"{Name}: cannot sample {batchSize} transitions from an empty buffer; add transitions first.");
        }

        if (batchSize > count)
        {
            throw new InvalidOperationException($"{Name}: cannot sample {batchSize} transitions: the buffer holds {count}.");
        }

        PrioritySample sample = _sampler.Sample(batchSize, beta);
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
    /// Sets the priorities of the sampled transitions at <paramref name="indices"/> (from
    /// <see cref="TransitionBatch.Indices"/>) from their new |TD errors| (finite, ≥ 0): p = (|δ| + ε)^α.
    /// </summary>
    /// <exception cref="ArgumentException">Mismatched tensors.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range or empty, or an error is NaN, infinite or negative; nothing changes.</exception>
    public void UpdatePriorities(Tensor indices, Tensor tdErrorMagnitudes)
    {
        ThrowIfDisposed();
        _sampler.UpdatePriorities(indices, tdErrorMagnitudes);
    }

    /// <summary>
    /// Saves the buffer (options, priority options, contents, cursors, autoreset flags, n-step windows, priorities and
    /// the sampler's random state) to <c><paramref name="directory"/>/prioritized-replay-buffer.rlmb</c>, atomically.
    /// </summary>
    public void Save(string directory)
    {
        ThrowIfDisposed();
        ArgumentException.ThrowIfNullOrEmpty(directory);
        PrioritySamplerState state = _sampler.ExportState();
        var metadata = new SavedMetadata
        {
            Options = SavedOptions.From(Options),
            Storage = _storage.CaptureState(),
            Alpha = PriorityOptions.Alpha,
            Epsilon = PriorityOptions.Epsilon,
            MaxPriority = state.MaxPriority,
            RandomAlgorithm = state.RandomAlgorithm,
        };
        using var writer = BufferFileWriter.Create(Path.Combine(directory, FileName), Kind, KindVersion, JsonSerializer.Serialize(metadata, MemoryJsonContext.Default.PrioritizedMetadata));
        _storage.WriteSections(writer);
        writer.WriteSection<double>("priorities", state.Priorities, state.Priorities.Length);
        writer.WriteSection<byte>("sampler_random_state", state.RandomState, state.RandomState.Length);
        _nStep?.WriteSections(writer, "nstep_");
        writer.Commit();
    }

    /// <summary>
    /// Loads a buffer saved by <see cref="Save"/> onto <paramref name="device"/> (default: the CPU), verifying the file
    /// completely before allocating anything. Priorities always carry over; the sampler's random state carries over
    /// when the same kind of sampler is used (the same device type), otherwise the sampler is seeded from the options.
    /// </summary>
    /// <exception cref="FileNotFoundException">No saved buffer in the directory.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another kind or inconsistent.</exception>
    public static PrioritizedReplayBuffer Load(string directory, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        using BufferFileReader reader = BufferFileReader.Open(Path.Combine(directory, FileName));
        if (reader.Kind != Kind || reader.KindVersion < 1 || reader.KindVersion > KindVersion)
        {
            throw new InvalidDataException($"{reader.Path} holds a {reader.Kind} (version {reader.KindVersion}), not a {Kind} of version 1..{KindVersion}.");
        }

        SavedMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(reader.MetadataJson, MemoryJsonContext.Default.PrioritizedMetadata) ?? throw new InvalidDataException($"{reader.Path}: the metadata is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata is not valid: {e.Message}", e);
        }

        if (metadata.Options is null || metadata.Storage is null || metadata.RandomAlgorithm is null)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata lacks options, storage state or the sampler's random algorithm.");
        }

        ReplayBufferOptions saved;
        PriorityOptions priorities;
        try
        {
            saved = metadata.Options.ToOptions(device);
            saved.Validate();
            priorities = new PriorityOptions { Alpha = metadata.Alpha, Epsilon = metadata.Epsilon };
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{reader.Path}: the saved options are invalid: {e.Message}", e);
        }

        TransitionStorage.CheckSaved(reader, saved, metadata.Storage);
        if (saved.NSteps > 1)
        {
            NStepAssembler.CheckSaved(reader, "nstep_", saved.NSteps, saved.NumEnvs, saved.ObservationSize, saved.Action);
        }

        reader.Expect("priorities", ScalarType.Float64, saved.Capacity);
        BufferSection randomState = reader.Section("sampler_random_state");
        if (randomState.DType != ScalarType.Byte || randomState.Shape.Count != 1)
        {
            throw new InvalidDataException($"{reader.Path}: section 'sampler_random_state' is {randomState}, expected uint8 [n].");
        }

        double[] stored = reader.ReadArray<double>("priorities");
        byte[] random = reader.ReadArray<byte>("sampler_random_state");
        var buffer = new PrioritizedReplayBuffer(saved, priorities);
        try
        {
            buffer._storage.ReadSections(reader, metadata.Storage);
            buffer._nStep?.ReadSections(reader, "nstep_");
            PrioritySamplerState fresh = buffer._sampler.ExportState();
            bool sameSampler = fresh.RandomAlgorithm == metadata.RandomAlgorithm;
            try
            {
                buffer._sampler.ImportState(fresh with
                {
                    Priorities = stored,
                    MaxPriority = metadata.MaxPriority,
                    RandomState = sameSampler ? random : fresh.RandomState,
                });
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{reader.Path}: the saved priorities were refused: {e.Message}", e);
            }

            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Disposes the storage and the sampler.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _sampler.Dispose();
        _storage.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    void ITransitionSink.AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
        AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);

    void ITransitionSink.AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
        AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            // ThrowIf(bool, object) would name the string's type, not the buffer.
            throw new ObjectDisposedException(Name, $"{Name} was disposed; create or load a new buffer.");
        }
    }

    /// <summary>Writes into the storage and gives every newly written slot the maximal priority.</summary>
    private sealed class PrioritySink(TransitionStorage storage, IPrioritySampler sampler) : ITransitionSink
    {
        public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
            Report(storage.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts));

        public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
            Report(storage.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts));

        public void Report(SlotChanges changes)
        {
            int n = changes.CompletedCount;
            if (n == 0)
            {
                return;
            }

            int[]? rented = n > 256 ? ArrayPool<int>.Shared.Rent(n) : null;
            Span<int> slots = rented is null ? stackalloc int[n] : rented.AsSpan(0, n);
            int capacity = storage.Capacity;
            for (int k = 0; k < n; k++)
            {
                slots[k] = (int)((changes.CompletedStart + k) % capacity);
            }

            sampler.AddAtMaxPriority(slots);
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The metadata of a saved prioritized buffer.</summary>
    internal sealed record SavedMetadata
    {
        public SavedOptions? Options { get; init; }

        public StorageState? Storage { get; init; }

        public double Alpha { get; init; }

        public double Epsilon { get; init; }

        public double MaxPriority { get; init; }

        public string? RandomAlgorithm { get; init; }
    }
}
