using RlMemory.Agents;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>
/// Drives an <see cref="EpisodePlayer"/> for a <see cref="LiveFeed"/>: while at least one page watches, it advances the
/// player as the <see cref="PlaybackClock"/> says and publishes each new picture; while nobody watches, it does nothing
/// (the episode waits where it is). It draws a new picture only once the pages have taken the previous one, so it draws
/// no more often than they show (about 30 per second). <see cref="Turn"/> is cheap when there is nothing to do, so a
/// training loop can call it after every step.
/// </summary>
public sealed class WatchLoop
{
    private readonly EpisodePlayer _player;
    private readonly PlaybackClock _clock;
    private readonly LiveFeed _feed;
    private bool _watched;
    private bool _published;
    private bool _behind;
    private (bool Paused, double Speed) _shown;

    /// <summary>Creates a loop showing <paramref name="player"/> under <paramref name="title"/>.</summary>
    public WatchLoop(EpisodePlayer player, PlaybackClock clock, LiveFeed feed, string title)
    {
        _player = player ?? throw new ArgumentNullException(nameof(player));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _feed = feed ?? throw new ArgumentNullException(nameof(feed));
        Title = title ?? throw new ArgumentNullException(nameof(title));
    }

    /// <summary>What the page's heading says.</summary>
    public string Title { get; set; }

    /// <summary>The training step shown on the page (null when not training).</summary>
    public long? TrainingStep { get; set; }

    /// <summary>
    /// Asked whenever an episode has ended, before the next starts: an agent to play the next episode with (a newer
    /// agent of the same action type; the caller keeps it), or null to keep the current one.
    /// </summary>
    public Func<IAgent?>? NextAgent { get; init; }

    /// <summary>Publishes the current picture (drawing the first one if needed), whether or not anybody watches.</summary>
    public void PublishNow()
    {
        _player.Render();
        Publish();
    }

    /// <summary>
    /// One turn: if pages are watching, takes the steps that are due, draws once and publishes (or publishes the new
    /// pause/speed state). Returns whether a new picture was published.
    /// </summary>
    public bool Turn()
    {
        if (_feed.Viewers == 0)
        {
            _watched = false;
            return false;
        }

        if (!_watched)
        {
            // Time nobody watched does not count: continue from where the episode was.
            _watched = true;
            _clock.Restart();
        }

        int due = _clock.TakeDueSteps();
        for (int i = 0; i < due; i++)
        {
            if (_player.EpisodeDone && NextAgent?.Invoke() is { } agent)
            {
                _player.ReplaceAgent(agent);
            }

            _player.Advance();
            _behind = true;
        }

        if (!_published)
        {
            PublishNow();
            return true;
        }

        // Draw only when the pages have taken the last picture (or a single step was asked for): drawing more often
        // than they can show would only cost the player's thread time.
        if (_behind && (_feed.FrameTaken || _clock.Paused))
        {
            PublishNow();
            return true;
        }

        if (_shown != (_clock.Paused, _clock.Speed))
        {
            _shown = (_clock.Paused, _clock.Speed);
            _feed.PublishStatus(_player.Status(Title, _clock, TrainingStep));
        }

        return false;
    }

    /// <summary>Turns until <paramref name="cancellationToken"/> fires, sleeping until the next step is due (at most 50 ms at a time).</summary>
    public void Run(CancellationToken cancellationToken)
    {
        PublishNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            Turn();
            TimeSpan wait = _feed.Viewers == 0 ? TimeSpan.FromMilliseconds(100) : _clock.UntilNextStep();
            wait = wait == Timeout.InfiniteTimeSpan || wait > TimeSpan.FromMilliseconds(50)
                ? TimeSpan.FromMilliseconds(50)
                : wait < TimeSpan.FromMilliseconds(15) ? TimeSpan.FromMilliseconds(15) : wait;
            cancellationToken.WaitHandle.WaitOne(wait);
        }
    }

    private void Publish()
    {
        _behind = false;
        _shown = (_clock.Paused, _clock.Speed);
        _feed.Publish(_player.Frame, _player.MemoryPanel, _player.Status(Title, _clock, TrainingStep));
        _published = true;
    }
}
