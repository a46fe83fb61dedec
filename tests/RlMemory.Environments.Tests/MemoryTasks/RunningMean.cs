namespace RlMemory.Environments.Tests.MemoryTasks;

/// <summary>Mean and standard error of simulated returns (Welford), for Monte-Carlo yardstick checks.</summary>
internal sealed class RunningMean
{
    private double _m2;

    public long Count { get; private set; }

    public double Mean { get; private set; }

    public double StandardError => Count < 2 ? double.PositiveInfinity : Math.Sqrt(_m2 / (Count - 1) / Count);

    public void Add(double x)
    {
        Count++;
        double delta = x - Mean;
        Mean += delta / Count;
        _m2 += delta * (x - Mean);
    }

    /// <summary>
    /// Asserts |mean − expected| ≤ sigmas · standard error + slack (the slack covers a rounded documented value; at least
    /// 1e-9, for an exact, zero-variance match).
    /// </summary>
    public void AssertWithin(double expected, double sigmas, string what, double slack = 1e-9)
    {
        double bound = sigmas * StandardError + Math.Max(slack, 1e-9);
        Assert.True(
            Math.Abs(Mean - expected) <= bound,
            $"{what}: simulated mean {Mean:R} ± {StandardError:G3} (n = {Count}) is not within {sigmas} standard errors of {expected:R}.");
    }
}
