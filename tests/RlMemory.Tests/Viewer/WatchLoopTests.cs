using RlMemory.App.Viewer;
using RlMemory.Environments;

namespace RlMemory.Tests.Viewer;

public sealed class WatchLoopTests
{
    private readonly ManualTime _time = new();

    [Fact]
    public async Task PlaysOnlyWhileWatched_AndDrawsOnlyWhenThePagesTookTheLastPicture()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        using var player = new EpisodePlayer(env, new ConstantActor(1));
        var clock = new PlaybackClock(50, _time);
        var feed = new LiveFeed();
        var loop = new WatchLoop(player, clock, feed, "CartPole");

        // Nobody watches: nothing moves, however much time passes.
        _time.AdvanceSeconds(10);
        Assert.False(loop.Turn());
        Assert.Equal((0, 0L), (player.Episode, feed.FrameNumber));

        using var page = feed.Connect();
        Assert.True(loop.Turn());                                  // the first picture
        Assert.Equal((1, 0, 1L), (player.Episode, player.EpisodeStep, feed.FrameNumber));

        _time.AdvanceSeconds(0.1);
        Assert.False(loop.Turn());                                 // 5 steps due and taken, but the page has not taken picture 1
        Assert.Equal((5, 1L), (player.EpisodeStep, feed.FrameNumber));

        await feed.SnapshotAsync(CancellationToken.None);
        Assert.True(loop.Turn());                                  // now it draws the current state
        Assert.Equal((5, 2L), (player.EpisodeStep, feed.FrameNumber));
        Assert.Equal(5, feed.Status!.Step);

        // A single step while paused is shown at once, taken or not.
        clock.Apply(PlaybackCommand.Step);
        Assert.True(loop.Turn());
        Assert.Equal((6, 3L), (player.EpisodeStep, feed.FrameNumber));
        Assert.True(feed.Status.Paused);
        clock.Apply(PlaybackCommand.Faster);
        Assert.False(loop.Turn());
        Assert.Equal(2, feed.Status.Speed);                        // a status change alone is published too
        Assert.Equal(3L, feed.FrameNumber);
    }
}
