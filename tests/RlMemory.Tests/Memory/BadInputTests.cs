using RlMemory.Memory;

namespace RlMemory.Tests.Memory;

/// <summary>
/// Every refused call names the buffer, the argument and the value, and leaves the buffer exactly as it was: the same
/// stored transitions, the same autoreset flags, and the same samples afterwards (the generator did not move).
/// </summary>
public sealed class BadInputTests
{
    public static TheoryData<string> Cases() =>
    [
        "observations too short", "nextObservations too long", "actions too short", "rewards too long", "terminated too short", "truncated too long",
        "NaN observation", "infinite next observation", "NaN reward", "infinite reward", "reward beyond float32",
        "discrete action beyond 2^24", "float actions into a discrete buffer",
        "byte observation 256", "byte observation negative", "byte observation NaN",
        "continuous NaN action", "int actions into a continuous buffer",
        "AddTransitions discount 1.5", "AddTransitions NaN discount", "AddTransitions lengths differ",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RefusedCall_NamesBufferArgumentAndValue_AndChangesNothing(string name)
    {
        foreach (bool memorySaving in new[] { false, true })
        {
            if (name.StartsWith("AddTransitions", StringComparison.Ordinal) && memorySaving)
            {
                continue;
            }

            Case c = Build(name);
            var options = new ReplayBufferOptions
            {
                Capacity = 30,
                ObservationShape = [4],
                NumEnvs = 2,
                ObservationStorage = c.Bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
                Action = c.Continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
                MemorySaving = memorySaving,
                Seed = 3,
            };
            using var buffer = new ReplayBuffer(options);
            using var twin = new ReplayBuffer(options);
            var driver = new StepDriver(new FakeVectorEnv(2, 4, seed: 9, pTerminate: 0.2, actionDimension: c.Continuous ? 2 : 0), 0.99f);
            for (int t = 0; t < 12; t++)
            {
                driver.Step(buffer, twin);
            }

            // No environment is in its autoreset step (whose entries are ignored), and in memory-saving mode the
            // next step starts a row, so that its observations are read.
            driver.ResetOutOfBand(buffer, twin);
            List<string> before = ReplayAssert.StoredKeys(buffer);
            bool[] endedBefore = buffer.Storage.PreviousEnded.ToArray();

            var e = Assert.Throws<ArgumentException>(() => c.Call(buffer));

            Assert.Contains(buffer.Name, e.Message);
            Assert.Contains(c.Argument, e.Message);
            Assert.Contains(c.Value, e.Message);
            Assert.Equal(before, ReplayAssert.StoredKeys(buffer));
            Assert.Equal(endedBefore, buffer.Storage.PreviousEnded.ToArray());
            driver.Step(buffer, twin);
            using TransitionBatch a = buffer.Sample(8);
            using TransitionBatch b = twin.Sample(8);
            Assert.Equal(ReplayAssert.Longs(a.Indices), ReplayAssert.Longs(b.Indices));
            Assert.Equal(ReplayAssert.StoredKeys(twin), ReplayAssert.StoredKeys(buffer));
        }
    }

    private sealed record Case(string Argument, string Value, Action<ReplayBuffer> Call, bool Bytes = false, bool Continuous = false);

    private static Case Build(string name)
    {
        float[] obs = [0, 1, 2, 3, 4, 5, 6, 7];
        float[] next = [1, 2, 3, 4, 5, 6, 7, 8];
        int[] actions = [1, 0];
        float[] continuous = [0.5f, 0.5f, -0.5f, 1f];
        double[] rewards = [1, 2];
        bool[] no = [false, false];
        float[] With(float[] a, int i, float v)
        {
            float[] c = [.. a];
            c[i] = v;
            return c;
        }

        return name switch
        {
            "observations too short" => new("observations", "got 7", b => b.AddStep(obs[..7], actions, rewards, no, no, next)),
            "nextObservations too long" => new("nextObservations", "got 9", b => b.AddStep(obs, actions, rewards, no, no, [.. next, 1])),
            "actions too short" => new("actions", "got 1", b => b.AddStep(obs, [1], rewards, no, no, next)),
            "rewards too long" => new("rewards", "got 3", b => b.AddStep(obs, actions, [1, 2, 3], no, no, next)),
            "terminated too short" => new("terminated", "got 1", b => b.AddStep(obs, actions, rewards, [false], no, next)),
            "truncated too long" => new("truncated", "got 3", b => b.AddStep(obs, actions, rewards, no, [false, false, false], next)),
            "NaN observation" => new("observations[5]", "NaN", b => b.AddStep(With(obs, 5, float.NaN), actions, rewards, no, no, next)),
            "infinite next observation" => new("nextObservations[2]", "+infinity", b => b.AddStep(obs, actions, rewards, no, no, With(next, 2, float.PositiveInfinity))),
            "NaN reward" => new("rewards[1]", "NaN", b => b.AddStep(obs, actions, [1, double.NaN], no, no, next)),
            "infinite reward" => new("rewards[0]", "−infinity", b => b.AddStep(obs, actions, [double.NegativeInfinity, 1], no, no, next)),
            "reward beyond float32" => new("rewards[0]", "1E+300", b => b.AddStep(obs, actions, [1e300, 1], no, no, next)),
            "discrete action beyond 2^24" => new("actions[1]", "33554432", b => b.AddStep(obs, [0, 1 << 25], rewards, no, no, next)),
            "float actions into a discrete buffer" => new("actions", "discrete", b => b.AddStep(obs, continuous, rewards, no, no, next)),
            "byte observation 256" => new("observations[3]", "256", b => b.AddStep(With(obs, 3, 256), actions, rewards, no, no, next), Bytes: true),
            "byte observation negative" => new("nextObservations[0]", "-0.5", b => b.AddStep(obs, actions, rewards, no, no, With(next, 0, -0.5f)), Bytes: true),
            "byte observation NaN" => new("nextObservations[7]", "NaN", b => b.AddStep(obs, actions, rewards, no, no, With(next, 7, float.NaN)), Bytes: true),
            "continuous NaN action" => new("actions[3]", "NaN", b => b.AddStep(obs, With(continuous, 3, float.NaN), rewards, no, no, next), Continuous: true),
            "int actions into a continuous buffer" => new("actions", "continuous actions of dimension 2", b => b.AddStep(obs, actions, rewards, no, no, next), Continuous: true),
            "AddTransitions discount 1.5" => new("discounts[1]", "1.5", b => b.AddTransitions(obs, actions, rewards, no, no, next, [0.9, 1.5])),
            "AddTransitions NaN discount" => new("discounts[0]", "NaN", b => b.AddTransitions(obs, actions, rewards, no, no, next, [double.NaN, 0.9])),
            "AddTransitions lengths differ" => new("discounts", "got 1", b => b.AddTransitions(obs, actions, rewards, no, no, next, [0.9])),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown case"),
        };
    }
}
