using RlMemory.Environments;
using RlMemory.Training;

namespace RlMemory.Tests.Training;

public sealed class EvaluationTests
{
    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(500, 0.52)]
    [InlineData(1000, 0.04)]
    [InlineData(5000, 0.04)]
    public void LinearSchedule_RampsThenHolds(long step, double expected) =>
        Assert.Equal(expected, new LinearSchedule(1.0, 0.04, 1000).ValueAt(step), 12);

    [Fact]
    public void LinearSchedule_WithZeroDuration_IsTheEndValue() =>
        Assert.Equal(0.1, new LinearSchedule(1.0, 0.1, 0).ValueAt(0));

    [Fact]
    public void Evaluator_PlaysEachEpisodeFromItsSeed_AsSequentialPlayWould()
    {
        // A deterministic policy that depends on the observation: push towards the pole's lean.
        static int Lean(ReadOnlySpan<float> o) => o[2] + 0.5f * o[3] > 0 ? 1 : 0;

        using var evaluator = new Evaluator(() => EnvRegistry.Make<int>("CartPole-v1"), episodes: 5, seed: 100);
        var batchSizes = new List<int>();
        EvaluationResult result = evaluator.Run(1234, (obs, actions) =>
        {
            batchSizes.Add(actions.Length);
            for (int k = 0; k < actions.Length; k++)
            {
                actions[k] = Lean(obs.Slice(k * 4, 4));
            }
        });

        for (int k = 0; k < 5; k++)
        {
            using IEnv<int> env = EnvRegistry.Make<int>("CartPole-v1");
            var (obs, _) = env.Reset(seed: 100 + k);
            double total = 0;
            int length = 0;
            bool done = false;
            while (!done)
            {
                var (next, reward, terminated, truncated, _) = env.Step(Lean(obs));
                obs = next;
                total += reward;
                length++;
                done = terminated || truncated;
            }

            Assert.Equal(total, result.Returns[k]);
            Assert.Equal(length, result.Lengths[k]);
        }

        Assert.Equal(1234, result.Step);
        Assert.Equal(5, batchSizes[0]);
        Assert.True(batchSizes.SequenceEqual(batchSizes.OrderDescending()), "the batch only shrinks as episodes finish");
        Assert.Equal(result.Lengths.Max(), batchSizes.Count);
    }

    [Fact]
    public void EvaluationResult_Statistics()
    {
        var r = new EvaluationResult(0, [1, 3], [10, 20]);
        Assert.Equal((2.0, 1.0, 15.0), (r.MeanReturn, r.StdReturn, r.MeanLength));
    }
}
