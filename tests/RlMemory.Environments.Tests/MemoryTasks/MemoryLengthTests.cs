using RlMemory.Environments.MemoryTasks;

namespace RlMemory.Environments.Tests.MemoryTasks;

public sealed class MemoryLengthTests
{
    [Fact]
    public void WithoutNoise_ShowsTheContextOnce_TimeCountsDown_TheQueryComesAtStepL_TheAnswerAtLPlusOne()
    {
        using var env = new MemoryLengthEnv(memoryLength: 4, noise: false);
        var obs = new float[3];
        env.Reset(obs, seed: 0);
        float context = obs[2];
        Assert.Equal([1f, 0f, context], obs);
        Assert.True(context is 1f or -1f);
        Assert.Equal((int)context, env.Context);
        float[][] expected = [[0.75f, 0, 0], [0.5f, 0, 0], [0.25f, 0, 0], [0f, 1, 0]];
        for (int t = 1; t <= 4; t++)
        {
            StepResult r = env.Step(t % 2, obs); // actions before the answer do nothing
            Assert.Equal(0.0, r.Reward);
            Assert.False(r.Done);
            Assert.Equal(expected[t - 1], obs);
        }

        StepResult answer = env.Step(context > 0 ? 1 : 0, obs);
        Assert.Equal(1.0, answer.Reward);
        Assert.True(answer.Terminated);
        Assert.False(answer.Truncated);
        Assert.Equal([0f, 0f, 0f], obs);
    }

    [Fact]
    public void TheWrongAnswer_CostsOne()
    {
        using var env = new MemoryLengthEnv(memoryLength: 1);
        var (obs, _) = env.Reset(seed: 3);
        int right = obs[2] > 0 ? 1 : 0;
        var query = env.Step(0);
        Assert.Equal([0f, 1f], query.Observation[..2]);
        var answer = env.Step(1 - right);
        Assert.Equal(-1.0, answer.Reward);
        Assert.True(answer.Terminated);
    }

    [Fact]
    public void WithNoise_TheContextEntryCarriesPlusOrMinusOneNoise_BothValues_IndependentOfTheContext()
    {
        using var env = new MemoryLengthEnv(memoryLength: 50, noise: true);
        var obs = new float[3];
        var seen = new HashSet<float>();
        env.Reset(obs, seed: 4);
        for (int t = 1; t <= 50; t++)
        {
            env.Step(0, obs);
            Assert.True(obs[2] is 1f or -1f, $"noise {obs[2]} at t = {t}");
            seen.Add(obs[2]);
        }

        Assert.Equal(2, seen.Count);
        Assert.Equal([0f, 1f], obs[..2]); // the query step
    }

    [Fact]
    public void SameSeed_SameEpisode_AndTheContextDoesNotDependOnTheNoiseOption()
    {
        using var a = new MemoryLengthEnv(30);
        using var b = new MemoryLengthEnv(30);
        using var quiet = new MemoryLengthEnv(30, noise: false);
        var (oa, ra, _) = Support.Trajectories.PlayRandom(a, seed: 12, actionSeed: 2, maxSteps: 100);
        var (ob, rb, _) = Support.Trajectories.PlayRandom(b, seed: 12, actionSeed: 2, maxSteps: 100);
        Assert.Equal(oa.Count, ob.Count);
        for (int i = 0; i < oa.Count; i++)
        {
            Assert.Equal(oa[i], ob[i]);
        }

        Assert.Equal(ra, rb);
        Assert.Equal(31, ra.Count);
        var (oq, _, _) = Support.Trajectories.PlayRandom(quiet, seed: 12, actionSeed: 2, maxSteps: 100);
        Assert.Equal(oa[0], oq[0]);
    }

    [Theory]
    [InlineData(10, true)]
    [InlineData(30, true)]
    [InlineData(100, true)]
    [InlineData(10, false)]
    public void Yardsticks_Optimal1_Random0_BestMemoryless0_BySimulation(int length, bool noise)
    {
        // Exact values: optimal 1 (answer the remembered context); random 0 (right with probability 1/2);
        // memoryless 0: the only scored action follows the query observation [0, 1, n], where n (noise or 0) is
        // independent of the context, so each of the reactive answers f(n) (4 maps from n to an action) is right with
        // probability 1/2. Simulated here: mean within 4 standard errors.
        using var env = new MemoryLengthEnv(length, noise);
        var obs = new float[3];
        var rng = new NumpyRandom(5);
        var optimal = new RunningMean();
        var random = new RunningMean();
        var reactive = new RunningMean[4];
        for (int f = 0; f < 4; f++)
        {
            reactive[f] = new RunningMean();
        }

        env.Reset(obs, seed: 77);
        for (int e = 0; e < 2000; e++)
        {
            for (int policy = 0; policy < 6; policy++)
            {
                float context = obs[2];
                double ret = 0;
                StepResult r;
                do
                {
                    int answerIfQueried = policy switch
                    {
                        0 => context > 0 ? 1 : 0,
                        1 => (int)rng.Integers(0, 2),
                        _ => ((policy - 2) >> (obs[2] > 0 ? 1 : 0)) & 1, // f(n): bit 0 for n <= 0, bit 1 for n > 0
                    };
                    r = env.Step(policy == 1 ? answerIfQueried : obs[1] == 1f ? answerIfQueried : 0, obs);
                    ret += r.Reward;
                }
                while (!r.Done);
                (policy == 0 ? optimal : policy == 1 ? random : reactive[policy - 2]).Add(ret);
                env.Reset(obs);
            }
        }

        Assert.Equal(MemoryLengthEnv.OptimalReturn, optimal.Mean, 12);
        random.AssertWithin(MemoryLengthEnv.RandomReturn, 4, $"MemoryLength {length}, random");
        foreach (var m in reactive)
        {
            m.AssertWithin(MemoryLengthEnv.BestMemorylessReturn, 4, $"MemoryLength {length}, reactive");
        }
    }
}
