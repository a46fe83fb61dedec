using System.Globalization;

namespace RlMemory.Memory;

/// <summary>
/// Checks of the spans handed to <c>Add</c> / <c>AddTransitions</c>, done in full before anything is written, so
/// a rejected call leaves a buffer unchanged. Every message names the owner (the buffer), the call, the argument,
/// the offending value and what is allowed.
/// </summary>
internal static class TransitionChecks
{
    /// <summary>
    /// Refuses a span whose length is not <paramref name="rows"/> × <paramref name="perRow"/> (the message is built
    /// only on failure: checks allocate nothing).
    /// </summary>
    public static void Length(string owner, string call, string argument, int actual, long rows, int perRow, string rowName)
    {
        long expected = rows * perRow;
        if (actual != expected)
        {
            string layout = perRow == 1 ? $"one per {rowName}, {rows} {rowName}s" : $"{rows} {rowName}s × {perRow}";
            throw new ArgumentException($"{owner}: {call} needs {expected} values in {argument} ({layout}), got {actual}.", argument);
        }
    }

    /// <summary>
    /// Refuses a NaN or infinite observation value (float storage) or one outside [0, 255] (byte storage), in the
    /// rows that <paramref name="skip"/> does not mark (all rows when it is empty).
    /// </summary>
    public static void Observations(string owner, string call, string argument, ReadOnlySpan<float> values, int size, ObservationStorage storage, ReadOnlySpan<bool> skip, string rowName)
    {
        int rows = size == 0 ? 0 : values.Length / size;
        if (skip.IsEmpty)
        {
            CheckObservationBlock(owner, call, argument, values, 0, size, storage, rowName);
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            if (!skip[r])
            {
                CheckObservationBlock(owner, call, argument, values.Slice(r * size, size), r * size, size, storage, rowName);
            }
        }
    }

    /// <summary>Refuses a NaN or infinite reward, or one too large for float32.</summary>
    public static void Rewards(string owner, string call, string argument, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> skip, string rowName)
    {
        for (int i = 0; i < rewards.Length; i++)
        {
            if (!skip.IsEmpty && skip[i])
            {
                continue;
            }

            double r = rewards[i];
            if (!double.IsFinite(r))
            {
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] ({rowName} {i}) is {Text(r)}; rewards must be finite.", argument);
            }

            if (!float.IsFinite((float)r))
            {
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] ({rowName} {i}) = {Text(r)} does not fit float32 (|r| ≤ {float.MaxValue.ToString(CultureInfo.InvariantCulture)}).", argument);
            }
        }
    }

    /// <summary>Refuses a discrete action outside ±2^24 (the integers float32 holds exactly).</summary>
    public static void DiscreteActions(string owner, string call, string argument, ReadOnlySpan<int> actions, ReadOnlySpan<bool> skip, string rowName)
    {
        for (int i = 0; i < actions.Length; i++)
        {
            if ((skip.IsEmpty || !skip[i]) && Math.Abs((long)actions[i]) > ActionSpec.MaxDiscreteMagnitude)
            {
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] ({rowName} {i}) = {actions[i]}; discrete actions must lie in [−{ActionSpec.MaxDiscreteMagnitude}, {ActionSpec.MaxDiscreteMagnitude}].", argument);
            }
        }
    }

    /// <summary>Refuses a NaN or infinite continuous action value.</summary>
    public static void ContinuousActions(string owner, string call, string argument, ReadOnlySpan<float> actions, int dimension, ReadOnlySpan<bool> skip, string rowName)
    {
        int rows = actions.Length / dimension;
        for (int r = 0; r < rows; r++)
        {
            if (!skip.IsEmpty && skip[r])
            {
                continue;
            }

            int bad = SpanMath.IndexOfNonFinite(actions.Slice(r * dimension, dimension));
            if (bad >= 0)
            {
                int i = r * dimension + bad;
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] ({rowName} {r}, element {bad}) is {Text(actions[i])}; actions must be finite.", argument);
            }
        }
    }

    /// <summary>Refuses a discount outside [0, 1].</summary>
    public static void Discounts(string owner, string call, string argument, ReadOnlySpan<double> discounts)
    {
        for (int i = 0; i < discounts.Length; i++)
        {
            double d = discounts[i];
            if (!(d >= 0 && d <= 1))
            {
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] (transition {i}) = {Text(d)}; discounts must lie in [0, 1].", argument);
            }
        }
    }

    /// <summary>A number as the messages show it (invariant culture, NaN and ±∞ by name).</summary>
    public static string Text(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "+infinity",
        double.NegativeInfinity => "−infinity",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static void CheckObservationBlock(string owner, string call, string argument, ReadOnlySpan<float> block, int offset, int size, ObservationStorage storage, string rowName)
    {
        if (storage == ObservationStorage.Float32)
        {
            int bad = SpanMath.IndexOfNonFinite(block);
            if (bad >= 0)
            {
                int i = offset + bad;
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] ({rowName} {i / size}, element {i % size}) is {Text(block[bad])}; observations must be finite.", argument);
            }
        }
        else
        {
            int bad = SpanMath.IndexOfOutside(block, 0f, 255f);
            if (bad >= 0)
            {
                int i = offset + bad;
                throw new ArgumentException($"{owner}: {call}: {argument}[{i}] ({rowName} {i / size}, element {i % size}) = {Text(block[bad])} is outside [0, 255]; UInt8 observation storage keeps values 0..255 (floats are rounded to the nearest integer).", argument);
            }
        }
    }
}
