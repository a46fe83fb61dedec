using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

/// <summary>
/// Gymnasium's <c>NormalizeObservation</c> keeps a <c>RunningMeanStd</c> that starts at count 1e-4, mean 0, var 1 and is
/// updated with every observation (the reset one included) before that observation is normalized. The reference here is
/// the closed form of those updates: pooling the prior (count c0 = 1e-4, mean 0, variance 1) with the n observed values.
/// </summary>
public sealed class NormalizeObservationTests
{
    private const double Prior = 1e-4;
    private const double Epsilon = 1e-8;

    private static (double Mean, double Variance) Pooled(List<float[]> seen, int i)
    {
        int n = seen.Count;
        double dataMean = seen.Sum(x => (double)x[i]) / n;
        double dataM2 = seen.Sum(x => ((double)x[i] - dataMean) * ((double)x[i] - dataMean));
        double total = Prior + n;
        double mean = n * dataMean / total;
        double m2 = (Prior * 1.0) + dataM2 + (dataMean * dataMean * Prior * n / total);
        return (mean, m2 / total);
    }

    private static void AssertClose(double expected, double actual, double relative, string where) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Max(1.0, Math.Abs(expected)), $"{where}: expected {expected:R}, got {actual:R}");

    [Fact]
    public void RunningStatistics_MatchTheClosedFormOverEveryObservationSeen()
    {
        using IEnv<int> raw = EnvRegistry.Make<int>("CartPole-v1");
        using var env = new NormalizeObservation<int>(EnvRegistry.Make<int>("CartPole-v1"));
        var actions = new NumpyRandom(3);
        var seen = new List<float[]>();
        var normalized = new float[4];
        var observation = new float[4];
        bool needsReset = true;
        for (int step = 0; step < 400; step++)
        {
            if (needsReset)
            {
                int? seed = step == 0 ? 11 : null;
                raw.Reset(observation, seed);
                env.Reset(normalized, seed);
                needsReset = false;
            }
            else
            {
                int action = (int)actions.Integers(0, 2);
                needsReset = raw.Step(action, observation).Done;
                Assert.Equal(needsReset, env.Step(action, normalized).Done);
            }

            seen.Add((float[])observation.Clone());
            AssertClose(Prior + seen.Count, env.Count, 1e-12, $"count after {seen.Count}");
            for (int i = 0; i < 4; i++)
            {
                var (mean, variance) = Pooled(seen, i);
                string where = $"observation {seen.Count} entry {i}";
                AssertClose(mean, env.Mean[i], 1e-9, where + " mean");
                AssertClose(variance, env.Variance[i], 1e-9, where + " variance");
                double expected = (observation[i] - mean) / Math.Sqrt(variance + Epsilon);
                AssertClose(expected, normalized[i], 1e-5, where + " normalized value");
            }
        }

        Assert.True(seen.Count == 400);
    }

    [Fact]
    public void FirstObservation_IsScaledByThePrior()
    {
        // One value x: mean = x / (1 + c0), var = (c0 + x^2 c0 / (1 + c0)) / (1 + c0).
        using var env = new NormalizeObservation<int>(new ScriptedEnv(new Box(-10f, 10f, 1), _ => [3f]));
        var (observation, _) = env.Reset();
        double mean = 3.0 / (1 + Prior);
        double variance = (Prior + (9.0 * Prior / (1 + Prior))) / (1 + Prior);
        Assert.Equal(mean, env.Mean[0], 12);
        Assert.Equal(variance, env.Variance[0], 12);
        Assert.Equal((float)((3.0 - mean) / Math.Sqrt(variance + Epsilon)), observation[0]);
    }

    [Fact]
    public void UpdateRunningMeanFalse_FreezesTheStatistics()
    {
        using var env = new NormalizeObservation<int>(new CountingEnv());
        env.Reset(seed: 0);
        for (int t = 0; t < 20; t++)
        {
            env.Step(0);
        }

        env.UpdateRunningMean = false;
        double[] mean = env.Mean.ToArray(), variance = env.Variance.ToArray();
        double count = env.Count;
        for (int t = 21; t < 40; t++)
        {
            float[] o = env.Step(0).Observation;
            Assert.Equal((float)((t - mean[0]) / Math.Sqrt(variance[0] + Epsilon)), o[0]);
        }

        Assert.Equal(mean, env.Mean.ToArray());
        Assert.Equal(variance, env.Variance.ToArray());
        Assert.Equal(count, env.Count);

        env.UpdateRunningMean = true;
        env.Step(0);
        Assert.Equal(count + 1, env.Count);
        Assert.NotEqual(mean[0], env.Mean[0]);
    }

    [Fact]
    public void SetStatistics_ReplacesWhatNormalizes()
    {
        using var env = new NormalizeObservation<int>(new CountingEnv()) { UpdateRunningMean = false };
        env.SetStatistics([1.0, 2.0, 0.0], [4.0, 0.25, 1.0], count: 50);
        Assert.Equal(50, env.Count);
        env.Reset(seed: 0);
        float[] o = env.Step(0).Observation; // inner [1, 0, u]
        Assert.Equal((float)((1 - 1.0) / Math.Sqrt(4.0 + Epsilon)), o[0]);
        Assert.Equal((float)((0 - 2.0) / Math.Sqrt(0.25 + Epsilon)), o[1]);
    }

    public static TheoryData<double[], double[], double> BadStatistics => new()
    {
        { [0.0, 0.0], [1.0, 1.0, 1.0], 1.0 },             // mean too short
        { [0.0, 0.0, 0.0], [1.0, 1.0], 1.0 },             // variance too short
        { [0.0, 0.0, 0.0], [1.0, -0.1, 1.0], 1.0 },        // negative variance
        { [0.0, 0.0, 0.0], [1.0, double.NaN, 1.0], 1.0 },  // NaN variance
        { [0.0, 0.0, 0.0], [double.PositiveInfinity, 1.0, 1.0], 1.0 },
        { [0.0, double.NaN, 0.0], [1.0, 1.0, 1.0], 1.0 },                 // NaN mean
        { [double.NegativeInfinity, 0.0, 0.0], [1.0, 1.0, 1.0], 1.0 },    // infinite mean
    };

    [Theory]
    [MemberData(nameof(BadStatistics))]
    public void SetStatistics_RefusesWrongLengthsAndNonFiniteOrNegativeStatistics(double[] mean, double[] variance, double count)
    {
        using var env = new NormalizeObservation<int>(new CountingEnv());
        var e = Assert.ThrowsAny<ArgumentException>(() => env.SetStatistics(mean, variance, count));
        Assert.StartsWith("CountingEnv: ", e.Message, StringComparison.Ordinal);
        Assert.Equal([0.0, 0.0, 0.0], env.Mean.ToArray()); // Nothing was replaced.
        Assert.Equal([1.0, 1.0, 1.0], env.Variance.ToArray());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void SetStatistics_RefusesANonPositiveOrNonFiniteCount(double count)
    {
        using var env = new NormalizeObservation<int>(new CountingEnv());
        Assert.Throws<ArgumentOutOfRangeException>("count", () => env.SetStatistics([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], count));
        Assert.Equal(Prior, env.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1e-8)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Constructor_RefusesAnInvalidEpsilon(double epsilon)
    {
        Assert.Throws<ArgumentOutOfRangeException>("epsilon", () => new NormalizeObservation<int>(new CountingEnv(), epsilon));
    }

    [Fact]
    public void ObservationSpace_IsUnboundedWithTheInnerShape()
    {
        using var env = new NormalizeObservation<int>(new ScriptedEnv(new Box(0f, 1f, 2, 2), _ => new float[4]));
        Assert.Equal([2, 2], env.ObservationSpace.Shape);
        Assert.False(env.ObservationSpace.IsBounded);
        Assert.All(env.ObservationSpace.Low.ToArray(), x => Assert.Equal(float.NegativeInfinity, x));
    }
}
