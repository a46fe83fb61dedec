using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

[CollectionDefinition(nameof(TensorCountCollection), DisableParallelization = true)]
public sealed class TensorCountCollection
{
    /// <summary>
    /// The process-wide tensor count once the finalizers of earlier tests' garbage have run (left pending, they release
    /// tensors while a test measures).
    /// </summary>
    public static long SettledTensorCount()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Tensor.TotalCount;
    }
}

/// <summary>
/// Adding allocates neither tensors nor managed memory; sampling inside dispose scopes (or disposing the batch) leaves no
/// tensor behind. Tensor.TotalCount is process-wide, so these run alone, after the finalizers of earlier tests' garbage
/// have run; even so a finalizer or a lingering thread of another test can move the count by a few dozen while they
/// measure (seen once in CI: −68), so they assert growth below half the loop's iterations — one leaked tensor per
/// iteration shows as at least the iteration count.
/// </summary>
[Collection(nameof(TensorCountCollection))]
public sealed class LeakTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void AddStep_AllocatesNoTensorAndNoManagedMemory_OnTheCpu(bool memorySaving, bool bytes)
    {
        const int n = 16;
        using var buffer = new ReplayBuffer(new ReplayBufferOptions
        {
            Capacity = 1000,
            ObservationShape = [4],
            NumEnvs = n,
            MemorySaving = memorySaving,
            ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        });
        var env = new FakeVectorEnv(n, 4, seed: 1, pTerminate: 0.1, pTruncate: 0.05);
        float[] obs = new float[env.Observations.Length];
        void Step()
        {
            env.Observations.CopyTo(obs, 0);
            env.DrawActions();
            env.Step();
            buffer.AddStep(obs, env.DiscreteActions, env.Rewards, env.Terminations, env.Truncations, env.Observations);
        }

        for (int i = 0; i < 200; i++)
        {
            Step();
        }

        // A per-step allocation shows in every round; a one-off runtime allocation on this thread (a tier-up of the
        // JIT, a type load) can land in one round, so the smallest of three rounds is what is asserted.
        long tensors = TensorCountCollection.SettledTensorCount();
        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Step();
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - bytesBefore);
        }

        AssertNoGrowth(tensors, iterations: 1000);
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AddAndSample_InDisposeScopes_KeepTheTensorCountFlat(bool memorySaving)
    {
        using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 500, ObservationShape = [4], NumEnvs = 4, MemorySaving = memorySaving });
        var driver = new StepDriver(new FakeVectorEnv(4, 4, seed: 2, pTerminate: 0.1), 0.99f);
        for (int i = 0; i < 50; i++)
        {
            driver.Step(buffer);
        }

        long before = TensorCountCollection.SettledTensorCount();
        for (int i = 0; i < 1000; i++)
        {
            driver.Step(buffer);
            using DisposeScope scope = NewDisposeScope();
            TransitionBatch batch = buffer.Sample(32);
            using Tensor target = batch.Rewards.add(batch.Discounts.mul(batch.Terminated.neg().add(1)));
        }

        AssertNoGrowth(before, iterations: 1000);

        for (int i = 0; i < 200; i++)
        {
            using TransitionBatch batch = buffer.Sample(32);
        }

        AssertNoGrowth(before, iterations: 200);
        driver.Rows.Clear();
    }

    private static void AssertNoGrowth(long before, int iterations)
    {
        long growth = Tensor.TotalCount - before;
        Assert.True(growth < iterations / 2, $"{growth} more live tensors after {iterations} iterations (a leak shows as at least one per iteration)");
    }
}
