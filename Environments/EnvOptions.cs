using System.Collections;
using System.Globalization;

namespace RlMemory.Environments;

/// <summary>
/// Named options of an environment: construction options given to <see cref="EnvRegistry.Make(string, EnvOptions?, int?)"/>
/// (Gymnasium's <c>make</c> kwargs) or per-reset options (Gymnasium's <c>reset(options=…)</c>).
/// Keys are case-sensitive, snake_case by convention (<c>corridor_length</c>). Values are numbers, booleans or
/// strings; the typed getters also accept numbers written as strings (as YAML gives them).
/// </summary>
public sealed class EnvOptions : IEnumerable<KeyValuePair<string, object>>
{
    private readonly Dictionary<string, object> _values = new(StringComparer.Ordinal);

    /// <summary>Creates empty options.</summary>
    public EnvOptions()
    {
    }

    /// <summary>Creates options holding <paramref name="values"/>.</summary>
    public EnvOptions(IEnumerable<KeyValuePair<string, object>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (key, value) in values)
        {
            this[key] = value;
        }
    }

    /// <summary>The empty options (a fresh instance each time).</summary>
    public static EnvOptions None => new();

    /// <summary>Who these options belong to, for error messages (e.g. <c>TMaze-v0</c>).</summary>
    public string Owner { get; init; } = "environment";

    /// <summary>The number of options.</summary>
    public int Count => _values.Count;

    /// <summary>The option names.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>Gets or sets an option value.</summary>
    public object this[string key]
    {
        get => _values.TryGetValue(key, out object? v)
            ? v
            : throw new KeyNotFoundException($"{Owner} has no option '{key}'. Options given: {Describe()}.");
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key);
            ArgumentNullException.ThrowIfNull(value, key);
            _values[key] = value;
        }
    }

    /// <summary>Adds an option (lets collection initializers read <c>new EnvOptions { { "length", 10 } }</c>).</summary>
    public void Add(string key, object value) => this[key] = value;

    /// <summary>Whether an option named <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>The raw value, or null.</summary>
    public object? GetValueOrDefault(string key) => _values.GetValueOrDefault(key);

    /// <summary>A copy with <paramref name="overrides"/> applied on top and <see cref="Owner"/> set.</summary>
    public EnvOptions Merge(EnvOptions? overrides, string? owner = null)
    {
        var merged = new EnvOptions(_values) { Owner = owner ?? Owner };
        if (overrides is not null)
        {
            foreach (var (k, v) in overrides._values)
            {
                merged._values[k] = v;
            }
        }

        return merged;
    }

    /// <summary>
    /// Throws when an option is not one of <paramref name="allowed"/>, naming it, the close matches and the valid names.
    /// </summary>
    public void RequireKnownKeys(IEnumerable<string> allowed)
    {
        var allowedSet = allowed.ToHashSet(StringComparer.Ordinal);
        foreach (string key in _values.Keys)
        {
            if (!allowedSet.Contains(key))
            {
                var close = Naming.CloseMatches(key, allowedSet);
                string hint = close.Count > 0 ? $" Did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : string.Empty;
                string valid = allowedSet.Count == 0 ? "it takes no options" : "valid options: " + string.Join(", ", allowedSet.Order(StringComparer.Ordinal));
                throw new ArgumentException($"{Owner} does not accept option '{key}'.{hint} ({valid}).");
            }
        }
    }

    /// <summary>Reads an integer option, or <paramref name="defaultValue"/> when absent.</summary>
    public int GetInt(string key, int defaultValue) => Contains(key) ? GetInt(key) : defaultValue;

    /// <summary>Reads a required integer option.</summary>
    public int GetInt(string key)
    {
        object v = this[key];
        switch (v)
        {
            case int i:
                return i;
            case long l when l is >= int.MinValue and <= int.MaxValue:
                return (int)l;
            case double d when d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue:
                return (int)d;
            case float f when f == MathF.Floor(f) && f is >= int.MinValue and <= int.MaxValue:
                return (int)f;
            case string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed):
                return parsed;
            default:
                throw Invalid(key, v, "an integer");
        }
    }

    /// <summary>Reads a number option, or <paramref name="defaultValue"/> when absent.</summary>
    public double GetDouble(string key, double defaultValue) => Contains(key) ? GetDouble(key) : defaultValue;

    /// <summary>Reads a required number option (NaN is refused).</summary>
    public double GetDouble(string key)
    {
        object v = this[key];
        double d = v switch
        {
            double x => x,
            float x => x,
            int x => x,
            long x => x,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) => parsed,
            _ => throw Invalid(key, v, "a number"),
        };
        if (double.IsNaN(d))
        {
            throw Invalid(key, v, "a number (not NaN)");
        }

        return d;
    }

    /// <summary>Reads a boolean option, or <paramref name="defaultValue"/> when absent.</summary>
    public bool GetBool(string key, bool defaultValue) => Contains(key) ? GetBool(key) : defaultValue;

    /// <summary>Reads a required boolean option.</summary>
    public bool GetBool(string key)
    {
        object v = this[key];
        return v switch
        {
            bool b => b,
            string s when bool.TryParse(s, out bool parsed) => parsed,
            _ => throw Invalid(key, v, "true or false"),
        };
    }

    /// <summary>Reads a string option, or <paramref name="defaultValue"/> when absent.</summary>
    public string GetString(string key, string defaultValue) => Contains(key) ? GetString(key) : defaultValue;

    /// <summary>Reads a required string option.</summary>
    public string GetString(string key) => this[key] switch
    {
        string s => s,
        var v => throw Invalid(key, v, "a string"),
    };

    /// <summary>Builds the exception for an option outside its allowed values.</summary>
    public ArgumentException Invalid(string key, object? value, string allowed) =>
        new($"{Owner}: option '{key}' must be {allowed}; got {FormatValue(value)}.");

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Describe();

    private string Describe() =>
        _values.Count == 0 ? "none" : string.Join(", ", _values.Select(kv => $"{kv.Key}={FormatValue(kv.Value)}"));

    private static string FormatValue(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}' (string)",
        IFormattable f => $"{f.ToString(null, CultureInfo.InvariantCulture)} ({value.GetType().Name})",
        _ => $"{value} ({value.GetType().Name})",
    };
}
