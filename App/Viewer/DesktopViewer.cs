using System.Globalization;
using RlMemory.Agents;
using RlMemory.App.Viewer.Raylib;
using RlMemory.Environments.Rendering;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>A window the desktop viewer draws into (raylib's, or a fake one in tests).</summary>
public interface IViewerWindow : IDisposable
{
    /// <summary>Whether the user closed the window (its close button, Esc or Q).</summary>
    bool ShouldClose { get; }

    /// <summary>The commands of the keys pressed since the last call.</summary>
    IReadOnlyList<PlaybackCommand> TakeCommands();

    /// <summary>Shows one frame: the picture, the memory heatmaps beside it (if any) and a status line; paces the loop to the screen.</summary>
    void Present(RgbFrame frame, RgbFrame? memoryPanel, string status);

    /// <summary>Paces <see cref="Present"/> to <paramref name="fps"/> frames per second (0: as fast as it can draw).</summary>
    void SetTargetFps(int fps)
    {
    }
}

/// <summary>What a desktop viewer session showed: frames presented, environment steps played, and how long it ran.</summary>
/// <param name="Frames">Frames presented.</param>
/// <param name="Steps">Environment steps played.</param>
/// <param name="Seconds">Wall time from the first frame to the last.</param>
public readonly record struct ViewerSession(long Frames, long Steps, double Seconds)
{
    /// <summary>Frames per second over the session (0 for a session of one frame).</summary>
    public double FramesPerSecond => Seconds > 0 ? (Frames - 1) / Seconds : 0;

    /// <summary>Environment steps per second over the session.</summary>
    public double StepsPerSecond => Seconds > 0 ? Steps / Seconds : 0;

    /// <summary>The line the command prints when the window closes.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"Window closed after {Frames:N0} frames in {Seconds:0.0} s ({FramesPerSecond:0.0} frames/s) and {Steps:N0} environment steps ({StepsPerSecond:0.0} steps/s).");
}

/// <summary>
/// The desktop viewer: plays an agent in a window, episode after episode, with keys for pause (space), step (→),
/// faster (↑) and slower (↓); Esc or Q closes it. The window is raylib's, loaded at run time from the system's raylib
/// library (see docs/viewer.md); the frame loop runs on any <see cref="IViewerWindow"/>.
/// </summary>
public static class DesktopViewer
{
    /// <summary>
    /// Opens a raylib window for pictures of <paramref name="width"/> × <paramref name="height"/> pixels.
    /// </summary>
    /// <exception cref="InvalidOperationException">raylib is not installed (one line saying how to install it, and that the browser viewer needs none), or no window can be opened.</exception>
    public static IViewerWindow OpenWindow(int width, int height, string title)
    {
        if (!RaylibLibrary.TryLoad(out RaylibApi? api, out string failure))
        {
            throw new InvalidOperationException(failure);
        }

        return new RaylibWindow(api!, width, height, title);
    }

    /// <summary>The most frames per second the window draws.</summary>
    public const int MaxFps = 60;

    /// <summary>The fewest frames per second the window draws (so keys answer promptly while slow or paused).</summary>
    public const int MinFps = 30;

    /// <summary>
    /// The frame rate that plays <paramref name="clock"/>'s steps smoothly: one frame per step when it plays
    /// between <see cref="MinFps"/> and <see cref="MaxFps"/> steps a second (CartPole's 50 at 1×), else the nearer bound.
    /// </summary>
    public static int FrameRateFor(PlaybackClock clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return clock.Paused ? MinFps : (int)Math.Clamp(Math.Round(clock.StepsPerSecond * clock.Speed), MinFps, MaxFps);
    }

    /// <summary>
    /// Runs the frame loop until the window closes or <paramref name="cancellationToken"/> fires: applies the keys'
    /// commands to <paramref name="clock"/>, advances <paramref name="player"/> by the steps due, and presents the picture,
    /// paced by <see cref="FrameRateFor"/>.
    /// </summary>
    /// <param name="window">The window.</param>
    /// <param name="player">The agent playing.</param>
    /// <param name="clock">Pause, step and speed.</param>
    /// <param name="title">The status line's first words, e.g. the agent and environment.</param>
    /// <param name="nextAgent">Asked whenever an episode ends: a newer agent to play the next episode with (the caller keeps it), or null.</param>
    /// <param name="cancellationToken">Stops the loop (e.g. Ctrl+C).</param>
    /// <returns>The frames presented, the steps played and the time taken.</returns>
    public static ViewerSession Run(IViewerWindow window, EpisodePlayer player, PlaybackClock clock, string title, Func<IAgent?>? nextAgent = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(player);
        ArgumentNullException.ThrowIfNull(clock);
        long frames = 0;
        long steps = 0;
        long first = 0;
        long last = 0;
        player.Render();
        clock.Restart();   // playback starts with the first picture, not when the clock was made (opening a window takes a while)
        while (!cancellationToken.IsCancellationRequested && !window.ShouldClose)
        {
            foreach (PlaybackCommand command in window.TakeCommands())
            {
                clock.Apply(command);
            }

            int due = clock.TakeDueSteps();
            for (int i = 0; i < due; i++)
            {
                if (player.EpisodeDone && nextAgent?.Invoke() is { } agent)
                {
                    player.ReplaceAgent(agent);
                }

                player.Advance();
            }

            steps += due;
            player.Render();
            window.SetTargetFps(FrameRateFor(clock));
            window.Present(player.Frame, player.MemoryPanel, StatusLine(title, player.Status(title, clock)));
            last = System.Diagnostics.Stopwatch.GetTimestamp();
            if (frames++ == 0)
            {
                first = last;
            }
        }

        return new ViewerSession(frames, steps, frames > 0 ? System.Diagnostics.Stopwatch.GetElapsedTime(first, last).TotalSeconds : 0);
    }

    /// <summary>
    /// The status line under the picture, e.g. <c>CartPole-v1  episode 3  step 41  return 41  action 1  speed 1x  [paused]</c>; while
    /// training, the title is followed by the training step (<c>DQN training on CartPole-v1 at step 3,000  episode …</c>).
    /// </summary>
    public static string StatusLine(string title, ViewerStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        string last = status.LastReturn is double r ? string.Create(CultureInfo.InvariantCulture, $"  last {r:0.##}") : string.Empty;
        string training = status.TrainingStep is long t ? string.Create(CultureInfo.InvariantCulture, $" at step {t:N0}") : string.Empty;
        string action = status.Action is { } a ? $"  action {a}" : string.Empty;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{title}{training}  episode {status.Episode}  step {status.Step}  return {status.Return:0.##}{action}{last}  speed {status.Speed:0.###}x{(status.Paused ? "  [paused]" : string.Empty)}");
    }
}
