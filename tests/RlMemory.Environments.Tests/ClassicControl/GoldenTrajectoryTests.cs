using System.Text.Json;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.ClassicControl;

/// <summary>
/// Replays Gymnasium's own trajectories (Golden/*.json in this project) through our classic-control environments, step by step:
/// before step i the physical state is set to the recorded state before that step; the step must reproduce the
/// recorded state (1e-12), observation (1e-6), reward (1e-9), terminated and truncated (exactly).
/// Run alone with <c>dotnet test --filter "FullyQualifiedName~Golden"</c>.
/// </summary>
public sealed class GoldenTrajectoryTests
{
    private const double StateTolerance = 1e-12;
    private const double ObservationTolerance = 1e-6;
    private const double RewardTolerance = 1e-12;

    public static TheoryData<string> EnvIds => ["CartPole-v1", "MountainCar-v0", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"];

    [Theory]
    [MemberData(nameof(EnvIds))]
    public void Golden_EveryStepMatchesGymnasium(string envId)
    {
        using JsonDocument doc = GoldenData.Load(envId);
        JsonElement root = doc.RootElement;
        JsonElement episodes = root.GetProperty("episodes");
        Assert.True(episodes.GetArrayLength() > 0, $"{envId}: the golden file has no episodes.");

        int steps = 0;
        foreach (JsonElement episode in episodes.EnumerateArray())
        {
            steps += ReplayEpisode(envId, episode);
        }

        Assert.True(steps >= 500, $"{envId}: only {steps} golden steps were replayed.");
    }

    [Theory]
    [MemberData(nameof(EnvIds))]
    public void Golden_ResetWithSeedGivesGymnasiumsInitialStateAndObservation(string envId)
    {
        using JsonDocument doc = GoldenData.Load(envId);
        foreach (JsonElement episode in doc.RootElement.GetProperty("episodes").EnumerateArray())
        {
            using IEnv env = EnvRegistry.Make(envId);
            int seed = episode.GetProperty("reset_seed").GetInt32();
            var (observation, _) = env.Reset(seed: seed);
            double[] expectedState = Doubles(episode.GetProperty("initial_state"));
            Assert.Equal(expectedState, ((IPhysicalState)env.Unwrapped).State);
            AssertClose(Doubles(episode.GetProperty("initial_obs")), observation, ObservationTolerance, $"{envId} seed {seed}: reset observation");
        }
    }

    [Theory]
    [MemberData(nameof(EnvIds))]
    public void Golden_SpacesAndLimitsMatchGymnasium(string envId)
    {
        using JsonDocument doc = GoldenData.Load(envId);
        JsonElement root = doc.RootElement;
        using IEnv env = EnvRegistry.Make(envId);
        JsonElement obsSpace = root.GetProperty("observation_space");
        Assert.Equal(FloatsOrInfinities(obsSpace.GetProperty("low")), env.ObservationSpace.Low.ToArray());
        Assert.Equal(FloatsOrInfinities(obsSpace.GetProperty("high")), env.ObservationSpace.High.ToArray());

        JsonElement actionSpace = root.GetProperty("action_space");
        if (actionSpace.GetProperty("type").GetString() == "Discrete")
        {
            var discrete = Assert.IsType<Discrete>(env.ActionSpace);
            Assert.Equal(actionSpace.GetProperty("n").GetInt32(), discrete.N);
        }
        else
        {
            var box = Assert.IsType<Box>(env.ActionSpace);
            Assert.Equal(FloatsOrInfinities(actionSpace.GetProperty("low")), box.Low.ToArray());
            Assert.Equal(FloatsOrInfinities(actionSpace.GetProperty("high")), box.High.ToArray());
        }

        JsonElement spec = root.GetProperty("spec");
        Assert.Equal(spec.GetProperty("max_episode_steps").GetInt32(), env.Spec!.MaxEpisodeSteps);
        Assert.Equal(spec.GetProperty("max_episode_steps").GetInt32(), Assert.IsAssignableFrom<IEnv>(env) switch
        {
            TimeLimit<int> t => t.MaxEpisodeSteps,
            TimeLimit<float[]> t => t.MaxEpisodeSteps,
            _ => -1,
        });
        JsonElement threshold = spec.GetProperty("reward_threshold");
        Assert.Equal(threshold.ValueKind == JsonValueKind.Null ? null : threshold.GetDouble(), env.Spec.RewardThreshold);
    }

    private static int ReplayEpisode(string envId, JsonElement episode)
    {
        int index = episode.GetProperty("index").GetInt32();
        using IEnv env = EnvRegistry.Make(envId);
        var physical = (IPhysicalState)env.Unwrapped;
        var observation = new float[env.ObservationSpace.Size];
        env.Reset(observation, seed: episode.GetProperty("reset_seed").GetInt32());

        JsonElement actions = episode.GetProperty("actions");
        JsonElement states = episode.GetProperty("states");
        JsonElement observations = episode.GetProperty("obs");
        JsonElement rewards = episode.GetProperty("rewards");
        JsonElement terminated = episode.GetProperty("terminated");
        JsonElement truncated = episode.GetProperty("truncated");
        double[] before = Doubles(episode.GetProperty("initial_state"));
        int length = actions.GetArrayLength();
        Assert.Equal(episode.GetProperty("length").GetInt32(), length);

        for (int i = 0; i < length; i++)
        {
            string where = $"{envId} episode {index} step {i}";
            physical.State = before;
            StepResult r = env switch
            {
                IEnv<int> discrete => discrete.Step(actions[i].GetInt32(), observation),
                IEnv<float[]> continuous => continuous.Step(Floats(actions[i]), observation),
                _ => throw new InvalidOperationException($"{envId}: unexpected action type."),
            };

            double[] expected = Doubles(states[i]);
            AssertClose(expected, physical.State, StateTolerance, where + ": state");
            AssertClose(Doubles(observations[i]), observation, ObservationTolerance, where + ": observation");
            double reward = rewards[i].GetDouble();
            Assert.True(Math.Abs(reward - r.Reward) <= RewardTolerance, $"{where}: reward {r.Reward:R}, Gymnasium {reward:R}");
            Assert.True(terminated[i].GetBoolean() == r.Terminated, $"{where}: terminated {r.Terminated}, Gymnasium {terminated[i].GetBoolean()}");
            Assert.True(truncated[i].GetBoolean() == r.Truncated, $"{where}: truncated {r.Truncated}, Gymnasium {truncated[i].GetBoolean()}");
            before = expected;
        }

        string end = episode.GetProperty("end").GetString()!;
        Assert.Equal(end == "terminated", terminated[length - 1].GetBoolean());
        return length;
    }

    private static void AssertClose(double[] expected, ReadOnlySpan<double> actual, double tolerance, string where)
    {
        Assert.True(expected.Length == actual.Length, $"{where}: {actual.Length} values, expected {expected.Length}");
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.True(Math.Abs(expected[k] - actual[k]) <= tolerance, $"{where}[{k}]: {actual[k]:R}, Gymnasium {expected[k]:R}");
        }
    }

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, double tolerance, string where)
    {
        var widened = new double[actual.Length];
        for (int k = 0; k < actual.Length; k++)
        {
            widened[k] = actual[k];
        }

        AssertClose(expected, widened, tolerance, where);
    }

    private static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];

    private static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(e => (float)e.GetDouble())];

    private static float[] FloatsOrInfinities(JsonElement array) =>
    [
        .. array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String
            ? e.GetString() switch
            {
                "inf" => float.PositiveInfinity,
                "-inf" => float.NegativeInfinity,
                var s => throw new FormatException($"Unexpected bound '{s}'."),
            }
            : (float)e.GetDouble()),
    ];
}
