using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Dqn;
using RlMemory.Training.Logging;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <summary>
/// Issue 12: a checkpoint written because training diverged held NaN weights, and resuming from it diverged again and
/// rotated the last good checkpoint away. A non-finite state is never saved, the failure names the last good checkpoint,
/// and a network holding NaN is refused when loaded.
/// </summary>
public sealed class DivergenceCheckpointTests : IDisposable
{
    private readonly string _run = Path.Combine(Path.GetTempPath(), $"rlmemory-diverge-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_run))
        {
            Directory.Delete(_run, recursive: true);
        }
    }

    private static QNetwork Network() => new(new QNetworkConfig { ObservationSize = 3, ActionCount = 2, HiddenSizes = [4] });

    [Fact]
    public void ANonFiniteState_IsNotSaved_AndTheFailureNamesTheLastGoodCheckpoint()
    {
        var store = new CheckpointStore(_run);
        string good = store.Save(100, "dqn", new JsonObject(), folder => File.WriteAllText(Path.Combine(folder, "w.bin"), "w"));
        using QNetwork network = Network();
        using (no_grad())
        {
            network.parameters().Last().fill_(float.NaN);
        }

        bool saved = false;
        var failure = new TrainingDivergedException(200, 7, "loss", double.NaN, "the loss of a batch");
        TrainingDivergedException result = DivergenceCheckpoint.Write(failure, store, new ListProgress(), () =>
        {
            saved = true;
            return "never";
        }, [("online", network)]);

        Assert.False(saved);
        Assert.Null(result.CheckpointPath);
        Assert.Contains("is not finite (online/", result.Message, StringComparison.Ordinal);
        Assert.Contains($"the last good checkpoint is {good}", result.Message, StringComparison.Ordinal);
        Assert.Equal([good], store.List());
    }

    [Fact]
    public void AFiniteState_IsSaved_AndNamedInTheFailure()
    {
        var store = new CheckpointStore(_run);
        using QNetwork network = Network();
        var failure = new TrainingDivergedException(200, 7, "loss", double.NaN, "the loss of a batch");
        TrainingDivergedException result = DivergenceCheckpoint.Write(failure, store, new ListProgress(),
            () => store.Save(200, "dqn", new JsonObject(), folder => File.WriteAllText(Path.Combine(folder, "w.bin"), "w"), diverged: true), [("online", network)]);
        Assert.EndsWith("step-000000000200", result.CheckpointPath, StringComparison.Ordinal);
        Assert.Contains("The last good state is saved in", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadingANetworkThatHoldsNaN_IsRefusedNamingTheTensor()
    {
        string path = Path.Combine(_run, "nan.rlmb");
        Directory.CreateDirectory(_run);
        using (QNetwork bad = Network())
        {
            using (no_grad())
            {
                bad.parameters().First().fill_(float.PositiveInfinity);
            }

            ModuleFile.Save(path, "Test", 1, "{}", ("online", bad));
        }

        using QNetwork target = Network();
        var e = Assert.Throws<InvalidDataException>(() => ModuleFile.Load(path, "Test", ("online", target)));
        Assert.Contains("tensor 'online/", e.Message, StringComparison.Ordinal);
        Assert.Contains("holds NaN or infinity", e.Message, StringComparison.Ordinal);
    }

    private sealed class ListProgress : IProgressSink
    {
        public List<string> Lines { get; } = [];

        public void Update(TrainingProgress progress)
        {
        }

        public void Message(string line) => Lines.Add(line);
    }
}
