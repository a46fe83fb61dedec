using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;

namespace RlMemory.Environments.Tests.Vector;

/// <summary>
/// Gymnasium 1.x's NEXT_STEP autoreset: the step that ends an episode returns its final observation, reward and flags;
/// the next step ignores the action and returns the reset observation (the environment's unseeded Reset, continuing its
/// random stream), reward 0, both flags false and the reset info.
/// </summary>
public sealed class AutoresetTests
{
    public static TheoryData<VectorMode> Modes => [VectorMode.Sync, VectorMode.Parallel];

    [Theory]
    [MemberData(nameof(Modes))]
    public void EveryStep_MatchesIndividualEnvironmentsFollowingTheNextStepRule(VectorMode mode)
    {
        const int n = 4, seed = 21;
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("CartPole-v1", n, mode, maxEpisodeSteps: 30);
        var mirrors = Enumerable.Range(0, n).Select(_ => EnvRegistry.Make<int>("CartPole-v1", maxEpisodeSteps: 30)).ToArray();
        var mirrorEnded = new bool[n];
        var expected = new float[4];
        var rng = new NumpyRandom(5);
        var actions = new int[n];
        int autoresets = 0, truncations = 0, terminations = 0;

        vector.Reset(seed);
        for (int i = 0; i < n; i++)
        {
            mirrors[i].Reset(expected, seed + i);
            Trajectories.AssertIdentical(expected, vector.Observation(i), $"reset env {i}");
        }

        for (int step = 1; step <= 2000; step++)
        {
            for (int i = 0; i < n; i++)
            {
                actions[i] = (int)rng.Integers(0, 2);
            }

            vector.Step(actions);
            for (int i = 0; i < n; i++)
            {
                string where = $"step {step} env {i}";
                if (mirrorEnded[i])
                {
                    Info info = mirrors[i].Reset(expected);
                    Trajectories.AssertIdentical(expected, vector.Observation(i), where + " (autoreset)");
                    Assert.Equal(0.0, vector.Rewards[i]);
                    Assert.False(vector.Terminations[i] || vector.Truncations[i], where + ": flags set on the autoreset step");
                    Assert.Same(info, vector.Infos[i]);
                    mirrorEnded[i] = false;
                    autoresets++;
                    continue;
                }

                StepResult r = mirrors[i].Step(actions[i], expected);
                Trajectories.AssertIdentical(expected, vector.Observation(i), where);
                Assert.Equal(r.Reward, vector.Rewards[i]);
                Assert.Equal(r.Terminated, vector.Terminations[i]);
                Assert.Equal(r.Truncated, vector.Truncations[i]);
                mirrorEnded[i] = r.Done;
                truncations += r.Truncated ? 1 : 0;
                terminations += r.Terminated ? 1 : 0;
            }
        }

        Assert.True(autoresets > 100 && truncations > 10 && terminations > 10, $"{autoresets} autoresets, {truncations} truncations, {terminations} terminations");
        foreach (var m in mirrors)
        {
            m.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void TheAutoresetStep_IgnoresItsAction_EvenAnInvalidOne(VectorMode mode)
    {
        using VectorEnv<int> vector = Build(mode, terminateAt: 2);
        vector.Reset(seed: 0);
        vector.Step([0, 1]);
        vector.Step([2, 2]);
        Assert.Equal([true, true], vector.Terminations);

        vector.Step([99, -1]); // Ignored: both environments reset instead.
        Assert.Equal([false, false], vector.Terminations);
        Assert.Equal([0.0, 0.0], vector.Rewards);
        Assert.Equal([0f, 1f], [vector.Observation(0)[0], vector.Observation(0)[1]]);
        Assert.Equal([[0, 2], [1, 2]], vector.Envs.Select(e => e.Unwrapped<CountingEnv>().Actions));

        var e = Assert.Throws<ArgumentException>(() => vector.Step([99, 0]));
        Assert.StartsWith("CountingEnv×2, environment 0: CountingEnv: action 99 is not in the action space Discrete(3)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void TheAutoresetStep_CarriesTheResetInfo_AndTheEndingStepItsOwn(VectorMode mode)
    {
        using VectorEnv<int> vector = Build(mode, terminateAt: 1);
        vector.Reset(seed: 0);
        Assert.All(vector.Infos, info => Assert.Equal(1, info["resets"]));
        vector.Step([0, 0]);
        Assert.All(vector.Infos, info => Assert.Empty(info));
        vector.Step([0, 0]);
        Assert.All(vector.Infos, info => Assert.Equal(2, info["resets"]));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Reset_ClearsAPendingAutoreset(VectorMode mode)
    {
        using VectorEnv<int> vector = Build(mode, terminateAt: 1);
        vector.Reset(seed: 0);
        vector.Step([1, 1]);
        Assert.Equal([true, true], vector.Terminations);
        vector.Reset(seed: 0);
        Assert.Equal([false, false], vector.Terminations);
        vector.Step([2, 2]); // A real step, not an autoreset.
        Assert.Equal([1.0, 1.0], vector.Rewards);
        Assert.Equal([[1, 2], [1, 2]], vector.Envs.Select(e => e.Unwrapped<CountingEnv>().Actions));
    }

    private static VectorEnv<int> Build(VectorMode mode, int terminateAt)
    {
        IEnv<int>[] envs = [new CountingEnv(terminateAt), new CountingEnv(terminateAt)];
        return mode == VectorMode.Sync ? new SyncVectorEnv<int>(envs) : new ParallelVectorEnv<int>(envs, workers: 2);
    }
}
