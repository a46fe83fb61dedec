using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using static TorchSharp.torch;

namespace RlMemory.Memory.Persistence;

/// <summary>
/// What the buffers' codecs share when they read a file back: the kind check, the JSON metadata, the saved options
/// (an <see cref="ArgumentException"/> from them becomes an <see cref="InvalidDataException"/> naming the file), and
/// the enumerations saved as text.
/// </summary>
internal static class SavedFields
{
    /// <summary>Refuses a file of another kind or of a layout version this build does not read.</summary>
    public static void RequireKind(BufferFileReader reader, string kind, int kindVersion)
    {
        if (reader.Kind != kind)
        {
            throw new InvalidDataException($"{reader.Path} holds a {reader.Kind}, not a {kind}.");
        }

        if (reader.KindVersion < 1 || reader.KindVersion > kindVersion)
        {
            throw new InvalidDataException($"{reader.Path} holds a {kind} of layout version {reader.KindVersion}; this build reads version {kindVersion}.");
        }
    }

    /// <summary>The file's JSON metadata; empty or malformed metadata is refused.</summary>
    public static T Metadata<T>(BufferFileReader reader, JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(reader.MetadataJson, type) ?? throw new InvalidDataException($"{reader.Path}: the metadata is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{reader.Path}: the metadata is not valid: {e.Message}", e);
        }
    }

    /// <summary>The saved options, built and validated by <paramref name="parse"/>; invalid ones are refused naming the file.</summary>
    public static TOptions Options<TOptions>(BufferFileReader reader, Func<TOptions> parse)
    {
        try
        {
            return parse();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{reader.Path}: the saved options are invalid: {e.Message}", e);
        }
    }

    /// <summary>The section <c>generator_state</c> (a torch generator's state bytes), checked before anything is allocated.</summary>
    public static BufferSection GeneratorSection(BufferFileReader reader)
    {
        BufferSection section = reader.Section("generator_state");
        if (section.DType != ScalarType.Byte || section.Shape.Count != 1)
        {
            throw new InvalidDataException($"{reader.Path}: section 'generator_state' is {section}, expected uint8 [n].");
        }

        return section;
    }

    /// <summary>
    /// Restores <paramref name="generator"/> from the section <c>generator_state</c>: the saved state when it was saved
    /// on the same device type (so the same samples follow), otherwise (the CPU and CUDA generators differ) a seed from
    /// a hash of the saved state: deterministic, but another stream.
    /// </summary>
    public static void RestoreGenerator(BufferFileReader reader, BufferSection section, Generator generator, string savedDeviceType, Device device)
    {
        using Tensor state = TorchSharp.torch.empty([section.Shape[0]], ScalarType.Byte, TorchSharp.torch.CPU);
        reader.ReadInto("generator_state", state);
        if (savedDeviceType != device.type.ToString())
        {
            generator.manual_seed(SeedFrom(state));
            return;
        }

        if (TorchGeneratorState.Problem(generator, state.bytes) is string problem)
        {
            throw new InvalidDataException($"{reader.Path}: section 'generator_state' {problem}.");
        }

        try
        {
            generator.set_state(state);
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException)
        {
            throw new InvalidDataException($"{reader.Path}: the saved generator state was refused by torch: {e.Message}", e);
        }
    }

    /// <summary>An action kind and dimension as saved.</summary>
    /// <exception cref="ArgumentException">An unknown kind or a bad dimension.</exception>
    public static ActionSpec Action(string kind, int dimension) => kind switch
    {
        nameof(ActionKind.Discrete) => ActionSpec.Discrete,
        nameof(ActionKind.Continuous) => ActionSpec.Continuous(dimension),
        _ => throw new ArgumentException($"unknown action kind '{kind}'"),
    };

    /// <summary>An observation storage as saved.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static ObservationStorage Storage(string name) =>
        Enum.TryParse(name, out ObservationStorage storage) && Enum.IsDefined(storage)
            ? storage
            : throw new ArgumentException($"unknown observation storage '{name}'");

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

    /// <summary>A dtype as saved (<see cref="BufferFileFormat.Name"/>), or null for an unknown name.</summary>
    public static ScalarType? DType(string? name) => name switch
    {
        "uint8" => ScalarType.Byte,
        "bool" => ScalarType.Bool,
        "int32" => ScalarType.Int32,
        "int64" => ScalarType.Int64,
        "float32" => ScalarType.Float32,
        "float64" => ScalarType.Float64,
        _ => null,
    };
}

/// <summary>What every buffer saves of a step's layout: the observation shape, the action, the environments, the seed.</summary>
internal abstract record SavedStepLayout
{
    public int[] ObservationShape { get; init; } = [];

    public string ActionKind { get; init; } = "";

    public int ActionDimension { get; init; }

    public int NumEnvs { get; init; }

    public ulong Seed { get; init; }

    /// <summary><paramref name="saved"/> with the layout fields set.</summary>
    protected static T WithLayout<T>(T saved, IEnumerable<int> shape, ActionSpec action, int numEnvs, ulong seed)
        where T : SavedStepLayout =>
        (T)((SavedStepLayout)saved with { ObservationShape = [.. shape], ActionKind = action.Kind.ToString(), ActionDimension = action.Dimension, NumEnvs = numEnvs, Seed = seed });

    /// <summary>The saved observation shape.</summary>
    /// <exception cref="ArgumentException">None was saved.</exception>
    protected int[] Shape() => ObservationShape ?? throw new ArgumentException("no observation shape");

    /// <summary>The saved action.</summary>
    /// <exception cref="ArgumentException">An unknown kind or a bad dimension.</exception>
    protected ActionSpec Action() => SavedFields.Action(ActionKind, ActionDimension);
}
