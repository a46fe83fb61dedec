using System.Diagnostics;
using RlMemory.App.Viewer;
using RlMemory.Environments.Rendering;
using SkiaSharp;

namespace RlMemory.Tests.Viewer;

public sealed class LiveFeedTests
{
    private static ViewerStatus Status(int step, bool paused = false) => new("t", 1, step, step, false, null, null, paused, 1, false);

    [Fact]
    public async Task Snapshot_EncodesTheLatestFrameAsPng_WithItsPixels()
    {
        var feed = new LiveFeed();
        Assert.Null(await feed.SnapshotAsync(CancellationToken.None));
        var frame = new RgbFrame(7, 5);
        frame[3, 2] = new Rgb(200, 10, 30);
        feed.Publish(frame, null, Status(1));
        frame[3, 2] = Rgb.Black;   // the feed copied the pixels

        FeedSnapshot snapshot = (await feed.SnapshotAsync(CancellationToken.None))!;
        Assert.Equal(1, snapshot.FrameNumber);
        Assert.Null(snapshot.MemoryPng);
        using SKBitmap decoded = SKBitmap.Decode(snapshot.Png);
        Assert.Equal((7, 5), (decoded.Width, decoded.Height));
        Assert.Equal(new SKColor(200, 10, 30), decoded.GetPixel(3, 2));
        Assert.Same(snapshot, await feed.SnapshotAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AStatusChange_KeepsTheFrame_AndItsEncoding()
    {
        var feed = new LiveFeed();
        feed.Publish(new RgbFrame(4, 4), new RgbFrame(2, 2), Status(1));
        FeedSnapshot first = (await feed.SnapshotAsync(CancellationToken.None))!;
        long version = feed.Version;
        feed.PublishStatus(Status(1));
        Assert.Equal(version, feed.Version);   // unchanged status: nothing to tell
        feed.PublishStatus(Status(1, paused: true));
        Assert.Equal(version + 1, feed.Version);

        FeedSnapshot second = (await feed.SnapshotAsync(CancellationToken.None))!;
        Assert.Equal(1, second.FrameNumber);
        Assert.True(second.Status.Paused);
        Assert.Same(first.Png, second.Png);
        Assert.NotNull(second.MemoryPng);
    }

    [Fact]
    public async Task WaitForChange_CompletesOnPublish_AndAtOnceWhenAlreadyChanged()
    {
        var feed = new LiveFeed();
        Task wait = feed.WaitForChangeAsync(feed.Version, CancellationToken.None);
        Assert.False(wait.IsCompleted);
        feed.Publish(new RgbFrame(2, 2), null, Status(1));
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(feed.WaitForChangeAsync(0, CancellationToken.None).IsCompleted);

        using var cancel = new CancellationTokenSource();
        Task cancelled = feed.WaitForChangeAsync(feed.Version, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
    }

    [Fact]
    public void Publishing_NeverWaits_ForSlowOrMissingReaders()
    {
        var feed = new LiveFeed();
        var frame = new RgbFrame(600, 400);
        using var connection = feed.Connect();
        Assert.Equal(1, feed.Viewers);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 500; i++)
        {
            feed.Publish(frame, null, Status(i));
        }

        // 500 copies of a 720 KB frame; nobody reads them. Generous bound for a loaded 2-core machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"500 publishes took {watch.Elapsed}");
        Assert.Equal(500, feed.FrameNumber);
        connection.Dispose();
        connection.Dispose();
        Assert.Equal(0, feed.Viewers);
    }
}
