using System.Text.Json;

namespace RlMemory.Environments.Tests;

/// <summary>
/// Locates and reads the golden trajectory files (format <c>rl-golden-trajectories/1</c>, one JSON file per
/// environment id). The folder is <c>$RLMEMORY_GOLDEN_DIR</c> when that variable is set, otherwise
/// <c>../shared/golden</c> relative to the repository root (the nearest ancestor of
/// <see cref="AppContext.BaseDirectory"/> that holds <c>RlMemory.sln</c>). A missing or empty folder fails loudly.
/// </summary>
internal static class GoldenData
{
    /// <summary>The environment variable that overrides the golden folder.</summary>
    public const string DirectoryVariable = "RLMEMORY_GOLDEN_DIR";

    private const string SolutionFileName = "RlMemory.sln";

    private static readonly Lazy<string> LazyDirectory = new(ResolveDirectory);

    /// <summary>The golden folder; resolving it throws when it is missing or has no JSON files.</summary>
    public static string Directory => LazyDirectory.Value;

    /// <summary>The environment ids that have a golden file (file names without <c>.json</c>), sorted.</summary>
    public static IReadOnlyList<string> EnvironmentIds =>
        System.IO.Directory.GetFiles(Directory, "*.json")
            .Select(path => Path.GetFileNameWithoutExtension(path))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>The path of the golden file for <paramref name="envId"/>.</summary>
    /// <param name="envId">A Gymnasium id such as <c>CartPole-v1</c>.</param>
    /// <returns>The full path; the file is required to exist.</returns>
    /// <exception cref="FileNotFoundException">There is no golden file for <paramref name="envId"/>.</exception>
    public static string PathOf(string envId)
    {
        string path = Path.Combine(Directory, envId + ".json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No golden file for '{envId}' in '{Directory}'.", path);
        }

        return path;
    }

    /// <summary>Parses the golden file for <paramref name="envId"/>; the caller disposes the document.</summary>
    /// <param name="envId">A Gymnasium id such as <c>CartPole-v1</c>.</param>
    /// <returns>The parsed document.</returns>
    public static JsonDocument Load(string envId)
    {
        using FileStream stream = File.OpenRead(PathOf(envId));
        return JsonDocument.Parse(stream);
    }

    /// <summary>
    /// The repository root: the nearest ancestor of <see cref="AppContext.BaseDirectory"/> that holds
    /// <c>RlMemory.sln</c>.
    /// </summary>
    /// <returns>The root folder.</returns>
    /// <exception cref="DirectoryNotFoundException">No ancestor holds the solution file.</exception>
    public static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException(
            $"No folder above '{AppContext.BaseDirectory}' contains {SolutionFileName}; set {DirectoryVariable} to the golden folder.");
    }

    private static string ResolveDirectory()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
        string directory;
        string source;
        if (string.IsNullOrWhiteSpace(fromEnvironment))
        {
            string root = FindRepositoryRoot();
            directory = Path.GetFullPath(Path.Combine(root, "..", "shared", "golden"));
            source = $"the default ../shared/golden beside the repository root '{root}'; set {DirectoryVariable} to override";
        }
        else
        {
            directory = Path.GetFullPath(fromEnvironment);
            source = $"from {DirectoryVariable}";
        }

        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Golden data folder '{directory}' ({source}) does not exist.");
        }

        if (System.IO.Directory.GetFiles(directory, "*.json").Length == 0)
        {
            throw new InvalidOperationException($"Golden data folder '{directory}' ({source}) has no *.json files.");
        }

        return directory;
    }
}
