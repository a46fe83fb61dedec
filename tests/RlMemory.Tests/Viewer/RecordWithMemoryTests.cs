using ImageMagick;
using RlMemory.App.Plots;
using RlMemory.App.Viewer;
using RlMemory.Environments;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Rendering;

namespace RlMemory.Tests.Viewer;

public sealed class RecordWithMemoryTests
{
    [Fact]
    public void AMemoryAgentsEpisode_IsRecordedWithItsHeatmapsBesideTheFrames()
    {
        using var dir = new TempDir();
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var actor = new FakeMemoryActor(1, slots: 8);
        using var composer = new MemoryFrameComposer(actor, steps: 16);
        string path = dir.File("memory.gif");
        RecordingResult result = EpisodeRecorder.Record(
            env,
            obs =>
            {
                Span<int> action = stackalloc int[1];
                actor.Act(obs, [0], action);
                composer.AfterAct();
                return action[0];
            },
            path,
            episodes: 2,
            seed: 0,
            options: new RecordingOptions { MaxFrames = 12 },
            episodeStarting: _ =>
            {
                actor.Reset(0);
                composer.EpisodeStarting();
            },
            composeFrame: composer.Compose);

        Assert.Equal((600 + MemoryFrameComposer.PanelWidth, 400), (result.Width, result.Height));
        using var gif = new MagickImageCollection(path);
        Assert.Equal(result.FrameCount, gif.Count);
        gif.Coalesce();

        // After k steps, the write heatmap's rightmost column is hot at slot k - 1 (here k = 3 in the fourth frame).
        using var heatmap = new MemoryHeatmap(MemoryFrameComposer.PanelWidth, 400);
        var (x, y, w, h) = heatmap.CellArea(0, 3);
        IPixelCollection<byte> pixels = gif[3].GetPixels();
        Rgb At(int px, int py)
        {
            byte[] c = pixels.GetPixel(600 + px, py).ToArray();
            return new Rgb(c[0], c[1], c[2]);
        }

        int right = x + w - 2;
        Assert.True(At(right, y + (int)(2.5 * h / 8)).MaxChannelDifference(MemoryHeatmap.ColorOf(1)) <= 8);
        Assert.True(At(right, y + (int)(0.5 * h / 8)).MaxChannelDifference(MemoryHeatmap.ColorOf(0)) <= 8);
        Assert.True(At(x + 1, y + 1).MaxChannelDifference(MemoryHeatmap.Empty) <= 8);

        // The first frame of the video is the reset picture: the heatmaps are still empty.
        IPixelCollection<byte> first = gif[0].GetPixels();
        byte[] empty = first.GetPixel(600 + right, y + 1).ToArray();
        Assert.True(new Rgb(empty[0], empty[1], empty[2]).MaxChannelDifference(MemoryHeatmap.Empty) <= 8);
    }
}
