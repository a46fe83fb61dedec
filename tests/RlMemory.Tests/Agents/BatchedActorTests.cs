using RlMemory.Agents;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class BatchedActorTests
{
    private static QNetwork Network(int actions = 3)
    {
        manual_seed(1);
        return new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = actions, HiddenSizes = [16] });
    }

    private static float[] Observations(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n * 4).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    [Fact]
    public void Greedy_IsTheArgmaxOfTheForwardPass_ForEveryEnvironment()
    {
        using var net = Network();
        using var actor = new BatchedActor(net, maxBatch: 8, seed: 0);
        float[] obs = Observations(8, 3);
        var actions = new int[8];
        actor.Greedy(obs, actions);
        actor.Greedy(obs, actions); // the preallocated input survives a call

        using var scope = NewDisposeScope();
        long[] expected = net.forward(tensor(obs).reshape(8, 4)).argmax(1).data<long>().ToArray();
        Assert.Equal(expected.Select(a => (int)a), actions);
    }

    [Fact]
    public void SmallerBatches_UseTheFirstRowsOnly()
    {
        using var net = Network();
        using var actor = new BatchedActor(net, maxBatch: 8, seed: 0);
        float[] obs = Observations(3, 4);
        var actions = new int[3];
        actor.Greedy(obs, actions);
        using var scope = NewDisposeScope();
        long[] expected = net.forward(tensor(obs).reshape(3, 4)).argmax(1).data<long>().ToArray();
        Assert.Equal(expected.Select(a => (int)a), actions);
    }

    [Fact]
    public void EpsilonOne_DrawsActionsUniformly()
    {
        using var net = Network(actions: 4);
        using var actor = new BatchedActor(net, maxBatch: 16, seed: 7);
        float[] obs = Observations(16, 5);
        var actions = new int[16];
        var counts = new int[4];
        const int rounds = 2000;
        for (int k = 0; k < rounds; k++)
        {
            actor.EpsilonGreedy(obs, actions, 1.0);
            foreach (int a in actions)
            {
                counts[a]++;
            }
        }

        double expected = rounds * 16 / 4.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 16.27, $"chi-square {chi2:F2} over counts [{string.Join(", ", counts)}] exceeds the 0.1% critical value for 3 degrees of freedom");
    }

    [Fact]
    public void EpsilonExploresInTheExpectedFraction()
    {
        using var net = Network(actions: 2);
        using var actor = new BatchedActor(net, maxBatch: 16, seed: 11);
        float[] obs = Observations(16, 6);
        var greedy = new int[16];
        actor.Greedy(obs, greedy);
        var actions = new int[16];
        int differing = 0, total = 0;
        for (int k = 0; k < 3000; k++)
        {
            actor.EpsilonGreedy(obs, actions, 0.3);
            for (int i = 0; i < 16; i++)
            {
                differing += actions[i] != greedy[i] ? 1 : 0;
                total++;
            }
        }

        // A random action differs from the greedy one with probability (1 - 1/2): expected fraction 0.3 × 0.5 = 0.15.
        double fraction = (double)differing / total;
        double se = Math.Sqrt(0.15 * 0.85 / total);
        Assert.InRange(fraction, 0.15 - 5 * se, 0.15 + 5 * se);
    }

    [Fact]
    public void GeneratorState_RoundTrips_SoExplorationResumesExactly()
    {
        using var net = Network();
        using var actor = new BatchedActor(net, maxBatch: 4, seed: 3);
        float[] obs = Observations(4, 8);
        var actions = new int[4];
        actor.EpsilonGreedy(obs, actions, 0.5);
        byte[] state = actor.GetGeneratorState();
        var first = new List<int>();
        for (int k = 0; k < 20; k++)
        {
            actor.EpsilonGreedy(obs, actions, 0.5);
            first.AddRange(actions);
        }

        using var other = new BatchedActor(net, maxBatch: 4, seed: 999);
        other.SetGeneratorState(state);
        var second = new List<int>();
        for (int k = 0; k < 20; k++)
        {
            other.EpsilonGreedy(obs, actions, 0.5);
            second.AddRange(actions);
        }

        Assert.Equal(first, second);
    }

    [Fact]
    public void WrongSizesAndEpsilon_AreRefusedWithClearMessages()
    {
        using var net = Network();
        using var actor = new BatchedActor(net, maxBatch: 4, seed: 0);
        var tooMany = Assert.Throws<ArgumentException>(() => actor.Greedy(new float[20], new int[5]));
        Assert.Contains("5 actions requested; allowed 1..4", tooMany.Message, StringComparison.Ordinal);
        var shape = Assert.Throws<ArgumentException>(() => actor.Greedy(new float[7], new int[2]));
        Assert.Contains("expected 2 × 4 = 8", shape.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => actor.EpsilonGreedy(new float[8], new int[2], 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => actor.EpsilonGreedy(new float[8], new int[2], double.NaN));
    }
}
