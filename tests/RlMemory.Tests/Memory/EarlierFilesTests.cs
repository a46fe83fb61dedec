using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// Files written by UniformReplayBuffer and PrioritizedReplayBuffer, the two classes <see cref="ReplayBuffer"/>
/// replaced (Data/: a DQN run's replay, capacity 64, CartPole observations, saved with format version 1), load as
/// they are, and a buffer saved again loads to the same contents.
/// </summary>
public sealed class EarlierFilesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-earlier-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("uniform", false)]
    [InlineData("prioritized", true)]
    public void AFileOfTheReplacedClasses_Loads_AndSavesAgainToTheSameContents(string folder, bool prioritized)
    {
        string data = Path.Combine(AppContext.BaseDirectory, "Memory", "Data", folder);
        using ReplayBuffer loaded = ReplayBuffer.Load(data);
        Assert.Equal(prioritized, loaded.Prioritized);
        Assert.Equal(64, loaded.Capacity);
        Assert.Equal([4], loaded.Options.ObservationShape);
        Assert.True(loaded.Count > 0);
        List<StoredTransition> stored = loaded.Storage.Enumerate();
        Assert.Equal(loaded.Count, stored.Count);
        Assert.All(stored, t => Assert.True(t.Observation.All(float.IsFinite) && t.Discount is > 0 and <= 1));

        loaded.Save(_dir);
        using ReplayBuffer again = ReplayBuffer.Load(_dir);
        Assert.Equal(stored.Select(t => t.Key), again.Storage.Enumerate().Select(t => t.Key));
        if (prioritized)
        {
            Assert.Equal(loaded.PrioritySampler!.ExportState().Priorities, again.PrioritySampler!.ExportState().Priorities);
        }

        // The random state came along too: both draw the same batch.
        using var scope = NewDisposeScope();
        TransitionBatch a = loaded.Sample(8, 0.5);
        TransitionBatch b = again.Sample(8, 0.5);
        Assert.Equal(a.Indices.data<long>().ToArray(), b.Indices.data<long>().ToArray());
    }
}
