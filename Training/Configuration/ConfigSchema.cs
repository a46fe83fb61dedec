using System.Collections;
using System.Globalization;

namespace RlMemory.Training.Configuration;

/// <summary>
/// The named, typed, validated keys of a configuration record (snake_case, as in rl-baselines3-zoo's hyperparameter
/// files). Applies values from YAML documents or <c>--set key=value</c> overrides, refusing unknown keys (naming
/// close matches and every valid key) and out-of-range values (naming the key, the value and what is allowed).
/// </summary>
/// <typeparam name="TConfig">An immutable record; each key reads and replaces one of its properties.</typeparam>
public sealed class ConfigSchema<TConfig>
    where TConfig : class
{
    private readonly Dictionary<string, IField> _fields = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>Creates an empty schema; <paramref name="name"/> names the configuration in messages.</summary>
    public ConfigSchema(string name) => Name = name;

    /// <summary>The configuration's name in messages, e.g. <c>dqn</c>.</summary>
    public string Name { get; }

    /// <summary>The keys, in declaration order.</summary>
    public IReadOnlyList<string> Keys => _order;

    /// <summary>Declares a key.</summary>
    /// <param name="key">The snake_case key.</param>
    /// <param name="description">What it controls (shown by listings).</param>
    /// <param name="get">Reads the value from a configuration.</param>
    /// <param name="set">Returns a configuration with the value replaced.</param>
    /// <param name="check">Returns null when a value is allowed, else a description of what is allowed.</param>
    public ConfigSchema<TConfig> Add<TValue>(
        string key, string description, Func<TConfig, TValue> get, Func<TConfig, TValue, TConfig> set, Func<TValue, string?>? check = null)
    {
        if (!_fields.TryAdd(key, new Field<TValue>(key, description, get, set, check)))
        {
            throw new ArgumentException($"The {Name} schema declares '{key}' twice.", nameof(key));
        }

        _order.Add(key);
        return this;
    }

    /// <summary>Whether <paramref name="key"/> is declared.</summary>
    public bool Contains(string key) => _fields.ContainsKey(key);

    /// <summary>The description of <paramref name="key"/>.</summary>
    public string Describe(string key) => Lookup(key, "the schema").Description;

    /// <summary>Applies every entry of <paramref name="values"/> to <paramref name="config"/>.</summary>
    /// <param name="config">The starting configuration.</param>
    /// <param name="values">Keys and raw values (strings, numbers, booleans, lists, maps as YAML gives them).</param>
    /// <param name="source">Where the values come from, for messages (a file name, <c>--set</c>).</param>
    /// <exception cref="ConfigException">A key is unknown or a value is invalid.</exception>
    public TConfig Apply(TConfig config, IEnumerable<KeyValuePair<string, object?>> values, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (key, value) in values)
        {
            config = Lookup(key, source).Apply(config, value, source);
        }

        return config;
    }

    /// <summary>Applies one <c>key=value</c> override (the value parsed as YAML would parse a scalar or a flow list).</summary>
    /// <exception cref="ConfigException">The text is not <c>key=value</c>, the key is unknown or the value invalid.</exception>
    public TConfig ApplyOverride(TConfig config, string assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ConfigException($"--set expects key=value, got '{assignment}'. Valid keys: {string.Join(", ", _order)}.");
        }

        string key = assignment[..eq].Trim();
        object? value = YamlValues.ParseInline(assignment[(eq + 1)..].Trim());
        int dot = key.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            // map.entry=value sets one entry of a map (env_options.corridor_length=50) and keeps the others.
            string mapKey = key[..dot];
            string entry = key[(dot + 1)..];
            IField field = Lookup(mapKey, "--set");
            if (field.Read(config) is not IReadOnlyDictionary<string, object> current)
            {
                throw new ConfigException($"--set: '{mapKey}' is not a map, so '{key}' cannot set an entry of it; write --set {mapKey}=value.");
            }

            if (entry.Length == 0 || value is null)
            {
                throw new ConfigException($"--set: '{assignment}' needs an entry name after '{mapKey}.' and a value, like {mapKey}.name=value.");
            }

            var merged = new Dictionary<string, object>(current, StringComparer.Ordinal) { [entry] = value };
            return field.Apply(config, merged, "--set");
        }

        return Lookup(key, "--set").Apply(config, value, "--set");
    }

    /// <summary>Every key with its current value, in declaration order (for saving a run's configuration).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> ToEntries(TConfig config) =>
        [.. _order.Select(k => new KeyValuePair<string, object?>(k, _fields[k].Read(config)))];

    /// <summary>Checks every value of <paramref name="config"/> (e.g. one built in code) against the schema.</summary>
    /// <exception cref="ConfigException">A value is out of range.</exception>
    public TConfig Validate(TConfig config)
    {
        foreach (string key in _order)
        {
            _fields[key].Validate(config);
        }

        return config;
    }

    private IField Lookup(string key, string source)
    {
        if (_fields.TryGetValue(key, out IField? field))
        {
            return field;
        }

        var close = CloseMatches(key);
        string hint = close.Count > 0 ? $" Did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : string.Empty;
        throw new ConfigException($"{source}: unknown {Name} key '{key}'.{hint} Valid keys: {string.Join(", ", _order)}.");
    }

    private List<string> CloseMatches(string key) =>
        [.. _order
            .Select(k => (Key: k, Distance: Distance(key, k)))
            .Where(x => x.Distance <= Math.Max(2, key.Length / 3) || x.Key.Contains(key, StringComparison.Ordinal))
            .OrderBy(x => x.Distance)
            .Take(3)
            .Select(x => x.Key)];

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }

        return d[a.Length, b.Length];
    }

    private interface IField
    {
        string Description { get; }

        TConfig Apply(TConfig config, object? raw, string source);

        object? Read(TConfig config);

        void Validate(TConfig config);
    }

    private sealed class Field<TValue>(string key, string description, Func<TConfig, TValue> get, Func<TConfig, TValue, TConfig> set, Func<TValue, string?>? check)
        : IField
    {
        public string Description { get; } = description;

        public TConfig Apply(TConfig config, object? raw, string source)
        {
            TValue value;
            try
            {
                value = YamlValues.Convert<TValue>(raw);
            }
            catch (FormatException e)
            {
                throw new ConfigException($"{source}: {key} = {YamlValues.Format(raw)} is invalid: {e.Message}");
            }

            string? allowed = check?.Invoke(value);
            if (allowed is not null)
            {
                throw new ConfigException($"{source}: {key} = {YamlValues.Format(raw)} is out of range: {allowed}.");
            }

            return set(config, value);
        }

        public object? Read(TConfig config) => get(config);

        public void Validate(TConfig config)
        {
            TValue value = get(config);
            string? allowed = check?.Invoke(value);
            if (allowed is not null)
            {
                throw new ConfigException($"{key} = {YamlValues.Format(value)} is out of range: {allowed}.");
            }
        }
    }
}

/// <summary>An invalid configuration: unknown key, wrong type or out-of-range value. The message says which and what is allowed.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public ConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Range checks for schema keys: each returns null when the value is allowed, else what is allowed.</summary>
public static class Allowed
{
    /// <summary>At least <paramref name="min"/>.</summary>
    public static Func<int, string?> AtLeast(int min) => v => v >= min ? null : $"must be an integer >= {min}";

    /// <summary>At least <paramref name="min"/>.</summary>
    public static Func<long, string?> AtLeast(long min) => v => v >= min ? null : $"must be an integer >= {min}";

    /// <summary>In [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Func<int, string?> Between(int min, int max) => v => v >= min && v <= max ? null : $"must be an integer in [{min}, {max}]";

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Func<double, string?> Between(double min, double max) =>
        v => double.IsFinite(v) && v >= min && v <= max ? null : $"must be a number in [{Fmt(min)}, {Fmt(max)}]";

    /// <summary>A finite number greater than <paramref name="min"/> and at most <paramref name="max"/>.</summary>
    public static Func<double, string?> Above(double min, double max = double.MaxValue) =>
        v => double.IsFinite(v) && v > min && v <= max ? null : max == double.MaxValue ? $"must be a finite number > {Fmt(min)}" : $"must be a number in ({Fmt(min)}, {Fmt(max)}]";

    /// <summary>One of <paramref name="choices"/>.</summary>
    public static Func<string, string?> OneOf(params string[] choices) =>
        v => choices.Contains(v, StringComparer.Ordinal) ? null : $"must be one of {string.Join(", ", choices)}";

    /// <summary>A non-empty list of integers each in [<paramref name="min"/>, <paramref name="max"/>], or empty when <paramref name="allowEmpty"/>.</summary>
    public static Func<IReadOnlyList<int>, string?> IntList(int min, int max, bool allowEmpty) =>
        v => (v.Count > 0 || allowEmpty) && v.All(x => x >= min && x <= max)
            ? null
            : $"must be a list like [256, 256] of integers in [{min}, {max}]{(allowEmpty ? " (or [])" : string.Empty)}";

    private static string Fmt(double x) => x.ToString("G", CultureInfo.InvariantCulture);
}

/// <summary>Conversions between YAML's raw values (strings, lists, maps) and typed configuration values.</summary>
public static class YamlValues
{
    /// <summary>Parses an override value: a flow list <c>[a, b]</c>, a flow map <c>{a: 1, b: 2}</c> of scalars, a quoted string, or a scalar kept as text.</summary>
    public static object? ParseInline(string text)
    {
        string t = text.Trim();
        if (t.StartsWith('{') && t.EndsWith('}'))
        {
            // A flow map of scalars, as YAML writes it: {corridor_length: 50, time_limit_factor: 2}.
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            string inner = t[1..^1].Trim();
            if (inner.Length == 0)
            {
                return map;
            }

            foreach (string item in inner.Split(','))
            {
                int colon = item.IndexOf(':', StringComparison.Ordinal);
                string name = colon > 0 ? item[..colon].Trim() : string.Empty;
                if (name.Length == 0)
                {
                    throw new ConfigException($"'{t}' is not a map of name: value entries (at '{item.Trim()}').");
                }

                map[name] = ParseInline(item[(colon + 1)..]);
            }

            return map;
        }

        if (t.StartsWith('[') && t.EndsWith(']'))
        {
            string inner = t[1..^1].Trim();
            return inner.Length == 0 ? new List<object?>() : inner.Split(',').Select(s => (object?)s.Trim()).ToList();
        }

        if (t.Length >= 2 && ((t[0] == '"' && t[^1] == '"') || (t[0] == '\'' && t[^1] == '\'')))
        {
            return t[1..^1];
        }

        return t is "null" or "~" ? null : t;
    }

    /// <summary>Converts a raw value to <typeparamref name="T"/>.</summary>
    /// <exception cref="FormatException">The value cannot be read as a <typeparamref name="T"/>.</exception>
    public static T Convert<T>(object? raw) => (T)Convert(raw, typeof(T))!;

    /// <summary>Formats a raw or typed value for messages.</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary d => "{" + string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k}: {Format(d[k])}")) + "}",
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => value.ToString() ?? string.Empty,
    };

    private static object? Convert(object? raw, Type type)
    {
        Type? nullable = Nullable.GetUnderlyingType(type);
        if (nullable is not null)
        {
            return raw is null || (raw is string s0 && s0 is "null" or "~" or "") ? null : Convert(raw, nullable);
        }

        if (type == typeof(string))
        {
            return raw switch
            {
                string s => s,
                null => throw new FormatException("expected a string"),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => throw new FormatException("expected a string"),
            };
        }

        if (type == typeof(int))
        {
            long l = ToLong(raw);
            return l is >= int.MinValue and <= int.MaxValue ? (int)l : throw new FormatException("the integer is too large");
        }

        if (type == typeof(long))
        {
            return ToLong(raw);
        }

        if (type == typeof(double))
        {
            return raw switch
            {
                double d => d,
                float f => (double)f,
                int i => (double)i,
                long l => (double)l,
                string s when double.TryParse(s.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
                string s when s is ".inf" or "inf" => double.PositiveInfinity,
                string s when s is "-.inf" or "-inf" => double.NegativeInfinity,
                _ => throw new FormatException("expected a number"),
            };
        }

        if (type == typeof(bool))
        {
            return raw switch
            {
                bool b => b,
                string s when s.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
                string s when s.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
                _ => throw new FormatException("expected true or false"),
            };
        }

        if (type == typeof(IReadOnlyList<int>))
        {
            return raw switch
            {
                IEnumerable e and not string => e.Cast<object?>().Select(x => (int)Convert(x, typeof(int))!).ToList(),
                _ => throw new FormatException("expected a list of integers like [256, 256]"),
            };
        }

        if (type == typeof(IReadOnlyDictionary<string, object>))
        {
            return raw switch
            {
                null => new Dictionary<string, object>(),
                IDictionary d => d.Keys.Cast<object>().ToDictionary(
                    k => k.ToString() ?? string.Empty,
                    k => d[k] ?? throw new FormatException($"option '{k}' has no value")),
                _ => throw new FormatException("expected a map like {length: 10}"),
            };
        }

        throw new FormatException($"values of type {type.Name} are not supported");
    }

    private static long ToLong(object? raw) => raw switch
    {
        int i => i,
        long l => l,
        double d when d == Math.Floor(d) && Math.Abs(d) < 9e15 => (long)d,
        string s when long.TryParse(s.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e15 => (long)d,
        _ => throw new FormatException("expected an integer"),
    };
}
