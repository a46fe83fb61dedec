namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium's <c>utils.maybe_parse_reset_bounds</c>: the <c>low</c>/<c>high</c> reset options of classic control.
/// </summary>
internal static class ResetBounds
{
    private static readonly string[] Keys = ["low", "high"];

    public static (double Low, double High) Parse(EnvOptions? options, double defaultLow, double defaultHigh, string owner)
    {
        if (options is null)
        {
            return (defaultLow, defaultHigh);
        }

        var named = new EnvOptions(options) { Owner = owner + " reset" };
        named.RequireKnownKeys(Keys);
        double low = named.GetDouble("low", defaultLow);
        double high = named.GetDouble("high", defaultHigh);
        if (double.IsInfinity(low) || double.IsInfinity(high) || low > high)
        {
            throw new ArgumentException(
                $"{owner} reset: need finite low <= high, got low = {low}, high = {high}.");
        }

        return (low, high);
    }
}

/// <summary>Reads and checks a classic-control physical state.</summary>
internal static class PhysicalState
{
    public static void CheckAndCopy(double[]? value, double[] destination, string owner, string layout)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length != destination.Length)
        {
            throw new ArgumentException(
                $"{owner}: State needs {destination.Length} values ({layout}), got {value.Length}.", nameof(value));
        }

        for (int i = 0; i < value.Length; i++)
        {
            if (!double.IsFinite(value[i]))
            {
                throw new ArgumentException($"{owner}: State[{i}] must be finite, got {value[i]} ({layout}).", nameof(value));
            }
        }

        value.CopyTo(destination, 0);
    }
}
