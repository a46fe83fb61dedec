using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RlMemory.Training.Checkpoints;

/// <summary>
/// The checkpoints of a run, in <c>&lt;run&gt;/checkpoints/</c>: one folder per checkpoint (<c>step-000012345</c>) holding
/// a manifest (<c>checkpoint.json</c>: format, step, the trainer's state, and an XxHash3 of every other file), the
/// manifest's own XxHash3 (<c>checkpoint.json.xxh3</c>) and the trainer's files. A checkpoint is written into a
/// temporary folder, flushed, and renamed into place; only then does the <c>latest</c> pointer (itself replaced
/// atomically) move to it, and only then are checkpoints older than the last <see cref="Keep"/> deleted (never when the
/// new one was written because training diverged). A crash or a full disk at any point leaves the previous good
/// checkpoint in place, and the next save removes what an interrupted one left behind. Loading verifies the manifest's
/// hash and every file's hash before anything is used.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>
    /// The manifest's format identifier. Format 3 holds the run's state and the algorithm's as two records
    /// (<c>run</c>, <c>algorithm</c>); formats 1 and 2, written before the training loop was shared by the algorithms,
    /// are refused with a message saying so.
    /// </summary>
    public const string Format = "rlmemory-checkpoint/3";

    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "checkpoint.json";

    /// <summary>The file beside the manifest that holds the manifest's XxHash3.</summary>
    public const string ManifestHashName = "checkpoint.json.xxh3";

    private const string LatestName = "latest";

    /// <summary>The <c>latest</c> pointer is read up to this many bytes; a longer one is not a checkpoint name.</summary>
    private const int LatestMaxBytes = 256;

    private static readonly System.Text.RegularExpressions.Regex CheckpointName = new(@"^step-[0-9]{12}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

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
    public IReadOnlyList<string> List() => System.IO.Directory.Exists(Directory) ? Committed(Directory) : [];

    /// <summary>
    /// The checkpoint the <c>latest</c> pointer names, or null when there is none or the pointer does not name a
    /// checkpoint folder inside <see cref="Directory"/>.
    /// </summary>
    public string? Latest => ReadPointer(Directory, out _);

    /// <summary>Whether the run has a checkpoint: a valid <c>latest</c> pointer, or any committed checkpoint folder.</summary>
    public bool HasCheckpoint => Latest is not null || List().Count > 0;

    /// <summary>
    /// Writes a checkpoint for <paramref name="step"/>: <paramref name="writeFiles"/> fills a temporary folder; the
    /// manifest with <paramref name="state"/> and the files' hashes is added; the folder is renamed into place and
    /// becomes <see cref="Latest"/>. Returns the checkpoint's folder.
    /// </summary>
    /// <exception cref="CheckpointException">Writing failed (e.g. the disk is full); the previous checkpoint is kept.</exception>
    /// <param name="step">The environment step.</param>
    /// <param name="algo">The algorithm, recorded and checked on loading.</param>
    /// <param name="state">The trainer's state (counters, schedules, statistics).</param>
    /// <param name="writeFiles">Writes the trainer's files into the folder it is given.</param>
    /// <param name="diverged">
    /// Written because training diverged (it holds the state before the bad update): older checkpoints are all kept,
    /// so the newest one from before the divergence survives however often a resumed run diverges again.
    /// </param>
    public string Save(long step, string algo, JsonObject state, Action<string> writeFiles, bool diverged = false)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(writeFiles);
        RemoveLeftovers();
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
            string manifestText = manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            WriteAtomically(Path.Combine(temp, ManifestName), manifestText);
            WriteAtomically(Path.Combine(temp, ManifestHashName), HashFile(Path.Combine(temp, ManifestName)) + "\n");
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

        if (!diverged)
        {
            foreach (string old in List().Where(d => d != final).SkipLast(Keep - 1))
            {
                TryDelete(old);
            }
        }

        return final;
    }

    /// <summary>
    /// Deletes what interrupted saves left in <see cref="Directory"/>: temporary checkpoint folders
    /// (<c>step-….tmp-…</c>) and temporary pointer files (<c>latest.….tmp</c>). A failure is reported through
    /// <see cref="TakeWarnings"/>.
    /// </summary>
    public void RemoveLeftovers()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        foreach (string folder in System.IO.Directory.GetDirectories(Directory, "step-*.tmp-*"))
        {
            TryDelete(folder);
        }

        foreach (string file in System.IO.Directory.GetFiles(Directory, LatestName + ".*.tmp"))
        {
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _warnings.Add($"Could not delete {file}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Reads and verifies the checkpoint in <paramref name="checkpoint"/> (a checkpoint folder, or a run folder or
    /// its <c>checkpoints</c> folder, meaning the one <c>latest</c> names): the manifest matches its hash, parses, names
    /// <paramref name="algo"/>, and every listed file exists with its recorded hash. When <c>latest</c> is missing,
    /// empty, or names anything but a checkpoint folder inside the checkpoints folder, the newest checkpoint that
    /// verifies is used instead, and <see cref="Checkpoint.Notes"/> says so.
    /// </summary>
    /// <exception cref="CheckpointException">No checkpoint there, or it is corrupt, truncated or for another algorithm (the message names the file and an older checkpoint).</exception>
    public static Checkpoint Open(string checkpoint, string algo)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpoint);
        if (File.Exists(Path.Combine(checkpoint, ManifestName)) || File.Exists(Path.Combine(checkpoint, ManifestHashName)))
        {
            return Verify(checkpoint, algo, []);
        }

        string? directory = new[] { checkpoint, Path.Combine(checkpoint, "checkpoints") }
            .FirstOrDefault(d => File.Exists(Path.Combine(d, LatestName)) || (System.IO.Directory.Exists(d) && Committed(d).Count > 0));
        if (directory is null)
        {
            throw new CheckpointException(
                $"No checkpoint at '{checkpoint}': expected a checkpoint folder (with {ManifestName}) or a run folder with checkpoints; a run interrupted before its first checkpoint starts again without --resume.");
        }

        string? named = ReadPointer(directory, out string? problem);
        if (named is not null)
        {
            return Verify(named, algo, []);
        }

        // The pointer is unusable: fall back to the newest checkpoint that verifies.
        var refused = new List<string>();
        foreach (string candidate in Committed(directory).Reverse())
        {
            try
            {
                return Verify(candidate, algo, [$"{Path.Combine(directory, LatestName)} {problem}; resuming from the newest checkpoint that verifies, {candidate}."]);
            }
            catch (CheckpointException e) when (!e.Message.Contains("checkpoint, not '", StringComparison.Ordinal))
            {
                refused.Add(e.Message);
            }
        }

        throw new CheckpointException(
            refused.Count == 0
                ? $"{Path.Combine(directory, LatestName)} {problem}, and {directory} holds no checkpoint."
                : $"{Path.Combine(directory, LatestName)} {problem}, and no checkpoint in {directory} verifies: {string.Join(" ", refused)}");
    }

    /// <summary>The checkpoint folder <c>latest</c> names, or null with the reason in <paramref name="problem"/>.</summary>
    private static string? ReadPointer(string directory, out string? problem)
    {
        string pointer = Path.Combine(directory, LatestName);
        if (!File.Exists(pointer))
        {
            problem = "is missing";
            return null;
        }

        string name;
        try
        {
            using var stream = File.OpenRead(pointer);
            var buffer = new byte[LatestMaxBytes + 1];
            int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (read > LatestMaxBytes)
            {
                problem = $"is longer than {LatestMaxBytes} bytes, so it names no checkpoint";
                return null;
            }

            name = System.Text.Encoding.UTF8.GetString(buffer, 0, read).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot be read ({e.Message})";
            return null;
        }

        if (name.Length == 0)
        {
            problem = "is empty";
            return null;
        }

        if (!CheckpointName.IsMatch(name))
        {
            problem = $"names '{(name.Length > 40 ? name[..40] + "…" : name)}', which is not a checkpoint folder of this run (step-NNNNNNNNNNNN)";
            return null;
        }

        string folder = Path.Combine(directory, name);
        if (!System.IO.Directory.Exists(folder))
        {
            problem = $"names {name}, which does not exist";
            return null;
        }

        problem = null;
        return folder;
    }

    /// <summary>The committed checkpoint folders of <paramref name="directory"/>, oldest first.</summary>
    private static IReadOnlyList<string> Committed(string directory) =>
        [.. System.IO.Directory.GetDirectories(directory, "step-*").Where(d => CheckpointName.IsMatch(Path.GetFileName(d))).Order(StringComparer.Ordinal)];

    private static Checkpoint Verify(string folder, string algo, IReadOnlyList<string> notes)
    {
        string manifestPath = Path.Combine(folder, ManifestName);
        string hashPath = Path.Combine(folder, ManifestHashName);
        if (!File.Exists(manifestPath))
        {
            throw new CheckpointException($"The checkpoint {folder} is incomplete: {ManifestName} is missing. {DescribeOlder(folder)}");
        }

        string text;
        try
        {
            if (new FileInfo(manifestPath).Length > MaxManifestBytes)
            {
                throw new CheckpointException($"{manifestPath} is larger than {MaxManifestBytes / (1 << 20)} MB, so it is not a manifest RlMemory wrote. {DescribeOlder(folder)}");
            }

            text = File.ReadAllText(manifestPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"The checkpoint manifest {manifestPath} cannot be read ({e.Message}). {DescribeOlder(folder)}");
        }

        bool hashed = File.Exists(hashPath);
        if (hashed)
        {
            string recorded;
            try
            {
                recorded = File.ReadAllText(hashPath).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException($"{hashPath} cannot be read ({e.Message}). {DescribeOlder(folder)}");
            }

            if (HashFile(manifestPath) != recorded)
            {
                throw new CheckpointException($"The checkpoint {folder} is corrupt: {ManifestName} does not match its recorded hash ({ManifestHashName}). {DescribeOlder(folder)}");
            }
        }

        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(text) as JsonObject
                ?? throw new CheckpointException($"{manifestPath} is not a JSON object. {DescribeOlder(folder)}");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"The checkpoint manifest {manifestPath} cannot be read ({e.Message}); the checkpoint is corrupt. {DescribeOlder(folder)}", e);
        }

        string? format = manifest["format"] is JsonValue f && f.TryGetValue(out string? fs) ? fs : null;
        if (format is "rlmemory-checkpoint/1" or "rlmemory-checkpoint/2")
        {
            throw new CheckpointException(
                $"The checkpoint {folder} has format '{format}', written by an RlMemory version before the algorithms shared one training loop; "
                + $"this version reads '{Format}' only. Start a new run, or finish this one with the version that wrote it.");
        }

        if (format != Format)
        {
            throw new CheckpointException($"{manifestPath} has format '{manifest["format"]}', expected '{Format}'. {DescribeOlder(folder)}");
        }

        if (!hashed)
        {
            throw new CheckpointException($"The checkpoint {folder} is incomplete: {ManifestHashName} is missing. {DescribeOlder(folder)}");
        }

        string? saved = manifest["algo"] is JsonValue a && a.TryGetValue(out string? algoName) ? algoName : null;
        if (saved != algo)
        {
            throw new CheckpointException($"{folder} is a '{saved}' checkpoint, not '{algo}'.");
        }

        if (manifest["files"] is not JsonObject files || manifest["state"] is not JsonObject state
            || manifest["step"] is not JsonValue stepValue || !stepValue.TryGetValue(out long step) || step < 0)
        {
            throw new CheckpointException($"{manifestPath} lacks its files, state or step. {DescribeOlder(folder)}");
        }

        string root = Path.GetFullPath(folder);
        foreach (var (relative, hash) in files)
        {
            string path = Path.GetFullPath(Path.Combine(folder, relative));
            if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new CheckpointException($"{manifestPath} lists '{relative}', which is outside the checkpoint folder. {DescribeOlder(folder)}");
            }

            if (!File.Exists(path))
            {
                throw new CheckpointException($"The checkpoint {folder} is incomplete: {relative} is missing. {DescribeOlder(folder)}");
            }

            if (hash is not JsonValue h || !h.TryGetValue(out string? expected) || HashFile(path) != expected)
            {
                throw new CheckpointException($"The checkpoint {folder} is corrupt: {relative} does not match its recorded hash. {DescribeOlder(folder)}");
            }
        }

        return new Checkpoint(folder, step, state) { Notes = notes };
    }

    /// <summary>A manifest is a few kilobytes to a few megabytes (evaluation histories); anything larger was not written by RlMemory.</summary>
    private const long MaxManifestBytes = 64L << 20;

    /// <summary>"An older checkpoint is available: …" (or that none is), for messages about a checkpoint that cannot be used.</summary>
    internal static string DescribeOlder(string folder)
    {
        string? parent = Path.GetDirectoryName(folder);
        if (parent is null || !System.IO.Directory.Exists(parent))
        {
            return string.Empty;
        }

        string? older = Committed(parent).LastOrDefault(d => string.CompareOrdinal(d, folder) < 0);
        return older is null ? "No older checkpoint is available." : $"An older checkpoint is available: {older}.";
    }

    internal static string HashFile(string path)
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
public sealed record Checkpoint(string Folder, long Step, JsonObject State)
{
    /// <summary>What the user should know about how this checkpoint was chosen (a broken <c>latest</c> pointer).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

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
