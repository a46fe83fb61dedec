using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RlMemory.Training.Configuration;

/// <summary>Configuration entries as JSON (inside checkpoints), read back as the raw values a schema applies.</summary>
public static class ConfigJson
{
    /// <summary>The entries as a JSON object (doubles round-trip exactly).</summary>
    public static JsonObject Write(IEnumerable<KeyValuePair<string, object?>> entries)
    {
        var json = new JsonObject();
        foreach (var (key, value) in entries)
        {
            json[key] = ToNode(value);
        }

        return json;
    }

    /// <summary>The entries of a JSON object written by <see cref="Write"/>.</summary>
    public static IEnumerable<KeyValuePair<string, object?>> Read(JsonNode node) =>
        node is JsonObject obj
            ? obj.Select(kv => new KeyValuePair<string, object?>(kv.Key, FromNode(kv.Value)))
            : throw new ConfigException("The saved configuration is not a JSON object.");

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        float f => JsonValue.Create(f),
        IDictionary d => new JsonObject(d.Keys.Cast<object>().Select(k => new KeyValuePair<string, JsonNode?>(k.ToString()!, ToNode(d[k])))),
        IEnumerable e => new JsonArray([.. e.Cast<object?>().Select(ToNode)]),
        _ => JsonValue.Create(value.ToString()),
    };

    private static object? FromNode(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => FromNode(kv.Value)),
        JsonArray a => a.Select(FromNode).ToList(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonValue v when v.TryGetValue(out long l) => l,
        JsonValue v => v.GetValue<double>(),
        _ => throw new ConfigException($"The saved configuration holds an unsupported value: {node.ToJsonString()}."),
    };
}

/// <summary>Writes a configuration as a YAML preset that <see cref="Presets.Load"/> reads back.</summary>
public static class ConfigYaml
{
    /// <summary>The YAML text: <c>algo</c> first, then every entry.</summary>
    public static string Write(string algo, IEnumerable<KeyValuePair<string, object?>> entries)
    {
        var sb = new StringBuilder();
        sb.Append("# The complete configuration of this run (reuse it with `rlmemory train config.yaml`).\n");
        sb.Append("algo: ").Append(algo).Append('\n');
        foreach (var (key, value) in entries)
        {
            sb.Append(key).Append(": ").Append(Format(value)).Append('\n');
        }

        return sb.ToString();
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => Quote(s),
        bool b => b ? "true" : "false",
        double d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : d > 0 ? ".inf" : d < 0 ? "-.inf" : ".nan",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary d => "{" + string.Join(", ", d.Keys.Cast<object>().Select(k => $"{Quote(k.ToString()!)}: {Format(d[k])}")) + "}",
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => Quote(value.ToString() ?? string.Empty),
    };

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':') && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            && s is not ("true" or "false" or "null" or "yes" or "no" or "on" or "off")
            ? s
            : "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
}
