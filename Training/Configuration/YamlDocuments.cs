using System.Collections;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace RlMemory.Training.Configuration;

/// <summary>
/// Reads configuration files (presets, run configurations, rl-baselines3-zoo files) as YAML maps, within limits: at
/// most <see cref="MaxBytes"/> of text nested at most <see cref="MaxDepth"/> deep, no key twice in a map (the message names the key and both lines), and at most
/// <see cref="MaxValues"/> values once aliases are expanded, so an alias bomb ("billion laughs") is refused in
/// milliseconds instead of exhausting memory. Merge keys (<c>&lt;&lt;: *defaults</c>, as the zoo writes them) work.
/// </summary>
public static class YamlDocuments
{
    /// <summary>The largest configuration file read: 1 MiB (a zoo file is about 20 KB).</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The most values (scalars, lists, maps) a file may expand to, aliases counted at each use.</summary>
    public const int MaxValues = 100_000;

    /// <summary>The deepest nesting of maps and lists read (deeper input could exhaust the reader's stack).</summary>
    public const int MaxDepth = 32;

    /// <summary>Parses <paramref name="yaml"/> into a map of its top-level keys; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ConfigException">The text is too long, not YAML, has a duplicate key, or expands to too many values.</exception>
    public static Dictionary<string, object?>? ReadMap(string yaml, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (yaml.Length > MaxBytes)
        {
            throw new ConfigException($"{source}: the file is {yaml.Length:N0} characters; a configuration may have at most {MaxBytes:N0}.");
        }

        try
        {
            RequireDistinctKeys(yaml, source);
            var map = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object?>>(new MergingParser(new Parser(new StringReader(yaml))));
            RequireBounded(map, source);
            return map;
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{source}: invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.InnerException?.Message ?? e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet's own failures on malformed input (an alias merged before its anchor, a tag that is not a URI).
            throw new ConfigException($"{source}: invalid YAML: {e.Message}", e);
        }
    }

    /// <summary>Refuses a map that holds a key twice, naming the key and the lines of both.</summary>
    private static void RequireDistinctKeys(string yaml, string source)
    {
        var parser = new Parser(new StringReader(yaml));

        // One frame per open map or list; in a map, nodes alternate between key and value.
        var frames = new Stack<Frame>();
        int events = 0;
        while (parser.MoveNext())
        {
            if (++events > 4 * MaxValues)
            {
                throw new ConfigException($"{source}: the file holds more than {MaxValues:N0} values.");
            }

            ParsingEvent current = parser.Current!;
            if (current is MappingEnd or SequenceEnd)
            {
                frames.Pop();
                continue;
            }

            if (current is not (Scalar or AnchorAlias or MappingStart or SequenceStart))
            {
                continue;
            }

            if (frames.TryPeek(out Frame? frame) && frame.Keys is not null)
            {
                if (frame.ExpectKey && current is Scalar key && key.Value != "<<" && !frame.Keys.TryAdd(key.Value, key.Start.Line))
                {
                    throw new ConfigException($"{source}: the key '{key.Value}' appears twice in one map (lines {frame.Keys[key.Value]} and {key.Start.Line}); keep one.");
                }

                frame.ExpectKey = !frame.ExpectKey;
            }

            if (frames.Count >= MaxDepth && current is MappingStart or SequenceStart)
            {
                throw new ConfigException($"{source}: maps and lists are nested more than {MaxDepth} deep at line {current.Start.Line}; a configuration is far flatter.");
            }

            if (current is MappingStart)
            {
                frames.Push(new Frame(new Dictionary<string, long>(StringComparer.Ordinal)));
            }
            else if (current is SequenceStart)
            {
                frames.Push(new Frame(null));
            }
        }
    }

    /// <summary>An open map (with the keys seen so far) or list (no keys).</summary>
    private sealed class Frame(Dictionary<string, long>? keys)
    {
        public Dictionary<string, long>? Keys { get; } = keys;

        public bool ExpectKey { get; set; } = true;
    }

    /// <summary>Counts the values of <paramref name="value"/> as a reader would expand them (aliases at each use), up to <see cref="MaxValues"/>.</summary>
    private static void RequireBounded(object? value, string source)
    {
        long count = 0;
        var pending = new Stack<object?>();
        pending.Push(value);
        while (pending.Count > 0)
        {
            object? item = pending.Pop();
            if (++count > MaxValues)
            {
                throw new ConfigException($"{source}: the file expands to more than {MaxValues:N0} values (through YAML aliases?); a configuration is far smaller.");
            }

            if (item is IDictionary map)
            {
                foreach (DictionaryEntry entry in map)
                {
                    pending.Push(entry.Value);
                }
            }
            else if (item is IEnumerable list and not string)
            {
                foreach (object? element in list)
                {
                    pending.Push(element);
                }
            }
        }
    }
}
