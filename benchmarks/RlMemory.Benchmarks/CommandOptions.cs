using System.Globalization;

namespace RlMemory.Benchmarks;

/// <summary>The <c>--name value</c> options of the benchmark program's own modes, and where the repository is.</summary>
internal static class CommandOptions
{
    /// <summary>The value after <paramref name="name"/>, or null when it is not given.</summary>
    public static string? Text(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>The number after <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public static double Number(string[] args, string name, double fallback)
    {
        string? text = Text(args, name);
        return text is null ? fallback : double.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>The repository above the build output (the folder holding RlMemory.sln), or null outside one.</summary>
    public static string? RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RlMemory.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
