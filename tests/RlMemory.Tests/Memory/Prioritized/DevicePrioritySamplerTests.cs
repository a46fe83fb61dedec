using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>What only <see cref="DevicePrioritySampler"/> needs: tensor lifetime, disposal, dtype, float32 range.</summary>
public sealed class DevicePrioritySamplerTests
{
    [Fact]
    public void SampleAndUpdate_InAScope_LeakNoTensors()
    {
        using var sampler = new DevicePrioritySampler(1000, new PriorityOptions(), seed: 1, CPU);
        sampler.AddAtMaxPriority(Enumerable.Range(0, 1000).ToArray());
        Step(sampler); // warm-up creates the cached cumulative sum once

        // Counted on this thread only (Tensor.TotalCount is process-wide, and other test classes run in parallel).
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 200; i++)
        {
            Step(sampler);
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        static void Step(DevicePrioritySampler sampler)
        {
            using DisposeScope scope = NewDisposeScope();
            PrioritySample sample = sampler.Sample(64, 0.5);
            sampler.UpdatePriorities(sample.Indices, sample.Weights.to(ScalarType.Float64).mul(3.0));
            sampler.AddAtMaxPriority([1, 2, 3]);
            sampler.UpdatePriorities([4, 5], [1.0, 2.0]);
        }
    }

    [Fact]
    public void Sample_OutsideAScope_ReturnsTensorsTheCallerDisposes()
    {
        using var sampler = new DevicePrioritySampler(10, new PriorityOptions(), seed: 1, CPU);
        sampler.AddAtMaxPriority([0, 1, 2]);

        PrioritySample sample = sampler.Sample(4, 0.5);
        sample.Dispose();

        Assert.True(sample.Indices.IsInvalid);
        Assert.True(sample.Weights.IsInvalid);
    }

    [Fact]
    public void Dispose_ReleasesTensors_AndLaterCallsThrowObjectDisposed()
    {
        var sampler = new DevicePrioritySampler(10, new PriorityOptions(), seed: 1, CPU);
        sampler.AddAtMaxPriority([0]);
        sampler.Dispose();
        sampler.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => sampler.Sample(1, 0.5));
        Assert.Throws<ObjectDisposedException>(() => sampler.AddAtMaxPriority([0]));
        Assert.Throws<ObjectDisposedException>(() => sampler.ExportState());
    }

    [Theory]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Constructor_RefusesPriorityTypesOtherThanFloat64OrFloat32(ScalarType dtype)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new DevicePrioritySampler(4, new PriorityOptions(), 1, CPU, dtype));
        Assert.Contains(dtype.ToString(), ex.Message);
    }

    [Fact]
    public void Float32Storage_RefusesPrioritiesOutsideFloat32Range()
    {
        // (1e20)^2 = 1e40 is finite in float64 but not in float32.
        using var sampler = new DevicePrioritySampler(2, new PriorityOptions { Alpha = 2.0 }, seed: 1, CPU, ScalarType.Float32);
        sampler.AddAtMaxPriority([0]);

        var span = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities([0], [1e20]));
        Assert.Contains("in float32", span.Message);
        using (DisposeScope scope = NewDisposeScope())
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities(tensor(new[] { 0L }), tensor(new[] { 1e20 })));
        }

        Assert.Equal(1.0, sampler.ExportState().Priorities[0]);
    }

    [Fact]
    public void CachedCumulativeSum_IsRefreshedAfterEveryKindOfChange()
    {
        // Equal priorities → each of 2 segments hits its own slot; then each change must show in the next sample.
        using var sampler = new DevicePrioritySampler(3, new PriorityOptions { Alpha = 1.0, Epsilon = 1.0 }, seed: 1, CPU);
        sampler.AddAtMaxPriority([0, 1]);
        Assert.Equal([0L, 1L], sampler.SampleToHost(2, 0.5).Indices);

        sampler.UpdatePriorities([0], [0.0]); // p = 1 (ε), slot 1 keeps 1: still one each
        Assert.Equal([0L, 1L], sampler.SampleToHost(2, 0.5).Indices);
        using (DisposeScope scope = NewDisposeScope())
        {
            sampler.UpdatePriorities(tensor(new[] { 1L }), tensor(new[] { 2.0 })); // p1 = 3: masses 1 and 3
        }

        Assert.Equal(1L, sampler.SampleToHost(2, 0.5).Indices[1]);
        sampler.AddAtMaxPriority([2]); // p2 = MaxPriority = 3
        Assert.Equal(2L, sampler.SampleToHost(7, 0.5).Indices[6]);
        sampler.Clear();
        sampler.AddAtMaxPriority([2]);
        Assert.Equal([2L, 2L], sampler.SampleToHost(2, 0.5).Indices);
    }
}
