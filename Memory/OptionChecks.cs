namespace RlMemory.Memory;

/// <summary>
/// The checks of the fields every buffer's options share (observation shape, action, number of environments), with
/// messages that name the options type and field (e.g. <c>ReplayBufferOptions.NumEnvs must be in [1, 65536], got 0.</c>).
/// </summary>
internal static class OptionChecks
{
    /// <summary>The largest number of environments per step.</summary>
    public const int MaxNumEnvs = 1 << 16;

    /// <summary>The largest number of values in one observation (2^26).</summary>
    public const int MaxObservationSize = 1 << 26;

    /// <summary>A copy of <paramref name="value"/>: 1 to 8 dimensions, each at least 1, at most <see cref="MaxObservationSize"/> values.</summary>
    public static int[] Shape(string owner, IReadOnlyList<int> value)
    {
        const string field = "ObservationShape";
        if (value is null)
        {
            throw new ArgumentNullException(field, $"{owner}.{field} must not be null; e.g. [4] or [84, 84].");
        }

        int[] shape = [.. value];
        string text = $"[{ShapeText(shape)}]";
        if (shape.Length is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException(field, text, $"{owner}.{field} must have 1 to 8 dimensions, got {shape.Length} ({text}).");
        }

        long size = 1;
        foreach (int d in shape)
        {
            if (d < 1)
            {
                throw new ArgumentOutOfRangeException(field, text, $"{owner}.{field}: every dimension must be at least 1, got {text}.");
            }

            size *= d;
            if (size > MaxObservationSize)
            {
                throw new ArgumentOutOfRangeException(field, text, $"{owner}.{field} {text} has more than {MaxObservationSize} values.");
            }
        }

        return shape;
    }

    /// <summary><paramref name="value"/>, which must not be null.</summary>
    public static ActionSpec Action(string owner, ActionSpec value) =>
        value ?? throw new ArgumentNullException(nameof(Action), $"{owner}.Action must not be null; use ActionSpec.Discrete or ActionSpec.Continuous(d).");

    /// <summary><paramref name="value"/>, which must be in [1, <see cref="MaxNumEnvs"/>].</summary>
    public static int NumEnvs(string owner, int value) => value is >= 1 and <= MaxNumEnvs
        ? value
        : throw new ArgumentOutOfRangeException(nameof(NumEnvs), value, $"{owner}.NumEnvs must be in [1, {MaxNumEnvs}], got {value}.");

    /// <summary>The number of values of an observation of <paramref name="shape"/> (checked by <see cref="Shape"/>).</summary>
    public static int Size(int[] shape)
    {
        long p = 1;
        foreach (int d in shape)
        {
            p *= d;
        }

        return (int)p;
    }

    /// <summary>A shape as text, e.g. <c>84, 84</c>.</summary>
    public static string ShapeText(IReadOnlyList<int> shape) => string.Join(", ", shape);
}
