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
    /// <summary>The height of the status line under the pictures.</summary>
    public const int StatusHeight = 30;

    private readonly RaylibApi _api;
    private RaylibTexture? _frameTexture;
    private RaylibTexture? _memoryTexture;
    private bool _quit;
    private bool _closed;

    /// <summary>Opens a window for pictures of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    /// <exception cref="InvalidOperationException">raylib could not open a window (no display).</exception>
    public RaylibWindow(RaylibApi api, int width, int height, string title)
    {
        _api = api;
        _api.SetTraceLogLevel(RaylibConstants.LogWarning);
        _api.InitWindow(width, height + StatusHeight, title);
        if (!_api.IsWindowReady())
        {
            _api.CloseWindow();
            _closed = true;
            throw new InvalidOperationException(
                $"raylib ({_api.Path}) could not open a window: no display here (DISPLAY/WAYLAND_DISPLAY unset?). On a headless machine, watch in the browser: rlmemory watch <agent> without --window.");
        }

        _api.SetTargetFps(60);
    }

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
        _api.DrawText(status, 8, height + 7, 18, RaylibColor.DarkGray);
        _api.EndDrawing();
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
