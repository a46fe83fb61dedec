using System.Globalization;

namespace RlMemory.Memory;

/// <summary>
/// Argument checks and message formatting shared by the priority trees and samplers. Every message names the
/// structure and member (<c>SumTree.Update</c>), the position in a batch, the offending value and the allowed range,
/// and states that nothing was changed.
/// </summary>
internal static class PriorityArguments
{
    /// <summary>Formats a number so that it reads back to the same value (invariant culture, round trip).</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Formats a number so that it reads back to the same value (invariant culture).</summary>
    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Throws unless <paramref name="capacity"/> is in [1, <paramref name="maxCapacity"/>].</summary>
    public static void CheckCapacity(string owner, int capacity, int maxCapacity)
    {
        if (capacity < 1 || capacity > maxCapacity)
        {
            throw new ArgumentOutOfRangeException(
                nameof(capacity),
                capacity,
                $"{owner}: capacity must be in [1, {Format(maxCapacity)}]; got {Format(capacity)}.");
        }
    }

    /// <summary>Throws when two spans that pair up element by element differ in length.</summary>
    public static void CheckSameLength(string owner, string firstName, int firstLength, string secondName, int secondLength)
    {
        if (firstLength != secondLength)
        {
            throw new ArgumentException(
                $"{owner}: {firstName} and {secondName} must have the same length; got {Format(firstLength)} and {Format(secondLength)}. Nothing was changed.");
        }
    }

    /// <summary>Throws unless <paramref name="index"/> is in [0, <paramref name="capacity"/>).</summary>
    public static void CheckIndex(string owner, long index, int capacity, int position = -1)
    {
        if ((ulong)index >= (ulong)capacity)
        {
            throw IndexOutOfRange(owner, index, capacity, position);
        }
    }

    /// <summary>The exception for an index outside [0, capacity).</summary>
    public static ArgumentOutOfRangeException IndexOutOfRange(string owner, long index, int capacity, int position) =>
        new(
            "index",
            index,
            $"{owner}: index {Format(index)}{At(position)} is out of range; valid indices are [0, {Format(capacity)}). Nothing was changed.");

    /// <summary>Throws unless <paramref name="value"/> is finite and ≥ 0 (the values a tree leaf may hold).</summary>
    public static void CheckLeafValue(string owner, double value, int index, int position = -1)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(
                "value",
                value,
                $"{owner}: value {Format(value)} for index {Format(index)}{At(position)} is not a valid priority; it must be finite and ≥ 0. Nothing was changed.");
        }
    }

    /// <summary>" (position 3 in the batch)" for a batch element, empty for a single call.</summary>
    public static string At(int position) =>
        position < 0 ? string.Empty : $" (position {Format(position)} in the batch)";
}
