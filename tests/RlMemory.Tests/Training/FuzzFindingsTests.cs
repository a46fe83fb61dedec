using System.Text.Json;
using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Tests.Memory;
using RlMemory.Training;
using RlMemory.Training.Configuration;

namespace RlMemory.Tests.Training;

/// <summary>
/// Regression tests for what the loader fuzzer (benchmarks: <c>fuzz</c>) found: each input was refused with an
/// exception other than the loader's documented one (a null reference, a YamlDotNet internal error, a component's
/// range check the configuration schema did not share).
/// </summary>
public sealed class FuzzFindingsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-fuzzfind-{Guid.NewGuid():N}");

    public FuzzFindingsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("{\"Config\":null,\"EnvId\":\"CartPole-v1\"}", "has no configuration")]
    [InlineData("{\"EnvId\":\"CartPole-v1\"}", "has no configuration")]
    public void AnAgentFileWithoutAConfiguration_IsRefused(string metadata, string expected)
    {
        string path = Path.Combine(_dir, "agent.rlagent");
        using var network = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [8] });
        ModuleFile.Save(path, DqnAgent.Kind, 1, metadata, ("q", network));
        var e = Assert.Throws<InvalidDataException>(() => AgentFile.Load(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMemoryCoreWithMoreReadHeadsThanTheMemoryAllows_IsRefusedByEveryConfiguration()
    {
        var core = new CoreConfig { Kind = "memory", ReadHeads = 256 };
        Assert.Throws<ArgumentOutOfRangeException>(() => core.Validate());
        var r2d2 = Assert.Throws<ConfigException>(() => TrainerCatalog.Configure("r2d2-tmaze-memory", "read_heads=256"));
        Assert.Contains("read_heads = '256' is out of range: must be an integer in [1, 64]", r2d2.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => TrainerCatalog.Configure("ppo-tmaze-memory", "memory_slots=65537"));
    }

    [Fact]
    public void AnEpisodeTrackerStateWithAMissingList_IsRefused()
    {
        var tracker = new EpisodeTracker(2);
        EpisodeTrackerState state = tracker.GetState() with { HistorySteps = null! };
        Assert.Throws<ArgumentException>(() => tracker.SetState(state));
    }

    [Theory]
    [InlineData("env=TMaze-v0", "env_options={corridor_length: -1}", "option 'corridor_length' must be an integer in [1, 1000000]")]
    [InlineData("env=CartPoleNoVel-v1", "env_options={corridor_length: 5}", "does not accept option 'corridor_length'")]
    public void BadEnvironmentOptions_AreConfigurationErrors(string env, string options, string expected)
    {
        TrainerSetup setup = TrainerCatalog.Configure("r2d2-tmaze", env, options);
        var e = Assert.Throws<ConfigException>(() => setup.Create(new TrainerOptions { Quiet = true }).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AReplayThatCannotHoldOneVectorStep_IsAConfigurationError()
    {
        TrainerSetup setup = TrainerCatalog.Configure("dqn-cartpole", "n_envs=255", "buffer_size=64", "batch_size=32");
        var e = Assert.Throws<ConfigException>(() => setup.Create(new TrainerOptions { Quiet = true }).Dispose());
        Assert.Contains("must be at least NumEnvs (255)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACheckpointMissingAFileItsConfigurationNeeds_IsRefusedAsIncomplete()
    {
        string run = Path.Combine(_dir, "run");
        TrainerSetup setup = TrainerCatalog.Configure("dqn-cartpole", "n_timesteps=200", "learning_starts=50", "eval_episodes=1", "eval_freq=0");
        using (ITrainer trainer = setup.Create(new TrainerOptions { Quiet = true, RunDirectory = run }))
        {
            trainer.Learn();
        }

        string checkpoint = new RlMemory.Training.Checkpoints.CheckpointStore(run).Latest!;
        Directory.Delete(Path.Combine(checkpoint, "replay"), recursive: true);
        string manifest = Path.Combine(checkpoint, RlMemory.Training.Checkpoints.CheckpointStore.ManifestName);
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifest))!;
        ((System.Text.Json.Nodes.JsonObject)root["files"]!).Remove("replay/replay-buffer.rlmb");
        File.WriteAllText(manifest, root.ToJsonString());
        File.WriteAllText(Path.Combine(checkpoint, RlMemory.Training.Checkpoints.CheckpointStore.ManifestHashName),
            Convert.ToHexString(System.IO.Hashing.XxHash3.Hash(File.ReadAllBytes(manifest))).ToLowerInvariant());
        var e = Assert.Throws<RlMemory.Training.Checkpoints.CheckpointException>(() => setup.Create(new TrainerOptions { Quiet = true, ResumeFrom = run }).Dispose());
        Assert.Contains("cannot be resumed", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("algo: dqn\n<<: *undefined\n")]
    [InlineData("algo: dqn\nenv: !<not a uri> CartPole-v1\n")]
    [InlineData("algo: dqn\nlearning_rate: 1e-3\n  : : x\n")]
    public void MalformedYaml_IsAConfigurationError(string yaml)
    {
        var e = Assert.Throws<ConfigException>(() => Presets.Parse(yaml, "bad", "bad.yaml"));
        Assert.Contains("bad.yaml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARolloutBufferFileWithANullStatePart_IsRefused()
    {
        var spec = new RecurrentStateSpec([new("h", [4], TorchSharp.torch.ScalarType.Float32)]);
        string saved = Path.Combine(_dir, "rollout");
        using (var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = 2, NumEnvs = 1, ObservationShape = [2], RecurrentState = spec }))
        {
            buffer.Save(saved);
        }

        string file = Path.Combine(saved, RolloutBuffer.FileName);
        string metadata;
        using (var reader = RlMemory.Memory.Persistence.BufferFileReader.Open(file))
        {
            metadata = reader.MetadataJson;
        }

        var node = System.Text.Json.Nodes.JsonNode.Parse(metadata)!;
        var parts = FindArray(node, "RecurrentState") ?? throw new InvalidOperationException("no RecurrentState in " + metadata);
        parts[0] = null;
        RewriteMetadata(file, node.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(saved));
        Assert.Contains("a recurrent-state part is missing", e.Message, StringComparison.Ordinal);
    }

    private static System.Text.Json.Nodes.JsonArray? FindArray(System.Text.Json.Nodes.JsonNode node, string name) =>
        node switch
        {
            System.Text.Json.Nodes.JsonObject o => o.Select(kv => kv.Key == name && kv.Value is System.Text.Json.Nodes.JsonArray a ? a : kv.Value is null ? null : FindArray(kv.Value, name)).FirstOrDefault(a => a is not null),
            _ => null,
        };

    private static void RewriteMetadata(string path, string metadata)
    {
        var sections = new List<(string, TorchSharp.torch.Tensor)>();
        string kind;
        int version;
        using (var reader = RlMemory.Memory.Persistence.BufferFileReader.Open(path))
        {
            (kind, version) = (reader.Kind, reader.KindVersion);
            foreach (var s in reader.Sections)
            {
                var t = TorchSharp.torch.empty([.. s.Shape], s.DType);
                reader.ReadInto(s.Name, t);
                sections.Add((s.Name, t));
            }
        }

        using (var writer = RlMemory.Memory.Persistence.BufferFileWriter.Create(path, kind, version, metadata))
        {
            foreach (var (name, t) in sections)
            {
                writer.WriteSection(name, t);
                t.Dispose();
            }

            writer.Commit();
        }
    }
}
