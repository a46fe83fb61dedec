using RlMemory.Environments;

namespace RlMemory.Training;

/// <summary>
/// Plays whole episodes with uniformly random actions drawn from the action space: the baseline every learning
/// agent must beat, and a smoke test for an environment.
/// </summary>
public static class RandomAgent
{
    /// <summary>
    /// Plays <paramref name="episodes"/> episodes of <paramref name="env"/>. Episode <c>k</c> resets with
    /// <c>seed + k</c>; actions come from a generator seeded with <paramref name="seed"/>, so a run is reproducible.
    /// </summary>
    /// <param name="env">The environment (its time limit, if any, ends long episodes).</param>
    /// <param name="episodes">How many episodes to play (at least 1).</param>
    /// <param name="seed">The seed of the first episode and of the action generator.</param>
    /// <param name="maxSteps">A safety cap on the steps of one episode, for environments without a time limit.</param>
    /// <returns>The return and length of each episode.</returns>
    public static IReadOnlyList<EpisodeStatistics> Play(IEnv env, int episodes, int seed = 0, int maxSteps = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfLessThan(episodes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        return env switch
        {
            IEnv<int> discrete => Play(discrete, episodes, seed, maxSteps),
            IEnv<float[]> continuous => Play(continuous, episodes, seed, maxSteps),
            _ => throw new ArgumentException($"{env.Name}: random play supports int or float[] actions; its action space is {env.ActionSpace}.", nameof(env)),
        };
    }

    private static List<EpisodeStatistics> Play<TAction>(IEnv<TAction> env, int episodes, int seed, int maxSteps)
    {
        var rng = new NumpyRandom((ulong)seed);
        var observation = new float[env.ObservationSpace.Size];
        var results = new List<EpisodeStatistics>(episodes);
        for (int k = 0; k < episodes; k++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            env.Reset(observation, seed: seed + k);
            double total = 0;
            int length = 0;
            bool done = false;
            while (!done && length < maxSteps)
            {
                StepResult r = env.Step(env.ActionSpace.Sample(rng), observation);
                total += r.Reward;
                length++;
                done = r.Done;
            }

            results.Add(new EpisodeStatistics(total, length, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds));
        }

        return results;
    }
}
