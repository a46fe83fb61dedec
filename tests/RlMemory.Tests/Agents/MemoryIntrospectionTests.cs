using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Memory.External;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

/// <summary>
/// The actors of memory agents (R2D2 and PPO with <c>core: memory</c>) expose their memory's weightings through
/// <see cref="IMemoryIntrospection"/>; LSTM-only and feed-forward actors do not.
/// </summary>
public sealed class MemoryIntrospectionTests
{
    private static readonly CoreConfig MemoryCoreConfig = new() { Kind = "memory", EncoderSizes = [8], HiddenSize = 6, MemorySlots = 5, MemoryWidth = 4, ReadHeads = 2 };

    private static RecurrentDqnAgent R2d2Agent(CoreConfig core)
    {
        manual_seed(3);
        var network = new RecurrentQNetwork(new RecurrentQNetworkConfig { ObservationSize = 3, ActionCount = 2, Core = core });
        return new RecurrentDqnAgent(network, "TMaze-v0");
    }

    private static PpoAgent PpoAgent(CoreConfig? core)
    {
        manual_seed(4);
        var network = new ActorCriticNetwork(new ActorCriticConfig { ObservationSize = 3, ActionCount = 2, Core = core, NetArch = [8] });
        return new PpoAgent(network, "TMaze-v0", ownsNetwork: true);
    }

    private static float[] Observations(int rows, int step) =>
        [.. Enumerable.Range(0, rows * 3).Select(i => MathF.Sin(i * 1.7f + step * 0.9f))];

    [Fact]
    public void MemoryAgents_ExposeWriteReadAndUsageTraces_ThatMatchTheCoreRunAlone()
    {
        using RecurrentDqnAgent agent = R2d2Agent(MemoryCoreConfig);
        using IEpisodeActor actor = agent.Begin(3);
        var memory = Assert.IsAssignableFrom<IMemoryIntrospection>(actor);
        Assert.Equal(5, memory.MemorySlots);
        Assert.Equal(["write", "read 0", "read 1", "usage"], memory.TraceNames);

        var trace = new float[4 * 5];
        Assert.False(memory.TryReadLastStep(1, trace));
        Assert.All(trace, v => Assert.Equal(0f, v));

        // Reference: the same network stepped by hand for row 1 alone.
        using var scope = NewDisposeScope();
        RecurrentState reference = agent.Network.InitialState(1);
        var actions = new int[3];
        for (int step = 0; step < 4; step++)
        {
            float[] obs = Observations(3, step);
            actor.Act(obs, [0, 1, 2], actions);
            (_, reference) = agent.Network.Step(tensor(obs.AsSpan(3, 3).ToArray()).reshape(1, 3), reference);
        }

        Assert.True(memory.TryReadLastStep(1, trace));
        var expected = ExternalMemoryState.From(reference);
        float[] write = expected.WriteWeights.reshape(-1).data<float>().ToArray();
        float[] reads = expected.ReadWeights.reshape(-1).data<float>().ToArray();
        float[] usage = expected.Usage.reshape(-1).data<float>().ToArray();
        float[] want = [.. write, .. reads, .. usage];
        for (int i = 0; i < want.Length; i++)
        {
            Assert.Equal(want[i], trace[i], 5);
        }

        // Weightings are distributions over slots (read: sum 1; write: at most 1), usage lies in [0, 1].
        Assert.Equal(1.0, trace.AsSpan(5, 5).ToArray().Sum(), 4);
        Assert.Equal(1.0, trace.AsSpan(10, 5).ToArray().Sum(), 4);
        Assert.InRange(trace.AsSpan(0, 5).ToArray().Sum(), 0.0, 1.0 + 1e-5);
        Assert.All(trace.AsSpan(15, 5).ToArray(), u => Assert.InRange(u, 0f, 1f));
        Assert.True(trace.AsSpan(15, 5).ToArray().Sum() > 0, "after four writes some slot is in use");
    }

    [Fact]
    public void AResetRow_HasNoLastStep_UntilItActsAgain_AndOtherRowsKeepTheirs()
    {
        using RecurrentDqnAgent agent = R2d2Agent(MemoryCoreConfig);
        using IEpisodeActor actor = agent.Begin(2);
        var memory = (IMemoryIntrospection)actor;
        var actions = new int[2];
        actor.Act(Observations(2, 0), [0, 1], actions);
        var before = new float[20];
        Assert.True(memory.TryReadLastStep(0, before));

        actor.Reset(1);
        var trace = new float[20];
        Assert.False(memory.TryReadLastStep(1, trace));
        Assert.True(memory.TryReadLastStep(0, trace));
        Assert.Equal(before, trace);

        // Acting for row 1 alone gives it a step again, and leaves row 0's untouched.
        actor.Act(Observations(1, 1), [1], actions.AsSpan(0, 1));
        Assert.True(memory.TryReadLastStep(1, trace));
        var row0 = new float[20];
        Assert.True(memory.TryReadLastStep(0, row0));
        Assert.Equal(before, row0);
    }

    [Fact]
    public void BadArguments_AreRefusedByName()
    {
        using RecurrentDqnAgent agent = R2d2Agent(MemoryCoreConfig);
        using IEpisodeActor actor = agent.Begin(2);
        var memory = (IMemoryIntrospection)actor;
        var e = Assert.Throws<ArgumentException>(() => memory.TryReadLastStep(0, new float[7]));
        Assert.Contains("4 traces × 5 slots = 20 floats, got 7", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => memory.TryReadLastStep(2, new float[20]));
    }

    [Fact]
    public void PpoMemoryAgent_IsIntrospectable_LstmAndFeedForwardAgentsAreNot()
    {
        using (PpoAgent memoryAgent = PpoAgent(MemoryCoreConfig))
        using (IEpisodeActor actor = memoryAgent.Begin(2))
        {
            var memory = Assert.IsAssignableFrom<IMemoryIntrospection>(actor);
            var actions = new int[2];
            actor.Act(Observations(2, 0), [0, 1], actions);
            var trace = new float[memory.TraceNames.Count * memory.MemorySlots];
            Assert.True(memory.TryReadLastStep(1, trace));
            Assert.Equal(1.0, trace.AsSpan(5, 5).ToArray().Sum(), 4);
        }

        using (PpoAgent lstm = PpoAgent(new CoreConfig { EncoderSizes = [8], HiddenSize = 6 }))
        using (IEpisodeActor actor = lstm.Begin(2))
        {
            Assert.False(actor is IMemoryIntrospection);
        }

        using (PpoAgent feedForward = PpoAgent(null))
        using (IEpisodeActor actor = feedForward.Begin(2))
        {
            Assert.False(actor is IMemoryIntrospection);
        }

        using RecurrentDqnAgent r2d2Lstm = R2d2Agent(new CoreConfig { EncoderSizes = [8], HiddenSize = 6 });
        using IEpisodeActor r2d2Actor = r2d2Lstm.Begin(1);
        Assert.False(r2d2Actor is IMemoryIntrospection);
    }
}
