using System.Diagnostics;
using System.Runtime.InteropServices;
using RlMemory.App.Viewer;
using RlMemory.App.Viewer.Raylib;
using RlMemory.Environments;

namespace RlMemory.Tests.Viewer;

/// <summary>Tests that set <see cref="RaylibLibrary.PathVariable"/> (a process-wide setting) run one at a time.</summary>
[CollectionDefinition("raylib", DisableParallelization = true)]
public sealed class RaylibCollection;

/// <summary>A fact that needs a C compiler (cc) on Linux, to build the stand-in raylib.</summary>
public sealed class CCompilerFactAttribute : FactAttribute
{
    public CCompilerFactAttribute()
    {
        // Under CI (CI=true, set by .ci/run, which installs gcc) a missing compiler fails the test instead of skipping it.
        bool inCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!OperatingSystem.IsLinux())
        {
            Skip = "The stand-in raylib is built as a Linux shared library.";
        }
        else if (RaylibStub.Compiler is null && !inCi)
        {
            Skip = "Needs a C compiler (cc) on Linux to build the stand-in raylib (apt-get install gcc).";
        }
    }
}

/// <summary>The stand-in raylib (Native/raylib_stub.c), compiled once per test run, and its test controls.</summary>
internal static unsafe class RaylibStub
{
    private static readonly Lazy<string> LazyPath = new(Compile);

    public static string? Compiler { get; } = OperatingSystem.IsLinux()
        ? (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(d => Path.Combine(d, "cc")).FirstOrDefault(File.Exists)
        : null;

    /// <summary>The compiled library (libraylib.so in a temporary folder).</summary>
    public static string LibraryPath => LazyPath.Value;

    /// <summary>Resets the stub: the window reports closed after <paramref name="closeAfterFrames"/> frames; keys are pressed at given frames.</summary>
    public static void Configure(int closeAfterFrames, bool windowReady = true, params (int Frame, int Key)[] keys)
    {
        nint library = NativeLibrary.Load(LibraryPath);
        ((delegate* unmanaged[Cdecl]<int, int, void>)NativeLibrary.GetExport(library, "stub_configure"))(closeAfterFrames, windowReady ? 1 : 0);
        var press = (delegate* unmanaged[Cdecl]<int, int, void>)NativeLibrary.GetExport(library, "stub_press");
        foreach (var (frame, key) in keys)
        {
            press(frame, key);
        }
    }

    /// <summary>The calls logged since <see cref="Configure"/>, one per line.</summary>
    public static string[] Log()
    {
        nint library = NativeLibrary.Load(LibraryPath);
        nint text = ((delegate* unmanaged[Cdecl]<nint>)NativeLibrary.GetExport(library, "stub_log"))();
        return (Marshal.PtrToStringUTF8(text) ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Runs <paramref name="body"/> with <see cref="RaylibLibrary.PathVariable"/> naming the stub.</summary>
    public static void With(Action body)
    {
        string? saved = Environment.GetEnvironmentVariable(RaylibLibrary.PathVariable);
        Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, LibraryPath);
        try
        {
            body();
        }
        finally
        {
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, saved);
        }
    }

    private static string Compile()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"rlmemory-raylib-stub-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        string output = Path.Combine(folder, "libraylib.so");
        string source = Path.Combine(AppContext.BaseDirectory, "Viewer", "Native", "raylib_stub.c");
        Assert.True(Compiler is not null, "No C compiler (cc) on PATH to build the stand-in raylib: apt-get install gcc libc6-dev.");
        using var cc = Process.Start(new ProcessStartInfo(Compiler!, ["-shared", "-fPIC", "-O1", "-o", output, source]) { RedirectStandardError = true })!;
        string errors = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        Assert.True(cc.ExitCode == 0, $"cc failed: {errors}");
        return output;
    }
}

[Collection("raylib")]
public sealed class RaylibStubTests
{
    [CCompilerFact]
    public void TheBinding_PassesRaylibsStructsByValue_AndReadsTheReturnedTexture()
    {
        RaylibStub.Configure(closeAfterFrames: 4, keys: [(1, RaylibConstants.KeySpace), (2, RaylibConstants.KeyRight)]);
        long frames = 0;
        RaylibStub.With(() =>
        {
            using var env = EnvRegistry.Make<int>("CartPole-v1");
            using var player = new EpisodePlayer(env, new ConstantActor(1));
            using IViewerWindow window = DesktopViewer.OpenWindow(600, 400, "RlMemory test");
            frames = DesktopViewer.Run(window, player, new PlaybackClock(50, new ManualTime()), "CartPole-v1");   // time stands still: only → steps
        });

        Assert.Equal(4, frames);
        string[] log = RaylibStub.Log();
        Assert.Equal("SetTraceLogLevel 4", log[0]);
        Assert.Equal("InitWindow 600 430 RlMemory test", log[1]);
        Assert.Equal("SetTargetFPS 60", log[2]);

        // The first frame uploads a new R8G8B8 texture from an Image passed by value (CartPole's top-left pixel is white)
        // and draws the texture raylib returned by value; later frames update and draw that same texture.
        Assert.Contains("LoadTextureFromImage 600x400 mipmaps 1 format 4 first pixel 255,255,255", log);
        Assert.Equal(1, log.Count(l => l.StartsWith("LoadTextureFromImage", StringComparison.Ordinal)));
        Assert.Equal(3, log.Count(l => l == "UpdateTexture 1 600x400 mipmaps 1 format 4 first pixel 255,255,255"));
        Assert.Equal(4, log.Count(l => l == "DrawTexture 1 600x400 at 0,0 tint 255,255,255,255"));
        Assert.Equal(4, log.Count(l => l == "ClearBackground 245,245,245,255"));
        Assert.Equal(4, log.Count(l => l == "DrawRectangle 0,400 600x30 color 230,230,230,255"));

        // Space at frame 1 paused; → at frame 2 took one step.
        string[] texts = [.. log.Where(l => l.StartsWith("DrawText at", StringComparison.Ordinal))];
        Assert.Equal(4, texts.Length);
        Assert.StartsWith("DrawText at 8,407 size 18 color 80,80,80,255: CartPole-v1  episode 1  step 0", texts[0], StringComparison.Ordinal);
        Assert.Contains("[paused]", texts[1], StringComparison.Ordinal);
        Assert.Contains("step 1 ", texts[2], StringComparison.Ordinal);
        Assert.Contains("[paused]", texts[3], StringComparison.Ordinal);
        Assert.Equal(["UnloadTexture 1", "CloseWindow"], log[^2..]);
    }

    [CCompilerFact]
    public void NoDisplay_IsOneLinePointingToTheBrowserViewer()
    {
        RaylibStub.Configure(closeAfterFrames: 1, windowReady: false);
        RaylibStub.With(() =>
        {
            var e = Assert.Throws<InvalidOperationException>(() => DesktopViewer.OpenWindow(600, 400, "t"));
            Assert.StartsWith($"raylib ({RaylibStub.LibraryPath}) could not open a window: no display here", e.Message, StringComparison.Ordinal);
            Assert.EndsWith("watch in the browser: rlmemory watch <agent> without --window.", e.Message, StringComparison.Ordinal);
        });
        Assert.Equal("CloseWindow", RaylibStub.Log()[^1]);
    }

    [Fact]
    public void ALibraryWithoutTheFunctions_IsNamedInTheError()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string? saved = Environment.GetEnvironmentVariable(RaylibLibrary.PathVariable);
        try
        {
            // libc loads, but has none of raylib's functions.
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, "libc.so.6");
            if (RaylibLibrary.TryLoad(out RaylibApi? api, out string failure))
            {
                return;   // this machine has a real raylib further down the list
            }

            Assert.Null(api);
            Assert.StartsWith("The desktop viewer needs raylib 4.5 or newer, but libc.so.6 lacks InitWindow, WindowShouldClose,", failure, StringComparison.Ordinal);
            Assert.EndsWith("rlmemory watch <agent> without --window.", failure, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, saved);
        }
    }
}
