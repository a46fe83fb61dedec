using System.Runtime.InteropServices;
using RlMemory.Environments.Vector;
using RlMemory.Memory;

namespace RlMemory.Tests.Memory;

/// <summary>n-step assembly against hand-computed examples (n = 3, γ = 0.9 unless said otherwise).</summary>
public sealed class NStepAssemblerTests
{
    private const double Gamma = 0.9;

    /// <summary>Observation of env e at step t of episode k: [e, k, t].</summary>
    private static float[] Obs(int e, int k, int t) => [e, k, t];

    [Fact]
    public void TerminatedEpisode_EmitsFullWindowsThenFlushesTheRestWithoutBootstrap()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(3, Gamma, 1, 3, ActionSpec.Discrete);
        double[] r = [1, 2, 3, 4, 5];
        for (int t = 0; t < 5; t++)
        {
            assembler.AddStep(Obs(0, 0, t), [t + 10], [r[t]], [t == 4], [false], Obs(0, 0, t + 1), sink);
        }

        Assert.Equal(5, sink.Items.Count);
        // s0: 1 + 0.9·2 + 0.81·3 = 5.23, bootstraps from s3 with γ³.
        sink.AssertItem(0, Obs(0, 0, 0), 10, 5.23, Obs(0, 0, 3), 0.729, terminated: false, truncated: false);
        // s1: 2 + 0.9·3 + 0.81·4 = 7.94, from s4.
        sink.AssertItem(1, Obs(0, 0, 1), 11, 7.94, Obs(0, 0, 4), 0.729, false, false);
        // The episode terminates at step 4 (reward 5): s2, s3, s4 are flushed with their truncated sums.
        sink.AssertItem(2, Obs(0, 0, 2), 12, 3 + 0.9 * 4 + 0.81 * 5, Obs(0, 0, 5), 0.729, true, false);
        sink.AssertItem(3, Obs(0, 0, 3), 13, 4 + 0.9 * 5, Obs(0, 0, 5), 0.81, true, false);
        sink.AssertItem(4, Obs(0, 0, 4), 14, 5, Obs(0, 0, 5), 0.9, true, false);
        Assert.Equal(0, assembler.PendingCount(0));
    }

    [Fact]
    public void TruncatedEpisode_FlushesWithTheFinalObservationAndBootstraps()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(3, Gamma, 1, 3, ActionSpec.Discrete);
        for (int t = 0; t < 4; t++)
        {
            assembler.AddStep(Obs(0, 0, t), [0], [1], [false], [t == 3], Obs(0, 0, t + 1), sink);
        }

        Assert.Equal(4, sink.Items.Count);
        sink.AssertItem(0, Obs(0, 0, 0), 0, 1 + 0.9 + 0.81, Obs(0, 0, 3), 0.729, false, false);
        sink.AssertItem(1, Obs(0, 0, 1), 0, 1 + 0.9 + 0.81, Obs(0, 0, 4), 0.729, false, true);
        sink.AssertItem(2, Obs(0, 0, 2), 0, 1 + 0.9, Obs(0, 0, 4), 0.81, false, true);
        sink.AssertItem(3, Obs(0, 0, 3), 0, 1, Obs(0, 0, 4), 0.9, false, true);
    }

    [Fact]
    public void EpisodeShorterThanN_IsFlushedWhole_AndTheAutoresetStepIsSkipped()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(3, Gamma, 1, 3, ActionSpec.Discrete);
        assembler.AddStep(Obs(0, 0, 0), [1], [2], [false], [false], Obs(0, 0, 1), sink);
        Assert.Empty(sink.Items);
        assembler.AddStep(Obs(0, 0, 1), [1], [4], [true], [false], Obs(0, 0, 2), sink);
        Assert.Equal(2, sink.Items.Count);
        sink.AssertItem(0, Obs(0, 0, 0), 1, 2 + 0.9 * 4, Obs(0, 0, 2), 0.81, true, false);
        sink.AssertItem(1, Obs(0, 0, 1), 1, 4, Obs(0, 0, 2), 0.9, true, false);

        // NEXT_STEP autoreset: the final observation → the new episode's first, reward 0. Not a transition.
        assembler.AddStep(Obs(0, 0, 2), [1], [0], [false], [false], Obs(0, 1, 0), sink);
        Assert.Equal(2, sink.Items.Count);
        Assert.Equal(0, assembler.PendingCount(0));
        assembler.AddStep(Obs(0, 1, 0), [2], [7], [false], [false], Obs(0, 1, 1), sink);
        Assert.Equal(1, assembler.PendingCount(0));
    }

    [Fact]
    public void EnvironmentsOutOfPhase_EachKeepsItsOwnWindow()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(3, Gamma, 2, 3, ActionSpec.Discrete);
        // Env 0 terminates at step 1 (reward 10), autoresets at step 2, then runs. Env 1 runs and is truncated at step 3.
        bool[][] term = [[false, false], [true, false], [false, false], [false, false], [false, false]];
        bool[][] trunc = [[false, false], [false, false], [false, false], [false, true], [false, false]];
        double[][] rewards = [[1, 100], [10, 200], [0, 300], [2, 400], [3, 0]];
        int[] episode = [0, 0];
        int[] t = [0, 0];
        bool[] autoreset = [false, false];
        for (int step = 0; step < 5; step++)
        {
            float[] obs = [.. Obs(0, episode[0], t[0]), .. Obs(1, episode[1], t[1])];
            for (int e = 0; e < 2; e++)
            {
                if (autoreset[e])
                {
                    episode[e]++;
                    t[e] = 0;
                    autoreset[e] = false;
                }
                else
                {
                    t[e]++;
                    autoreset[e] = term[step][e] || trunc[step][e];
                }
            }

            float[] next = [.. Obs(0, episode[0], t[0]), .. Obs(1, episode[1], t[1])];
            assembler.AddStep(obs, [step, step + 50], rewards[step], term[step], trunc[step], next, sink);
        }

        // Step 1: env 0 terminates → (s0, 1 + 0.9·10, γ², term), (s1, 10, γ, term).
        // Step 2: env 1's window fills → (s0 of env 1, 100 + 0.9·200 + 0.81·300, s3, γ³).
        // Step 3: env 1 truncated → (s1, 200 + 0.9·300 + 0.81·400, s4, γ³, trunc), (s2, 300 + 0.9·400, γ², trunc), (s3, 400, γ, trunc).
        // Step 4: env 1 autoresets (skipped); env 0 holds 2 steps of its new episode.
        Assert.Equal(6, sink.Items.Count);
        sink.AssertItem(0, Obs(0, 0, 0), 0, 1 + 0.9 * 10, Obs(0, 0, 2), 0.81, true, false);
        sink.AssertItem(1, Obs(0, 0, 1), 1, 10, Obs(0, 0, 2), 0.9, true, false);
        sink.AssertItem(2, Obs(1, 0, 0), 50, 100 + 0.9 * 200 + 0.81 * 300, Obs(1, 0, 3), 0.729, false, false);
        sink.AssertItem(3, Obs(1, 0, 1), 51, 200 + 0.9 * 300 + 0.81 * 400, Obs(1, 0, 4), 0.729, false, true);
        sink.AssertItem(4, Obs(1, 0, 2), 52, 300 + 0.9 * 400, Obs(1, 0, 4), 0.81, false, true);
        sink.AssertItem(5, Obs(1, 0, 3), 53, 400, Obs(1, 0, 4), 0.9, false, true);
        Assert.Equal(2, assembler.PendingCount(0));
        Assert.Equal(0, assembler.PendingCount(1));
    }

    [Fact]
    public void BeginNewEpisodes_FlushesPartialWindowsBootstrappingFromTheLastNextObservation()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(3, Gamma, 1, 3, ActionSpec.Discrete);
        assembler.AddStep(Obs(0, 0, 0), [1], [1], [false], [false], Obs(0, 0, 1), sink);
        assembler.AddStep(Obs(0, 0, 1), [2], [2], [false], [false], Obs(0, 0, 2), sink);
        assembler.BeginNewEpisodes(sink);
        Assert.Equal(2, sink.Items.Count);
        sink.AssertItem(0, Obs(0, 0, 0), 1, 1 + 0.9 * 2, Obs(0, 0, 2), 0.81, false, false);
        sink.AssertItem(1, Obs(0, 0, 1), 2, 2, Obs(0, 0, 2), 0.9, false, false);
        Assert.Equal(0, assembler.PendingCount(0));
    }

    [Fact]
    public void ContinuousActions_AreCarriedThrough()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(2, Gamma, 1, 3, ActionSpec.Continuous(2));
        assembler.AddStep(Obs(0, 0, 0), [0.5f, -0.5f], [1], [false], [false], Obs(0, 0, 1), sink);
        assembler.AddStep(Obs(0, 0, 1), [1.5f, 2.5f], [1], [false], [false], Obs(0, 0, 2), sink);
        Assert.Equal([0.5f, -0.5f], Assert.Single(sink.Items).ContinuousAction);
    }

    [Fact]
    public void NEqualsOne_MatchesTheOneStepBuffer()
    {
        using var oneStep = new ReplayBuffer(new ReplayBufferOptions { Capacity = 500, ObservationShape = [4], NumEnvs = 3, Gamma = Gamma });
        using var assembled = new ReplayBuffer(new ReplayBufferOptions { Capacity = 500, ObservationShape = [4], NumEnvs = 3, Gamma = Gamma });
        var assembler = new NStepAssembler(1, Gamma, 3, 4, ActionSpec.Discrete);
        var env = new FakeVectorEnv(3, 4, seed: 6, pTerminate: 0.15, pTruncate: 0.1);
        float[] obs = new float[12];
        for (int t = 0; t < 100; t++)
        {
            env.Observations.CopyTo(obs, 0);
            env.DrawActions();
            env.Step();
            oneStep.AddStep(obs, env.DiscreteActions, env.Rewards, env.Terminations, env.Truncations, env.Observations);
            assembler.AddStep(obs, env.DiscreteActions, env.Rewards, env.Terminations, env.Truncations, env.Observations, assembled);
        }

        Assert.Equal(ReplayAssert.StoredKeys(oneStep), ReplayAssert.StoredKeys(assembled));
    }

    [Fact]
    public void BufferWithNSteps_StoresAssembledTransitions()
    {
        using var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 100, ObservationShape = [3], NSteps = 3, Gamma = Gamma });
        double[] r = [1, 2, 3, 4, 5];
        for (int t = 0; t < 5; t++)
        {
            buffer.AddStep(Obs(0, 0, t), [t + 10], [r[t]], [t == 4], [false], Obs(0, 0, t + 1));
        }

        List<StoredTransition> stored = buffer.Storage.Enumerate();
        Assert.Equal(5, stored.Count);
        Assert.Equal(5.23f, stored[0].Reward, 5);
        Assert.Equal(0.729f, stored[0].Discount, 6);
        Assert.Equal(Obs(0, 0, 3), stored[0].NextObservation);
        Assert.Equal([false, false, true, true, true], stored.Select(s => s.Terminated));
        Assert.Equal("ReplayBuffer(capacity 100, obs [3], 3-step)", buffer.Name);
    }

    [Fact]
    public void RefusedStep_LeavesTheAssemblerUnchanged_IncludingWhenTheSinkRefuses()
    {
        var sink = new RecordingSink();
        var assembler = new NStepAssembler(2, Gamma, 1, 3, ActionSpec.Discrete);
        assembler.AddStep(Obs(0, 0, 0), [1], [1], [false], [false], Obs(0, 0, 1), sink);

        var e = Assert.Throws<ArgumentException>(() => assembler.AddStep(Obs(0, 0, 1), [1], [double.NaN], [false], [false], Obs(0, 0, 2), sink));
        Assert.Contains("NStepAssembler(n 2, 1 envs, obs 3)", e.Message);
        Assert.Contains("rewards[0]", e.Message);
        Assert.Equal(1, assembler.PendingCount(0));

        sink.RefuseNext = true;
        Assert.Throws<InvalidOperationException>(() => assembler.AddStep(Obs(0, 0, 1), [1], [2], [false], [false], Obs(0, 0, 2), sink));
        Assert.Equal(1, assembler.PendingCount(0));
        Assert.Empty(sink.Items);

        assembler.AddStep(Obs(0, 0, 1), [1], [2], [false], [false], Obs(0, 0, 2), sink);
        sink.AssertItem(0, Obs(0, 0, 0), 1, 1 + 0.9 * 2, Obs(0, 0, 2), 0.81, false, false);
    }

    [Fact]
    public void Constructor_RefusesBadSettings()
    {
        Assert.Contains("[1, 1000]", Assert.Throws<ArgumentOutOfRangeException>(() => new NStepAssembler(0, Gamma, 1, 3, ActionSpec.Discrete)).Message);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => new NStepAssembler(3, 1.5, 1, 3, ActionSpec.Discrete)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NStepAssembler(3, Gamma, 0, 3, ActionSpec.Discrete));
        Assert.Throws<ArgumentNullException>(() => new NStepAssembler(3, Gamma, 1, 3, null!));
    }

    private sealed record Item(float[] Observation, int Action, float[] ContinuousAction, double Reward, bool Terminated, bool Truncated, float[] Next, double Discount);

    private sealed class RecordingSink : ITransitionSink
    {
        public List<Item> Items { get; } = [];

        public bool RefuseNext { get; set; }

        public void AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts)
            where TAction : unmanaged
        {
            Refuse();
            int m = transitions.Rewards.Length;
            int os = transitions.Observations.Length / m;
            int d = transitions.Actions.Length / m;
            for (int i = 0; i < m; i++)
            {
                int action = transitions.Actions[i] is int a ? a : -1;
                float[] continuous = typeof(TAction) == typeof(float) ? [.. MemoryMarshal.Cast<TAction, float>(transitions.Actions.Slice(i * d, d))] : [];
                Items.Add(new Item(transitions.Observations.Slice(i * os, os).ToArray(), action, continuous, transitions.Rewards[i], transitions.Terminations[i], transitions.Truncations[i], transitions.NextObservations.Slice(i * os, os).ToArray(), discounts[i]));
            }
        }

        public void AssertItem(int index, float[] observation, int action, double reward, float[] next, double discount, bool terminated, bool truncated)
        {
            Item item = Items[index];
            Assert.Equal(observation, item.Observation);
            Assert.Equal(action, item.Action);
            Assert.Equal(reward, item.Reward, 9);
            Assert.Equal(next, item.Next);
            Assert.Equal(discount, item.Discount, 12);
            Assert.Equal(terminated, item.Terminated);
            Assert.Equal(truncated, item.Truncated);
        }

        private void Refuse()
        {
            if (RefuseNext)
            {
                RefuseNext = false;
                throw new InvalidOperationException("the sink refuses");
            }
        }
    }
}
