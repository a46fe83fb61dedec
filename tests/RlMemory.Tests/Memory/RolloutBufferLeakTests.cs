using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// Tensor bookkeeping, counted per thread (<c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>, which other
/// test classes running in parallel cannot disturb): adding creates no tensor and, on the CPU, allocates no managed
/// memory; computing creates no tensor; minibatch enumerations leave nothing behind, also when abandoned early.
/// </summary>
public sealed class RolloutBufferLeakTests
{
    private static long Live => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AddAndCompute_CreateNoTensor_AndAddAllocatesNoManagedMemory_OnTheCpu(bool recurrent)
    {
        const int steps = 32, envs = 8;
        RecurrentStateSpec? spec = recurrent ? RolloutAssert.LstmSpec(16) : null;
        using var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = steps, NumEnvs = envs, ObservationShape = [4], RecurrentState = spec });
        var stream = new RolloutStream(envs, 4, seed: 1, state: spec);
        RolloutStep[] pregenerated = Enumerable.Range(0, steps).Select(_ => stream.Next()).ToArray();
        RecurrentState?[] states = pregenerated.Select(stream.StateOf).ToArray();
        float[] last = stream.LastValues();
        void Rollout()
        {
            buffer.Clear();
            for (int t = 0; t < steps; t++)
            {
                RolloutStep s = pregenerated[t];
                buffer.Add(s.Observations, s.DiscreteActions, s.Rewards, s.Terminated, s.Truncated, s.Values, s.LogProbs, states[t]);
            }
        }

        try
        {
            for (int i = 0; i < 5; i++)
            {
                Rollout();
                buffer.ComputeReturnsAndAdvantages(last);
            }

            long live = Live;

            // The steady state allocates nothing. A window may still catch the runtime's own one-off work on this thread
            // (tiered compilation on a busy machine), so the least of three windows counts: an allocation in Add would
            // show in every one.
            long fewest = long.MaxValue;
            for (int window = 0; window < 3 && fewest > 0; window++)
            {
                long bytes = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 20; i++)
                {
                    Rollout();
                }

                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - bytes);
            }

            Assert.Equal(0, fewest);
            for (int i = 0; i < 5; i++)
            {
                buffer.ComputeReturnsAndAdvantages(last);
            }

            Assert.Equal(live, Live);
        }
        finally
        {
            foreach (RecurrentState? s in states)
            {
                s?.Dispose();
            }
        }
    }

    [Fact]
    public void TensorOverloads_LeaveNoTensorBehind_OnBothPaths()
    {
        foreach (bool staged in new[] { false, true })
        {
            using var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = 8, NumEnvs = 4, ObservationShape = [3] }, staged);
            var stream = new RolloutStream(4, 3, seed: 2);
            using Tensor values = torch.ones(4, 1, ScalarType.Float64);
            using Tensor logProbs = torch.zeros(4);
            using Tensor last = torch.ones(4);
            RolloutStep step = stream.Next();
            long live = Live;
            for (int rollout = 0; rollout < 3; rollout++)
            {
                buffer.Clear();
                for (int t = 0; t < 8; t++)
                {
                    buffer.Add(step.Observations, step.DiscreteActions, step.Rewards, step.Terminated, step.Truncated, values, logProbs);
                }

                buffer.ComputeReturnsAndAdvantages(last);
            }

            Assert.Equal(live, Live);
        }
    }

    [Fact]
    public void TensorOverload_WithContiguousFloat32CpuTensors_ReadsThemInPlace_WithoutAllocating()
    {
        using var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = 8, NumEnvs = 4, ObservationShape = [3] });
        RolloutStep step = new RolloutStream(4, 3, seed: 2).Next();
        using Tensor values = torch.ones(4);
        using Tensor logProbs = torch.zeros(4, 1);
        void Rollout()
        {
            buffer.Clear();
            for (int t = 0; t < 8; t++)
            {
                buffer.Add(step.Observations, step.DiscreteActions, step.Rewards, step.Terminated, step.Truncated, values, logProbs);
            }
        }

        for (int i = 0; i < 20; i++)
        {
            Rollout();
        }

        long live = Live;
        long bytes = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            Rollout();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - bytes);
        Assert.Equal(live, Live);
    }

    [Fact]
    public void Minibatches_DisposedOrAbandoned_LeaveNoTensorBehind()
    {
        RecurrentStateSpec spec = RolloutAssert.LstmSpec();
        foreach (AdvantageNormalization normalization in Enum.GetValues<AdvantageNormalization>())
        {
            using var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = 12, NumEnvs = 4, ObservationShape = [3], RecurrentState = spec, AdvantageNormalization = normalization, Action = ActionSpec.Continuous(2) });
            var stream = new RolloutStream(4, 3, seed: 3, actionDimension: 2, state: spec);
            stream.FillRollout(12, buffer);
            buffer.ComputeReturnsAndAdvantages(stream.LastValues());
            long live = Live;
            for (int epoch = 0; epoch < 3; epoch++)
            {
                foreach (RolloutBatch batch in buffer.Minibatches(10))
                {
                    using (batch)
                    using (var scope = torch.NewDisposeScope())
                    {
                        Tensor loss = batch.Advantages.mul(batch.OldLogProbs).sum();
                    }
                }

                foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(5, 3))
                {
                    batch.Dispose();
                }

                using (var scope = torch.NewDisposeScope())
                {
                    foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(4, 2))
                    {
                        Assert.NotNull(batch.InitialState);
                    }
                }
            }

            Assert.Equal(live, Live);

            // Leaving an enumeration early releases its index tensors.
            foreach (RolloutBatch batch in buffer.Minibatches(4))
            {
                batch.Dispose();
                break;
            }

            foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(3, 1))
            {
                batch.Dispose();
                break;
            }

            Assert.Equal(live, Live);
        }
    }
}
