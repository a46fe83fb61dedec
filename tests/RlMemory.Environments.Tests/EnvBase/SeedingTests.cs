using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Tests.Support;

namespace RlMemory.Environments.Tests.EnvBase;

public sealed class SeedingTests
{
    public static TheoryData<string> BuiltInIds => ["CartPole-v0", "CartPole-v1", "MountainCar-v0", "Acrobot-v1", "Pendulum-v1"];

    [Theory]
    [MemberData(nameof(BuiltInIds))]
    public void SameSeed_GivesTheSameEpisode_OnFreshAndOnReusedEnvironments(string id)
    {
        using IEnv first = EnvRegistry.Make(id);
        using IEnv second = EnvRegistry.Make(id);
        var a = Trajectories.PlayRandom(first, seed: 42, actionSeed: 7, maxSteps: 300);
        var b = Trajectories.PlayRandom(second, seed: 42, actionSeed: 7, maxSteps: 300);
        var again = Trajectories.PlayRandom(first, seed: 42, actionSeed: 7, maxSteps: 300); // reseeding restarts the stream

        Assert.True(a.Observations.Count > 10, $"{id}: only {a.Observations.Count} observations");
        foreach (var other in new[] { b, again })
        {
            Assert.Equal(a.Observations.Count, other.Observations.Count);
            for (int t = 0; t < a.Observations.Count; t++)
            {
                Trajectories.AssertIdentical(a.Observations[t], other.Observations[t], $"{id} observation {t}");
            }

            Assert.True(Trajectories.Identical(a.Rewards.ToArray(), other.Rewards.ToArray()), $"{id}: rewards differ");
        }
    }

    [Theory]
    [MemberData(nameof(BuiltInIds))]
    public void DifferentSeeds_GiveDifferentFirstObservations(string id)
    {
        using IEnv env = EnvRegistry.Make(id);
        var (a, _) = env.Reset(seed: 1);
        var (b, _) = env.Reset(seed: 2);
        Assert.False(Trajectories.Identical(a, b), $"{id}: seeds 1 and 2 gave the same observation");
    }

    [Fact]
    public void UnseededResets_ContinueTheSeededStream_CartPoleReference()
    {
        // CartPole draws four np_random.uniform(-0.05, 0.05) per reset; unseeded resets keep drawing from the same stream.
        using IEnv env = EnvRegistry.Make("CartPole-v1");
        var (a, _) = env.Reset(seed: 3);
        var (b, _) = env.Reset();
        var (c, _) = env.Reset();

        var rng = new NumpyRandom(3);
        foreach (float[] observation in new[] { a, b, c })
        {
            float[] expected = [.. Enumerable.Range(0, 4).Select(_ => (float)rng.Uniform(-0.05, 0.05))];
            Assert.Equal(expected, observation);
        }

        Assert.NotEqual(b, c);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [MemberData(nameof(BuiltInIds))]
    public void UnseededResets_AfterASeededOne_AreDeterministicAndDistinct(string id)
    {
        float[][] Run()
        {
            using IEnv env = EnvRegistry.Make(id);
            var (a, _) = env.Reset(seed: 9);
            var (b, _) = env.Reset();
            var (c, _) = env.Reset();
            return [a, b, c];
        }

        float[][] first = Run(), second = Run();
        for (int i = 0; i < 3; i++)
        {
            Trajectories.AssertIdentical(first[i], second[i], $"{id} reset {i}");
        }

        Assert.False(Trajectories.Identical(first[1], first[2]), $"{id}: two unseeded resets gave the same observation");
        Assert.False(Trajectories.Identical(first[0], first[1]), $"{id}: the unseeded reset repeated the seeded one");
    }

    [Fact]
    public void Seed_ReportsTheLastSeedOrTheEntropySeed()
    {
        using var env = new CartPoleEnv();
        Assert.Null(env.Seed);
        env.Reset(seed: 17);
        Assert.Equal(17UL, env.Seed);
        env.Reset();
        Assert.Equal(17UL, env.Seed);

        using var unseeded = new CartPoleEnv();
        var (observation, _) = unseeded.Reset();
        ulong entropySeed = Assert.NotNull(unseeded.Seed);
        var rng = new NumpyRandom(entropySeed);
        Assert.Equal([.. Enumerable.Range(0, 4).Select(_ => (float)rng.Uniform(-0.05, 0.05))], observation);
    }

    [Fact]
    public void Reset_RefusesANegativeSeed()
    {
        using IEnv env = EnvRegistry.Make("CartPole-v1");
        var e = Assert.Throws<ArgumentOutOfRangeException>("seed", () => env.Reset(seed: -1));
        Assert.Contains("CartPole-v1", e.Message, StringComparison.Ordinal);
        Assert.Contains("non-negative", e.Message, StringComparison.Ordinal);
    }
}
