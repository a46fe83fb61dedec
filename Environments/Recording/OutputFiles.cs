namespace RlMemory.Environments.Recording;

/// <summary>
/// Checks output locations early and writes files atomically: the content goes to a temporary file beside the final
/// one (same folder, so the rename cannot cross file systems), is flushed to disk, and is renamed over the final name.
/// A failure deletes the temporary file, so a final name never holds a partial file.
/// </summary>
internal static class OutputFiles
{
    /// <summary>
    /// Makes sure <paramref name="folder"/> exists (creating it and its parents if needed) and accepts new files.
    /// </summary>
    /// <returns>The folder's full path.</returns>
    /// <exception cref="IOException">The folder cannot be created or written; the message names it.</exception>
    public static string EnsureWritableFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string full = Path.GetFullPath(folder);
        try
        {
            if (File.Exists(full))
            {
                throw new IOException($"'{full}' is a file, not a folder.");
            }

            Directory.CreateDirectory(full);
            string probe = Path.Combine(full, $".rlmemory-write-test.{Guid.NewGuid():N}.tmp");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException(
                $"Cannot write videos to the folder '{full}': {e.Message} Choose a folder you can write to.", e);
        }

        return full;
    }

    /// <summary>
    /// Checks that <paramref name="path"/> can receive a new file: it is not a folder, and its folder exists (created
    /// if needed) and is writable.
    /// </summary>
    /// <returns>The full path.</returns>
    /// <exception cref="IOException">The path cannot be written; the message names it.</exception>
    public static string CheckOutputPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new IOException($"Cannot write the video to '{full}': it is a folder. Give a file name ending in .gif or .mp4.");
        }

        string? folder = Path.GetDirectoryName(full);
        if (string.IsNullOrEmpty(folder) || string.IsNullOrEmpty(Path.GetFileName(full)))
        {
            throw new IOException($"Cannot write the video to '{full}': it names no file.");
        }

        try
        {
            EnsureWritableFolder(folder);
        }
        catch (IOException e)
        {
            throw new IOException($"Cannot write the video to '{full}': {e.Message}", e);
        }

        return full;
    }

    /// <summary>A new temporary path in the folder of <paramref name="finalPath"/>, hidden and unique.</summary>
    public static string TemporaryPathFor(string finalPath)
    {
        string folder = Path.GetDirectoryName(finalPath) ?? throw new ArgumentException($"'{finalPath}' has no folder.", nameof(finalPath));
        return Path.Combine(folder, $".{Path.GetFileName(finalPath)}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Flushes <paramref name="temporaryPath"/> to disk and renames it to <paramref name="finalPath"/>, replacing any file there.</summary>
    public static void Commit(string temporaryPath, string finalPath)
    {
        using (var stream = new FileStream(temporaryPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporaryPath, finalPath, overwrite: true);
    }

    /// <summary>Deletes <paramref name="temporaryPath"/> if it exists.</summary>
    public static void DeleteTemporary(string temporaryPath)
    {
        if (File.Exists(temporaryPath))
        {
            File.Delete(temporaryPath);
        }
    }

    /// <summary>
    /// Deletes <paramref name="temporaryPath"/> after <paramref name="failure"/>; when the deletion fails too, both
    /// errors are thrown together, so neither is lost.
    /// </summary>
    public static Exception CleanUpAfter(Exception failure, string temporaryPath)
    {
        try
        {
            DeleteTemporary(temporaryPath);
            return failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new AggregateException(
                $"Writing failed, and so did deleting the temporary file '{temporaryPath}': delete it by hand.", failure, e);
        }
    }
}
