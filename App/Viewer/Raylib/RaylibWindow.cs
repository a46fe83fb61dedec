using RlMemory.Environments.Rendering;
using RlMemory.Training;

namespace RlMemory.App.Viewer.Raylib;

/// <summary>The keys the desktop window reacts to, in raylib's key codes.</summary>
internal static class RaylibKeys
{
    /// <summary>Every key polled each frame, with its command: space/P pause, →/N/. step, ↑/=/+ faster, ↓/-/keypad - slower.</summary>
    public static readonly IReadOnlyList<(int Key, PlaybackCommand Command)> Bindings =
    [
        (RaylibConstants.KeySpace, PlaybackCommand.TogglePause),
        (RaylibConstants.KeyP, PlaybackCommand.TogglePause),
        (RaylibConstants.KeyRight, PlaybackCommand.Step),
        (RaylibConstants.KeyN, PlaybackCommand.Step),
        (RaylibConstants.KeyPeriod, PlaybackCommand.Step),
        (RaylibConstants.KeyUp, PlaybackCommand.Faster),
        (RaylibConstants.KeyEqual, PlaybackCommand.Faster),
        (RaylibConstants.KeyKeypadAdd, PlaybackCommand.Faster),
        (RaylibConstants.KeyDown, PlaybackCommand.Slower),
        (RaylibConstants.KeyMinus, PlaybackCommand.Slower),
        (RaylibConstants.KeyKeypadSubtract, PlaybackCommand.Slower),
    ];

    /// <summary>Closes the window (as Esc does, raylib's default exit key).</summary>
    public const int QuitKey = RaylibConstants.KeyQ;

    /// <summary>The command of raylib key <paramref name="key"/>, if it has one.</summary>
    public static PlaybackCommand? CommandFor(int key)
    {
        foreach (var (k, command) in Bindings)
        {
            if (k == key)
            {
                return command;
            }
        }

        return null;
    }

    /// <summary>The commands of the keys <paramref name="isPressed"/> reports pressed, in <see cref="Bindings"/> order.</summary>
    public static List<PlaybackCommand> Pressed(Func<int, bool> isPressed)
    {
        ArgumentNullException.ThrowIfNull(isPressed);
        var commands = new List<PlaybackCommand>();
        foreach (var (key, command) in Bindings)
        {
            if (isPressed(key))
            {
                commands.Add(command);
            }
        }

        return commands;
    }
}

/// <summary>A raylib window showing the frames, the memory heatmaps beside them, and a status line below.</summary>
internal sealed class RaylibWindow : IViewerWindow
{
    /// <summary>Says why no window can open before raylib is asked (<see cref="DisplayProbe.WhyNoWindow"/>; tests of the stand-in raylib replace it).</summary>
    internal static ProbeDisplay Probe { get; set; } = DisplayProbe.WhyNoWindow;

    /// <summary>Why no window can open (null if one can), and a connection to hold open while raylib opens it.</summary>
    internal delegate string? ProbeDisplay(out IDisposable? hold);

    /// <summary>The height of the status line under the pictures.</summary>
    public const int StatusHeight = 30;

    private readonly RaylibApi _api;
    private RaylibTexture? _frameTexture;
    private RaylibTexture? _memoryTexture;
    private bool _quit;
    private bool _closed;
    private int _fps = DefaultFps;

    /// <summary>Opens a window for pictures of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    /// <exception cref="InvalidOperationException">No window can be opened here: no display, a display without OpenGL, or raylib refused (one line naming the cause).</exception>
    public RaylibWindow(RaylibApi api, int width, int height, string title)
    {
        _api = api;
        if (Probe(out IDisposable? hold) is { } cause)
        {
            _closed = true;
            throw new InvalidOperationException(NoWindow(cause));
        }

        using IDisposable? held = hold;   // the X server must not reset between the probe and raylib's connection

        // raylib's own log lines are silenced while it opens the window (a failure is explained in one line below),
        // unless RLMEMORY_RAYLIB_LOG=1 asks for all of them.
        bool verbose = Environment.GetEnvironmentVariable("RLMEMORY_RAYLIB_LOG") == "1";
        _api.SetTraceLogLevel(verbose ? RaylibConstants.LogAll : RaylibConstants.LogNone);
        _api.InitWindow(width, height + StatusHeight, title);
        if (!_api.IsWindowReady())
        {
            // (A raylib that returns here after failing, unlike 5.5, which crashes instead: hence the probe above.)
            // Its CloseWindow would free GPU resources through a null OpenGL context, so a window that never opened
            // is not closed.
            _closed = true;
            throw new InvalidOperationException(NoWindow("raylib could not create its OpenGL window (no display, or no OpenGL driver for it)"));
        }

        _api.SetTraceLogLevel(verbose ? RaylibConstants.LogAll : RaylibConstants.LogWarning);
        _api.SetTargetFps(DefaultFps);
    }

    /// <summary>The frame rate the window is paced to until <see cref="SetTargetFps"/> says otherwise.</summary>
    public const int DefaultFps = 60;

    /// <inheritdoc />
    public bool ShouldClose => _quit || _api.WindowShouldClose();

    /// <inheritdoc />
    public IReadOnlyList<PlaybackCommand> TakeCommands()
    {
        if (_api.IsKeyPressed(RaylibKeys.QuitKey))
        {
            _quit = true;
        }

        return RaylibKeys.Pressed(_api.IsKeyPressed);
    }

    /// <inheritdoc />
    public void Present(RgbFrame frame, RgbFrame? memoryPanel, string status)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _frameTexture = Upload(_frameTexture, frame);
        if (memoryPanel is not null)
        {
            _memoryTexture = Upload(_memoryTexture, memoryPanel);
        }

        int height = Math.Max(frame.Height, memoryPanel?.Height ?? 0);
        _api.BeginDrawing();
        _api.ClearBackground(RaylibColor.RayWhite);
        _api.DrawTexture(_frameTexture.Value, 0, 0, RaylibColor.White);
        if (_memoryTexture is { } memory)
        {
            _api.DrawTexture(memory, frame.Width, 0, RaylibColor.White);
        }

        _api.DrawRectangle(0, height, frame.Width + (memoryPanel?.Width ?? 0), StatusHeight, RaylibColor.LightGray);
        var (text, size) = FitStatus(status, frame.Width + (memoryPanel?.Width ?? 0) - 16);
        _api.DrawText(text, 8, height + ((StatusHeight - size) / 2), size, RaylibColor.DarkGray);
        _api.EndDrawing();
    }

    /// <inheritdoc />
    public void SetTargetFps(int fps)
    {
        if (fps != _fps)
        {
            _fps = fps;
            _api.SetTargetFps(fps);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        if (_frameTexture is { } frame)
        {
            _api.UnloadTexture(frame);
        }

        if (_memoryTexture is { } memory)
        {
            _api.UnloadTexture(memory);
        }

        _api.CloseWindow();
    }

    /// <summary>The one-line message for a window that cannot open: the cause, and the browser viewer as the way out.</summary>
    private string NoWindow(string cause) =>
        $"raylib ({_api.Path}) could not open a window: {cause}. Watch in the browser instead: rlmemory watch <agent> without --window.";

    /// <summary>The status line at the largest font size from 18 down to 10 that fits <paramref name="width"/>, cut short with "..." if even 10 does not (raylib's default font has no "…").</summary>
    private (string Text, int Size) FitStatus(string status, int width)
    {
        for (int size = 18; size >= 10; size -= 2)
        {
            if (_api.MeasureText(status, size) <= width)
            {
                return (status, size);
            }
        }

        string text = status;
        while (text.Length > 1 && _api.MeasureText(text + "...", 10) > width)
        {
            text = text[..^1];
        }

        return (text.TrimEnd() + "...", 10);
    }

    private RaylibTexture Upload(RaylibTexture? texture, RgbFrame frame)
    {
        if (texture is { } t && t.Width == frame.Width && t.Height == frame.Height)
        {
            _api.UpdateTexture(t, frame.Pixels);
            return t;
        }

        if (texture is { } old)
        {
            _api.UnloadTexture(old);
        }

        return _api.LoadTextureFromRgb(frame.Pixels, frame.Width, frame.Height);
    }
}
