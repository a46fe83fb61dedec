using System.Text.Json;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// A replay buffer that samples its stored transitions uniformly. Its storage is preallocated on a torch device;
/// <see cref="AddStep(ReadOnlySpan{float}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{bool}, ReadOnlySpan{bool}, ReadOnlySpan{float})"/>
/// stores one vector-environment step, <see cref="Sample(int)"/> draws indices on the device with the buffer's own
/// generator and returns device tensors.
/// </summary>
/// <remarks>
/// <para>The training loop:</para>
/// <code>
/// vec.Observations.CopyTo(obs, 0);           // the observations the actions are chosen from
/// vec.Step(actions);
/// buffer.AddStep(obs, actions, vec.Rewards, vec.Terminations, vec.Truncations, vec.Observations);
/// using (var batch = buffer.Sample(256)) { /* learn */ }
/// </code>
/// <para><b>Autoreset.</b> The buffer follows Gymnasium 1.x's NEXT_STEP autoreset itself: after environment e ended
/// (terminated or truncated), its next entry is the reset pseudo-step (action ignored, reward 0, next observation =
/// the new episode's first) and is not stored as a transition. Call <see cref="BeginNewEpisodes"/> after resetting
/// the vector environment yourself.</para>
/// <para><b>Bad input</b> (wrong lengths, the wrong kind of action, NaN or infinite observations, rewards or
/// continuous actions, byte observations outside [0, 255]) is refused with an <see cref="ArgumentException"/> that
/// names the buffer, the argument, the index and the value; a refused call changes nothing. Entries of pseudo-steps
/// are ignored and not checked.</para>
/// <para>Not thread-safe: use one buffer from one thread at a time.</para>
/// </remarks>
public sealed class UniformReplayBuffer : ITransitionSink, IDisposable
{
    /// <summary>The kind recorded in saved files.</summary>
    public const string Kind = "UniformReplayBuffer";

    /// <summary>The version of the saved metadata and sections of this kind.</summary>
    public const int KindVersion = 1;

    /// <summary>The file name inside the directory given to <see cref="Save"/> and <see cref="Load(string, Device?)"/>.</summary>
    public const string FileName = "replay-buffer.rlmb";

    private readonly TransitionStorage _storage;
    private readonly NStepAssembler? _nStep;
    private readonly StorageSink? _nStepSink;
    private readonly Generator _generator;
    private bool _disposed;

    /// <summary>Builds an empty buffer (allocating all its storage on the device).</summary>
    /// <exception cref="ArgumentException">The options break a rule between fields (see <see cref="ReplayBufferOptions.Validate"/>).</exception>
    public UniformReplayBuffer(ReplayBufferOptions options)
        : this(options, forceDevicePath: false)
    {
    }

    internal UniformReplayBuffer(ReplayBufferOptions options, bool forceDevicePath)
    {
        ArgumentNullException.ThrowIfNull(options);
        _storage = new TransitionStorage(options, Kind, forceDevicePath);
        try
        {
            _generator = new Generator(options.Seed, _storage.Device);
            if (options.NSteps > 1)
            {
                _nStep = new NStepAssembler(options.NSteps, options.Gamma, options.NumEnvs, options.ObservationSize, options.Action);
                _nStepSink = new StorageSink(_storage);
            }
        }
        catch
        {
            _storage.Dispose();
            throw;
        }
    }

    /// <summary>The options the buffer was built from.</summary>
    public ReplayBufferOptions Options => _storage.Options;

    /// <summary>A name for messages, e.g. <c>UniformReplayBuffer(capacity 1000000, obs [4])</c>.</summary>
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

    /// <summary>The storage (for samplers and tests in this assembly).</summary>
    internal TransitionStorage Storage => _storage;

    /// <summary>The n-step assembler when <see cref="ReplayBufferOptions.NSteps"/> &gt; 1.</summary>
    internal NStepAssembler? NStep => _nStep;

    /// <summary>
    /// Stores one step of N environments with discrete actions. <paramref name="observations"/> are the observations
    /// the actions were chosen from, <paramref name="nextObservations"/> what the step returned (N × observation size
    /// floats each); the other spans hold one value per environment. With n-step returns the step goes through the
    /// buffer's <see cref="NStepAssembler"/>, which stores the transitions it completes.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input (see the class remarks); the buffer is unchanged.</exception>
    public void AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        ThrowIfDisposed();
        if (_nStep is null)
        {
            _storage.AddStep(observations, actions, rewards, terminated, truncated, nextObservations);
            return;
        }

        CheckStepObservations(observations, nextObservations);
        _nStep.AddStep(observations, actions, rewards, terminated, truncated, nextObservations, _nStepSink!);
    }

    /// <summary>Stores one step of N environments with continuous actions (N × d floats).</summary>
    /// <exception cref="ArgumentException">Bad input (see the class remarks); the buffer is unchanged.</exception>
    public void AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        ThrowIfDisposed();
        if (_nStep is null)
        {
            _storage.AddStep(observations, actions, rewards, terminated, truncated, nextObservations);
            return;
        }

        CheckStepObservations(observations, nextObservations);
        _nStep.AddStep(observations, actions, rewards, terminated, truncated, nextObservations, _nStepSink!);
    }

    /// <summary>
    /// Stores M complete transitions, each with its own next observation and discount (what an
    /// <see cref="NStepAssembler"/> emits). Not in memory-saving mode.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input; the buffer is unchanged.</exception>
    /// <exception cref="InvalidOperationException">The buffer is in memory-saving mode.</exception>
    public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        ThrowIfDisposed();
        _storage.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);
    }

    /// <summary>Stores M complete transitions with continuous actions (M × d floats). Not in memory-saving mode.</summary>
    public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts)
    {
        ThrowIfDisposed();
        _storage.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);
    }

    /// <summary>
    /// Tells the buffer that the vector environment was reset outside <c>AddStep</c> (e.g. <c>vec.Reset()</c>): the
    /// next step's entries are all real transitions. The transitions already stored are kept; with n-step returns the
    /// partial windows are stored as transitions that bootstrap from their last next observation.
    /// </summary>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        _nStep?.BeginNewEpisodes(_nStepSink!);
        _storage.BeginNewEpisodes();
    }

    /// <summary>
    /// Draws <paramref name="batchSize"/> stored transitions uniformly at random, with replacement, on the device.
    /// The caller owns the batch: dispose it, or sample inside a dispose scope.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The buffer is empty or holds fewer than <paramref name="batchSize"/> transitions.</exception>
    public TransitionBatch Sample(int batchSize) => Sample(batchSize, batches: 1);

    /// <summary>
    /// Draws the minibatches of <paramref name="batches"/> consecutive gradient steps in one go:
    /// <paramref name="batches"/> × <paramref name="batchSize"/> transitions, uniformly at random with replacement, in
    /// one batch whose rows [k·batchSize, (k+1)·batchSize) are minibatch k (split it with
    /// <see cref="TransitionBatch.Slice"/>). Equivalent in distribution to as many calls of <see cref="Sample(int)"/>
    /// with no insert in between, at a fraction of the cost.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the total exceeds 2³¹ − 1.</exception>
    /// <exception cref="InvalidOperationException">The buffer is empty or holds fewer than <paramref name="batchSize"/> transitions.</exception>
    public TransitionBatch Sample(int batchSize, int batches)
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

        long range = _storage.SampleRange;
        Tensor indices = torch.randint(0, range, [(long)batchSize * batches], ScalarType.Int64, Device, generator: _generator);
        try
        {
            _storage.RedrawUnsampleable(indices, range, _generator);
            return _storage.Gather(indices, weights: null);
        }
        catch
        {
            indices.Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------- persistence

    /// <summary>
    /// Saves the buffer (options, contents, cursors, autoreset flags, n-step windows, generator state) to
    /// <c><paramref name="directory"/>/replay-buffer.rlmb</c>, creating the directory if needed. The file is written
    /// under a temporary name, flushed to disk and renamed, so an older save stays intact until the new one is complete.
    /// </summary>
    public void Save(string directory)
    {
        ThrowIfDisposed();
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var metadata = new SavedMetadata
        {
            Options = SavedOptions.From(Options),
            Storage = _storage.CaptureState(),
            GeneratorDeviceType = Device.type.ToString(),
        };
        using var writer = BufferFileWriter.Create(Path.Combine(directory, FileName), Kind, KindVersion, JsonSerializer.Serialize(metadata, MemoryJsonContext.Default.UniformMetadata));
        _storage.WriteSections(writer);
        using (Tensor state = _generator.get_state())
        {
            writer.WriteSection("generator_state", state);
        }

        _nStep?.WriteSections(writer, "nstep_");
        writer.Commit();
    }

    /// <summary>
    /// Loads a buffer saved by <see cref="Save"/> from <paramref name="directory"/> onto <paramref name="device"/>
    /// (default: the CPU). The file is verified in full (length, checksum, kind, version, consistency) before any
    /// storage is allocated; a bad file is refused with an <see cref="InvalidDataException"/> naming it and what is wrong.
    /// </summary>
    /// <remarks>
    /// The generator state is restored when the device type matches the one saved (so the same samples follow). On
    /// another device type (the CPU and CUDA generators differ), the generator is seeded from a hash of the saved state:
    /// deterministic, but a different stream.
    /// </remarks>
    /// <exception cref="FileNotFoundException">No saved buffer in the directory.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another kind or inconsistent.</exception>
    public static UniformReplayBuffer Load(string directory, Device? device = null) => LoadCore(directory, device, expected: null, forceDevicePath: false);

    /// <summary>
    /// Loads a buffer like <see cref="Load(string, Device?)"/>, onto <paramref name="expected"/>'s device, and refuses
    /// a file saved with other options (capacity, observation shape or storage, action, environments, γ, n-step,
    /// memory-saving mode; the seed is not compared): the message names the file, the field, the saved value and the
    /// expected one.
    /// </summary>
    public static UniformReplayBuffer Load(string directory, ReplayBufferOptions expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return LoadCore(directory, expected.Device, expected, forceDevicePath: false);
    }

    internal static UniformReplayBuffer LoadCore(string directory, Device? device, ReplayBufferOptions? expected, bool forceDevicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string path = Path.Combine(directory, FileName);
        using BufferFileReader reader = BufferFileReader.Open(path);
        if (reader.Kind != Kind)
        {
            throw new InvalidDataException($"{reader.Path} holds a {reader.Kind}, not a {Kind}.");
        }

        if (reader.KindVersion < 1 || reader.KindVersion > KindVersion)
        {
            throw new InvalidDataException($"{reader.Path} holds a {Kind} of layout version {reader.KindVersion}; this build reads version {KindVersion}.");
        }

        SavedMetadata metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(reader.MetadataJson, MemoryJsonContext.Default.UniformMetadata)
                ?? throw new InvalidDataException($"{reader.Path}: the metadata is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata is not valid: {e.Message}", e);
        }

        if (metadata.Options is null || metadata.Storage is null || metadata.GeneratorDeviceType is null)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata lacks options, storage state or generator device.");
        }

        ReplayBufferOptions saved;
        try
        {
            saved = metadata.Options.ToOptions(device);
            saved.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{reader.Path}: the saved options are invalid: {e.Message}", e);
        }

        if (expected is not null)
        {
            CheckExpected(reader.Path, saved, expected);
        }

        TransitionStorage.CheckSaved(reader, saved, metadata.Storage);
        if (saved.NSteps > 1)
        {
            NStepAssembler.CheckSaved(reader, "nstep_", saved.NSteps, saved.NumEnvs, saved.ObservationSize, saved.Action);
        }

        BufferSection generatorState = reader.Section("generator_state");
        if (generatorState.DType != ScalarType.Byte || generatorState.Shape.Count != 1)
        {
            throw new InvalidDataException($"{reader.Path}: section 'generator_state' is {generatorState}, expected uint8 [n].");
        }

        // Everything checked: now allocate and read. A failure from here on (an I/O error) disposes the new buffer.
        var buffer = new UniformReplayBuffer(saved, forceDevicePath);
        try
        {
            buffer._storage.ReadSections(reader, metadata.Storage);
            buffer._nStep?.ReadSections(reader, "nstep_");
            using Tensor state = torch.empty([generatorState.Shape[0]], ScalarType.Byte, torch.CPU);
            reader.ReadInto("generator_state", state);
            if (metadata.GeneratorDeviceType == buffer.Device.type.ToString())
            {
                if (TorchGeneratorState.Problem(buffer._generator, state.bytes) is string problem)
                {
                    throw new InvalidDataException($"{reader.Path}: section 'generator_state' {problem}.");
                }

                try
                {
                    buffer._generator.set_state(state);
                }
                catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException)
                {
                    throw new InvalidDataException($"{reader.Path}: the saved generator state was refused by torch: {e.Message}", e);
                }
            }
            else
            {
                buffer._generator.manual_seed(SeedFrom(state));
            }

            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Disposes the storage and the generator.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _storage.Dispose();
        _generator.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    void ITransitionSink.AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
        AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);

    void ITransitionSink.AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
        AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);

    /// <summary>
    /// With n-step returns, byte observations are checked against [0, 255] before the assembler keeps them, so that
    /// its emissions cannot be refused later (the assembler itself checks lengths and finiteness).
    /// </summary>
    private void CheckStepObservations(ReadOnlySpan<float> observations, ReadOnlySpan<float> nextObservations)
    {
        if (Options.ObservationStorage != ObservationStorage.UInt8)
        {
            return;
        }

        int os = Options.ObservationSize;
        TransitionChecks.Length(Name, "AddStep", "observations", observations.Length, Options.NumEnvs, os, "env");
        TransitionChecks.Length(Name, "AddStep", "nextObservations", nextObservations.Length, Options.NumEnvs, os, "env");
        for (int e = 0; e < Options.NumEnvs; e++)
        {
            if (_nStep!.IsPseudoStep(e))
            {
                continue;
            }

            TransitionChecks.Observations(Name, "AddStep", "observations", observations.Slice(e * os, os), os, ObservationStorage.UInt8, default, "env");
            TransitionChecks.Observations(Name, "AddStep", "nextObservations", nextObservations.Slice(e * os, os), os, ObservationStorage.UInt8, default, "env");
        }
    }

    private static void CheckExpected(string path, ReplayBufferOptions saved, ReplayBufferOptions expected)
    {
        void Same<T>(string field, T savedValue, T expectedValue, Func<T, string> show)
        {
            if (!EqualityComparer<T>.Default.Equals(savedValue, expectedValue))
            {
                throw new InvalidDataException($"{path} was saved with {field} {show(savedValue)}, but {show(expectedValue)} is expected; load it without expected options, or build the buffer with the saved ones.");
            }
        }

        string shapeSaved = $"[{ReplayBufferOptions.ShapeText(saved.ObservationShape)}]";
        string shapeExpected = $"[{ReplayBufferOptions.ShapeText(expected.ObservationShape)}]";
        Same("ObservationShape", shapeSaved, shapeExpected, s => s);
        Same("ObservationStorage", saved.ObservationStorage, expected.ObservationStorage, s => s.ToString());
        Same("Action", saved.Action, expected.Action, a => a.ToString());
        Same("NumEnvs", saved.NumEnvs, expected.NumEnvs, v => v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Same("Capacity", saved.Capacity, expected.Capacity, v => v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Same("MemorySaving", saved.MemorySaving, expected.MemorySaving, v => v.ToString());
        Same("NSteps", saved.NSteps, expected.NSteps, v => v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Same("Gamma", saved.Gamma, expected.Gamma, v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A 63-bit seed from generator state bytes (FNV-1a).</summary>
    private static long SeedFrom(Tensor state)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in state.data<byte>())
        {
            h = (h ^ b) * 1099511628211UL;
        }

        return (long)(h >> 1);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            // ThrowIf(bool, object) would name the string's type, not the buffer.
            throw new ObjectDisposedException(Name, $"{Name} was disposed; create or load a new buffer.");
        }
    }

    /// <summary>Lets the n-step assembler write into the storage.</summary>
    private sealed class StorageSink(TransitionStorage storage) : ITransitionSink
    {
        public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
            storage.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);

        public void AddTransitions(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
            storage.AddTransitions(observations, actions, rewards, terminated, truncated, nextObservations, discounts);
    }

    /// <summary>The metadata of a saved uniform buffer.</summary>
    internal sealed record SavedMetadata
    {
        public SavedOptions? Options { get; init; }

        public StorageState? Storage { get; init; }

        public string? GeneratorDeviceType { get; init; }
    }
}

/// <summary>The options as saved (everything but the device, which is chosen at load time).</summary>
internal sealed record SavedOptions
{
    public int Capacity { get; init; }

    public int[] ObservationShape { get; init; } = [];

    public string ObservationStorage { get; init; } = "";

    public string ActionKind { get; init; } = "";

    public int ActionDimension { get; init; }

    public int NumEnvs { get; init; }

    public double Gamma { get; init; }

    public int NSteps { get; init; }

    public bool MemorySaving { get; init; }

    public ulong Seed { get; init; }

    public static SavedOptions From(ReplayBufferOptions o) => new()
    {
        Capacity = o.Capacity,
        ObservationShape = [.. o.ObservationShape],
        ObservationStorage = o.ObservationStorage.ToString(),
        ActionKind = o.Action.Kind.ToString(),
        ActionDimension = o.Action.Dimension,
        NumEnvs = o.NumEnvs,
        Gamma = o.Gamma,
        NSteps = o.NSteps,
        MemorySaving = o.MemorySaving,
        Seed = o.Seed,
    };

    /// <summary>The options on <paramref name="device"/>; invalid values throw <see cref="ArgumentException"/>.</summary>
    public ReplayBufferOptions ToOptions(Device? device)
    {
        if (!Enum.TryParse(ObservationStorage, out ObservationStorage storage) || !Enum.IsDefined(storage))
        {
            throw new ArgumentException($"unknown observation storage '{ObservationStorage}'");
        }

        ActionSpec action = ActionKind switch
        {
            nameof(Memory.ActionKind.Discrete) => ActionSpec.Discrete,
            nameof(Memory.ActionKind.Continuous) => ActionSpec.Continuous(ActionDimension),
            _ => throw new ArgumentException($"unknown action kind '{ActionKind}'"),
        };

        return new ReplayBufferOptions
        {
            Capacity = Capacity,
            ObservationShape = ObservationShape ?? throw new ArgumentException("no observation shape"),
            ObservationStorage = storage,
            Action = action,
            NumEnvs = NumEnvs,
            Gamma = Gamma,
            NSteps = NSteps,
            MemorySaving = MemorySaving,
            Device = device,
            Seed = Seed,
        };
    }
}
