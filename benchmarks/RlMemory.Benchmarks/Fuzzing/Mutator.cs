using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Benchmarks.Fuzzing;

/// <summary>
/// Mutations that reach past the checksums: the formats RlMemory reads verify their bytes, so random flips only test
/// the verification. These mutate what a file means (its JSON values, its sections' bytes, shapes and types) and write
/// it back with valid checksums, as the red team's crafted files had; a share of raw flips stays in the mix.
/// </summary>
internal sealed class Mutator(Random random)
{
    private static readonly JsonNode?[] InterestingJson =
    [
        0, -1, 1, 2, 255, 256, 65535, 65536, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, 9007199254740993L,
        0.5, -0.5, 1e308, -1e308, 1e-320, "", "x", "../../../../etc/passwd", "/tmp", "step-000000000001", new string('A', 10_000),
        "NaN", "Infinity", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA==", true, false, null,
    ];

    private static readonly long[] InterestingIntegers = [0, -1, 1, 2, 7, 8, 255, 256, 65535, 65536, int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue];

    /// <summary>A JSON text with one value replaced, removed, retyped or duplicated (several with a small probability).</summary>
    public string MutateJson(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return MutateText(json);
        }

        if (root is null)
        {
            return json;
        }

        int rounds = random.Next(10) == 0 ? random.Next(2, 6) : 1;
        for (int r = 0; r < rounds; r++)
        {
            var slots = new List<(JsonNode Parent, object Key)>();
            Collect(root, slots);
            if (slots.Count == 0)
            {
                break;
            }

            var (parent, key) = slots[random.Next(slots.Count)];
            switch (random.Next(6))
            {
                case 0 when parent is JsonObject o:
                    o.Remove((string)key);
                    break;
                case 1 when parent is JsonArray a && a.Count > 0:
                    a.RemoveAt((int)key);
                    break;
                case 2 when parent is JsonArray a:
                    a.Add(a[(int)key]?.DeepClone());
                    break;
                case 3:
                    Set(parent, key, new JsonArray(JsonValue.Create(random.Next(-3, 70000)), JsonValue.Create(1)));
                    break;
                case 4 when Get(parent, key) is JsonValue v && v.TryGetValue(out double d):
                    Set(parent, key, JsonValue.Create(d * (random.Next(2) == 0 ? -1 : 1) * Math.Pow(2, random.Next(-40, 40))));
                    break;
                default:
                    Set(parent, key, InterestingJson[random.Next(InterestingJson.Length)]?.DeepClone());
                    break;
            }
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = random.Next(2) == 0 });
    }

    /// <summary>A text with a few characters, lines or numbers changed (YAML and the like).</summary>
    public string MutateText(string text, IReadOnlyList<string>? others = null)
    {
        var lines = text.Split('\n').ToList();
        int rounds = random.Next(1, 4);
        const string alphabet = ":-[]{}&*!#|>'\"\n \t0123456789eE.+,<?%@`~\\";
        for (int r = 0; r < rounds && lines.Count > 0; r++)
        {
            int at = random.Next(lines.Count);
            switch (random.Next(9))
            {
                case 0:
                    lines.RemoveAt(at);
                    break;
                case 1:
                    lines.Insert(at, lines[random.Next(lines.Count)]);
                    break;
                case 2 when others is { Count: > 0 }:
                    string[] other = others[random.Next(others.Count)].Split('\n');
                    lines.Insert(at, other[random.Next(other.Length)]);
                    break;
                case 3:
                    lines[at] = ReplaceNumber(lines[at]);
                    break;
                case 4:
                    lines.Insert(at, random.Next(3) switch
                    {
                        0 => "anchor: &a [64, 64, 64, 64, 64, 64, 64, 64]",
                        1 => "net_arch: [*a, *a, *a, *a, *a, *a, *a, *a]",
                        _ => "<<: *a",
                    });
                    break;
                case 5:
                    lines[at] = "  " + lines[at];
                    break;
                default:
                    var chars = new StringBuilder(lines[at]);
                    int position = chars.Length == 0 ? 0 : random.Next(chars.Length + 1);
                    char c = alphabet[random.Next(alphabet.Length)];
                    if (random.Next(2) == 0 && position < chars.Length)
                    {
                        chars[position] = c;
                    }
                    else
                    {
                        chars.Insert(position, c);
                    }

                    lines[at] = chars.ToString();
                    break;
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>
    /// Rewrites the buffer file at <paramref name="path"/> with one structural change (metadata value, section bytes,
    /// shape, type, name, presence, kind or version) under valid checksums, or (one time in eight) flips raw bytes.
    /// </summary>
    public string MutateBufferFile(string path)
    {
        if (random.Next(8) == 0)
        {
            byte[] raw = File.ReadAllBytes(path);
            int flips = random.Next(1, 4);
            for (int i = 0; i < flips && raw.Length > 0; i++)
            {
                raw[random.Next(raw.Length)] ^= (byte)(1 << random.Next(8));
            }

            File.WriteAllBytes(path, raw);
            return $"raw flips ({flips})";
        }

        string kind, metadata;
        int version;
        var sections = new List<(string Name, ScalarType DType, long[] Shape, byte[] Data)>();
        using (BufferFileReader reader = BufferFileReader.Open(path))
        {
            (kind, version, metadata) = (reader.Kind, reader.KindVersion, reader.MetadataJson);
            foreach (BufferSection s in reader.Sections)
            {
                using Tensor t = empty([.. s.Shape], s.DType, CPU);
                reader.ReadInto(s.Name, t);
                sections.Add((s.Name, s.DType, [.. s.Shape], t.bytes.ToArray()));
            }
        }

        string what;
        int pick = random.Next(12);
        if (pick < 4 || sections.Count == 0)
        {
            metadata = MutateJson(metadata);
            what = "metadata";
        }
        else
        {
            int i = random.Next(sections.Count);
            var (name, dtype, shape, data) = sections[i];
            switch (pick)
            {
                case 4 or 5 or 6:
                    if (data.Length > 0)
                    {
                        int width = new[] { 1, 2, 4, 8 }[random.Next(4)];
                        int offset = random.Next(Math.Max(1, data.Length - width + 1));
                        long value = InterestingIntegers[random.Next(InterestingIntegers.Length)];
                        BitConverter.GetBytes(value).AsSpan(0, Math.Min(width, data.Length - offset)).CopyTo(data.AsSpan(offset));
                    }

                    what = $"bytes of {name}";
                    break;
                case 7:
                    long[] newShape = [.. shape.Select(d => random.Next(3) switch { 0 => d, 1 => d + random.Next(-2, 3), _ => InterestingIntegers[random.Next(8)] })];
                    if (newShape.Length > 1 && random.Next(4) == 0)
                    {
                        newShape = newShape[..^1];
                    }

                    newShape = [.. newShape.Select(d => Math.Clamp(d, 0, 1 << 16))];
                    long count = newShape.Aggregate(1L, (a, b) => a * b);
                    long bytes = count * ElementSize(dtype);
                    if (bytes <= 1 << 20)
                    {
                        var fresh = new byte[bytes];
                        random.NextBytes(fresh);
                        data.AsSpan(0, (int)Math.Min(data.Length, fresh.Length)).CopyTo(fresh);
                        (shape, data) = (newShape, fresh);
                    }

                    what = $"shape of {name}";
                    break;
                case 8:
                    ScalarType[] types = [ScalarType.Float32, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32, ScalarType.Byte, ScalarType.Bool];
                    ScalarType other = types[random.Next(types.Length)];
                    long elements = data.Length / ElementSize(other);
                    (dtype, shape, data) = (other, [elements], data[..(int)(elements * ElementSize(other))]);
                    what = $"type of {name}";
                    break;
                case 9:
                    sections.RemoveAt(i);
                    what = $"dropped {name}";
                    goto write;
                case 10:
                    name = random.Next(2) == 0 ? name + "_x" : sections[random.Next(sections.Count)].Name;
                    what = $"renamed {name}";
                    break;
                default:
                    if (random.Next(2) == 0)
                    {
                        kind = kind + "X";
                    }
                    else
                    {
                        version = (int)InterestingIntegers[random.Next(6)];
                    }

                    what = "kind or version";
                    break;
            }

            sections[i] = (name, dtype, shape, data);
        }

    write:
        byte[] original = File.ReadAllBytes(path);
        try
        {
            using BufferFileWriter writer = BufferFileWriter.Create(path, kind, version, metadata);
            foreach (var (name, dtype, shape, data) in sections.DistinctBy(s => s.Name))
            {
                using Tensor t = empty(shape, dtype, CPU);
                data.AsSpan(0, Math.Min(data.Length, (int)t.bytes.Length)).CopyTo(t.bytes);
                writer.WriteSection(name, t);
            }

            writer.Commit();
        }
        catch (ArgumentException)
        {
            // The writer refuses what it can never write (a negative version, a scalar section): no mutation this time.
            File.WriteAllBytes(path, original);
            return $"none ({what} cannot be written)";
        }

        return what;
    }

    private static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Int16 or ScalarType.Float16 => 2,
        _ => 1,
    };

    private string ReplaceNumber(string line)
    {
        int start = -1;
        for (int i = 0; i < line.Length; i++)
        {
            if (char.IsAsciiDigit(line[i]))
            {
                start = i;
                break;
            }
        }

        if (start < 0)
        {
            return line + " " + InterestingIntegers[random.Next(InterestingIntegers.Length)];
        }

        int end = start;
        while (end < line.Length && (char.IsAsciiDigit(line[end]) || line[end] is '.' or 'e' or '-'))
        {
            end++;
        }

        string[] replacements = ["0", "-1", "1e308", "2147483648", "65536", "1073741824", "-0.0", ".nan", "1e-320", "99999999999999999999"];
        return line[..start] + replacements[random.Next(replacements.Length)] + line[end..];
    }

    private static void Collect(JsonNode node, List<(JsonNode, object)> slots)
    {
        if (node is JsonObject o)
        {
            foreach (var (key, child) in o.ToList())
            {
                slots.Add((o, key));
                if (child is not null)
                {
                    Collect(child, slots);
                }
            }
        }
        else if (node is JsonArray a)
        {
            for (int i = 0; i < a.Count; i++)
            {
                slots.Add((a, i));
                if (a[i] is JsonNode child)
                {
                    Collect(child, slots);
                }
            }
        }
    }

    private static JsonNode? Get(JsonNode parent, object key) => parent is JsonObject o ? o[(string)key] : ((JsonArray)parent)[(int)key];

    private static void Set(JsonNode parent, object key, JsonNode? value)
    {
        if (parent is JsonObject o)
        {
            o[(string)key] = value;
        }
        else
        {
            ((JsonArray)parent)[(int)key] = value;
        }
    }
}
