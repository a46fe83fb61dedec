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
        Assert.Contains($"is corrupt: {CheckpointStore.ManifestName} does not match its recorded hash", manifest.Message, StringComparison.Ordinal);
        Assert.Contains($"An older checkpoint is available: {older}", manifest.Message, StringComparison.Ordinal);

        // With a matching hash (rewritten by hand), a manifest that is not JSON is still refused in words.
        RewriteHash(latest);
        var json = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(latest, "dqn"));
        Assert.Contains("cannot be read", json.Message, StringComparison.Ordinal);

        var algo = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(older, "ppo"));
        Assert.Contains("is a 'dqn' checkpoint, not 'ppo'", algo.Message, StringComparison.Ordinal);

        var none = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(Path.Combine(_run, "nothing"), "dqn"));
        Assert.Contains("No checkpoint at", none.Message, StringComparison.Ordinal);
    }

    /// <summary>Recomputes a checkpoint's manifest hash, as someone editing the manifest by hand would.</summary>
    private static void RewriteHash(string checkpoint)
    {
        var hash = new System.IO.Hashing.XxHash3();
        hash.Append(File.ReadAllBytes(Path.Combine(checkpoint, CheckpointStore.ManifestName)));
        File.WriteAllText(Path.Combine(checkpoint, CheckpointStore.ManifestHashName), Convert.ToHexString(hash.GetCurrentHash()).ToLowerInvariant() + "\n");
    }

    [Theory]
    [InlineData(6699)]
    [InlineData(120)]
    [InlineData(40)]
    public void AnyChangedByteOfTheManifest_IsRefused(int offset)
    {
        var store = new CheckpointStore(_run);
        Save(store, 100);
        string latest = Save(store, 200);
        string manifest = Path.Combine(latest, CheckpointStore.ManifestName);
        byte[] bytes = File.ReadAllBytes(manifest);
        int at = offset % bytes.Length;
        bytes[at] = (byte)(bytes[at] == (byte)'7' ? '8' : '7');
        File.WriteAllBytes(manifest, bytes);
        var e = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(_run, "dqn"));
        Assert.Contains("does not match its recorded hash", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingManifestOrHash_IsRefusedAsInvalidInput_NamingTheOlderCheckpoint()
    {
        var store = new CheckpointStore(_run);
        string older = Save(store, 100);
        string latest = Save(store, 200);
        File.Delete(Path.Combine(latest, CheckpointStore.ManifestHashName));
        var hash = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(_run, "dqn"));
        Assert.Contains($"is incomplete: {CheckpointStore.ManifestHashName} is missing", hash.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(latest, CheckpointStore.ManifestName));
        var manifest = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(_run, "dqn"));
        Assert.Contains($"is incomplete: {CheckpointStore.ManifestName} is missing", manifest.Message, StringComparison.Ordinal);
        Assert.Contains($"An older checkpoint is available: {older}", manifest.Message, StringComparison.Ordinal);
        Assert.Null(manifest.InnerException); // not an I/O failure: the CLI answers exit 2, not 4
    }

    public static TheoryData<string, string> BrokenPointers => new()
    {
        { "(deleted)", "is missing" },
        { "", "is empty" },
        { "../../../../../etc", "which is not a checkpoint folder of this run" },
        { "/tmp", "which is not a checkpoint folder of this run" },
        { "step-000000000999", "names step-000000000999, which does not exist" },
        { new string('x', 300), "is longer than 256 bytes" },
    };

    [Theory]
    [MemberData(nameof(BrokenPointers))]
    public void ABrokenLatestPointer_FallsBackToTheNewestCheckpointThatVerifies_AndSaysSo(string content, string problem)
    {
        var store = new CheckpointStore(_run);
        Save(store, 100);
        string newest = Save(store, 200);
        string pointer = Path.Combine(store.Directory, "latest");
        if (content == "(deleted)")
        {
            File.Delete(pointer);
        }
        else
        {
            File.WriteAllText(pointer, content);
        }

        Checkpoint c = CheckpointStore.Open(_run, "dqn");
        Assert.Equal(newest, c.Folder);
        string note = Assert.Single(c.Notes);
        Assert.Contains(problem, note, StringComparison.Ordinal);
        Assert.Contains($"resuming from the newest checkpoint that verifies, {newest}", note, StringComparison.Ordinal);
        Assert.True(store.HasCheckpoint);

        // When the newest is damaged too, the fallback takes the next one.
        File.AppendAllText(Path.Combine(newest, "weights.bin"), "x");
        Assert.Equal(100, CheckpointStore.Open(_run, "dqn").Step);
    }

    [Fact]
    public void LeftoversOfInterruptedSaves_AreRemovedByTheNextSave()
    {
        var store = new CheckpointStore(_run);
        Save(store, 100);
        string stale = Path.Combine(store.Directory, $"step-000000000200.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "weights.bin"), "half");
        string pointer = Path.Combine(store.Directory, $"latest.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(pointer, "step-000000000200");
        Save(store, 300);
        Assert.False(Directory.Exists(stale));
        Assert.False(File.Exists(pointer));
        Assert.Equal(["step-000000000100", "step-000000000300"], store.List().Select(Path.GetFileName));
    }

    [Fact]
    public void ACheckpointWrittenBecauseTrainingDiverged_DeletesNoOlderCheckpoint()
    {
        var store = new CheckpointStore(_run, keep: 2);
        string good = Save(store, 100);
        Save(store, 200);
        for (int k = 0; k < 3; k++)
        {
            store.Save(300 + k, "dqn", new JsonObject(), folder => File.WriteAllText(Path.Combine(folder, "w.bin"), "w"), diverged: true);
        }

        Assert.Contains(good, store.List());
        Assert.Equal(5, store.List().Count);
    }

    [Theory]
    [InlineData("rlmemory-checkpoint/1")]
    [InlineData("rlmemory-checkpoint/2")]
    public void ACheckpointOfAnEarlierFormat_IsRefused_SayingTheFormatChanged(string format)
    {
        var store = new CheckpointStore(_run);
        string folder = Save(store, 100);
        string manifest = Path.Combine(folder, CheckpointStore.ManifestName);
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace(CheckpointStore.Format, format, StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, CheckpointStore.ManifestHashName), CheckpointStore.HashFile(manifest) + "\n");
        var e = Assert.Throws<CheckpointException>(() => CheckpointStore.Open(_run, "dqn"));
        Assert.Contains($"has format '{format}', written by an RlMemory version before the algorithms shared one training loop", e.Message, StringComparison.Ordinal);
        Assert.Contains("this version reads 'rlmemory-checkpoint/3' only. Start a new run", e.Message, StringComparison.Ordinal);
    }
}
