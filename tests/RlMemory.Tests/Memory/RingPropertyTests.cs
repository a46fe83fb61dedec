using FsCheck;
using FsCheck.Fluent;
using RlMemory.Memory;

namespace RlMemory.Tests.Memory;

/// <summary>
/// Property-based tests (FsCheck) over random episode streams: random numbers of environments, capacities, episode
/// lengths (terminations and truncations), out-of-band resets and enough steps to wrap the ring several times.
/// </summary>
public sealed class RingPropertyTests
{
    /// <summary>One random stream of steps.</summary>
    public sealed record Scenario(int Seed, int NumEnvs, int Capacity, int Steps, double PTerminate, double PTruncate, int ResetEvery, bool Bytes)
    {
        public override string ToString() =>
            $"seed {Seed}, {NumEnvs} envs, capacity {Capacity}, {Steps} steps, p(term) {PTerminate}, p(trunc) {PTruncate}, reset every {ResetEvery}, bytes {Bytes}";
    }

    private static readonly Gen<Scenario> Scenarios =
        from seed in Gen.Choose(0, 1_000_000)
        from numEnvs in Gen.Choose(1, 5)
        from capacityFactor in Gen.Choose(2, 40)
        from steps in Gen.Choose(0, 150)
        from term in Gen.Choose(0, 40)
        from trunc in Gen.Choose(0, 30)
        from resetEvery in Gen.Choose(0, 60)
        from bytes in Gen.Elements(false, true)
        select new Scenario(seed, numEnvs, numEnvs * capacityFactor + seed % numEnvs, steps, term / 100.0, trunc / 100.0, resetEvery, bytes);

    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(60).WithParallelRunConfig(null);

    [Fact]
    public void PlainRing_AfterAnySteps_HoldsExactlyTheLastCapacityTransitions()
    {
        Prop.ForAll(Scenarios.ToArbitrary(), s =>
        {
            using var buffer = new ReplayBuffer(Options(s, memorySaving: false, s.Capacity));
            StepDriver driver = Drive(s, buffer);

            List<Transition> all = [.. driver.All];
            List<Transition> expected = all.Skip(Math.Max(0, all.Count - s.Capacity)).ToList();
            Assert.Equal(expected.Count, buffer.Count);
            Assert.Equal(ReplayAssert.Keys(expected), ReplayAssert.StoredKeys(buffer));
        }).Check(Quick);
    }

    [Fact]
    public void MemorySaving_HoldsTheTransitionsOfTheLastRows_AndEqualsPlainModeWhileNothingIsOverwritten()
    {
        Prop.ForAll(Scenarios.ToArbitrary(), s =>
        {
            using var memorySaving = new ReplayBuffer(Options(s, memorySaving: true, s.Capacity));
            using var plain = new ReplayBuffer(Options(s, memorySaving: false, Math.Max(s.NumEnvs, (s.Steps + 1) * s.NumEnvs)));
            StepDriver driver = Drive(s, memorySaving, plain);

            // A full ring of R rows keeps R − 1 complete rows (one row holds the newest observations).
            int rows = s.Capacity / s.NumEnvs;
            List<Transition> kept = [.. driver.Rows.Skip(Math.Max(0, driver.Rows.Count - (rows - 1))).SelectMany(r => r)];
            Assert.Equal(ReplayAssert.Keys(kept), ReplayAssert.StoredKeys(memorySaving));
            Assert.Equal(kept.Count, memorySaving.Count);
            if (driver.Rows.Count <= rows - 1)
            {
                Assert.Equal(ReplayAssert.StoredKeys(plain), ReplayAssert.StoredKeys(memorySaving));
            }
        }).Check(Quick);
    }

    [Fact]
    public void Samples_AreAlwaysRealTransitions_BothModes()
    {
        Prop.ForAll(Scenarios.ToArbitrary(), s =>
        {
            using var memorySaving = new ReplayBuffer(Options(s, memorySaving: true, s.Capacity));
            using var plain = new ReplayBuffer(Options(s, memorySaving: false, s.Capacity));
            StepDriver driver = Drive(s, memorySaving, plain);
            var real = new HashSet<string>(driver.All.Select(t => t.Key));
            foreach (ReplayBuffer buffer in new[] { memorySaving, plain })
            {
                if (buffer.Count == 0)
                {
                    continue;
                }

                using TransitionBatch batch = buffer.Sample((int)Math.Min(buffer.Count, 64));
                foreach (Transition t in ReplayAssert.Read(batch))
                {
                    Assert.Contains(t.Key, real);
                    // Same episode, one step later: never the pair (final observation → reset observation).
                    Assert.Equal(t.Observation[1], t.NextObservation[1]);
                    Assert.Equal((t.Observation[2] + 1) % 256, t.NextObservation[2]);
                }
            }
        }).Check(Quick);
    }

    private static ReplayBufferOptions Options(Scenario s, bool memorySaving, int capacity) => new()
    {
        Capacity = capacity,
        ObservationShape = [4],
        ObservationStorage = s.Bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        NumEnvs = s.NumEnvs,
        Gamma = 0.9,
        MemorySaving = memorySaving,
        Seed = (ulong)s.Seed,
    };

    private static StepDriver Drive(Scenario s, params ReplayBuffer[] buffers)
    {
        var env = new FakeVectorEnv(s.NumEnvs, 4, s.Seed, s.PTerminate, s.PTruncate);
        var driver = new StepDriver(env, 0.9f);
        for (int t = 0; t < s.Steps; t++)
        {
            if (s.ResetEvery > 0 && t % s.ResetEvery == s.ResetEvery - 1)
            {
                driver.ResetOutOfBand(buffers);
                if (t % 3 == 0)
                {
                    driver.ResetOutOfBand(buffers);
                }
            }

            driver.Step(buffers);
        }

        return driver;
    }
}
