using RlMemory.Memory;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>The managed sampler's generator against the reference C implementation (Blackman and Vigna).</summary>
public sealed class Xoshiro256StarStarTests
{
    [Fact]
    public void StateOneTwoThreeFour_GivesThePublishedOutputs()
    {
        var random = new Xoshiro256StarStar(0);
        byte[] state = new byte[32];
        for (int i = 0; i < 4; i++)
        {
            state[8 * i] = (byte)(i + 1); // little-endian words 1, 2, 3, 4
        }

        random.ImportState(state);

        Assert.Equal(11520UL, random.NextUInt64());
        Assert.Equal(0UL, random.NextUInt64());
        Assert.Equal(1509978240UL, random.NextUInt64());
    }

    [Fact]
    public void SplitMix64Seeding_MatchesTheReferenceCode()
    {
        // Reference: s[i] = splitmix64() four times from x = 42, then next() (xoshiro256starstar.c, splitmix64.c).
        var random = new Xoshiro256StarStar(42);

        Assert.Equal(
            [1546998764402558742UL, 6990951692964543102UL, 12544586762248559009UL, 17057574109182124193UL, 18295552978065317476UL],
            Enumerable.Range(0, 5).Select(_ => random.NextUInt64()));
        Assert.Equal(11091344671253066420UL, new Xoshiro256StarStar(0).NextUInt64());
    }

    [Fact]
    public void NextDouble_IsInUnitInterval_AndStateRoundTrips()
    {
        var random = new Xoshiro256StarStar(7);
        double[] first = Enumerable.Range(0, 1000).Select(_ => random.NextDouble()).ToArray();
        Assert.All(first, d => Assert.InRange(d, 0.0, 0.9999999999999999));
        Assert.InRange(first.Average(), 0.47, 0.53);

        byte[] state = random.ExportState();
        double[] next = Enumerable.Range(0, 10).Select(_ => random.NextDouble()).ToArray();
        random.ImportState(state);
        Assert.Equal(next, Enumerable.Range(0, 10).Select(_ => random.NextDouble()));
    }
}
