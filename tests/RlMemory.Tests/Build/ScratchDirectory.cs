namespace RlMemory.Tests.Build;

/// <summary>A fresh folder under the system temp folder, deleted with its contents on dispose.</summary>
public sealed class ScratchDirectory : IDisposable
{
    /// <summary>Creates the folder.</summary>
    public ScratchDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rlmemory-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>The full path of <paramref name="relative"/> inside the folder.</summary>
    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>The names of the files directly in the folder, sorted.</summary>
    public string[] FileNames() =>
        Directory.GetFiles(Path).Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
