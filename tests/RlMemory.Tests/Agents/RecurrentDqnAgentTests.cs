using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class RecurrentDqnAgentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-r2d2-agent-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static RecurrentQNetwork Network(bool dueling = true)
    {
        manual_seed(21);
        return new RecurrentQNetwork(new RecurrentQNetworkConfig
        {
            ObservationSize = 3,
            ActionCount = 4,
            Core = new CoreConfig { EncoderSizes = [8], HiddenSize = 6 },
            HeadSizes = [5],
            Dueling = dueling,
        });
    }

    [Fact]
    public void SaveThenLoad_ThroughAgentFile_RebuildsTheSameNetwork()
    {
        string path = Path.Combine(_dir, "r2d2.rlagent");
        using RecurrentQNetwork network = Network();
        new RecurrentDqnAgent(network, "TMaze-v0").Save(path);

        using IAgent loaded = AgentFile.Load(path);
        var agent = Assert.IsType<RecurrentDqnAgent>(loaded);
        Assert.Equal((RecurrentDqnAgent.Kind, "TMaze-v0"), (loaded.Kind, loaded.EnvId));
        Assert.True(agent.Config.SameArchitecture(network.Config));
        Assert.Equal("obs 3 → lstm(8→6) → 5 → 4 Q (dueling)", agent.Config.Description);
        Assert.Contains(RecurrentDqnAgent.Kind, AgentFile.Kinds);

        using var scope = NewDisposeScope();
        Tensor x = randn(2, 7, 3);
        RecurrentState s0 = network.InitialState(2);
        var (expected, _) = network.Unroll(x, s0);
        var (actual, _) = agent.Network.Unroll(x, agent.Network.InitialState(2));
        Assert.True(expected.data<float>().ToArray().SequenceEqual(actual.data<float>().ToArray()));
    }

    [Fact]
    public void Loading_AnotherArchitecture_OrAnotherKind_IsRefusedByName()
    {
        string path = Path.Combine(_dir, "r2d2.rlagent");
        using RecurrentQNetwork dueling = Network(dueling: true);
        new RecurrentDqnAgent(dueling).Save(path);

        using RecurrentQNetwork plain = Network(dueling: false);
        var other = new RecurrentDqnAgent(plain);
        var e = Assert.Throws<InvalidDataException>(() => other.LoadWeights(path));
        Assert.Contains("(dueling) agent; this agent is a obs 3", e.Message, StringComparison.Ordinal);

        string dqn = Path.Combine(_dir, "dqn.rlagent");
        using (var q = new QNetwork(new QNetworkConfig { ObservationSize = 3, ActionCount = 4, HiddenSizes = [4] }))
        {
            new DqnAgent(q).Save(dqn);
        }

        var kind = Assert.Throws<InvalidDataException>(() => RecurrentDqnAgent.Load(dqn));
        Assert.Contains("holds a DqnAgent, not a RecurrentDqnAgent", kind.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Actor_ResettingOneRow_LeavesTheOtherRowsBitIdentical()
    {
        using RecurrentQNetwork network = Network();
        using var actor = new RecurrentQActor(network, 3, seed: 2);
        var random = new Random(1);
        var actions = new int[3];
        for (int step = 0; step < 4; step++)
        {
            actor.Greedy([.. Enumerable.Range(0, 9).Select(_ => (float)random.NextDouble())], actions);
        }

        float[][] before = Snapshot(actor.State);
        actor.Reset(1);
        float[][] after = Snapshot(actor.State);
        int width = 6;
        for (int part = 0; part < before.Length; part++)
        {
            Assert.Equal(before[part][..width], after[part][..width]);                     // row 0
            Assert.All(after[part][width..(2 * width)], v => Assert.Equal(0f, v));          // row 1
            Assert.Equal(before[part][(2 * width)..], after[part][(2 * width)..]);          // row 2
        }

        // ResetRows with flags does the same for the flagged rows only.
        actor.Greedy([.. Enumerable.Range(0, 9).Select(_ => (float)random.NextDouble())], actions);
        before = Snapshot(actor.State);
        actor.ResetRows([true, false, false]);
        after = Snapshot(actor.State);
        for (int part = 0; part < before.Length; part++)
        {
            Assert.All(after[part][..width], v => Assert.Equal(0f, v));
            Assert.Equal(before[part][width..], after[part][width..]);
        }
    }

    [Fact]
    public void Actor_ActingOnSomeRows_AdvancesOnlyThoseRows_AsAnActorOfOneWould()
    {
        using RecurrentQNetwork network = Network();
        using var three = new RecurrentQActor(network, 3);
        using var one = new RecurrentQActor(network, 1);
        var random = new Random(2);
        var actions = new int[3];
        three.Greedy([.. Enumerable.Range(0, 9).Select(_ => (float)random.NextDouble())], actions);
        float[][] before = Snapshot(three.State);

        // Row 2 alone, three times, against an actor of one environment fed the same observations from the zero state.
        three.Reset(2);
        int[] action = new int[1];
        int[] single = new int[1];
        for (int step = 0; step < 3; step++)
        {
            float[] obs = [.. Enumerable.Range(0, 3).Select(_ => (float)random.NextDouble())];
            three.Act(obs, [2], action);
            one.Act(obs, [0], single);
            Assert.Equal(single[0], action[0]);
        }

        float[][] after = Snapshot(three.State);
        float[][] reference = Snapshot(one.State);
        for (int part = 0; part < before.Length; part++)
        {
            Assert.Equal(before[part][..12], after[part][..12]);       // rows 0 and 1 untouched
            Assert.Equal(reference[part], after[part][12..]);         // row 2 as the single actor's state
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => three.Act(new float[3], [3], action));
        Assert.Throws<ArgumentException>(() => three.Act(new float[6], [1, 1], new int[2]));
        Assert.Throws<ArgumentException>(() => three.Act(new float[4], [1], action));
    }

    [Fact]
    public void Actor_EpsilonGreedy_KeepsTheStateItActedFrom_AndIsReproducibleFromItsSeed()
    {
        using RecurrentQNetwork network = Network();
        using var a = new RecurrentQActor(network, 4, seed: 9);
        using var b = new RecurrentQActor(network, 4, seed: 9);
        Assert.Throws<InvalidOperationException>(() => a.PreviousState);
        var random = new Random(3);
        var x = new int[4];
        var y = new int[4];
        for (int step = 0; step < 5; step++)
        {
            float[] obs = [.. Enumerable.Range(0, 12).Select(_ => (float)random.NextDouble())];
            float[][] state = Snapshot(a.State);
            a.EpsilonGreedy(obs, x, 0.5);
            b.EpsilonGreedy(obs, y, 0.5);
            Assert.Equal(x, y);
            Assert.Equal(state, Snapshot(a.PreviousState));
        }

        byte[] generator = a.GetGeneratorState();
        float[] next = new float[12];
        a.EpsilonGreedy(next, x, 1.0);
        b.SetGeneratorState(generator);
        b.EpsilonGreedy(next, y, 1.0);
        Assert.Equal(x, y);
    }

    private static float[][] Snapshot(RecurrentState state) =>
        [.. state.Tensors.Select(t => t.contiguous().data<float>().ToArray())];
}
