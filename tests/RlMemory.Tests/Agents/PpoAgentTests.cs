using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

[Collection(nameof(RlMemory.Tests.Training.SeededTrainingCollection))]
public sealed class PpoAgentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-ppo-agent-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static ActorCriticConfig Config(bool recurrent) => new()
    {
        ObservationSize = 3,
        ActionCount = 4,
        Core = recurrent ? new CoreConfig { EncoderSizes = [8], HiddenSize = 6 } : null,
        NetArch = [16],
        Activation = "tanh",
        NormalizeObservations = true,
    };

    private static PpoAgent Agent(bool recurrent, int seed = 1)
    {
        manual_seed(seed);
        var network = new ActorCriticNetwork(Config(recurrent));
        network.SetObservationStatistics([0.5, 0, -0.5], [2, 3, 4]);
        using (no_grad())
        {
            // Large random weights so that greedy actions vary from step to step.
            foreach (var p in network.parameters())
            {
                p.normal_(0, 1);
            }
        }

        return new PpoAgent(network, "TMaze-v0", ownsNetwork: true);
    }

    private static float[] Observations(int rows, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows * 3).Select(_ => (float)(random.NextDouble() * 4 - 2))];
    }

    private static int[] Play(IEpisodeActor actor, float[][] steps, int[] rows)
    {
        var all = new List<int>();
        var actions = new int[rows.Length];
        foreach (float[] observations in steps)
        {
            actor.Act(observations, rows, actions);
            all.AddRange(actions);
        }

        return [.. all];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SaveAndLoad_RoundTrip_ActsTheSame(bool recurrent)
    {
        string path = Path.Combine(_dir, "agent.rlagent");
        float[][] steps = [.. Enumerable.Range(0, 12).Select(s => Observations(2, s))];
        int[] before;
        using (PpoAgent agent = Agent(recurrent))
        {
            agent.Save(path);
            using IEpisodeActor actor = agent.Begin(2);
            before = Play(actor, steps, [0, 1]);
        }

        using var loaded = (IDiscreteAgent)AgentFile.Load(path);
        Assert.Equal((PpoAgent.Kind, "TMaze-v0"), (loaded.Kind, loaded.EnvId));
        var ppo = Assert.IsType<PpoAgent>(loaded);
        Assert.Equal(Config(recurrent).Description, ppo.Config.Description);
        Assert.Equal(recurrent, ppo.Network.IsRecurrent);
        using IEpisodeActor again = loaded.Begin(2);
        Assert.Equal(before, Play(again, steps, [0, 1]));
        Assert.Contains(PpoAgent.Kind, AgentFile.Kinds);
    }

    [Fact]
    public void TheActor_KeepsAStatePerRow_AdvancingOnlyTheRowsItIsGiven_AndResettingOneRow()
    {
        using PpoAgent agent = Agent(recurrent: true);
        float[][] a = [.. Enumerable.Range(0, 10).Select(s => Observations(1, 100 + s))];
        float[][] b = [.. Enumerable.Range(0, 10).Select(s => Observations(1, 200 + s))];

        // Reference: each environment alone in its own actor.
        int[] aloneA, aloneB;
        using (IEpisodeActor one = agent.Begin(1))
        {
            aloneA = Play(one, a, [0]);
        }

        using (IEpisodeActor one = agent.Begin(1))
        {
            aloneB = Play(one, b, [0]);
        }

        Assert.True(aloneA.Concat(aloneB).Distinct().Count() > 1, "the test needs actions that vary");

        // Interleaved in one actor of three rows: row 2 plays A, row 0 plays B, sometimes together, sometimes alone;
        // row 1 is never used.
        using IEpisodeActor shared = agent.Begin(3);
        var playedA = new List<int>();
        var playedB = new List<int>();
        var actions = new int[2];
        for (int t = 0; t < 10; t++)
        {
            if (t % 3 == 0)
            {
                shared.Act(a[t], [2], actions.AsSpan(0, 1));
                playedA.Add(actions[0]);
                shared.Act(b[t], [0], actions.AsSpan(0, 1));
                playedB.Add(actions[0]);
            }
            else
            {
                shared.Act([.. b[t], .. a[t]], [0, 2], actions);
                playedB.Add(actions[0]);
                playedA.Add(actions[1]);
            }
        }

        Assert.Equal(aloneA, playedA);
        Assert.Equal(aloneB, playedB);

        // Reset(2) starts row 2 afresh (it replays A from the start) and leaves row 0's state alone.
        shared.Reset(2);
        for (int t = 0; t < 10; t++)
        {
            shared.Act(a[t], [2], actions.AsSpan(0, 1));
            Assert.Equal(aloneA[t], actions[0]);
        }

        Assert.Throws<ArgumentException>(() => shared.Act([.. a[0], .. a[1]], [2, 2], actions));
        Assert.Throws<ArgumentException>(() => shared.Act(a[0], [3], actions.AsSpan(0, 1)));
    }

    [Fact]
    public void ACorruptFile_IsRefused()
    {
        string path = Path.Combine(_dir, "agent.rlagent");
        using (PpoAgent agent = Agent(recurrent: true))
        {
            agent.Save(path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x20;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => AgentFile.Load(path));
    }
}
