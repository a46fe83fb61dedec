using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace RlMemory.Training.Configuration;

/// <summary>
/// A hyperparameter file in the spirit of rl-baselines3-zoo's: an <c>algo</c> key choosing the trainer and the
/// trainer's keys with their values, as written (validation happens when they are applied to a schema).
/// </summary>
/// <param name="Name">The preset's name (file name without extension).</param>
/// <param name="Algo">The trainer: <c>dqn</c> (later also <c>r2d2</c>, <c>ppo</c>).</param>
/// <param name="Description">The first comment line of the file, if any.</param>
/// <param name="Source">Where it was read from, for messages.</param>
/// <param name="Values">The keys and raw values other than <c>algo</c>, in file order.</param>
public sealed record Preset(string Name, string Algo, string? Description, string Source, IReadOnlyList<KeyValuePair<string, object?>> Values)
{
    /// <summary>What was translated approximately when the preset was read from another format (zoo files), to show the user.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>The presets shipped with RlMemory (embedded YAML files), and reading your own YAML files.</summary>
public static class Presets
{
    private const string ResourcePrefix = "RlMemory.Training.Presets.";

    /// <summary>The names of the shipped presets, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [.. typeof(Presets).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
            .Select(n => n[ResourcePrefix.Length..^".yaml".Length])
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Loads a shipped preset by name (e.g. <c>dqn-cartpole</c>) or a YAML file by path (anything ending in
    /// <c>.yaml</c>/<c>.yml</c> or naming an existing file).
    /// </summary>
    /// <exception cref="ConfigException">Unknown preset (the message lists them), unreadable file, or invalid YAML.</exception>
    public static Preset Load(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        bool looksLikeFile = nameOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
            || nameOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
            || File.Exists(nameOrPath);
        if (looksLikeFile)
        {
            string text;
            try
            {
                text = File.ReadAllText(nameOrPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"Cannot read the configuration file '{nameOrPath}': {e.Message}", e);
            }

            return Parse(text, Path.GetFileNameWithoutExtension(nameOrPath), nameOrPath);
        }

        using Stream? stream = typeof(Presets).Assembly.GetManifestResourceStream(ResourcePrefix + nameOrPath + ".yaml");
        if (stream is null)
        {
            throw new ConfigException(
                $"No preset named '{nameOrPath}' and no such file. Presets: {string.Join(", ", Names)}; or pass the path of a .yaml file.");
        }

        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), nameOrPath, $"preset {nameOrPath}");
    }

    /// <summary>Parses a preset from YAML text.</summary>
    /// <exception cref="ConfigException">The text is not a YAML mapping with an <c>algo</c> key.</exception>
    public static Preset Parse(string yaml, string name, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        Dictionary<string, object?>? map = YamlDocuments.ReadMap(yaml, source);

        if (map is null || map.Count == 0)
        {
            throw new ConfigException($"{source}: the file is empty; it needs at least 'algo: dqn' and 'env: <id>'.");
        }

        if (!map.TryGetValue("algo", out object? algo) || algo is not string algoName || string.IsNullOrWhiteSpace(algoName))
        {
            throw new ConfigException($"{source}: missing 'algo' key (e.g. 'algo: dqn').");
        }

        string? description = yaml.Split('\n')
            .Select(l => l.Trim())
            .TakeWhile(l => l.StartsWith('#'))
            .Select(l => l.TrimStart('#').Trim())
            .FirstOrDefault(l => l.Length > 0);
        var values = map.Where(kv => kv.Key != "algo").ToList();
        return new Preset(name, algoName, description, source, values);
    }

    /// <summary>The description of every shipped preset, for listings.</summary>
    public static IEnumerable<Preset> All => Names.Select(Load);

    internal static Assembly Assembly => typeof(Presets).Assembly;
}
