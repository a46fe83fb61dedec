namespace RlMemory.Agents.Continuous;

/// <summary>
/// Maps actions in [−1, 1] (what tanh-squashed policies produce and critics read) into a Box's finite bounds:
/// low + (a + 1)·(high − low)/2, clamped to [low, high] against rounding (Stable-Baselines3's <c>unscale_action</c>).
/// </summary>
public sealed class ActionBounds
{
    private readonly float[] _low;
    private readonly float[] _high;
    private readonly float[] _halfRange;

    /// <summary>Bounds <paramref name="low"/> and <paramref name="high"/> of equal length (finite, low &lt; high; checked by the actors' configurations).</summary>
    public ActionBounds(IReadOnlyList<float> low, IReadOnlyList<float> high)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        if (low.Count != high.Count || low.Count == 0)
        {
            throw new ArgumentException($"ActionBounds: {low.Count} lower and {high.Count} upper bounds; they must be as many, at least 1.", nameof(high));
        }

        _low = [.. low];
        _high = [.. high];
        _halfRange = [.. low.Select((l, i) => 0.5f * (high[i] - l))];
    }

    /// <summary>Floats in one action.</summary>
    public int Size => _low.Length;

    /// <summary>Maps <paramref name="squashed"/> ([n × actions] floats in [−1, 1]) into <paramref name="actions"/> (as many floats) within the bounds.</summary>
    /// <exception cref="ArgumentException">The lengths differ or are not a multiple of the action size.</exception>
    public void Rescale(ReadOnlySpan<float> squashed, Span<float> actions)
    {
        int d = _low.Length;
        if (squashed.Length != actions.Length || squashed.Length % d != 0)
        {
            throw new ArgumentException($"ActionBounds.Rescale: {squashed.Length} squashed values for {actions.Length} actions of size {d}.", nameof(actions));
        }

        for (int i = 0; i < squashed.Length; i++)
        {
            int k = i % d;
            actions[i] = Math.Clamp(_low[k] + ((squashed[i] + 1f) * _halfRange[k]), _low[k], _high[k]);
        }
    }
}
