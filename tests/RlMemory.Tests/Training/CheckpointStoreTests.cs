using System.Text.Json.Nodes;
using RlMemory.Training.Checkpoints;

namespace RlMemory.Tests.Training;

public sealed class CheckpointStoreTests : IDisposable
{
    private readonly string _run = Path.Combine(Path.GetTempPath(), $"rlmemory-ckpt-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_run))
        {
            Directory.Delete(_run, recursive: true);
        }
    }

    private static string Save(CheckpointStore store, long step, string payload = "weights") =>
        store.Save(step, "dqn", new JsonObject { ["answer"] = 42 }, folder =>
        {
            File.WriteAllText(Path.Combine(folder, "weights.bin"), payload + step);
            Directory.CreateDirectory(Path.Combine(folder, "replay"));
            File.WriteAllText(Path.Combine(folder, "replay", "buffer.bin"), "buffer" + step);
        });

    [Fact]
    public void Save_CommitsTheFolder_MovesLatest_AndKeepsTheLastTwo()
    {
        var store = new CheckpointStore(_run, keep: 2);
        Save(store, 100);
        Save(store, 200);
        string third = Save(store, 300);
        Assert.Equal(third, store.Latest);
        Assert.Equal(["step-000000000200", "step-000000000300"], store.List().Select(Path.GetFileName));
        Checkpoint c = CheckpointStore.Open(_run, "dqn");
        Assert.Equal((300L, 42), (c.Step, (int)c.State["answer"]!));
        Assert.Empty(Directory.GetDirectories(store.Directory, "*.tmp-*"));
    }

    [Fact]
    public void AFailedWrite_KeepsThePreviousCheckpoint_AndLeavesNoTemporaryFolder()
    {
        var store = new CheckpointStore(_run);
        string good = Save(store, 100);
        var e = Assert.Throws<CheckpointException>(() => store.Save(200, "dqn", new JsonObject(), folder =>
        {
            File.WriteAllText(Path.Combine(folder, "weights.bin"), "partial");
            throw new IOException("No space left on device");
        }));
        Assert.Contains("Could not write the checkpoint for step 200", e.Message, StringComparison.Ordinal);
        Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
        Assert.Contains($"the previous checkpoint {good} is kept", e.Message, StringComparison.Ordinal);
        Assert.Equal(good, store.Latest);
        Assert.Equal(100, CheckpointStore.Open(_run, "dqn").Step);
        Assert.Empty(Directory.GetDirectories(store.Directory, "*.tmp-*"));
    }

    [Fact]
    public void DamagedCheckpoints_AreRefused_NamingTheFileAndTheOlderCheckpoint()
    {
        var store = new CheckpointStore(_run);
        string older = Save(store, 100);
        string latest = Save(store, 200);

        File.AppendAllText(Path.Combine(latest, "replay", "buffer.bin"), "x");
        var changed = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(_run, "dqn"));
        Assert.Contains("is corrupt: replay/buffer.bin does not match its recorded hash", changed.Message, StringComparison.Ordinal);
        Assert.Contains($"An older checkpoint is available: {older}", changed.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(latest, "replay", "buffer.bin"));
        var missing = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(latest, "dqn"));
        Assert.Contains("is incomplete: replay/buffer.bin is missing", missing.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(latest, CheckpointStore.ManifestName), "{ not json");
        var manifest = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(latest, "dqn"));
        Assert.Contains("cannot be read", manifest.Message, StringComparison.Ordinal);

        var algo = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(older, "ppo"));
        Assert.Contains("is a 'dqn' checkpoint, not 'ppo'", algo.Message, StringComparison.Ordinal);

        var none = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(Path.Combine(_run, "nothing"), "dqn"));
        Assert.Contains("No checkpoint at", none.Message, StringComparison.Ordinal);
    }
}
