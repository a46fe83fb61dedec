using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>What only <see cref="ManagedPrioritySampler"/> offers: span sampling without allocation, direct reads, device output.</summary>
public sealed class ManagedPrioritySamplerTests
{
    [Fact]
    public void SpanSampleAndUpdate_DoNotAllocate()
    {
        var sampler = new ManagedPrioritySampler(10_000, new PriorityOptions(), seed: 1);
        sampler.AddAtMaxPriority(Enumerable.Range(0, 10_000).ToArray());
        int[] slots = new int[256];
        float[] weights = new float[256];
        double[] magnitudes = Enumerable.Range(0, 256).Select(i => i * 0.01).ToArray();
        sampler.Sample(0.5, slots, weights); // warm up the scratch buffers
        sampler.UpdatePriorities(slots, magnitudes);

        // The smallest of three rounds: a per-call allocation shows in each, a one-off runtime allocation in one.
        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                sampler.Sample(0.5, slots, weights);
                sampler.UpdatePriorities(slots, magnitudes);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SpanSample_MatchesTensorSample_ForTheSameSeed()
    {
        var a = new ManagedPrioritySampler(50, new PriorityOptions(), seed: 77);
        var b = new ManagedPrioritySampler(50, new PriorityOptions(), seed: 77);
        foreach (ManagedPrioritySampler s in new[] { a, b })
        {
            s.Fill(Enumerable.Range(0, 50).Select(i => i * 0.1).ToArray());
        }

        int[] slots = new int[20];
        float[] weights = new float[20];
        a.Sample(0.6, slots, weights);
        (long[] indices, float[] tensorWeights) = b.SampleToHost(20, 0.6);

        Assert.Equal(slots.Select(s => (long)s), indices);
        Assert.Equal(weights, tensorWeights);
    }

    [Fact]
    public void Reads_TotalMinAndPerSlotPriorities()
    {
        var sampler = new ManagedPrioritySampler(4, new PriorityOptions { Alpha = 1.0, Epsilon = 0.5 }, seed: 1);
        Assert.Equal(double.PositiveInfinity, sampler.MinPriority);
        sampler.Fill(0.5, 1.5, 3.5);

        Assert.Equal(1.0 + 2.0 + 4.0, sampler.TotalPriority);
        Assert.Equal(1.0, sampler.MinPriority);
        Assert.Equal(2.0, sampler.PriorityOf(1));
        Assert.Equal(0.0, sampler.PriorityOf(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.PriorityOf(4));
    }

    [Fact]
    public void SpanSample_RefusesMismatchedSpans()
    {
        var sampler = new ManagedPrioritySampler(4, new PriorityOptions(), seed: 1);
        sampler.Fill(1.0);

        Assert.Throws<ArgumentException>(() => sampler.Sample(0.5, new int[3], new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample(0.5, [], []));
    }

    [Fact]
    public void ImportState_RefusesAnAllZeroGeneratorState()
    {
        var sampler = new ManagedPrioritySampler(4, new PriorityOptions(), seed: 1);
        sampler.Fill(1.0);
        PrioritySamplerState state = sampler.ExportState();

        var ex = Assert.Throws<ArgumentException>(() => sampler.ImportState(state with { RandomState = new byte[32] }));

        Assert.Contains("all-zero", ex.Message);
    }

    [Fact]
    public void Constructor_RefusesBadCapacity()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ManagedPrioritySampler(0, new PriorityOptions(), seed: 1));
        Assert.Contains("ManagedPrioritySampler", ex.Message);
    }

    [Fact]
    public void LargeBatches_UsePooledScratch_AndStillSampleEverySegment()
    {
        // Batches above the stack-scratch limit (512) take the pooled path in the trees.
        var sampler = new ManagedPrioritySampler(2048, new PriorityOptions(), seed: 3);
        sampler.AddAtMaxPriority(Enumerable.Range(0, 2048).ToArray());

        (long[] indices, float[] weights) = sampler.SampleToHost(2048, 1.0);

        Assert.Equal(Enumerable.Range(0, 2048).Select(i => (long)i), indices);
        Assert.All(weights, w => Assert.Equal(1f, w));
        sampler.UpdatePriorities(indices.Select(i => (int)i).ToArray(), Enumerable.Repeat(0.5, 2048).ToArray());
        Assert.Equal(2048 * Math.Pow(0.5 + 1e-6, 0.6), sampler.TotalPriority, 1e-9);
    }
}
