using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Vector;

/// <summary>
/// <see cref="ParallelVectorEnv{TAction}"/> must give exactly what <see cref="SyncVectorEnv{TAction}"/> gives for the
/// same seeds and actions, whatever the number of workers and however unevenly the environments split among them.
/// </summary>
public sealed class VectorEquivalenceTests
{
    private const int Steps = 2000;

    public static TheoryData<int, int> Layouts => new() { { 16, 1 }, { 16, 2 }, { 16, 3 }, { 5, 1 }, { 5, 2 }, { 5, 3 } };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void CartPole_ParallelMatchesSync_BitForBit(int numEnvs, int workers)
    {
        static IEnv<int> Make() => new RecordEpisodeStatistics<int>(EnvRegistry.Make<int>("CartPole-v1"));
        using var sync = new SyncVectorEnv<int>([.. Enumerable.Range(0, numEnvs).Select(_ => Make())]);
        using var parallel = new ParallelVectorEnv<int>([.. Enumerable.Range(0, numEnvs).Select(_ => Make())], workers);
        Assert.Equal(workers, parallel.Workers);
        var space = new Discrete(2);
        int episodes = RunLockstep(sync, parallel, seed: 1000 + numEnvs, rng => space.Sample(rng));
        Assert.True(episodes > numEnvs * 50, $"only {episodes} episodes ended: autoreset was barely exercised");
    }

    [Theory]
    [InlineData(16, 3)]
    [InlineData(5, 2)]
    [InlineData(5, 3)]
    public void Pendulum_WithContinuousActions_ParallelMatchesSync_BitForBit(int numEnvs, int workers)
    {
        static IEnv<float[]> Make() => new RecordEpisodeStatistics<float[]>(EnvRegistry.Make<float[]>("Pendulum-v1"));
        using var sync = new SyncVectorEnv<float[]>([.. Enumerable.Range(0, numEnvs).Select(_ => Make())]);
        using var parallel = new ParallelVectorEnv<float[]>([.. Enumerable.Range(0, numEnvs).Select(_ => Make())], workers);
        var space = new Box(-2f, 2f, 1);
        int episodes = RunLockstep(sync, parallel, seed: 7, rng => space.Sample(rng));
        Assert.Equal(numEnvs * (Steps / 201), episodes); // 200-step episodes plus one autoreset step each.
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(16, 2)]
    public void Pendulum_WithDiscretizedActions_ParallelMatchesSync_BitForBit(int numEnvs, int workers)
    {
        static IEnv<int> Make() => new RecordEpisodeStatistics<int>(new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), 5));
        using var sync = new SyncVectorEnv<int>([.. Enumerable.Range(0, numEnvs).Select(_ => Make())]);
        using var parallel = new ParallelVectorEnv<int>([.. Enumerable.Range(0, numEnvs).Select(_ => Make())], workers);
        var space = new Discrete(5);
        int episodes = RunLockstep(sync, parallel, seed: 3, rng => space.Sample(rng));
        Assert.Equal(numEnvs * (Steps / 201), episodes);
    }

    /// <summary>Steps both vector envs with the same random actions and compares everything after every call.</summary>
    private static int RunLockstep<TAction>(VectorEnv<TAction> expected, VectorEnv<TAction> actual, int seed, Func<NumpyRandom, TAction> sample)
    {
        int n = expected.NumEnvs;
        var rng = new NumpyRandom((ulong)seed);
        var actions = new TAction[n];
        int episodes = 0;
        expected.Reset(seed);
        actual.Reset(seed);
        Compare(expected, actual, "reset");
        for (int step = 1; step <= Steps; step++)
        {
            for (int i = 0; i < n; i++)
            {
                actions[i] = sample(rng);
            }

            expected.Step(actions);
            actual.Step(actions);
            Compare(expected, actual, $"step {step}");
            episodes += expected.Infos.Count(info => info.Episode is not null);
        }

        return episodes;
    }

    private static void Compare<TAction>(VectorEnv<TAction> expected, VectorEnv<TAction> actual, string where)
    {
        if (!Trajectories.Identical(expected.Observations, actual.Observations))
        {
            Trajectories.AssertIdentical(expected.Observations, actual.Observations, where + ": observations");
        }

        Assert.True(Trajectories.Identical(expected.Rewards, actual.Rewards), $"{where}: rewards differ");
        Assert.True(expected.Terminations.AsSpan().SequenceEqual(actual.Terminations), $"{where}: terminations differ");
        Assert.True(expected.Truncations.AsSpan().SequenceEqual(actual.Truncations), $"{where}: truncations differ");
        for (int i = 0; i < expected.NumEnvs; i++)
        {
            EpisodeStatistics? e = expected.Infos[i].Episode, a = actual.Infos[i].Episode;
            Assert.True((e is null) == (a is null), $"{where}, env {i}: episode info present in one only");
            if (e is not null)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(e.Return), BitConverter.DoubleToInt64Bits(a!.Return));
                Assert.Equal(e.Length, a.Length);
            }
        }
    }
}
