using RlMemory.App.Viewer;

namespace RlMemory.Tests.Viewer;

public sealed class PlaybackClockTests
{
    private readonly ManualTime _time = new();

    [Fact]
    public void Playing_GivesTheStepsWhoseTimeHasCome_AtTheEnvironmentsSpeed()
    {
        var clock = new PlaybackClock(50, _time);
        Assert.Equal(0, clock.TakeDueSteps());
        _time.AdvanceSeconds(0.019);
        Assert.Equal(0, clock.TakeDueSteps());
        _time.AdvanceSeconds(0.002);
        Assert.Equal(1, clock.TakeDueSteps());
        Assert.Equal(0, clock.TakeDueSteps());
        _time.AdvanceSeconds(0.5);
        Assert.Equal(25, clock.TakeDueSteps());
    }

    [Fact]
    public void Pause_StopsTheSteps_AndResumeStartsCountingFromThen()
    {
        var clock = new PlaybackClock(10, _time);
        clock.Apply(PlaybackCommand.Pause);
        _time.AdvanceSeconds(5);
        Assert.True(clock.Paused);
        Assert.Equal(0, clock.TakeDueSteps());
        Assert.Equal(Timeout.InfiniteTimeSpan, clock.UntilNextStep());

        clock.Apply(PlaybackCommand.Resume);
        Assert.False(clock.Paused);
        Assert.Equal(0, clock.TakeDueSteps());
        Assert.Equal(TimeSpan.FromSeconds(0.1), clock.UntilNextStep());
        _time.AdvanceSeconds(0.1);
        Assert.Equal(1, clock.TakeDueSteps());
    }

    [Fact]
    public void Step_PausesAndGivesExactlyOneStep_PerRequest()
    {
        var clock = new PlaybackClock(10, _time);
        _time.AdvanceSeconds(0.35);
        clock.Apply(PlaybackCommand.Step);
        Assert.True(clock.Paused);
        Assert.Equal(TimeSpan.Zero, clock.UntilNextStep());
        Assert.Equal(1, clock.TakeDueSteps());
        Assert.Equal(0, clock.TakeDueSteps());

        clock.Apply(PlaybackCommand.Step);
        clock.Apply(PlaybackCommand.Step);
        _time.AdvanceSeconds(10);
        Assert.Equal(2, clock.TakeDueSteps());
        Assert.Equal(0, clock.TakeDueSteps());
    }

    [Fact]
    public void StepsAskedForWhilePaused_AreDroppedOnResume()
    {
        var clock = new PlaybackClock(10, _time, paused: true);
        clock.Apply(PlaybackCommand.Step);
        clock.Apply(PlaybackCommand.Resume);
        Assert.Equal(0, clock.TakeDueSteps());
    }

    [Fact]
    public void TogglePause_Alternates()
    {
        var clock = new PlaybackClock(10, _time);
        clock.Apply(PlaybackCommand.TogglePause);
        Assert.True(clock.Paused);
        clock.Apply(PlaybackCommand.TogglePause);
        Assert.False(clock.Paused);
    }

    [Fact]
    public void FasterAndSlower_DoubleAndHalveTheSpeed_WithinTheLimits()
    {
        var clock = new PlaybackClock(10, _time);
        clock.Apply(PlaybackCommand.Faster);
        Assert.Equal(2, clock.Speed);
        _time.AdvanceSeconds(1);
        Assert.Equal(20, clock.TakeDueSteps());

        for (int i = 0; i < 20; i++)
        {
            clock.Apply(PlaybackCommand.Faster);
        }

        Assert.Equal(PlaybackClock.MaxSpeed, clock.Speed);
        for (int i = 0; i < 40; i++)
        {
            clock.Apply(PlaybackCommand.Slower);
        }

        Assert.Equal(PlaybackClock.MinSpeed, clock.Speed);
        _time.AdvanceSeconds(0.79);
        Assert.Equal(0, clock.TakeDueSteps());
        _time.AdvanceSeconds(0.02);
        Assert.Equal(1, clock.TakeDueSteps());
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(3.0, 4.0)]
    [InlineData(0.3, 0.25)]
    [InlineData(1000.0, 64.0)]
    [InlineData(0.001, 0.125)]
    public void SetSpeed_RoundsToAPowerOfTwoWithinTheLimits(double asked, double expected)
    {
        var clock = new PlaybackClock(10, _time);
        clock.SetSpeed(asked);
        Assert.Equal(expected, clock.Speed);
    }

    [Fact]
    public void FallingFarBehind_GivesOneFullTurn_AndCountsTheRestAsSkipped()
    {
        var clock = new PlaybackClock(50, _time);
        _time.AdvanceSeconds(60);
        Assert.Equal(PlaybackClock.MaxStepsPerTurn, clock.TakeDueSteps());
        Assert.Equal(0, clock.TakeDueSteps());
        _time.AdvanceSeconds(0.02);
        Assert.Equal(1, clock.TakeDueSteps());
    }

    [Fact]
    public void Restart_ForgetsTheTimePassed()
    {
        var clock = new PlaybackClock(50, _time);
        _time.AdvanceSeconds(3);
        clock.Restart();
        Assert.Equal(0, clock.TakeDueSteps());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(1001.0)]
    public void BadStepsPerSecond_AreRefused(double stepsPerSecond) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlaybackClock(stepsPerSecond, _time));

    [Theory]
    [InlineData(0.0)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void BadSpeeds_AreRefused(double speed) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlaybackClock(10, _time).SetSpeed(speed));

    [Fact]
    public async Task CommandsFromOtherThreads_AreSafe()
    {
        var clock = new PlaybackClock(1000, TimeProvider.System);
        int taken = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var player = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                taken += clock.TakeDueSteps();
            }
        });
        Parallel.For(0, 2000, i => clock.Apply((PlaybackCommand)(i % 6)));
        await player;
        Assert.True(taken >= 0);
        Assert.InRange(clock.Speed, PlaybackClock.MinSpeed, PlaybackClock.MaxSpeed);
    }
}
