using RlMemory.Environments.MemoryTasks;

namespace RlMemory.Environments.Tests.MemoryTasks;

public sealed class CopyTaskTests
{
    [Fact]
    public void Phases_InputBits_Delimiter_RecallCues_AndOneAnswerPerCue()
    {
        using var env = new CopyTaskEnv(sequenceLength: 3);
        var obs = new float[4];
        env.Reset(obs, seed: 0);
        int[] bits = [env.Bit(0), env.Bit(1), env.Bit(2)];
        Assert.Equal([bits[0], 1f, 0f, 0f], obs);
        for (int t = 1; t <= 3; t++)
        {
            StepResult r = env.Step(1, obs); // actions during input and at the delimiter are not scored
            Assert.Equal(0.0, r.Reward);
            Assert.False(r.Done);
            Assert.Equal(t < 3 ? [bits[t], 1f, 0f, 0f] : [0f, 0f, 1f, 0f], obs);
        }

        StepResult afterDelimiter = env.Step(0, obs);
        Assert.Equal(0.0, afterDelimiter.Reward);
        Assert.Equal([0f, 0f, 0f, 1f], obs);

        // Answers: right, wrong, right.
        StepResult a0 = env.Step(bits[0], obs);
        Assert.Equal(1.0 / 3, a0.Reward);
        Assert.Equal([0f, 0f, 0f, 1f], obs);
        StepResult a1 = env.Step(1 - bits[1], obs);
        Assert.Equal(-1.0 / 3, a1.Reward);
        Assert.False(a1.Done);
        StepResult a2 = env.Step(bits[2], obs);
        Assert.Equal(1.0 / 3, a2.Reward);
        Assert.True(a2.Terminated);
        Assert.False(a2.Truncated);
        Assert.Equal([0f, 0f, 0f, 0f], obs);
        Assert.Equal(7, env.EpisodeLength);
    }

    [Fact]
    public void ObservedBits_AreTheBitsToReproduce_AndBothValuesOccur()
    {
        using var env = new CopyTaskEnv(sequenceLength: 64);
        var (first, _) = env.Reset(seed: 21);
        var seen = new List<int> { (int)first[0] };
        for (int t = 1; t < 64; t++)
        {
            seen.Add((int)env.Step(0).Observation[0]);
        }

        Assert.Equal(Enumerable.Range(0, 64).Select(env.Bit), seen);
        Assert.Contains(0, seen);
        Assert.Contains(1, seen);
    }

    [Fact]
    public void SameSeed_SameEpisode()
    {
        using var a = new CopyTaskEnv(20);
        using var b = new CopyTaskEnv(20);
        var (oa, ra, ea) = Support.Trajectories.PlayRandom(a, seed: 3, actionSeed: 4, maxSteps: 100);
        var (ob, rb, eb) = Support.Trajectories.PlayRandom(b, seed: 3, actionSeed: 4, maxSteps: 100);
        Assert.True(ea && eb);
        Assert.Equal(41, ra.Count);
        Assert.Equal(ra, rb);
        Assert.Equal(oa.Count, ob.Count);
        for (int i = 0; i < oa.Count; i++)
        {
            Assert.Equal(oa[i], ob[i]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(20)]
    [InlineData(50)]
    public void Yardsticks_Optimal1_Random0_BestMemoryless0_BySimulation(int length)
    {
        // Exact values: optimal 1; random 0; memoryless 0, because every recall cue is the same observation, so a
        // reactive policy gives each answer the same action distribution, right with probability 1/2 for a uniform bit.
        // Simulated: the memory policy, uniform actions, and both deterministic answers to the recall cue.
        using var env = new CopyTaskEnv(length);
        var obs = new float[4];
        var rng = new NumpyRandom(8);
        var optimal = new RunningMean();
        var random = new RunningMean();
        var always0 = new RunningMean();
        var always1 = new RunningMean();
        var seen = new List<int>();
        env.Reset(obs, seed: 500);
        int episodes = 40_000 / length;
        for (int e = 0; e < episodes; e++)
        {
            for (int policy = 0; policy < 4; policy++)
            {
                seen.Clear();
                int answered = 0;
                double ret = 0;
                StepResult r;
                do
                {
                    if (obs[1] == 1f)
                    {
                        seen.Add((int)obs[0]);
                    }

                    int action = policy switch
                    {
                        0 => obs[3] == 1f ? seen[answered++] : 0,
                        1 => (int)rng.Integers(0, 2),
                        _ => policy - 2,
                    };
                    r = env.Step(action, obs);
                    ret += r.Reward;
                }
                while (!r.Done);
                (policy switch { 0 => optimal, 1 => random, 2 => always0, _ => always1 }).Add(ret);
                env.Reset(obs);
            }
        }

        Assert.Equal(CopyTaskEnv.OptimalReturn, optimal.Mean, 9);
        random.AssertWithin(CopyTaskEnv.RandomReturn, 4, $"Copy {length}, random");
        always0.AssertWithin(CopyTaskEnv.BestMemorylessReturn, 4, $"Copy {length}, answer 0");
        always1.AssertWithin(CopyTaskEnv.BestMemorylessReturn, 4, $"Copy {length}, answer 1");
    }
}
