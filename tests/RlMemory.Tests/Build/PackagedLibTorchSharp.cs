using System.Reflection;
using TorchSharp;

namespace RlMemory.Tests.Build;

/// <summary>The unpatched libLibTorchSharp.so in the NuGet cache. Tests only read it, and patch copies.</summary>
public static class PackagedLibTorchSharp
{
    private static readonly Lazy<string> CachePath = new(Resolve);

    /// <summary>The file's path in the NuGet cache (never write to it).</summary>
    public static string PathInNuGetCache => CachePath.Value;

    /// <summary>Copies the cached file into <paramref name="directory"/> as <paramref name="name"/> and returns the copy's path.</summary>
    public static string CopyTo(string directory, string name = "libLibTorchSharp.so")
    {
        string destination = Path.Combine(directory, name);
        File.Copy(PathInNuGetCache, destination);
        return destination;
    }

    private static string Resolve()
    {
        string? root = typeof(PackagedLibTorchSharp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value;
        if (string.IsNullOrEmpty(root))
        {
            root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        Version version = typeof(torch).Assembly.GetName().Version
            ?? throw new InvalidOperationException("The TorchSharp assembly has no version.");
        string packageVersion = $"{version.Major}.{version.Minor}.{version.Build}";
        string path = Path.Combine(root, "torchsharp", packageVersion, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The packaged libLibTorchSharp.so of TorchSharp {packageVersion} is not at {path}. Run `dotnet restore` first.", path);
        }

        return path;
    }
}
