namespace RlMemory.Environments.Tests.Support;

/// <summary>A new empty folder under the system's temp folder, deleted with its contents on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rlmemory-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>The names of all files in the folder (hidden ones included), sorted.</summary>
    public IReadOnlyList<string> FileNames() =>
        Directory.GetFiles(Path).Select(f => System.IO.Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
