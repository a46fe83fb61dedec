using RlMemory.App.Viewer;
using RlMemory.Environments;
using RlMemory.Environments.Rendering;

namespace RlMemory.Tests.Viewer;

public sealed class EpisodePlayerTests
{
    [Fact]
    public void Advance_StartsAnEpisode_ThenSteps_AndShowsTheLastPictureBeforeTheNextEpisode()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var actor = new ConstantActor(1);
        using var player = new EpisodePlayer(env, actor, seed: 5);
        Assert.Equal(50, player.Fps);
        Assert.Equal(0, player.Episode);

        player.Advance();
        Assert.Equal((1, 0, 0.0), (player.Episode, player.EpisodeStep, player.EpisodeReturn));
        player.Render();
        RgbFrame first = new(player.Frame.Width, player.Frame.Height, (byte[])player.Frame.Pixels.Clone());

        Assert.Null(player.Status("t", new PlaybackClock(10)).Action);
        player.Advance(3);
        Assert.Equal((1, 3, 3.0), (player.Episode, player.EpisodeStep, player.EpisodeReturn));
        Assert.Equal("1", player.Status("t", new PlaybackClock(10)).Action);
        player.Render();
        Assert.False(first.SamePixels(player.Frame), "the cart moved");

        // Always pushing right topples the pole within a few dozen steps.
        int guard = 0;
        while (!player.EpisodeDone && guard++ < 600)
        {
            player.Advance();
        }

        Assert.True(player.EpisodeDone);
        int length = player.EpisodeStep;
        player.Advance();
        Assert.Equal(2, player.Episode);
        Assert.Equal(0, player.EpisodeStep);
        Assert.Equal((length, length), ((int)player.LastEpisode!.Value.Return, player.LastEpisode.Value.Length));
        Assert.Equal(2, actor.Resets);
        Assert.Null(player.MemoryPanel);
    }

    [Fact]
    public void EpisodeK_IsResetWithSeedPlusK_LikeTheRecorder()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        using var player = new EpisodePlayer(env, new ConstantActor(0), seed: 7);
        player.Advance();
        player.Render();
        using var reference = EnvRegistry.Make<int>("CartPole-v1");
        reference.Reset(seed: 7);
        Assert.True(reference.RenderFrame().SamePixels(player.Frame));
    }

    [Fact]
    public void AnActorWithMemory_FillsTheTraceWindow_AndDrawsThePanel()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var actor = new FakeMemoryActor(1, slots: 8);
        using var player = new EpisodePlayer(env, actor, memoryWindow: 16);
        player.Advance(6);
        Assert.NotNull(player.MemoryWindow);
        Assert.Equal(5, player.MemoryWindow!.Count);
        Assert.Equal(1, player.MemoryWindow.Value(age: 0, trace: 0, slot: 4));
        player.Render();
        Assert.NotNull(player.MemoryPanel);
        Assert.Equal(player.Frame.Height, player.MemoryPanel!.Height);
        Assert.True(player.Status("t", new PlaybackClock(10)).HasMemory);

        while (!player.EpisodeDone)
        {
            player.Advance();
        }

        player.Advance();
        Assert.Equal(0, player.MemoryWindow.Count);
    }

    [Fact]
    public void AnEnvironmentThatCannotRender_IsRefusedInOneLine()
    {
        BlindEnv.Register();
        using var env = EnvRegistry.Make<int>(BlindEnv.Id);
        var e = Assert.Throws<InvalidOperationException>(() => new EpisodePlayer(env, new ConstantActor()));
        Assert.StartsWith($"{BlindEnv.Id} cannot render (its innermost environment, a BlindEnv, does not implement IRenderable)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ReplaceActor_IsAllowedOnlyBetweenEpisodes_AndWithTheSameMemoryShape()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        using var player = new EpisodePlayer(env, new ConstantActor(1));
        var replacement = new ConstantActor(0);
        player.ReplaceActor(replacement);
        player.Advance(2);
        Assert.Throws<InvalidOperationException>(() => player.ReplaceActor(new ConstantActor()));
        while (!player.EpisodeDone)
        {
            player.Advance();
        }

        Assert.Throws<InvalidOperationException>(() => player.ReplaceActor(new FakeMemoryActor(1)));
        player.ReplaceActor(new ConstantActor(1));
        player.Advance();
        Assert.Equal(2, player.Episode);
        Assert.Equal(1, replacement.Resets);   // it played the first episode only
    }
}
