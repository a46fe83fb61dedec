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

    /// <summary>
    /// Runs the frame loop until the window closes or <paramref name="cancellationToken"/> fires: applies the keys'
    /// commands to <paramref name="clock"/>, advances <paramref name="player"/> by the steps due, and presents the picture.
    /// </summary>
    /// <param name="window">The window.</param>
    /// <param name="player">The agent playing.</param>
    /// <param name="clock">Pause, step and speed.</param>
    /// <param name="title">The status line's first words, e.g. the agent and environment.</param>
    /// <param name="nextActor">Asked whenever an episode ends: a newer actor to play the next episode with, or null.</param>
    /// <param name="cancellationToken">Stops the loop (e.g. Ctrl+C).</param>
    /// <returns>The number of frames presented.</returns>
    public static long Run(IViewerWindow window, EpisodePlayer player, PlaybackClock clock, string title, Func<IEpisodeActor?>? nextActor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(player);
        ArgumentNullException.ThrowIfNull(clock);
        long frames = 0;
        player.Render();
        while (!cancellationToken.IsCancellationRequested && !window.ShouldClose)
        {
            foreach (PlaybackCommand command in window.TakeCommands())
            {
                clock.Apply(command);
            }

            int due = clock.TakeDueSteps();
            for (int i = 0; i < due; i++)
            {
                if (player.EpisodeDone && nextActor?.Invoke() is { } actor)
                {
                    player.ReplaceActor(actor);
                }

                player.Advance();
            }

            player.Render();
            window.Present(player.Frame, player.MemoryPanel, StatusLine(title, player.Status(title, clock)));
            frames++;
        }

        return frames;
    }

    /// <summary>The status line under the picture, e.g. <c>CartPole-v1  episode 3  step 41  return 41  speed 1x  [paused]</c>.</summary>
    public static string StatusLine(string title, ViewerStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        string last = status.LastReturn is double r ? string.Create(CultureInfo.InvariantCulture, $"  last {r:0.##}") : string.Empty;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{title}  episode {status.Episode}  step {status.Step}  return {status.Return:0.##}{last}  speed {status.Speed:0.###}x{(status.Paused ? "  [paused]" : string.Empty)}  (space pause, right step, up/down speed)");
    }
}
