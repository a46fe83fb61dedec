using RlMemory.Memory;

namespace RlMemory.Tests.Memory;

/// <summary>Uniform sampling is uniform over exactly the sampleable transitions, and reproducible from the seed.</summary>
public sealed class SamplingTests
{
    [Fact]
    public void PlainMode_DrawsEverySlotEquallyOften_ChiSquare()
    {
        using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 40, ObservationShape = [4], Seed = 12 });
        var driver = new StepDriver(new FakeVectorEnv(1, 4, seed: 2, pTerminate: 0, pTruncate: 0), 0.99f);
        for (int t = 0; t < 55; t++)
        {
            driver.Step(buffer);
        }

        long[] counts = Draw(buffer, batches: 3200, batchSize: 32);

        Assert.Equal(40, counts.Count(c => c > 0));
        AssertUniform(counts.Where((_, slot) => buffer.Storage.IsSampleable(slot)).ToArray());
    }

    [Fact]
    public void MemorySavingMode_NeverDrawsInvalidSlots_AndDrawsTheValidOnesEquallyOften_ChiSquare()
    {
        using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 42, ObservationShape = [4], NumEnvs = 2, MemorySaving = true, Seed = 5 });
        var driver = new StepDriver(new FakeVectorEnv(2, 4, seed: 4, pTerminate: 0.25, pTruncate: 0.1), 0.99f);
        for (int t = 0; t < 50; t++)
        {
            if (t == 40)
            {
                driver.ResetOutOfBand(buffer);
            }

            driver.Step(buffer);
        }

        long[] counts = Draw(buffer, batches: 6400, batchSize: 16);

        int valid = 0;
        for (int slot = 0; slot < counts.Length; slot++)
        {
            if (buffer.Storage.IsSampleable(slot))
            {
                valid++;
            }
            else
            {
                Assert.Equal(0, counts[slot]);
            }
        }

        Assert.Equal(buffer.Count, valid);
        Assert.True(valid < 40, $"the scenario should leave some slots invalid; {valid} of 40 are valid");
        AssertUniform(counts.Where((_, slot) => buffer.Storage.IsSampleable(slot)).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Indices_AreTheSlotsTheTransitionsCameFrom(bool memorySaving)
    {
        using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 30, ObservationShape = [4], NumEnvs = 3, MemorySaving = memorySaving });
        var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 8, pTerminate: 0.2, pTruncate: 0.1), 0.99f);
        for (int t = 0; t < 25; t++)
        {
            driver.Step(buffer);
        }

        Dictionary<long, string> bySlot = buffer.Storage.Enumerate().ToDictionary(s => s.Slot, s => Transition.From(s).Key);
        using TransitionBatch batch = buffer.Sample((int)buffer.Count);
        long[] indices = ReplayAssert.Longs(batch.Indices);
        List<Transition> sampled = ReplayAssert.Read(batch);
        for (int i = 0; i < indices.Length; i++)
        {
            Assert.Equal(bySlot[indices[i]], sampled[i].Key);
        }
    }

    [Fact]
    public void SameSeed_SameSamples_OtherSeed_OtherSamples()
    {
        long[] Run(ulong seed)
        {
            using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 100, ObservationShape = [4], NumEnvs = 2, Seed = seed });
            var driver = new StepDriver(new FakeVectorEnv(2, 4, seed: 1), 0.99f);
            for (int t = 0; t < 40; t++)
            {
                driver.Step(buffer);
            }

            using TransitionBatch batch = buffer.Sample(32);
            return ReplayAssert.Longs(batch.Indices);
        }

        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
    }

    private static long[] Draw(ReplayBuffer buffer, int batches, int batchSize)
    {
        var counts = new long[buffer.Capacity];
        for (int i = 0; i < batches; i++)
        {
            using TransitionBatch batch = buffer.Sample(batchSize);
            foreach (long slot in ReplayAssert.Longs(batch.Indices))
            {
                counts[slot]++;
            }
        }

        return counts;
    }

    /// <summary>Pearson's χ² against equal frequencies, at the 0.1% level (Wilson–Hilferty quantile).</summary>
    private static void AssertUniform(long[] counts)
    {
        int k = counts.Length;
        double total = counts.Sum();
        double expected = total / k;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        int df = k - 1;
        const double z = 3.0902;   // upper 0.1% of the standard normal
        double critical = df * Math.Pow(1 - 2.0 / (9 * df) + z * Math.Sqrt(2.0 / (9 * df)), 3);
        Assert.True(chi2 < critical, $"χ² = {chi2:F1} with {df} degrees of freedom exceeds {critical:F1} (p < 0.001): counts {string.Join(", ", counts)}");
    }
}
