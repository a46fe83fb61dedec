namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Gymnasium's <c>RunningMeanStd.update</c> with a batch of one value (its variance 0): Chan et al.'s parallel update
/// of a running mean and variance, shared by the normalizing wrappers so both compute it in the same order.
/// </summary>
internal static class RunningMoments
{
    /// <summary>Adds <paramref name="value"/> to the statistics of <paramref name="count"/> values (the caller then counts one more).</summary>
    public static void Add(ref double mean, ref double variance, double count, double value)
    {
        double total = count + 1;
        double delta = value - mean;
        mean += delta / total;
        variance = ((variance * count) + (delta * delta * count / total)) / total;
    }
}
