using RlMemory.Agents;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class DqnAgentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-agent-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static QNetwork Network(int seed, IReadOnlyList<int> hidden, bool dueling = false)
    {
        manual_seed(seed);
        return new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 3, HiddenSizes = hidden, Dueling = dueling });
    }

    [Fact]
    public void SaveThenLoad_GivesTheSameQValuesAndActions()
    {
        string path = Path.Combine(_dir, "agent.rlagent");
        using var original = new DqnAgent(Network(1, [16, 8], dueling: true), "CartPole-v1", ownsNetwork: true);
        original.Save(path);
        using DqnAgent loaded = DqnAgent.Load(path);
        Assert.Equal(original.Config, loaded.Config with { HiddenSizes = original.Config.HiddenSizes });
        Assert.Equal([16, 8], loaded.Config.HiddenSizes);
        Assert.True(loaded.Config.Dueling);
        Assert.Equal("CartPole-v1", loaded.EnvId);

        var rng = new Random(3);
        float[] obs = [.. Enumerable.Range(0, 40).Select(_ => (float)rng.NextDouble())];
        using var scope = NewDisposeScope();
        Tensor x = tensor(obs).reshape(10, 4);
        Assert.Equal(original.Network.forward(x).data<float>().ToArray(), loaded.Network.forward(x).data<float>().ToArray());
        var a = new int[10];
        var b = new int[10];
        original.Act(obs, a);
        loaded.Act(obs, b);
        Assert.Equal(a, b);
        Assert.Equal(a[0], loaded.Act(obs.AsSpan(0, 4)));
    }

    [Fact]
    public void LoadingWeightsIntoAnotherArchitecture_IsRefused_NamingBoth()
    {
        string path = Path.Combine(_dir, "agent.rlagent");
        using (var small = new DqnAgent(Network(1, [16]), ownsNetwork: true))
        {
            small.Save(path);
        }

        using var large = new DqnAgent(Network(2, [32]), ownsNetwork: true);
        float[] before = large.Network.parameters().First().data<float>().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => large.LoadWeights(path));
        Assert.Contains("holds a MLP 4-16-3 agent; this agent is a MLP 4-32-3", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, large.Network.parameters().First().data<float>().ToArray());
    }

    [Fact]
    public void ModuleFile_RefusesAShapeMismatch_BeforeChangingAnything()
    {
        string path = Path.Combine(_dir, "weights.rlmb");
        using var source = Network(1, [16]);
        ModuleFile.Save(path, "Test", 1, "{}", ("q", source));
        using var target = Network(2, [17]);
        float[] before = target.parameters().Last().data<float>().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => ModuleFile.Load(path, "Test", ("q", target)));
        Assert.Contains("tensor 'q/body.linear0.weight' is Float32 [16, 4] in the file but Float32 [17, 4] in the network", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, target.parameters().Last().data<float>().ToArray());
        var kind = Assert.Throws<InvalidDataException>(() => ModuleFile.Load(path, "DqnAgent", ("q", source)));
        Assert.Contains("holds a Test, not a DqnAgent", kind.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATruncatedOrCorruptedAgentFile_IsRefused()
    {
        string path = Path.Combine(_dir, "agent.rlagent");
        using (var agent = new DqnAgent(Network(1, [16]), ownsNetwork: true))
        {
            agent.Save(path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 30)]);
        Assert.Throws<InvalidDataException>(() => DqnAgent.Load(path));
        bytes[100] ^= 1;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => DqnAgent.Load(path));
        Assert.Throws<FileNotFoundException>(() => DqnAgent.Load(Path.Combine(_dir, "missing.rlagent")));
    }
}
