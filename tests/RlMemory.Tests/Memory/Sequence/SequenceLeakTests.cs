using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>
/// No tensor leaks (counted per thread with <c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>, which other test
/// classes running in parallel cannot disturb), and no managed allocation when adding steps on the CPU.
/// </summary>
public sealed class SequenceLeakTests
{
    private static SequenceReplayOptions Options(bool prioritized) => new()
    {
        Capacity = 200,
        BurnIn = 4,
        LearningLength = 4,
        Overlap = 4,
        ObservationShape = [4],
        NumEnvs = 16,
        StateSpec = new RecurrentStateSpec([new("h", [8], ScalarType.Float32), new("c", [8], ScalarType.Float32)]),
        Prioritized = prioritized,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AddStep_OnTheCpu_CreatesNoTensorAndAllocatesNoManagedMemory(bool prioritized)
    {
        SequenceReplayOptions options = Options(prioritized);
        using var buffer = new SequenceReplayBuffer(options);
        var env = new FakeVectorEnv(16, 4, seed: 1, pTerminate: 0.05, pTruncate: 0.03);
        float[] obs = new float[env.Observations.Length];
        using RecurrentState state = RecurrentState.Zeros(options.StateSpec, 16);
        void Step()
        {
            env.Observations.CopyTo(obs, 0);
            env.DrawActions();
            env.Step();
            buffer.AddStep(obs, env.DiscreteActions, env.Rewards, env.Terminations, env.Truncations, env.Observations, state);
        }

        for (int i = 0; i < 300; i++)
        {
            Step();   // warm up: the ring wraps, every scratch array has grown
        }

        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        // The minimum over a few runs: a one-off runtime allocation (tiering, a timer) does not fail the test; a
        // per-step one still does.
        long allocated = long.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Step();
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - bytes);
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(0, allocated);
        Assert.Equal(200, buffer.Count);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void AddSampleAndUpdate_InDisposeScopes_KeepTheLiveTensorCountFlat(bool prioritized, bool devicePath)
    {
        SequenceReplayOptions options = Options(prioritized) with { StateSpec = SequenceDriver.Spec };
        var driver = new SequenceDriver(new RandomVectorEnv(new FakeVectorEnv(16, 4, seed: 2, pTerminate: 0.05)), options);
        using var small = new SequenceReplayBuffer(options, devicePath);
        void Iterate()
        {
            driver.Step(small);
            using DisposeScope scope = NewDisposeScope();
            SequenceBatch batch = small.Sample(Math.Min(8, small.Count), beta: 0.5);
            Tensor td = batch.Rewards.narrow(1, batch.BurnIn, batch.LearningLength);
            if (prioritized)
            {
                small.UpdatePriorities(batch.Indices, td, batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength));
            }
        }

        while (small.Count == 0)
        {
            driver.Step(small);
        }

        for (int i = 0; i < 20; i++)
        {
            Iterate();
        }

        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 300; i++)
        {
            Iterate();
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        // A batch sampled outside any scope is released by Dispose. (The first sample after an update makes the device
        // sampler cache its cumulative sums: two tensors it keeps, so sample once before counting.)
        using (NewDisposeScope())
        {
            small.Sample(4, beta: 0.5);
        }

        live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (SequenceBatch batch = small.Sample(4, beta: 0.5))
        {
            Assert.True(DisposeScopeManager.Statistics.ThreadTotalLiveCount > live);
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void SaveAndLoad_LeaveNoTensorBehind()
    {
        using var dir = new Build.ScratchDirectory();
        SequenceReplayOptions options = Options(prioritized: true) with { StateSpec = SequenceDriver.Spec };
        var driver = new SequenceDriver(new RandomVectorEnv(new FakeVectorEnv(16, 4, seed: 3)), options);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var buffer = new SequenceReplayBuffer(options))
        {
            for (int i = 0; i < 30; i++)
            {
                driver.Step(buffer);
            }

            buffer.Save(dir.Path);
            using SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(dir.Path);
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
