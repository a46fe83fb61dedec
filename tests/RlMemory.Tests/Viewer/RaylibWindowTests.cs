using System.Diagnostics;
using System.Globalization;
using ImageMagick;
using RlMemory.Agents;
using RlMemory.App;
using RlMemory.App.Viewer;
using RlMemory.App.Viewer.Raylib;
using RlMemory.Environments;
using RlMemory.Environments.Rendering;
using RlMemory.Tests.Training;

namespace RlMemory.Tests.Viewer;

/// <summary>
/// A fact that needs the real raylib (built by build/raylib.sh, or installed), Xvfb, xdotool and ffmpeg on Linux. Under
/// CI (CI=true, set by .ci/run, which installs and builds them) a missing piece fails the test instead of skipping it.
/// </summary>
public sealed class RealRaylibFactAttribute : FactAttribute
{
    public RealRaylibFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "The real-window tests run raylib under Xvfb on Linux.";
            return;
        }

        bool inCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        string? missing = RealRaylib.Missing();
        if (missing is not null && !inCi)
        {
            Skip = $"Needs {missing} (bash build/raylib.sh builds raylib; apt-get install xvfb xdotool ffmpeg).";
        }
    }
}

/// <summary>A theory with <see cref="RealRaylibFactAttribute"/>'s needs.</summary>
public sealed class RealRaylibTheoryAttribute : TheoryAttribute
{
    public RealRaylibTheoryAttribute() => Skip = new RealRaylibFactAttribute().Skip;
}

/// <summary>The real raylib library and the X tools the window tests drive it with.</summary>
internal static class RealRaylib
{
    private static readonly Lazy<string?> LazyLibrary = new(() =>
    {
        // Only the search order (build/raylib.sh's cache among it), not a stub a test may have named.
        string? saved = Environment.GetEnvironmentVariable(RaylibLibrary.PathVariable);
        Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, null);
        try
        {
            return RaylibLibrary.TryLoad(out RaylibApi? api, out _) ? api!.Path : null;
        }
        finally
        {
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, saved);
        }
    });

    /// <summary>The library file (or name) the viewer loads, or null if none is installed or built.</summary>
    public static string? Library => LazyLibrary.Value;

    /// <summary>What is missing to run the window tests, or null.</summary>
    public static string? Missing()
    {
        var missing = new List<string>();
        if (Library is null)
        {
            missing.Add("raylib");
        }

        foreach (string tool in new[] { "Xvfb", "xdotool", "ffmpeg" })
        {
            if (Which(tool) is null)
            {
                missing.Add(tool);
            }
        }

        return missing.Count == 0 ? null : string.Join(", ", missing);
    }

    public static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>Where the tests leave their screenshots: $RLMEMORY_TEST_ARTIFACTS, else a folder in the temporary directory.</summary>
    public static string ArtifactFolder()
    {
        string folder = Environment.GetEnvironmentVariable("RLMEMORY_TEST_ARTIFACTS") is { Length: > 0 } explicitFolder
            ? Path.Combine(explicitFolder, "raylib")
            : Path.Combine(Path.GetTempPath(), "rlmemory-test-artifacts", "raylib");
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Runs a tool to its end and returns its standard output (fails the test on a non-zero exit).</summary>
    public static string Run(string tool, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), $"{tool} {string.Join(' ', args)} did not end");
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', args)} exited with {process.ExitCode}: {error.Result}");
        return output.Result;
    }
}

/// <summary>An Xvfb X server on a free display number, with or without OpenGL (GLX), stopped on dispose.</summary>
internal sealed class VirtualDisplay : IDisposable
{
    private readonly Process _server;

    public VirtualDisplay(bool glx = true)
    {
        for (int attempt = 0; ; attempt++)
        {
            int number = Random.Shared.Next(100, 900);
            if (File.Exists($"/tmp/.X{number}-lock") || File.Exists($"/tmp/.X11-unix/X{number}"))
            {
                continue;
            }

            var start = new ProcessStartInfo("Xvfb") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { $":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp" }.Concat(glx ? [] : new[] { "-extension", "GLX" }))
            {
                start.ArgumentList.Add(a);
            }

            _server = Process.Start(start)!;
            _server.StandardOutput.ReadToEndAsync();
            _server.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!File.Exists($"/tmp/.X11-unix/X{number}") && !_server.HasExited && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }

            if (!_server.HasExited && File.Exists($"/tmp/.X11-unix/X{number}"))
            {
                Name = $":{number}";
                return;
            }

            _server.Dispose();
            Assert.True(attempt < 5, "Xvfb did not start");
        }
    }

    /// <summary>The display's name, e.g. <c>:123</c>.</summary>
    public string Name { get; }

    public IReadOnlyDictionary<string, string?> Environment => new Dictionary<string, string?> { ["DISPLAY"] = Name };

    /// <summary>Waits for a window whose title contains <paramref name="title"/>; returns its id and size.</summary>
    public (string Id, int Width, int Height) WaitForWindow(string title, Process owner)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(owner.HasExited, $"the viewer exited with {(owner.HasExited ? owner.ExitCode : 0)} before its window appeared");
            var start = new ProcessStartInfo("xdotool", ["search", "--name", title]) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["DISPLAY"] = Name;
            using Process search = Process.Start(start)!;
            string ids = search.StandardOutput.ReadToEnd();
            search.WaitForExit();
            if (ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() is { } id)
            {
                var (_, _, width, height) = Geometry(id);
                if (width > 1)
                {
                    return (id, width, height);
                }
            }

            Thread.Sleep(100);
        }

        Assert.Fail($"no window named {title} appeared on {Name}");
        return default;
    }

    /// <summary>Where window <paramref name="id"/> is now (raylib moves its window to the screen's centre after opening it) and its size.</summary>
    public (int X, int Y, int Width, int Height) Geometry(string id)
    {
        string geometry = RealRaylib.Run("xdotool", Environment, "getwindowgeometry", id);
        string[] position = geometry.Split("Position: ")[1].Split(' ')[0].Split(',');
        string[] size = geometry.Split("Geometry: ")[1].Trim().Split('x');
        static int Parse(string s) => int.Parse(s, CultureInfo.InvariantCulture);
        return (Parse(position[0]), Parse(position[1]), Parse(size[0]), Parse(size[1]));
    }

    /// <summary>The pixels window <paramref name="id"/> shows now.</summary>
    public RgbFrame CaptureWindow(string id)
    {
        var (x, y, width, height) = Geometry(id);
        return Capture(x, y, width, height);
    }

    /// <summary>Presses and releases <paramref name="key"/> (an X keysym name) in window <paramref name="id"/>, held long enough for a frame to see it.</summary>
    public void Press(string id, string key)
    {
        RealRaylib.Run("xdotool", Environment, "windowfocus", id);
        RealRaylib.Run("xdotool", Environment, "keydown", key);
        Thread.Sleep(120);
        RealRaylib.Run("xdotool", Environment, "keyup", key);
    }

    /// <summary>
    /// Asks window <paramref name="id"/> to close as a window manager does when its close button is clicked: a
    /// <c>WM_PROTOCOLS</c> client message carrying <c>WM_DELETE_WINDOW</c> (Xvfb runs no window manager to click).
    /// </summary>
    public unsafe void ClickCloseButton(string id)
    {
        nint x11 = System.Runtime.InteropServices.NativeLibrary.Load("libX11.so.6");
        var open = (delegate* unmanaged[Cdecl]<byte*, nint>)System.Runtime.InteropServices.NativeLibrary.GetExport(x11, "XOpenDisplay");
        nint display;
        fixed (byte* name = System.Text.Encoding.ASCII.GetBytes(Name + "\0"))
        {
            display = open(name);
        }

        var intern = (delegate* unmanaged[Cdecl]<nint, byte*, int, nuint>)System.Runtime.InteropServices.NativeLibrary.GetExport(x11, "XInternAtom");
        var send = (delegate* unmanaged[Cdecl]<nint, nuint, int, long, byte*, int>)System.Runtime.InteropServices.NativeLibrary.GetExport(x11, "XSendEvent");
        var flush = (delegate* unmanaged[Cdecl]<nint, int>)System.Runtime.InteropServices.NativeLibrary.GetExport(x11, "XFlush");
        var close = (delegate* unmanaged[Cdecl]<nint, int>)System.Runtime.InteropServices.NativeLibrary.GetExport(x11, "XCloseDisplay");
        Assert.True(display != 0, $"cannot open {Name}");
        try
        {
            nuint Atom(string name)
            {
                fixed (byte* text = System.Text.Encoding.ASCII.GetBytes(name + "\0"))
                {
                    return intern(display, text, 0);
                }
            }

            nuint window = nuint.Parse(id, CultureInfo.InvariantCulture);

            // XClientMessageEvent on LP64 (inside the 192-byte XEvent): type, serial, send_event, display, window,
            // message_type, format, then data.l[5].
            byte* e = stackalloc byte[192];
            new Span<byte>(e, 192).Clear();
            *(int*)e = 33;                                   // ClientMessage
            *(nuint*)(e + 32) = window;
            *(nuint*)(e + 40) = Atom("WM_PROTOCOLS");
            *(int*)(e + 48) = 32;
            *(nuint*)(e + 56) = Atom("WM_DELETE_WINDOW");
            Assert.NotEqual(0, send(display, window, 0, 0, e));
            flush(display);
        }
        finally
        {
            close(display);
        }
    }

    /// <summary>The screen's pixels in a rectangle, captured from the X server (ffmpeg's x11grab), as an RGB frame.</summary>
    public RgbFrame Capture(int x, int y, int width, int height)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "-loglevel", "error", "-f", "x11grab", "-video_size", $"{width}x{height}", "-i", $"{Name}+{x},{y}", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-" })
        {
            start.ArgumentList.Add(a);
        }

        using Process ffmpeg = Process.Start(start)!;
        using var bytes = new MemoryStream();
        Task<string> error = ffmpeg.StandardError.ReadToEndAsync();
        ffmpeg.StandardOutput.BaseStream.CopyTo(bytes);
        ffmpeg.WaitForExit();
        Assert.True(ffmpeg.ExitCode == 0 && bytes.Length == width * height * 3, $"screen capture failed ({bytes.Length} bytes): {error.Result}");
        return new RgbFrame(width, height, bytes.ToArray());
    }

    public void Dispose()
    {
        try
        {
            _server.Kill();
            _server.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }

        _server.Dispose();
    }
}

/// <summary>
/// Issue 18: the desktop viewer with the real raylib 5.5, in a real X server (Xvfb, Mesa's software OpenGL): the window
/// opens at the documented size, shows the same pixels the canvas renders for the same episode, reacts to the keys,
/// and closes with exit 0; and where no window can open, the command says why in one line instead of crashing.
/// </summary>
[Collection("raylib")]
public sealed class RaylibWindowTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [RealRaylibFact]
    public void Watch_ShowsTheEpisodesPixels_AndPauseStepSpeedAndQuitAct()
    {
        string run = _dir.File("run");
        var train = CliRun("train", "dqn-cartpole", "--seed", "0", "--out", run, "--quiet", "--steps", "1500", "--set", "learning_starts=300", "--set", "eval_freq=0", "--set", "eval_episodes=1");
        Assert.True(train.Code == 0, train.Error);
        string agentFile = Path.Combine(run, "final_model.rlagent");
        var (frames, _) = ExpectedFrames(agentFile, "CartPole-v1", seed: 3, steps: 2);

        using var display = new VirtualDisplay();
        using var viewer = StartViewer(display, "watch", agentFile, "--window", "--paused", "--seed", "3");
        var window = display.WaitForWindow("RlMemory", viewer.Process);
        Assert.Equal((600, 400 + RaylibWindow.StatusHeight), (window.Width, window.Height));   // the documented size: picture plus status line
        RgbFrame Shot() => display.CaptureWindow(window.Id);

        // Paused at the episode's first picture: the window shows exactly what the canvas draws for seed 3, and stays.
        RgbFrame first = WaitFor(Shot, s => Matches(Picture(s, 600, 400), frames[0]), "the first picture");
        Thread.Sleep(400);
        RgbFrame still = Shot();
        Assert.True(Picture(still, 600, 400).SamePixels(Picture(first, 600, 400)), "paused, yet the picture moved");

        // → takes one step: the agent's first action, the same picture the canvas draws after it.
        display.Press(window.Id, "Right");
        RgbFrame stepped = WaitFor(Shot, s => Matches(Picture(s, 600, 400), frames[1]), "the picture after one step");
        RgbFrame status = Status(stepped);

        // ↑ doubles the speed (the status line changes, the picture does not); ↓ halves it back: the same status pixels.
        display.Press(window.Id, "Up");
        RgbFrame faster = WaitFor(Shot, s => !Status(s).SamePixels(status), "the status line after ↑");
        Assert.True(Matches(Picture(faster, 600, 400), frames[1]), "↑ moved the picture while paused");
        display.Press(window.Id, "Down");
        WaitFor(Shot, s => Status(s).SamePixels(status), "the status line after ↓ to equal the one before ↑");

        // Space plays: the picture moves on by itself, frame after frame.
        display.Press(window.Id, "space");
        RgbFrame playing = WaitFor(Shot, s => !Matches(Picture(s, 600, 400), frames[1]), "the picture to move after space");
        WaitFor(Shot, s => !Picture(s, 600, 400).SamePixels(Picture(playing, 600, 400)), "a later picture");

        Save(first, "watch-cartpole-first.png");
        Save(stepped, "watch-cartpole-step1.png");
        Save(playing, "watch-cartpole-playing.png");

        // Q closes the window and the command ends with 0 and the session's summary.
        display.Press(window.Id, "q");
        var (code, output, error) = viewer.Wait();
        Assert.True(code == 0, $"exit {code}: {output}{error}");
        Assert.Matches(@"Window closed after [\d,]+ frames in [\d.]+ s \([\d.]+ frames/s\) and [\d,]+ environment steps", output);
    }

    [RealRaylibFact]
    public void Watch_AMemoryAgent_DrawsTheHeatmapPanelBesideThePicture_AndEscCloses()
    {
        string agentFile = CliViewerTests.SaveRandomMemoryAgent(_dir.File("memory.rlagent"));

        var (frames, panels) = ExpectedFrames(agentFile, "TMaze-v0", seed: 5, steps: 2);
        int pictureWidth = frames[0].Width;
        int height = Math.Max(frames[0].Height, panels[0]!.Height);
        Assert.Equal(MemoryFrameComposer.PanelWidth, panels[0]!.Width);

        using var display = new VirtualDisplay();
        using var viewer = StartViewer(display, "watch", agentFile, "--window", "--paused", "--seed", "5", "--with-memory");
        var window = display.WaitForWindow("RlMemory", viewer.Process);
        Assert.Equal((pictureWidth + MemoryFrameComposer.PanelWidth, height + RaylibWindow.StatusHeight), (window.Width, window.Height));
        RgbFrame Shot() => display.CaptureWindow(window.Id);
        RgbFrame PanelOf(RgbFrame s) => Crop(s, pictureWidth, 0, MemoryFrameComposer.PanelWidth, panels[0]!.Height);

        WaitFor(Shot, s => Matches(Picture(s, pictureWidth, frames[0].Height), frames[0]) && Matches(PanelOf(s), panels[0]!), "the first picture and empty heatmaps");
        display.Press(window.Id, "Right");
        RgbFrame stepped = WaitFor(Shot, s => Matches(Picture(s, pictureWidth, frames[1].Height), frames[1]) && Matches(PanelOf(s), panels[1]!), "the picture and heatmaps after one step");
        Assert.False(panels[0]!.SamePixels(panels[1]!), "the step wrote nothing into the heatmaps, so the comparison proves little");
        Save(stepped, "watch-memory-step1.png");

        display.Press(window.Id, "Escape");
        var (code, output, error) = viewer.Wait();
        Assert.True(code == 0, $"exit {code}: {output}{error}");
    }

    [RealRaylibTheory]
    [InlineData("q")]
    [InlineData("Escape")]
    [InlineData("close button")]
    public void Watch_EndsWithExit0_WhenTheWindowIsClosed(string how)
    {
        string agentFile = CliViewerTests.SaveRandomAgent(_dir.File("agent.rlagent"));
        using var display = new VirtualDisplay();
        using var viewer = StartViewer(display, "watch", agentFile, "--window");
        var window = display.WaitForWindow("RlMemory", viewer.Process);
        Thread.Sleep(300);
        if (how == "close button")
        {
            display.ClickCloseButton(window.Id);
        }
        else
        {
            display.Press(window.Id, how);
        }

        var (code, output, error) = viewer.Wait();
        Assert.True(code == 0, $"exit {code}: {output}{error}");
        Assert.Contains("Window closed after", output, StringComparison.Ordinal);
    }

    [RealRaylibFact]
    public void TrainWithWindow_ShowsTheRunWhileItTrains_AndEndsWithIt()
    {
        string run = _dir.File("run");
        using var display = new VirtualDisplay();
        using var trainer = StartViewer(display, "train", "dqn-cartpole", "--seed", "1", "--out", run, "--steps", "6000", "--set", "learning_starts=500", "--set", "eval_freq=0", "--set", "eval_episodes=2", "--watch", "--window");
        var window = display.WaitForWindow("RlMemory", trainer.Process);
        Assert.Equal((600, 400 + RaylibWindow.StatusHeight), (window.Width, window.Height));
        RgbFrame Shot() => display.CaptureWindow(window.Id);

        // A CartPole picture (white sky, the black cart, the brown pole) that moves as the showcase plays.
        RgbFrame shown = WaitFor(Shot, s => LooksLikeCartPole(Picture(s, 600, 400)), "a CartPole picture");
        WaitFor(Shot, s => !Picture(s, 600, 400).SamePixels(Picture(shown, 600, 400)) && LooksLikeCartPole(Picture(s, 600, 400)), "the showcase to move");
        Save(shown, "train-window-cartpole.png");

        var (code, output, error) = trainer.Wait();
        Assert.True(code == 0, $"exit {code}: {output}{error}");
        Assert.Contains("Watching the training in a window", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "final_model.rlagent")));
    }

    [RealRaylibFact]
    public void WhereNoWindowCanOpen_TheCommandSaysWhyInOneLine_AndDoesNotCrash()
    {
        string agentFile = CliViewerTests.SaveRandomAgent(_dir.File("agent.rlagent"));

        // No display at all.
        var none = RunViewer(new Dictionary<string, string?> { ["DISPLAY"] = null, ["WAYLAND_DISPLAY"] = null }, agentFile);
        Assert.True(none.Code == RlMemoryCli.InvalidInput, $"exit {none.Code}: {none.Error}");
        Assert.Equal($"error: raylib ({RealRaylib.Library}) could not open a window: no display here (DISPLAY is not set; on a server, forward X with ssh -X, or run under xvfb-run). Watch in the browser instead: rlmemory watch <agent> without --window.", none.Error.Trim());

        // A display nobody serves.
        var unreachable = RunViewer(new Dictionary<string, string?> { ["DISPLAY"] = ":987" }, agentFile);
        Assert.True(unreachable.Code == RlMemoryCli.InvalidInput, $"exit {unreachable.Code}: {unreachable.Error}");
        Assert.Contains("cannot connect to the X display :987", unreachable.Error, StringComparison.Ordinal);
        Assert.Single(unreachable.Error.Trim().Split('\n'));

        // A display without OpenGL (Xvfb without its GLX extension): raylib 5.5 itself would crash here.
        using var noGl = new VirtualDisplay(glx: false);
        var withoutGl = RunViewer(new Dictionary<string, string?> { ["DISPLAY"] = noGl.Name }, agentFile);
        Assert.True(withoutGl.Code == RlMemoryCli.InvalidInput, $"exit {withoutGl.Code}: {withoutGl.Error}");
        Assert.Equal($"error: raylib ({RealRaylib.Library}) could not open a window: the X display {noGl.Name} has no OpenGL (its server lacks the GLX extension), and raylib draws with OpenGL. Watch in the browser instead: rlmemory watch <agent> without --window.", withoutGl.Error.Trim());
        Assert.DoesNotContain("GLFW", withoutGl.Output + withoutGl.Error, StringComparison.Ordinal);
    }

    private static (int Code, string Output, string Error) CliRun(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RlMemoryCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static (int Code, string Output, string Error) RunViewer(Dictionary<string, string?> environment, string agentFile)
    {
        environment[RaylibLibrary.PathVariable] = RealRaylib.Library;
        using var viewer = new ViewerProcess(environment, "watch", agentFile, "--window");
        return viewer.Wait();
    }

    private static ViewerProcess StartViewer(VirtualDisplay display, params string[] args) =>
        new(new Dictionary<string, string?> { ["DISPLAY"] = display.Name, [RaylibLibrary.PathVariable] = RealRaylib.Library }, args);

    /// <summary>The pictures (and heatmap panels) the canvas draws for the first <paramref name="steps"/> steps of episode <paramref name="seed"/>, played as <c>watch</c> plays it.</summary>
    private static (RgbFrame[] Frames, RgbFrame?[] Panels) ExpectedFrames(string agentFile, string envId, int seed, int steps)
    {
        using var agent = (IDiscreteAgent)AgentFile.Load(agentFile);
        using IEpisodeActor actor = agent.Begin(1);
        using IEnv<int> env = EnvRegistry.Make<int>(envId);
        using var player = new EpisodePlayer(env, actor, seed);
        var frames = new RgbFrame[steps];
        var panels = new RgbFrame?[steps];
        for (int i = 0; i < steps; i++)
        {
            if (i > 0)
            {
                player.Advance();
            }

            player.Render();
            frames[i] = Copy(player.Frame);
            panels[i] = player.MemoryPanel is { } panel ? Copy(panel) : null;
        }

        return (frames, panels);
    }

    private static RgbFrame Copy(RgbFrame frame) => new(frame.Width, frame.Height, (byte[])frame.Pixels.Clone());

    private static RgbFrame Crop(RgbFrame shot, int x, int y, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int row = 0; row < height; row++)
        {
            Array.Copy(shot.Pixels, (((y + row) * shot.Width) + x) * 3, pixels, row * width * 3, width * 3);
        }

        return new RgbFrame(width, height, pixels);
    }

    private static RgbFrame Picture(RgbFrame shot, int width, int height) => Crop(shot, 0, 0, width, height);

    private static RgbFrame Status(RgbFrame shot) => Crop(shot, 0, shot.Height - RaylibWindow.StatusHeight, shot.Width, RaylibWindow.StatusHeight);

    /// <summary>The screen shows <paramref name="expected"/>: every channel of at least 99.9 % of the pixels within 2 of it (OpenGL may round a colour).</summary>
    private static bool Matches(RgbFrame shown, RgbFrame expected)
    {
        Assert.Equal((expected.Width, expected.Height), (shown.Width, shown.Height));
        int off = 0;
        for (int i = 0; i < expected.Pixels.Length; i += 3)
        {
            if (Math.Abs(shown.Pixels[i] - expected.Pixels[i]) > 2 || Math.Abs(shown.Pixels[i + 1] - expected.Pixels[i + 1]) > 2 || Math.Abs(shown.Pixels[i + 2] - expected.Pixels[i + 2]) > 2)
            {
                off++;
            }
        }

        return off <= expected.Pixels.Length / 3 / 1000;
    }

    /// <summary>Mostly white, with CartPole's black cart and its pole's brown (202, 152, 101) present.</summary>
    private static bool LooksLikeCartPole(RgbFrame picture)
    {
        int white = 0, black = 0, pole = 0;
        for (int i = 0; i < picture.Pixels.Length; i += 3)
        {
            var (r, g, b) = (picture.Pixels[i], picture.Pixels[i + 1], picture.Pixels[i + 2]);
            white += r > 250 && g > 250 && b > 250 ? 1 : 0;
            black += r < 5 && g < 5 && b < 5 ? 1 : 0;
            pole += Math.Abs(r - 202) <= 3 && Math.Abs(g - 152) <= 3 && Math.Abs(b - 101) <= 3 ? 1 : 0;
        }

        int total = picture.Pixels.Length / 3;
        return white > total * 0.8 && black > 500 && pole > 100;
    }

    /// <summary>Captures until <paramref name="condition"/> holds (at most 30 s: the machine may be busy), and returns that capture.</summary>
    private static RgbFrame WaitFor(Func<RgbFrame> capture, Func<RgbFrame, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        RgbFrame last;
        do
        {
            last = capture();
            if (condition(last))
            {
                return last;
            }

            Thread.Sleep(100);
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(30));

        string path = Save(last, $"failed-{Guid.NewGuid():N}.png");
        Assert.Fail($"timed out waiting for {what}; the last capture is {path}");
        return last;
    }

    private static string Save(RgbFrame frame, string name)
    {
        string path = Path.Combine(RealRaylib.ArtifactFolder(), name);
        var settings = new MagickReadSettings { Width = (uint)frame.Width, Height = (uint)frame.Height, Format = MagickFormat.Rgb, Depth = 8 };
        using var image = new MagickImage(frame.Pixels, settings);
        image.Write(path, MagickFormat.Png);
        return path;
    }

    /// <summary>The rlmemory command in a process of its own (native code cannot take the test host down with it).</summary>
    private sealed class ViewerProcess : IDisposable
    {
        private readonly Task<string> _output;
        private readonly Task<string> _error;

        public ViewerProcess(IReadOnlyDictionary<string, string?> environment, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(CliInterruptionTests.CliPath());
            foreach (string a in args)
            {
                start.ArgumentList.Add(a);
            }

            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    start.Environment.Remove(key);
                }
                else
                {
                    start.Environment[key] = value;
                }
            }

            Process = Process.Start(start)!;
            _output = Process.StandardOutput.ReadToEndAsync();
            _error = Process.StandardError.ReadToEndAsync();
        }

        public Process Process { get; }

        public (int Code, string Output, string Error) Wait()
        {
            Assert.True(Process.WaitForExit(TimeSpan.FromMinutes(3)), "the command did not end");
            return (Process.ExitCode, _output.Result, _error.Result);
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }

            Process.Dispose();
        }
    }
}
