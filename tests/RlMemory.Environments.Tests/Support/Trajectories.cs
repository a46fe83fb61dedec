using System.Runtime.InteropServices;

namespace RlMemory.Environments.Tests.Support;

/// <summary>Bit-level comparisons and a helper that plays an environment of either action type.</summary>
internal static class Trajectories
{
    /// <summary>Whether two float sequences are identical bit for bit (NaN payloads and signed zeros included).</summary>
    public static bool Identical(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        MemoryMarshal.AsBytes(a).SequenceEqual(MemoryMarshal.AsBytes(b));

    /// <summary>Whether two double sequences are identical bit for bit.</summary>
    public static bool Identical(ReadOnlySpan<double> a, ReadOnlySpan<double> b) =>
        MemoryMarshal.AsBytes(a).SequenceEqual(MemoryMarshal.AsBytes(b));

    public static void AssertIdentical(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string where)
    {
        Assert.True(
            Identical(expected, actual),
            $"{where}: expected [{string.Join(", ", expected.ToArray().Select(x => x.ToString("R")))}], got [{string.Join(", ", actual.ToArray().Select(x => x.ToString("R")))}].");
    }

    /// <summary>
    /// Resets <paramref name="env"/> with <paramref name="seed"/> and plays random actions drawn from its action space
    /// with <c>NumpyRandom(actionSeed)</c> until the episode ends or <paramref name="maxSteps"/> steps; returns every
    /// observation (the reset one first) and every reward.
    /// </summary>
    public static (List<float[]> Observations, List<double> Rewards, bool Ended) PlayRandom(IEnv env, int seed, ulong actionSeed, int maxSteps)
    {
        var actionRng = new NumpyRandom(actionSeed);
        var observations = new List<float[]>();
        var rewards = new List<double>();
        var (obs, _) = env.Reset(seed: seed);
        observations.Add(obs);
        for (int t = 0; t < maxSteps; t++)
        {
            StepResult r = StepRandom(env, actionRng, out float[] next);
            observations.Add(next);
            rewards.Add(r.Reward);
            if (r.Done)
            {
                return (observations, rewards, true);
            }
        }

        return (observations, rewards, false);
    }

    /// <summary>One step with an action sampled from the action space.</summary>
    public static StepResult StepRandom(IEnv env, NumpyRandom actionRng, out float[] observation)
    {
        observation = new float[env.ObservationSpace.Size];
        return env switch
        {
            IEnv<int> discrete => discrete.Step(discrete.ActionSpace.Sample(actionRng), observation),
            IEnv<float[]> continuous => continuous.Step(continuous.ActionSpace.Sample(actionRng), observation),
            _ => throw new InvalidOperationException($"{env.Name}: unexpected action type."),
        };
    }
}
