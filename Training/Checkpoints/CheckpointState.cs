using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace RlMemory.Training.Checkpoints;

/// <summary>
/// Reads a trainer's state back from a checkpoint's manifest, defensively: every value is read with its type and range,
/// and a missing or malformed one is a <see cref="CheckpointException"/> that names the key, the checkpoint and the
/// older checkpoint still available, never a cast or null-reference failure. The manifest's hash already refuses
/// accidental damage; this refuses a manifest edited by hand (or crafted) with a valid hash.
/// </summary>
public sealed class CheckpointState
{
    private readonly Checkpoint _checkpoint;

    /// <summary>Reads the state of <paramref name="checkpoint"/>.</summary>
    public CheckpointState(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        _checkpoint = checkpoint;
    }

    /// <summary>The integer <paramref name="key"/>, in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long Long(string key, long min = 0, long max = long.MaxValue)
    {
        if (Node(key) is JsonValue value && value.TryGetValue(out long result) && result >= min && result <= max)
        {
            return result;
        }

        throw Invalid($"'{key}' must be an integer in [{min}, {max}], got {Describe(key)}");
    }

    /// <summary>The finite number <paramref name="key"/>, or null where the state holds null.</summary>
    public double? OptionalDouble(string key)
    {
        JsonNode? node = Node(key, required: false);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.TryGetValue(out double result) && double.IsFinite(result))
        {
            return result;
        }

        throw Invalid($"'{key}' must be a finite number or null, got {Describe(key)}");
    }

    /// <summary>The boolean <paramref name="key"/>.</summary>
    public bool Bool(string key)
    {
        if (Node(key) is JsonValue value && value.TryGetValue(out bool result))
        {
            return result;
        }

        throw Invalid($"'{key}' must be true or false, got {Describe(key)}");
    }

    /// <summary>The bytes <paramref name="key"/> holds in Base64, of exactly <paramref name="length"/> bytes when given.</summary>
    public byte[] Bytes(string key, int? length = null)
    {
        if (Node(key) is JsonValue value && value.TryGetValue(out string? text))
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                throw Invalid($"'{key}' is not valid Base64");
            }

            if (length is int expected && bytes.Length != expected)
            {
                throw Invalid($"'{key}' holds {bytes.Length} bytes; this run needs {expected}");
            }

            return bytes;
        }

        throw Invalid($"'{key}' must be a Base64 string, got {Describe(key)}");
    }

    /// <summary>The object <paramref name="key"/>, deserialized with <paramref name="type"/> and checked by <paramref name="check"/> (null: valid).</summary>
    public T Value<T>(string key, JsonTypeInfo<T> type, Func<T, string?>? check = null)
        where T : class
    {
        T? value;
        try
        {
            value = Node(key).Deserialize(type);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or FormatException)
        {
            throw Invalid($"'{key}' cannot be read ({e.Message})");
        }

        if (value is null)
        {
            throw Invalid($"'{key}' is missing");
        }

        return check?.Invoke(value) is string problem ? throw Invalid($"'{key}' {problem}") : value;
    }

    /// <summary>Like <see cref="Value{T}"/>, but null where the state holds null.</summary>
    public T? OptionalValue<T>(string key, JsonTypeInfo<T> type, Func<T, string?>? check = null)
        where T : class =>
        Node(key, required: false) is null ? null : Value(key, type, check);

    /// <summary>The run's configuration saved under <c>config</c>, as key/value entries for its schema.</summary>
    public IEnumerable<KeyValuePair<string, object?>> Config() =>
        Node("config") is JsonObject config ? Configuration.ConfigJson.Read(config) : throw Invalid("'config' must be an object of configuration keys");

    /// <summary>The evaluations saved with <see cref="WriteEvaluations"/> under <paramref name="key"/>.</summary>
    public IReadOnlyList<EvaluationResult> Evaluations(string key)
    {
        if (Node(key) is not JsonArray array)
        {
            throw Invalid($"'{key}' must be a list of evaluations, got {Describe(key)}");
        }

        var results = new List<EvaluationResult>(array.Count);
        foreach (JsonNode? item in array)
        {
            if (item is JsonObject e
                && e["step"] is JsonValue stepValue && stepValue.TryGetValue(out long step) && step >= 0
                && e["returns"] is JsonArray returns && e["lengths"] is JsonArray lengths && returns.Count == lengths.Count && returns.Count > 0
                && returns.All(r => r is JsonValue v && v.TryGetValue(out double x) && double.IsFinite(x))
                && lengths.All(l => l is JsonValue v && v.TryGetValue(out int n) && n >= 0))
            {
                results.Add(new EvaluationResult(step, [.. returns.Select(r => r!.GetValue<double>())], [.. lengths.Select(l => l!.GetValue<int>())]));
            }
            else
            {
                throw Invalid($"'{key}' holds an evaluation that is not {{step, returns, lengths}} with as many finite returns as lengths");
            }
        }

        return results;
    }

    /// <summary>The JSON form of <paramref name="evaluations"/> that <see cref="Evaluations"/> reads.</summary>
    public static JsonArray WriteEvaluations(IEnumerable<EvaluationResult> evaluations) =>
        new([.. evaluations.Select(e => (JsonNode)new JsonObject
        {
            ["step"] = e.Step,
            ["returns"] = new JsonArray([.. e.Returns.Select(r => (JsonNode)r)]),
            ["lengths"] = new JsonArray([.. e.Lengths.Select(l => (JsonNode)l)]),
        })]);

    /// <summary>A <see cref="CheckpointException"/> saying the state is invalid: <paramref name="problem"/>.</summary>
    public CheckpointException Invalid(string problem) =>
        new($"The checkpoint {_checkpoint.Folder} cannot be resumed: in {CheckpointStore.ManifestName}, {problem}. {CheckpointStore.DescribeOlder(_checkpoint.Folder)}");

    /// <summary>
    /// Runs <paramref name="restore"/>, which reads the checkpoint's files into the trainer; a file that does not fit
    /// (an <see cref="InvalidDataException"/> from a loader, a state of another shape) becomes a
    /// <see cref="CheckpointException"/> naming the checkpoint and the older one.
    /// </summary>
    public static T Restore<T>(Checkpoint checkpoint, Func<T> restore)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(restore);
        try
        {
            return restore();
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or FormatException or Configuration.ConfigException)
        {
            throw new CheckpointException(
                $"The checkpoint {checkpoint.Folder} cannot be resumed: {e.Message} {CheckpointStore.DescribeOlder(checkpoint.Folder)}", e);
        }
    }

    private JsonNode? Node(string key, bool required = true)
    {
        if (!_checkpoint.State.TryGetPropertyValue(key, out JsonNode? node) && required)
        {
            throw Invalid($"'{key}' is missing");
        }

        return node;
    }

    private string Describe(string key)
    {
        string text = _checkpoint.State[key]?.ToJsonString() ?? "null";
        return text.Length > 60 ? text[..60] + "…" : text;
    }
}
