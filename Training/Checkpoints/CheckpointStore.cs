using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RlMemory.Training.Checkpoints;

/// <summary>
/// The checkpoints of a run, in <c>&lt;run&gt;/checkpoints/</c>: one folder per checkpoint (<c>step-000012345</c>) holding
/// a manifest (<c>checkpoint.json</c>: format, step, the trainer's state, and an XxHash3 of every other file) and the
/// trainer's files. A checkpoint is written into a temporary folder, flushed, and renamed into place; only then does
/// the <c>latest</c> pointer (itself replaced atomically) move to it, and only then are checkpoints older than the last
/// <see cref="Keep"/> deleted. A crash or a full disk at any point leaves the previous good checkpoint in place.
/// Loading verifies the manifest and every file's hash before anything is used.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>The manifest's format identifier.</summary>
    public const string Format = "rlmemory-checkpoint/1";

    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "checkpoint.json";

    private const string LatestName = "latest";

    /// <summary>A store in <c>&lt;runDirectory&gt;/checkpoints</c>.</summary>
    public CheckpointStore(string runDirectory, int keep = 2)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        Directory = Path.Combine(runDirectory, "checkpoints");
        Keep = keep;
    }

    /// <summary>The checkpoints folder.</summary>
    public string Directory { get; }

    /// <summary>How many checkpoints are kept.</summary>
    public int Keep { get; }

    private readonly List<string> _warnings = [];

    /// <summary>
    /// Problems that did not stop a save (an old or temporary folder that could not be deleted), oldest first; the
    /// caller reports and clears them with <see cref="TakeWarnings"/>.
    /// </summary>
    public IReadOnlyList<string> TakeWarnings()
    {
        var warnings = _warnings.ToList();
        _warnings.Clear();
        return warnings;
    }

    /// <summary>The committed checkpoints, oldest first.</summary>
    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory)
            ? [.. System.IO.Directory.GetDirectories(Directory, "step-*").Where(d => !Path.GetFileName(d).Contains(".tmp", StringComparison.Ordinal)).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The checkpoint the <c>latest</c> pointer names, or null when there is none.</summary>
    public string? Latest
    {
        get
        {
            string pointer = Path.Combine(Directory, LatestName);
            if (!File.Exists(pointer))
            {
                return null;
            }

            string name = File.ReadAllText(pointer).Trim();
            return name.Length == 0 ? null : Path.Combine(Directory, name);
        }
    }

    /// <summary>
    /// Writes a checkpoint for <paramref name="step"/>: <paramref name="writeFiles"/> fills a temporary folder; the
    /// manifest with <paramref name="state"/> and the files' hashes is added; the folder is renamed into place and
    /// becomes <see cref="Latest"/>. Returns the checkpoint's folder.
    /// </summary>
    /// <exception cref="CheckpointException">Writing failed (e.g. the disk is full); the previous checkpoint is kept.</exception>
    public string Save(long step, string algo, JsonObject state, Action<string> writeFiles)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(writeFiles);
        string name = $"step-{step:D12}";
        string final = Path.Combine(Directory, name);
        string temp = Path.Combine(Directory, $"{name}.tmp-{Guid.NewGuid():N}");
        try
        {
            System.IO.Directory.CreateDirectory(temp);
            writeFiles(temp);
            var hashes = new JsonObject();
            foreach (string file in System.IO.Directory.GetFiles(temp, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                hashes[Path.GetRelativePath(temp, file).Replace('\\', '/')] = HashFile(file);
            }

            var manifest = new JsonObject
            {
                ["format"] = Format,
                ["algo"] = algo,
                ["step"] = step,
                ["created_utc"] = DateTime.UtcNow.ToString("O"),
                ["files"] = hashes,
                ["state"] = state.DeepClone(),
            };
            WriteAtomically(Path.Combine(temp, ManifestName), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if (System.IO.Directory.Exists(final))
            {
                System.IO.Directory.Delete(final, recursive: true);
            }

            System.IO.Directory.Move(temp, final);
            WriteAtomically(Path.Combine(Directory, LatestName), name + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            string kept = Latest is { } previous ? $"the previous checkpoint {previous} is kept" : "there is no earlier checkpoint";
            throw new CheckpointException($"Could not write the checkpoint for step {step} in {Directory}: {e.Message}; {kept}.", e);
        }

        foreach (string old in List().Where(d => d != final).SkipLast(Keep - 1))
        {
            TryDelete(old);
        }

        return final;
    }

    /// <summary>
    /// Reads and verifies the checkpoint in <paramref name="checkpoint"/> (a checkpoint folder, or a run folder or
    /// its <c>checkpoints</c> folder, meaning the latest): the manifest parses, names <paramref name="algo"/>, and every
    /// listed file exists with its recorded hash.
    /// </summary>
    /// <exception cref="CheckpointException">No checkpoint there, or it is corrupt, truncated or for another algorithm.</exception>
    public static Checkpoint Open(string checkpoint, string algo)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpoint);
        string folder = Resolve(checkpoint);
        string manifestPath = Path.Combine(folder, ManifestName);
        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(File.ReadAllText(manifestPath)) as JsonObject
                ?? throw new CheckpointException($"{manifestPath} is not a JSON object.");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new CheckpointException($"The checkpoint manifest {manifestPath} cannot be read ({e.Message}); the checkpoint is corrupt. {Older(folder)}", e);
        }

        if ((string?)manifest["format"] != Format)
        {
            throw new CheckpointException($"{manifestPath} has format '{manifest["format"]}', expected '{Format}'. {Older(folder)}");
        }

        if ((string?)manifest["algo"] != algo)
        {
            throw new CheckpointException($"{folder} is a '{manifest["algo"]}' checkpoint, not '{algo}'.");
        }

        if (manifest["files"] is not JsonObject files || manifest["state"] is not JsonObject state || manifest["step"] is null)
        {
            throw new CheckpointException($"{manifestPath} lacks its files, state or step. {Older(folder)}");
        }

        foreach (var (relative, hash) in files)
        {
            string path = Path.Combine(folder, relative);
            if (!File.Exists(path))
            {
                throw new CheckpointException($"The checkpoint {folder} is incomplete: {relative} is missing. {Older(folder)}");
            }

            if (HashFile(path) != (string?)hash)
            {
                throw new CheckpointException($"The checkpoint {folder} is corrupt: {relative} does not match its recorded hash. {Older(folder)}");
            }
        }

        return new Checkpoint(folder, (long)manifest["step"]!, state);
    }

    private static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, ManifestName)))
        {
            return path;
        }

        foreach (string candidate in new[] { path, Path.Combine(path, "checkpoints") })
        {
            string pointer = Path.Combine(candidate, LatestName);
            if (File.Exists(pointer))
            {
                string name = File.ReadAllText(pointer).Trim();
                string folder = Path.Combine(candidate, name);
                if (System.IO.Directory.Exists(folder))
                {
                    return folder;
                }

                throw new CheckpointException($"{pointer} names {name}, which does not exist.");
            }
        }

        throw new CheckpointException($"No checkpoint at '{path}': expected a checkpoint folder (with {ManifestName}) or a run folder with checkpoints/latest.");
    }

    private static string Older(string folder)
    {
        string? parent = Path.GetDirectoryName(folder);
        if (parent is null || !System.IO.Directory.Exists(parent))
        {
            return string.Empty;
        }

        string? older = System.IO.Directory.GetDirectories(parent, "step-*")
            .Where(d => !d.Contains(".tmp", StringComparison.Ordinal) && string.CompareOrdinal(d, folder) < 0)
            .Order(StringComparer.Ordinal)
            .LastOrDefault();
        return older is null ? "No older checkpoint is available." : $"An older checkpoint is available: {older}.";
    }

    private static string HashFile(string path)
    {
        var hash = new XxHash3();
        using (var stream = File.OpenRead(path))
        {
            hash.Append(stream);
        }

        return Convert.ToHexString(hash.GetCurrentHash()).ToLowerInvariant();
    }

    private static void WriteAtomically(string path, string text)
    {
        string temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private void TryDelete(string folder)
    {
        try
        {
            if (System.IO.Directory.Exists(folder))
            {
                System.IO.Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not fatal (a leftover folder is never read as a checkpoint), but the user should know.
            _warnings.Add($"Could not delete {folder}: {e.Message}");
        }
    }
}

/// <summary>A verified checkpoint: its folder, step and the trainer's saved state.</summary>
/// <param name="Folder">The checkpoint folder.</param>
/// <param name="Step">The environment step at which it was taken.</param>
/// <param name="State">The trainer's state (counters, schedules, logger positions, …).</param>
public sealed record Checkpoint(string Folder, long Step, JsonObject State);

/// <summary>A checkpoint could not be written or read; the message says why and what is still available.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public CheckpointException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
