using System.Text.RegularExpressions;
using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

/// <summary>
/// Issue 12: agent files with a valid checksum but a crafted configuration (2³¹ actions or observation floats, hidden
/// widths of 65,536) made torch allocate terabytes (a stack trace, or the process killed for memory). The configuration
/// is checked against the tensors the file stores before anything is built.
/// </summary>
public sealed class CraftedAgentFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-crafted-{Guid.NewGuid():N}");

    public CraftedAgentFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Rewrites <paramref name="path"/> with its metadata changed by <paramref name="edit"/> and the same tensors, under a valid checksum.</summary>
    private static void Craft(string path, string kind, string prefix, nn.Module module, Func<string, string> edit) =>
        ModuleFile.Save(path, kind, 1, edit(ModuleFile.ReadMetadata(path, kind)), (prefix, module));

    [Theory]
    [InlineData("\"ActionCount\":2", "\"ActionCount\":2147483647")]
    [InlineData("\"ObservationSize\":4", "\"ObservationSize\":2147483647")]
    [InlineData("\"HiddenSizes\":[8]", "\"HiddenSizes\":[65536,65536]")]
    public void ADqnAgentFile_WhoseConfigurationDoesNotFitItsTensors_IsRefusedBeforeBuilding(string from, string to)
    {
        string path = Path.Combine(_dir, "dqn.rlagent");
        using var network = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [8] });
        new DqnAgent(network, "CartPole-v1").Save(path);
        Craft(path, DqnAgent.Kind, "q", network, m => Regex.Replace(m, @"\s", string.Empty).Replace(from, to, StringComparison.Ordinal));
        Assert.Contains(to, Regex.Replace(ModuleFile.ReadMetadata(path, DqnAgent.Kind), @"\s", string.Empty), StringComparison.Ordinal);

        var e = Assert.Throws<InvalidDataException>(() => AgentFile.Load(path));
        Assert.Contains("parameters, but the file stores", e.Message, StringComparison.Ordinal);
        Assert.Contains("the configuration does not belong to these weights", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecurrentAgentFile_WithAHugeHiddenSize_IsRefusedBeforeBuilding()
    {
        string path = Path.Combine(_dir, "r2d2.rlagent");
        using var network = new RecurrentQNetwork(new RecurrentQNetworkConfig { ObservationSize = 3, ActionCount = 2, Core = new CoreConfig { EncoderSizes = [8], HiddenSize = 8 } });
        new RecurrentDqnAgent(network, "TMaze-v0").Save(path);
        Craft(path, RecurrentDqnAgent.Kind, "q", network, m => Regex.Replace(m, @"""HiddenSize""\s*:\s*8", "\"HiddenSize\":65536"));
        var e = Assert.Throws<InvalidDataException>(() => AgentFile.Load(path));
        Assert.Contains("parameters, but the file stores", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APpoAgentFile_WithHugeEncoderSizes_IsRefusedBeforeBuilding()
    {
        string path = Path.Combine(_dir, "ppo.rlagent");
        using var network = new ActorCriticNetwork(new ActorCriticConfig { ObservationSize = 3, ActionCount = 2, Core = new CoreConfig { EncoderSizes = [8], HiddenSize = 8 }, NetArch = [8] });
        new PpoAgent(network, "TMaze-v0").Save(path);
        Craft(path, PpoAgent.Kind, "policy", network, m => Regex.Replace(m, @"""EncoderSizes""\s*:\s*\[\s*8\s*\]", "\"EncoderSizes\":[65536,65536]"));
        var e = Assert.Throws<InvalidDataException>(() => AgentFile.Load(path));
        Assert.Contains("parameters, but the file stores", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLowerBounds_NeverExceedWhatRealNetworksStore()
    {
        var q = new QNetworkConfig { ObservationSize = 4, ActionCount = 3, HiddenSizes = [16, 8], Dueling = true };
        using (var network = new QNetwork(q))
        {
            Assert.InRange(ArchitectureSize.Minimum(q), 1, Count(network));
        }

        foreach (string kind in CoreConfig.Kinds)
        {
            var core = new CoreConfig { Kind = kind, EncoderSizes = [8], HiddenSize = 12, MemorySlots = 4, MemoryWidth = 5, ReadHeads = 2 };
            var recurrent = new RecurrentQNetworkConfig { ObservationSize = 3, ActionCount = 4, Core = core, HeadSizes = [6], Dueling = true };
            using (var network = new RecurrentQNetwork(recurrent))
            {
                Assert.InRange(ArchitectureSize.Minimum(recurrent), 1, Count(network));
            }

            foreach (string critic in ActorCriticConfig.Critics)
            {
                var ac = new ActorCriticConfig { ObservationSize = 3, ActionCount = 4, Core = core, NetArch = [6, 5], Critic = critic };
                using var network = new ActorCriticNetwork(ac);
                Assert.InRange(ArchitectureSize.Minimum(ac), 1, Count(network));
            }
        }

        static long Count(nn.Module module) => module.parameters().Sum(p => p.numel());
    }
}
