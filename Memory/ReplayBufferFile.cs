using System.Globalization;
using System.Text.Json;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The files of a saved <see cref="ReplayBuffer"/>: a checksummed buffer file (<see cref="BufferFileWriter"/>) with the
/// options, the storage's cursors and tensors, the n-step windows and the sampler's state. A uniform buffer is saved as
/// <see cref="UniformFileName"/> (kind <see cref="UniformKind"/>), a prioritized one as
/// <see cref="PrioritizedFileName"/> (kind <see cref="PrioritizedKind"/>); both layouts are those the earlier
/// UniformReplayBuffer and PrioritizedReplayBuffer wrote, so their files load.
/// </summary>
public static class ReplayBufferFile
{
    /// <summary>The kind recorded in the file of a uniform buffer.</summary>
    public const string UniformKind = "UniformReplayBuffer";

    /// <summary>The kind recorded in the file of a prioritized buffer.</summary>
    public const string PrioritizedKind = "PrioritizedReplayBuffer";

    /// <summary>The version of the saved metadata and sections of either kind.</summary>
    public const int KindVersion = 1;

    /// <summary>The file name of a uniform buffer inside the directory given to <see cref="ReplayBuffer.Save"/>.</summary>
    public const string UniformFileName = "replay-buffer.rlmb";

    /// <summary>The file name of a prioritized buffer inside the directory given to <see cref="ReplayBuffer.Save"/>.</summary>
    public const string PrioritizedFileName = "prioritized-replay-buffer.rlmb";

    internal static void Save(ReplayBuffer buffer, string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        TransitionStorage storage = buffer.Storage;
        string json;
        if (buffer.PrioritySampler is IPrioritySampler sampler)
        {
            PrioritySamplerState state = sampler.ExportState();
            json = JsonSerializer.Serialize(
                new PrioritizedMetadata
                {
                    Options = SavedOptions.From(buffer.Options),
                    Storage = storage.CaptureState(),
                    Alpha = sampler.Options.Alpha,
                    Epsilon = sampler.Options.Epsilon,
                    MaxPriority = state.MaxPriority,
                    RandomAlgorithm = state.RandomAlgorithm,
                },
                MemoryJsonContext.Default.PrioritizedMetadata);
            using var writer = BufferFileWriter.Create(Path.Combine(directory, PrioritizedFileName), PrioritizedKind, KindVersion, json);
            storage.WriteSections(writer);
            writer.WriteSection<double>("priorities", state.Priorities, state.Priorities.Length);
            writer.WriteSection<byte>("sampler_random_state", state.RandomState, state.RandomState.Length);
            buffer.NStep?.WriteSections(writer, "nstep_");
            writer.Commit();
        }
        else
        {
            json = JsonSerializer.Serialize(
                new UniformMetadata { Options = SavedOptions.From(buffer.Options), Storage = storage.CaptureState(), GeneratorDeviceType = buffer.Device.type.ToString() },
                MemoryJsonContext.Default.UniformMetadata);
            using var writer = BufferFileWriter.Create(Path.Combine(directory, UniformFileName), UniformKind, KindVersion, json);
            storage.WriteSections(writer);
            using (Tensor state = buffer.Generator!.get_state())
            {
                writer.WriteSection("generator_state", state);
            }

            buffer.NStep?.WriteSections(writer, "nstep_");
            writer.Commit();
        }
    }

    /// <param name="directory">Holds one of the two files.</param>
    /// <param name="device">Where to allocate (default: the CPU).</param>
    /// <param name="expected">Options the file must have been saved with, or null.</param>
    /// <param name="expectedPriorities">With <paramref name="expected"/>: the priority options it must have been saved
    /// with, null for uniform sampling.</param>
    /// <param name="forceDevicePath">Tests: the storage's device path on the CPU.</param>
    internal static ReplayBuffer Load(string directory, Device? device, ReplayBufferOptions? expected, PriorityOptions? expectedPriorities, bool forceDevicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string uniform = Path.Combine(directory, UniformFileName);
        string prioritized = Path.Combine(directory, PrioritizedFileName);
        bool hasUniform = File.Exists(uniform);
        bool hasPrioritized = File.Exists(prioritized);
        if (hasUniform && hasPrioritized)
        {
            throw new InvalidDataException($"{directory} holds both a uniform ({UniformFileName}) and a prioritized ({PrioritizedFileName}) replay buffer; keep the one to load in its own folder.");
        }

        // Without either file, open the uniform one so the FileNotFoundException names the expected file.
        using BufferFileReader reader = BufferFileReader.Open(hasPrioritized ? prioritized : uniform);
        SavedFields.RequireKind(reader, hasPrioritized ? PrioritizedKind : UniformKind, KindVersion);

        return hasPrioritized
            ? LoadPrioritized(reader, device, expected, expectedPriorities, forceDevicePath)
            : LoadUniform(reader, device, expected, expectedPriorities, forceDevicePath);
    }

    private static ReplayBuffer LoadUniform(BufferFileReader reader, Device? device, ReplayBufferOptions? expected, PriorityOptions? expectedPriorities, bool forceDevicePath)
    {
        UniformMetadata metadata = SavedFields.Metadata(reader, MemoryJsonContext.Default.UniformMetadata);
        if (metadata.Options is null || metadata.Storage is null || metadata.GeneratorDeviceType is null)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata lacks options, storage state or generator device.");
        }

        ReplayBufferOptions saved = SavedOptionsOf(reader, metadata.Options, device);
        CheckExpected(reader.Path, saved, null, expected, expectedPriorities);
        CheckStorage(reader, saved, metadata.Storage);
        BufferSection generatorState = SavedFields.GeneratorSection(reader);

        // Everything checked: now allocate and read. A failure from here on (an I/O error) disposes the new buffer.
        var buffer = new ReplayBuffer(saved, priorities: null, forceDevicePath);
        try
        {
            buffer.Storage.ReadSections(reader, metadata.Storage);
            buffer.NStep?.ReadSections(reader, "nstep_");
            SavedFields.RestoreGenerator(reader, generatorState, buffer.Generator!, metadata.GeneratorDeviceType, buffer.Device);
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    private static ReplayBuffer LoadPrioritized(BufferFileReader reader, Device? device, ReplayBufferOptions? expected, PriorityOptions? expectedPriorities, bool forceDevicePath)
    {
        PrioritizedMetadata metadata = SavedFields.Metadata(reader, MemoryJsonContext.Default.PrioritizedMetadata);
        if (metadata.Options is null || metadata.Storage is null || metadata.RandomAlgorithm is null)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata lacks options, storage state or the sampler's random algorithm.");
        }

        ReplayBufferOptions saved = SavedOptionsOf(reader, metadata.Options, device);
        PriorityOptions priorities;
        try
        {
            priorities = new PriorityOptions { Alpha = metadata.Alpha, Epsilon = metadata.Epsilon };
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{reader.Path}: the saved priority options are invalid: {e.Message}", e);
        }

        if (saved.MemorySaving)
        {
            throw new InvalidDataException($"{reader.Path}: the saved options are invalid: a prioritized buffer in memory-saving mode.");
        }

        CheckExpected(reader.Path, saved, priorities, expected, expectedPriorities);
        CheckStorage(reader, saved, metadata.Storage);
        reader.Expect("priorities", ScalarType.Float64, saved.Capacity);
        BufferSection randomState = reader.Section("sampler_random_state");
        if (randomState.DType != ScalarType.Byte || randomState.Shape.Count != 1)
        {
            throw new InvalidDataException($"{reader.Path}: section 'sampler_random_state' is {randomState}, expected uint8 [n].");
        }

        double[] stored = reader.ReadArray<double>("priorities");
        byte[] random = reader.ReadArray<byte>("sampler_random_state");
        var buffer = new ReplayBuffer(saved, priorities, forceDevicePath);
        try
        {
            buffer.Storage.ReadSections(reader, metadata.Storage);
            buffer.NStep?.ReadSections(reader, "nstep_");
            IPrioritySampler sampler = buffer.PrioritySampler!;
            PrioritySamplerState fresh = sampler.ExportState();
            bool sameSampler = fresh.RandomAlgorithm == metadata.RandomAlgorithm;
            try
            {
                // The random state carries over when the same kind of sampler is used (the same device type).
                sampler.ImportState(fresh with
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

    private static ReplayBufferOptions SavedOptionsOf(BufferFileReader reader, SavedOptions options, Device? device) =>
        SavedFields.Options(reader, () =>
        {
            ReplayBufferOptions saved = options.ToOptions(device);
            saved.Validate();
            return saved;
        });

    /// <summary>Checks the storage state and sections, and the n-step sections, against the options (before anything is allocated).</summary>
    private static void CheckStorage(BufferFileReader reader, ReplayBufferOptions options, StorageState state)
    {
        string file = reader.Path;
        int n = options.NumEnvs;
        bool ms = options.MemorySaving;
        int capacity = ms ? options.Capacity / n * n : options.Capacity;
        int rowsInRing = ms ? capacity / n : 0;
        bool inTable = options.ObservationStorage == ObservationStorage.Float32;
        int obsSize = options.ObservationSize;
        int width = (inTable ? (ms ? obsSize : 2 * obsSize) : 0) + options.Action.Dimension + (ms ? 3 : 4);

        void Require(bool ok, string what)
        {
            if (!ok)
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: {what}.");
            }
        }

        Require(state.Capacity == capacity, $"capacity {state.Capacity}, options give {capacity}");
        Require(state.Width == width, $"table width {state.Width}, options give {width}");
        Require(state.PreviousEnded is not null && state.PreviousEnded.Length == n, $"{state.PreviousEnded?.Length} end flags for {n} environments");
        long rows;
        if (ms)
        {
            Require(state.Head >= -1 && state.Head < rowsInRing, $"head row {state.Head} outside [-1, {rowsInRing})");
            Require(state.NextSlot == 0 && state.Size == 0, "plain-mode cursors set in memory-saving mode");
            int expectedComplete = state.Head < 0 ? 0 : state.Wrapped ? rowsInRing - 1 : state.Head;
            Require(state.CompleteRows == expectedComplete, $"{state.CompleteRows} complete rows, head {state.Head} and wrapped={state.Wrapped} give {expectedComplete}");
            Require(!(state.Pending && state.Head < 0), "a pending row before any row was written");
            rows = state.Head < 0 ? 0 : state.Wrapped ? capacity : (long)(state.Head + 1) * n;
        }
        else
        {
            Require(state.Size >= 0 && state.Size <= capacity, $"size {state.Size} outside [0, {capacity}]");
            Require(state.NextSlot >= 0 && state.NextSlot < capacity, $"next slot {state.NextSlot} outside [0, {capacity})");
            Require(state.Size == capacity || state.NextSlot == state.Size, $"next slot {state.NextSlot} with size {state.Size} before the ring is full");
            Require(state.Head == -1 && !state.Pending && state.CompleteRows == 0 && !state.Wrapped, "memory-saving cursors set in plain mode");
            rows = state.Size;
        }

        reader.Expect("table", ScalarType.Float32, rows, width);
        if (!inTable)
        {
            reader.Expect("observations_u8", ScalarType.Byte, rows, obsSize);
            if (!ms)
            {
                reader.Expect("next_observations_u8", ScalarType.Byte, rows, obsSize);
            }
        }

        if (ms)
        {
            reader.Expect("valid", ScalarType.Bool, rows);
        }

        if (options.NSteps > 1)
        {
            NStepAssembler.CheckSaved(reader, "nstep_", options.NSteps, options.NumEnvs, options.ObservationSize, options.Action);
        }
    }

    private static void CheckExpected(string path, ReplayBufferOptions saved, PriorityOptions? savedPriorities, ReplayBufferOptions? expected, PriorityOptions? expectedPriorities)
    {
        if (expected is null)
        {
            return;
        }

        void Same<T>(string field, T savedValue, T expectedValue, Func<T, string> show)
        {
            if (!EqualityComparer<T>.Default.Equals(savedValue, expectedValue))
            {
                throw new InvalidDataException($"{path} was saved with {field} {show(savedValue)}, but {show(expectedValue)} is expected; load it without expected options, or build the buffer with the saved ones.");
            }
        }

        static string Sampling(PriorityOptions? p) => p is null ? "uniform" : $"prioritized (α {p.Alpha.ToString("R", CultureInfo.InvariantCulture)}, ε {p.Epsilon.ToString("R", CultureInfo.InvariantCulture)})";

        Same("ObservationShape", $"[{ReplayBufferOptions.ShapeText(saved.ObservationShape)}]", $"[{ReplayBufferOptions.ShapeText(expected.ObservationShape)}]", s => s);
        Same("ObservationStorage", saved.ObservationStorage, expected.ObservationStorage, s => s.ToString());
        Same("Action", saved.Action, expected.Action, a => a.ToString());
        Same("NumEnvs", saved.NumEnvs, expected.NumEnvs, v => v.ToString(CultureInfo.InvariantCulture));
        Same("Capacity", saved.Capacity, expected.Capacity, v => v.ToString(CultureInfo.InvariantCulture));
        Same("MemorySaving", saved.MemorySaving, expected.MemorySaving, v => v.ToString());
        Same("NSteps", saved.NSteps, expected.NSteps, v => v.ToString(CultureInfo.InvariantCulture));
        Same("Gamma", saved.Gamma, expected.Gamma, v => v.ToString("R", CultureInfo.InvariantCulture));
        Same("sampling", Sampling(savedPriorities), Sampling(expectedPriorities), s => s);
    }

    /// <summary>The metadata of a saved uniform buffer.</summary>
    internal sealed record UniformMetadata
    {
        public SavedOptions? Options { get; init; }

        public StorageState? Storage { get; init; }

        public string? GeneratorDeviceType { get; init; }
    }

    /// <summary>The metadata of a saved prioritized buffer.</summary>
    internal sealed record PrioritizedMetadata
    {
        public SavedOptions? Options { get; init; }

        public StorageState? Storage { get; init; }

        public double Alpha { get; init; }

        public double Epsilon { get; init; }

        public double MaxPriority { get; init; }

        public string? RandomAlgorithm { get; init; }
    }
}

/// <summary>The cursors of a <see cref="TransitionStorage"/>, saved as JSON metadata.</summary>
internal sealed record StorageState
{
    public int Capacity { get; init; }

    public int Width { get; init; }

    public int NextSlot { get; init; }

    public int Size { get; init; }

    public int Head { get; init; }

    public bool Pending { get; init; }

    public int CompleteRows { get; init; }

    public bool Wrapped { get; init; }

    public bool[] PreviousEnded { get; init; } = [];
}

/// <summary>The options as saved (everything but the device, which is chosen at load time).</summary>
internal sealed record SavedOptions : SavedStepLayout
{
    public int Capacity { get; init; }

    public string ObservationStorage { get; init; } = "";

    public double Gamma { get; init; }

    public int NSteps { get; init; }

    public bool MemorySaving { get; init; }

    public static SavedOptions From(ReplayBufferOptions o) => WithLayout(
        new SavedOptions
        {
            Capacity = o.Capacity,
            ObservationStorage = o.ObservationStorage.ToString(),
            Gamma = o.Gamma,
            NSteps = o.NSteps,
            MemorySaving = o.MemorySaving,
        },
        o.ObservationShape,
        o.Action,
        o.NumEnvs,
        o.Seed);

    /// <summary>The options on <paramref name="device"/>; invalid values throw <see cref="ArgumentException"/>.</summary>
    public ReplayBufferOptions ToOptions(Device? device)
    {
        ObservationStorage storage = SavedFields.Storage(ObservationStorage);
        return new ReplayBufferOptions
        {
            Capacity = Capacity,
            ObservationShape = Shape(),
            ObservationStorage = storage,
            Action = Action(),
            NumEnvs = NumEnvs,
            Gamma = Gamma,
            NSteps = NSteps,
            MemorySaving = MemorySaving,
            Device = device,
            Seed = Seed,
        };
    }
}
