using RlMemory.Distributed;

namespace RlMemory.Tests.Distributed;

public sealed class RateLimitTests
{
    [Fact]
    public void TheDifference_StaysWithinTheBufferAroundItsTarget()
    {
        // SPI 0.5, min 4, buffer 3: target 2, d = i/2 − s in [−1, 5].
        var ratio = new SampleToInsertRatio(new RateLimit(0.5, 4, 3));
        Assert.False(ratio.CanSample(1));
        Assert.True(ratio.CanInsert(6)); // d = 3
        Assert.False(ratio.CanInsert(11)); // d = 5.5 > 5
        Assert.True(ratio.CanInsert(10)); // d = 5
        ratio.Insert(10);
        Assert.Equal(5, ratio.Difference);
        Assert.False(ratio.CanInsert(1));
        Assert.True(ratio.CanSample(6)); // d = −1
        Assert.False(ratio.CanSample(7));
        ratio.Sample(6);
        Assert.Equal(-1, ratio.Difference);
        Assert.True(ratio.CanInsert(12)); // d = 5
        Assert.False(ratio.CanSample(1));
    }

    [Fact]
    public void AStreamOfBatches_IsSampledAtTheTargetRatio_WithoutEitherSideWaitingForever()
    {
        // Inserts of 64 and samples of 32 at SPI 32, greedily alternating whoever may go: the measured ratio converges
        // to 32 and neither side is blocked while the other is too.
        var limit = new RateLimit(32, 100, 2 * (32 + (32 * 64))).Validate(32, 64);
        var ratio = new SampleToInsertRatio(limit);
        for (int round = 0; round < 2000; round++)
        {
            bool insert = ratio.CanInsert(64), sample = ratio.CanSample(32);
            Assert.True(insert || sample, $"deadlock at round {round}: d = {ratio.Difference}");
            if (sample)
            {
                ratio.Sample(32);
            }
            else
            {
                ratio.Insert(64);
            }
        }

        Assert.InRange(ratio.Sampled / (double)ratio.Inserted, 32 * 0.97, 32 * 1.03);
    }

    [Theory]
    [InlineData(0, 1, 100, "samples_per_insert must be a finite number > 0")]
    [InlineData(1, 0, 100, "minimum size to sample must be at least 1")]
    [InlineData(2, 1, 10, "error buffer must be at least one sample batch (4) plus samples_per_insert (2) times one insert batch (8) = 20")]
    public void BadSettings_AreRefusedNamingThem(double spi, long min, double buffer, string expected)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimit(spi, min, buffer).Validate(4, 8));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
