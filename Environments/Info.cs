using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace RlMemory.Environments;

/// <summary>
/// Auxiliary information returned by <c>Reset</c> and <c>Step</c> (Gymnasium's <c>info</c> dict).
/// Immutable; <see cref="Empty"/> is shared, so steps that report nothing allocate nothing.
/// </summary>
public sealed class Info : IReadOnlyDictionary<string, object>
{
    /// <summary>The key under which <c>RecordEpisodeStatistics</c> reports a finished episode.</summary>
    public const string EpisodeKey = "episode";

    private readonly Dictionary<string, object>? _items;

    private Info(Dictionary<string, object>? items) => _items = items;

    /// <summary>The empty info.</summary>
    public static Info Empty { get; } = new(null);

    /// <inheritdoc />
    public int Count => _items?.Count ?? 0;

    /// <inheritdoc />
    public IEnumerable<string> Keys => _items?.Keys ?? Enumerable.Empty<string>();

    /// <inheritdoc />
    public IEnumerable<object> Values => _items?.Values ?? Enumerable.Empty<object>();

    /// <inheritdoc />
    public object this[string key] =>
        TryGetValue(key, out object? value)
            ? value
            : throw new KeyNotFoundException($"Info has no key '{key}'; it has: {(Count == 0 ? "nothing" : string.Join(", ", Keys))}.");

    /// <summary>Creates an info holding one entry.</summary>
    public static Info Of(string key, object value) => Empty.With(key, value);

    /// <summary>A copy of this info with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    public Info With(string key, object value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        var items = _items is null ? new Dictionary<string, object>(1) : new Dictionary<string, object>(_items);
        items[key] = value;
        return new Info(items);
    }

    /// <summary>The finished episode's statistics, when a <c>RecordEpisodeStatistics</c> wrapper reported one.</summary>
    public EpisodeStatistics? Episode => TryGetValue(EpisodeKey, out object? v) ? v as EpisodeStatistics : null;

    /// <summary>Reads an entry of type <typeparamref name="T"/>.</summary>
    public bool TryGet<T>(string key, [MaybeNullWhen(false)] out T value)
    {
        if (TryGetValue(key, out object? v) && v is T t)
        {
            value = t;
            return true;
        }

        value = default;
        return false;
    }

    /// <inheritdoc />
    public bool ContainsKey(string key) => _items?.ContainsKey(key) ?? false;

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object value)
    {
        if (_items is null)
        {
            value = null;
            return false;
        }

        return _items.TryGetValue(key, out value);
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() =>
        (_items ?? Enumerable.Empty<KeyValuePair<string, object>>()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() =>
        Count == 0 ? "{}" : "{" + string.Join(", ", this.Select(kv => $"{kv.Key}: {kv.Value}")) + "}";
}

/// <summary>Statistics of one finished episode (Gymnasium's <c>info["episode"]</c>: <c>r</c>, <c>l</c>, <c>t</c>).</summary>
/// <param name="Return">The sum of rewards.</param>
/// <param name="Length">The number of steps.</param>
/// <param name="Seconds">Wall-clock duration of the episode.</param>
public sealed record EpisodeStatistics(double Return, int Length, double Seconds);
