using System.Text.Json;

namespace RlMemory.Environments.Tests;

/// <summary>
/// Locates and reads the golden trajectory files (format <c>rl-golden-trajectories/1</c>, one JSON file per
/// environment id). The folder is <c>$RLMEMORY_GOLDEN_DIR</c> when that variable is set, otherwise the copy of this
/// project's <c>Golden/</c> folder in the test output (<see cref="AppContext.BaseDirectory"/>): the suite reads nothing
/// outside the repository and its build output. A missing or empty folder fails loudly.
/// </summary>
internal static class GoldenData
{
    /// <summary>The environment variable that overrides the golden folder.</summary>
    public const string DirectoryVariable = "RLMEMORY_GOLDEN_DIR";

    /// <summary>The folder, in the test output, that the build copies <c>Golden/*.json</c> into.</summary>
    private const string OutputFolder = "Golden";

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

    private static string ResolveDirectory()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
        string directory;
        string source;
        if (string.IsNullOrWhiteSpace(fromEnvironment))
        {
            directory = Path.Combine(AppContext.BaseDirectory, OutputFolder);
            source = $"the copy of tests/RlMemory.Environments.Tests/Golden in the test output; set {DirectoryVariable} to override";
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
