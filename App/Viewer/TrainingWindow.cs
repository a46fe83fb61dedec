using System.Diagnostics;
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Rendering;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>
/// Shows training live in a desktop window (<c>train --watch --window</c>): showcase episodes played greedily with
/// the trainer's current weights on a separate copy of the environment, as <see cref="TrainingWatch"/> does for the
/// browser, drawn into an <see cref="IViewerWindow"/> from the training thread.
/// </summary>
/// <remarks>
/// The window belongs to the thread that opens it (OpenGL's rule), so <see cref="Open"/> and every callback run on the
/// training thread. A turn of the window costs nothing until <see cref="FrameInterval"/> has passed since the last
/// picture; then it takes the keys, the steps due at the playback speed, draws once and presents without waiting for
/// the screen (the training is never paced to it). Closing the window (Esc, Q or its close button) ends the showcase;
/// training goes on.
/// </remarks>
public sealed class TrainingWindow : TrainingCallback, IDisposable
{
    /// <summary>The time between pictures: at most 30 a second.</summary>
    public static readonly TimeSpan FrameInterval = TimeSpan.FromSeconds(1.0 / 30);

    private readonly IEnv _env;
    private readonly Func<int, int, string, IViewerWindow> _openWindow;
    private readonly TextWriter _output;
    private readonly int _seed;
    private readonly PlaybackClock _clock;
    private EpisodePlayer? _player;
    private IViewerWindow? _window;
    private string _title = string.Empty;
    private long _trainingStep;
    private long _lastFrame;

    /// <summary>Prepares to show episodes of <paramref name="makeEnv"/>'s environment in a window.</summary>
    /// <param name="makeEnv">Creates the showcase environment (the training environment's id and options).</param>
    /// <param name="openWindow">Opens the window for pictures of the given width and height, with a title (<see cref="DesktopViewer.OpenWindow"/>).</param>
    /// <param name="output">Where the window's notes go (closed while training goes on).</param>
    /// <param name="seed">Seed of the first showcase episode (episode k uses seed + k).</param>
    /// <exception cref="InvalidOperationException">The environment cannot render.</exception>
    public TrainingWindow(Func<IEnv> makeEnv, Func<int, int, string, IViewerWindow> openWindow, TextWriter output, int seed = 20_000)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        _openWindow = openWindow ?? throw new ArgumentNullException(nameof(openWindow));
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _env = TrainingWatch.MakeShowcaseEnvironment(makeEnv);

        _seed = seed;
        _clock = new PlaybackClock(((IRenderable)_env.Unwrapped).RenderFps);
    }

    /// <summary>The playback clock the window's keys act on.</summary>
    public PlaybackClock Clock => _clock;

    /// <summary>Whether the window is open (it was opened and the user has not closed it).</summary>
    public bool IsOpen => _window is not null;

    /// <summary>Pictures presented so far.</summary>
    public long Frames { get; private set; }

    /// <summary>
    /// Opens the window for <paramref name="trainer"/>'s agent, on the thread that will train (before
    /// <see cref="ITrainer.Learn"/>), and shows the first picture.
    /// </summary>
    /// <exception cref="InvalidOperationException">No window can be opened (the one-line reason).</exception>
    public void Open(ITrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (_player is not null)
        {
            throw new InvalidOperationException("The training window is already open.");
        }

        // The trainer's agent shares its weights (it sees every update) and stays the trainer's: only its actor is ours.
        _player = EpisodePlayer.For(trainer.Agent, _env, _seed);
        _title = $"{trainer.Algo.ToUpperInvariant()} training on {_env.Name}";
        _trainingStep = trainer.Step;
        int width = _player.Frame.Width + (_player.MemoryPanel?.Width ?? 0);
        int height = Math.Max(_player.Frame.Height, _player.MemoryPanel?.Height ?? 0);
        _window = _openWindow(width, height, $"RlMemory: {_title}");
        _window.SetTargetFps(0);   // present without waiting: training sets the pace
        Present();
    }

    /// <inheritdoc />
    public override bool OnStep(StepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_window is null || Stopwatch.GetElapsedTime(_lastFrame) < FrameInterval)
        {
            return true;
        }

        _trainingStep = context.Step;
        if (_window.ShouldClose)
        {
            CloseWindow();
            _output.WriteLine("The training window was closed; training goes on (Ctrl+C stops it).");
            return true;
        }

        foreach (PlaybackCommand command in _window.TakeCommands())
        {
            _clock.Apply(command);
        }

        int due = _clock.TakeDueSteps();
        if (due > 0)
        {
            _player!.Advance(due);
        }

        Present();
        return true;
    }

    /// <inheritdoc />
    public override void OnTrainingEnd(StepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_window is not null)
        {
            _trainingStep = context.Step;
            _title += " (finished)";
            Present();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseWindow();
        _player?.Dispose();
        _env.Dispose();
    }

    private void Present()
    {
        _player!.Render();
        _window!.Present(_player.Frame, _player.MemoryPanel, DesktopViewer.StatusLine(_title, _player.Status(_title, _clock, _trainingStep)));
        _lastFrame = Stopwatch.GetTimestamp();
        Frames++;
    }

    private void CloseWindow()
    {
        _window?.Dispose();
        _window = null;
    }
}
