using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>
/// Saves and loads the weights of networks in RlMemory's checked file format (versioned header, JSON metadata,
/// named tensor sections, checksum; written to a temporary name and renamed). Loading reads numbers only — it never
/// runs code or instantiates types named by the file — and checks every tensor's name and shape against the target
/// network before changing it.
/// </summary>
public static class ModuleFile
{
    /// <summary>Writes the state (parameters and buffers) of each module under its prefix, e.g. <c>online/body.linear0.weight</c>.</summary>
    public static void Save(string path, string kind, int kindVersion, string metadataJson, params (string Prefix, nn.Module Module)[] modules)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var writer = BufferFileWriter.Create(path, kind, kindVersion, metadataJson);
        foreach (var (prefix, module) in modules)
        {
            foreach (var (name, value) in module.state_dict())
            {
                using Tensor host = value.detach().cpu().contiguous();
                writer.WriteSection($"{prefix}/{name}", host, host.dim() == 0 ? 1 : host.shape[0]);
            }
        }

        writer.Commit();
    }

    /// <summary>Opens <paramref name="path"/>, checks its kind, and returns its metadata (the reader is closed).</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or of another kind.</exception>
    public static string ReadMetadata(string path, string kind)
    {
        using BufferFileReader reader = Open(path, kind);
        return reader.MetadataJson;
    }

    /// <summary>
    /// Checks, before a network is built from <paramref name="path"/>'s configuration, that the file stores at least
    /// <paramref name="minimumParameters"/> values (see <see cref="ArchitectureSize"/>) and that the network fits in the
    /// memory this process may use.
    /// </summary>
    /// <exception cref="InvalidDataException">The configuration describes more parameters than the file stores, or more than memory holds.</exception>
    public static void RequireStoredParameters(string path, string kind, long minimumParameters, string architecture)
    {
        long stored;
        using (BufferFileReader reader = Open(path, kind))
        {
            stored = reader.Sections.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b));
        }

        if (minimumParameters > stored)
        {
            throw new InvalidDataException(
                $"{path}: its configuration ({architecture}) describes at least {minimumParameters:N0} parameters, but the file stores {stored:N0} values: the configuration does not belong to these weights.");
        }

        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && stored > available / sizeof(float))
        {
            throw new InvalidDataException($"{path} stores {stored:N0} values ({stored * sizeof(float) / (1 << 20):N0} MB), more than this machine's memory ({available / (1 << 20):N0} MB).");
        }
    }

    /// <summary>Opens <paramref name="path"/> and returns the kind written in its header (the reader is closed).</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or not an RlMemory file.</exception>
    public static string ReadKind(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using BufferFileReader reader = BufferFileReader.Open(path);
        return reader.Kind;
    }

    /// <summary>
    /// Loads the weights of each module from the sections under its prefix. Every tensor of every module is checked
    /// first (present, same dtype and shape, no extra sections); only then are the weights replaced.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is corrupt, of another kind, or its tensors do not fit the modules (the message names the tensor and both shapes).</exception>
    /// <summary>
    /// The first tensor of <paramref name="modules"/> (parameters and buffers) that holds NaN or infinity, as
    /// <c>prefix/name</c>; null when every value is finite. One host synchronization per tensor.
    /// </summary>
    public static string? FirstNonFinite(params (string Prefix, nn.Module Module)[] modules)
    {
        using var scope = NewDisposeScope();
        foreach (var (prefix, module) in modules)
        {
            foreach (var (name, value) in module.state_dict())
            {
                if (value.is_floating_point() && !isfinite(value).all().item<bool>())
                {
                    return $"{prefix}/{name}";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Loads tensors saved by <see cref="Save"/> into <paramref name="modules"/>, checking each tensor's dtype and shape
    /// against the module's and, after loading, that every value is finite.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a <paramref name="kind"/> file, its tensors do not fit the modules, or one holds NaN or infinity.</exception>
    public static void Load(string path, string kind, params (string Prefix, nn.Module Module)[] modules)
    {
        using BufferFileReader reader = Open(path, kind);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (prefix, module) in modules)
        {
            foreach (var (name, value) in module.state_dict())
            {
                string section = $"{prefix}/{name}";
                expected.Add(section);
                if (!reader.HasSection(section))
                {
                    throw new InvalidDataException($"{path} has no tensor '{section}': it was saved from another architecture than the network it is loaded into.");
                }

                BufferSection s = reader.Section(section);
                long[] shape = value.dim() == 0 ? [1] : value.shape;
                if (s.DType != value.dtype || !s.Shape.SequenceEqual(shape))
                {
                    throw new InvalidDataException(
                        $"{path}: tensor '{section}' is {s.DType} [{string.Join(", ", s.Shape)}] in the file but {value.dtype} [{string.Join(", ", shape)}] in the network: the architectures differ.");
                }
            }
        }

        string? extra = reader.Sections.Select(s => s.Name).FirstOrDefault(n => !expected.Contains(n));
        if (extra is not null)
        {
            throw new InvalidDataException($"{path} holds a tensor '{extra}' that the network does not have: the architectures differ.");
        }

        using (no_grad())
        {
            foreach (var (prefix, module) in modules)
            {
                foreach (var (name, value) in module.state_dict())
                {
                    using Tensor host = empty(value.dim() == 0 ? [1] : value.shape, value.dtype, CPU);
                    reader.ReadInto($"{prefix}/{name}", host);
                    value.copy_(value.dim() == 0 ? host.reshape([]) : host);
                }
            }
        }

        if (FirstNonFinite(modules) is string nonFinite)
        {
            throw new InvalidDataException($"{path}: tensor '{nonFinite}' holds NaN or infinity; a network saved from a diverged state cannot be used.");
        }
    }

    private static BufferFileReader Open(string path, string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BufferFileReader reader = BufferFileReader.Open(path);
        if (reader.Kind != kind)
        {
            string found = reader.Kind;
            reader.Dispose();
            throw new InvalidDataException($"{path} holds a {found}, not a {kind}.");
        }

        return reader;
    }
}
