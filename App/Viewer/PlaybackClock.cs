using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>What a viewer's user can ask of the playback (keys in the desktop window, buttons in the browser).</summary>
public enum PlaybackCommand
{
    /// <summary>Pause when playing, play when paused.</summary>
    TogglePause,

    /// <summary>Stop advancing.</summary>
    Pause,

    /// <summary>Advance in real time again.</summary>
    Resume,

    /// <summary>Pause (if playing) and advance exactly one environment step.</summary>
    Step,

    /// <summary>Double the speed (up to <see cref="PlaybackClock.MaxSpeed"/>).</summary>
    Faster,

    /// <summary>Halve the speed (down to <see cref="PlaybackClock.MinSpeed"/>).</summary>
    Slower,
}

/// <summary>
/// The frame loop's state machine: playing or paused, the speed, and how many environment steps are due now. Playing at
/// speed s advances <c>s × StepsPerSecond</c> steps per second of the clock's time; paused, it advances only the single
/// steps asked for with <see cref="PlaybackCommand.Step"/>. The viewer loops ask <see cref="TakeDueSteps"/> each turn and
/// advance that many steps (drawing once). Thread-safe: commands may come from any thread.
/// </summary>
/// <remarks>
/// Time comes from a <see cref="TimeProvider"/>, so tests drive the clock by hand. A loop that falls behind (a slow
/// frame, a long pause of the process) is not made to catch up by more than <see cref="MaxStepsPerTurn"/> steps: the
/// clock then restarts its count from now, so playback slows down instead of jumping.
/// </remarks>
public sealed class PlaybackClock
{
    /// <summary>The slowest speed.</summary>
    public const double MinSpeed = 0.125;

    /// <summary>The fastest speed.</summary>
    public const double MaxSpeed = 64;

    /// <summary>The most steps one turn of the loop is given.</summary>
    public const int MaxStepsPerTurn = 256;

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _anchor;
    private long _stepsSinceAnchor;
    private int _pendingSingleSteps;
    private bool _paused;
    private double _speed = 1;

    /// <summary>Creates a clock advancing <paramref name="stepsPerSecond"/> steps per second at speed 1, playing.</summary>
    /// <param name="stepsPerSecond">The environment's natural speed (its <c>RenderFps</c>), in (0, 1000].</param>
    /// <param name="time">The time source (the system's by default).</param>
    /// <param name="paused">Start paused.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepsPerSecond"/> is not in (0, 1000].</exception>
    public PlaybackClock(double stepsPerSecond, TimeProvider? time = null, bool paused = false)
    {
        if (!(stepsPerSecond > 0 && stepsPerSecond <= 1000))
        {
            throw new ArgumentOutOfRangeException(nameof(stepsPerSecond), stepsPerSecond, "PlaybackClock: steps per second must be in (0, 1000].");
        }

        StepsPerSecond = stepsPerSecond;
        _time = time ?? TimeProvider.System;
        _paused = paused;
        _anchor = _time.GetTimestamp();
    }

    /// <summary>Steps per second at speed 1.</summary>
    public double StepsPerSecond { get; }

    /// <summary>Whether playback is paused.</summary>
    public bool Paused
    {
        get
        {
            lock (_gate)
            {
                return _paused;
            }
        }
    }

    /// <summary>The speed factor: 1 is the environment's natural speed; a power of two between <see cref="MinSpeed"/> and <see cref="MaxSpeed"/>.</summary>
    public double Speed
    {
        get
        {
            lock (_gate)
            {
                return _speed;
            }
        }
    }

    /// <summary>Sets the speed (rounded to the nearest power of two in [<see cref="MinSpeed"/>, <see cref="MaxSpeed"/>]).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="speed"/> is not a positive finite number.</exception>
    public void SetSpeed(double speed)
    {
        if (!(speed > 0 && double.IsFinite(speed)))
        {
            throw new ArgumentOutOfRangeException(nameof(speed), speed, $"The playback speed must be a positive number (it is rounded to a power of two in [{MinSpeed}, {MaxSpeed}]).");
        }

        double rounded = Math.Clamp(Math.Pow(2, Math.Round(Math.Log2(speed))), MinSpeed, MaxSpeed);
        lock (_gate)
        {
            _speed = rounded;
            Reanchor();
        }
    }

    /// <summary>Applies a user's command.</summary>
    public void Apply(PlaybackCommand command)
    {
        lock (_gate)
        {
            switch (command)
            {
                case PlaybackCommand.TogglePause:
                    SetPaused(!_paused);
                    break;
                case PlaybackCommand.Pause:
                    SetPaused(true);
                    break;
                case PlaybackCommand.Resume:
                    SetPaused(false);
                    break;
                case PlaybackCommand.Step:
                    SetPaused(true);
                    _pendingSingleSteps = Math.Min(_pendingSingleSteps + 1, MaxStepsPerTurn);
                    break;
                case PlaybackCommand.Faster:
                    _speed = Math.Min(_speed * 2, MaxSpeed);
                    Reanchor();
                    break;
                case PlaybackCommand.Slower:
                    _speed = Math.Max(_speed / 2, MinSpeed);
                    Reanchor();
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(command), command, "Unknown playback command.");
            }
        }
    }

    /// <summary>Forgets the time passed so far: steps fall due from now on (after a period nobody watched).</summary>
    public void Restart()
    {
        lock (_gate)
        {
            Reanchor();
        }
    }

    /// <summary>
    /// The number of environment steps to take now (0 to <see cref="MaxStepsPerTurn"/>), which the clock counts as taken:
    /// while playing, the steps whose time has come since the last call; while paused, the single steps asked for.
    /// </summary>
    public int TakeDueSteps()
    {
        lock (_gate)
        {
            if (_paused)
            {
                int single = _pendingSingleSteps;
                _pendingSingleSteps = 0;
                return single;
            }

            long target = (long)Math.Floor(_time.GetElapsedTime(_anchor).TotalSeconds * StepsPerSecond * _speed);
            long due = target - _stepsSinceAnchor;
            if (due > MaxStepsPerTurn)
            {
                // Too far behind: take a full turn and count the rest as skipped, from now on.
                Reanchor();
                return MaxStepsPerTurn;
            }

            _stepsSinceAnchor = target;
            return (int)Math.Max(due, 0);
        }
    }

    /// <summary>How long until the next step is due (zero if one is due now; <see cref="Timeout.InfiniteTimeSpan"/> while paused with no step asked for).</summary>
    public TimeSpan UntilNextStep()
    {
        lock (_gate)
        {
            if (_paused)
            {
                return _pendingSingleSteps > 0 ? TimeSpan.Zero : Timeout.InfiniteTimeSpan;
            }

            double nextAt = (_stepsSinceAnchor + 1) / (StepsPerSecond * _speed);
            double wait = nextAt - _time.GetElapsedTime(_anchor).TotalSeconds;
            return wait <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(wait);
        }
    }

    private void SetPaused(bool paused)
    {
        if (_paused == paused)
        {
            return;
        }

        _paused = paused;
        if (!paused)
        {
            _pendingSingleSteps = 0;
            Reanchor();
        }
    }

    private void Reanchor()
    {
        _anchor = _time.GetTimestamp();
        _stepsSinceAnchor = 0;
    }
}
