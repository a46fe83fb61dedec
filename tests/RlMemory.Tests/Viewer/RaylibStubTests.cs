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

    /// <summary>
    /// Runs <paramref name="body"/> with <see cref="RaylibLibrary.PathVariable"/> naming the stub (or <paramref name="library"/>),
    /// and the display probe answering <paramref name="noWindowBecause"/> (no display is needed to draw into the stub).
    /// </summary>
    public static void With(Action body, string? noWindowBecause = null, string? library = null)
    {
        string? saved = Environment.GetEnvironmentVariable(RaylibLibrary.PathVariable);
        RaylibWindow.ProbeDisplay probe = RaylibWindow.Probe;
        Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, library ?? LibraryPath);
        RaylibWindow.Probe = (out IDisposable? hold) =>
        {
            hold = null;
            return noWindowBecause;
        };
        try
        {
            body();
        }
        finally
        {
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, saved);
            RaylibWindow.Probe = probe;
        }
    }

    /// <summary>Compiles the stub again into <paramref name="fileName"/> in a folder of its own, with extra cc arguments (e.g. -DSTUB_BEFORE_4_5).</summary>
    public static string CompileVariant(string fileName, params string[] defines) => Compile(fileName, defines);

    private static string Compile() => Compile("libraylib.so", []);

    private static string Compile(string fileName, string[] defines)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"rlmemory-raylib-stub-{Environment.ProcessId}", string.Join("_", defines.Prepend(fileName)));
        Directory.CreateDirectory(folder);
        string output = Path.Combine(folder, fileName);
        string source = Path.Combine(AppContext.BaseDirectory, "Viewer", "Native", "raylib_stub.c");
        Assert.True(Compiler is not null, "No C compiler (cc) on PATH to build the stand-in raylib: apt-get install gcc libc6-dev.");
        using var cc = Process.Start(new ProcessStartInfo(Compiler!, [.. defines, "-shared", "-fPIC", "-O1", "-o", output, source]) { RedirectStandardError = true })!;
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
        ViewerSession frames = default;
        RaylibStub.With(() =>
        {
            using var env = EnvRegistry.Make<int>("CartPole-v1");
            using var player = new EpisodePlayer(env, new ConstantActor(1));
            using IViewerWindow window = DesktopViewer.OpenWindow(600, 400, "RlMemory test");
            frames = DesktopViewer.Run(window, player, new PlaybackClock(50, new ManualTime()), "CartPole-v1");   // time stands still: only → steps
        });

        Assert.Equal(4, frames.Frames);
        Assert.Equal(1, frames.Steps);   // the one → step: the manual clock stands still
        string[] log = RaylibStub.Log();
        Assert.Equal(["SetTraceLogLevel 7", "InitWindow 600 430 RlMemory test", "SetTraceLogLevel 4", "SetTargetFPS 60"], log[..4]);

        // Paced to CartPole's 50 steps a second while playing, 30 (the floor that keeps keys prompt) once paused.
        Assert.Equal(["SetTargetFPS 60", "SetTargetFPS 50", "SetTargetFPS 30"], log.Where(l => l.StartsWith("SetTargetFPS", StringComparison.Ordinal)));

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
        Assert.StartsWith("DrawText at 8,406 size 18 color 80,80,80,255: CartPole-v1  episode 1  step 0", texts[0], StringComparison.Ordinal);
        Assert.Contains("[paused]", texts[1], StringComparison.Ordinal);
        Assert.Contains("step 1 ", texts[2], StringComparison.Ordinal);
        Assert.Contains("[paused]", texts[3], StringComparison.Ordinal);
        Assert.Equal(["UnloadTexture 1", "CloseWindow"], log[^2..]);
    }

    [CCompilerFact]
    public void NoDisplay_IsOneLinePointingToTheBrowserViewer_AndRaylibIsNotAskedForAWindow()
    {
        // raylib 5.5's InitWindow crashes the process when it cannot open its window, so the probe's cause comes first.
        RaylibStub.Configure(closeAfterFrames: 1);
        RaylibStub.With(
            () =>
            {
                var e = Assert.Throws<InvalidOperationException>(() => DesktopViewer.OpenWindow(600, 400, "t"));
                Assert.Equal($"raylib ({RaylibStub.LibraryPath}) could not open a window: no display here (test). Watch in the browser instead: rlmemory watch <agent> without --window.", e.Message);
            },
            noWindowBecause: "no display here (test)");
        Assert.Empty(RaylibStub.Log());
    }

    [CCompilerFact]
    public void AWindowRaylibCouldNotOpen_IsOneLine_AndIsNotClosed()
    {
        // A raylib that returns from a failed InitWindow must not be asked to CloseWindow (it would free GPU resources
        // through a null OpenGL context).
        RaylibStub.Configure(closeAfterFrames: 1, windowReady: false);
        RaylibStub.With(() =>
        {
            var e = Assert.Throws<InvalidOperationException>(() => DesktopViewer.OpenWindow(600, 400, "t"));
            Assert.Equal($"raylib ({RaylibStub.LibraryPath}) could not open a window: raylib could not create its OpenGL window (no display, or no OpenGL driver for it). Watch in the browser instead: rlmemory watch <agent> without --window.", e.Message);
        });
        Assert.Equal(["SetTraceLogLevel 7", "InitWindow 600 430 t"], RaylibStub.Log());
    }

    [CCompilerFact]
    public void ARaylibOfAnotherMajorVersion_IsRefusedInOneLine_NamingItsVersion()
    {
        // The stub, installed as raylib 6.0.0 would be (libraylib.so -> libraylib.so.600 -> libraylib.so.6.0.0).
        string real = RaylibStub.CompileVariant("libraylib.so.6.0.0");
        string folder = Path.GetDirectoryName(real)!;
        File.CreateSymbolicLink(Path.Combine(folder, "libraylib.so.600"), "libraylib.so.6.0.0");
        File.CreateSymbolicLink(Path.Combine(folder, "libraylib.so"), "libraylib.so.600");
        string link = Path.Combine(folder, "libraylib.so");
        AssertRefused(link, $"The desktop viewer needs raylib 4.5 to 5.5, but {link} is raylib 6.0.0, and the desktop viewer binds raylib 4.5 to 5.5's C API");
    }

    [CCompilerFact]
    public void ARaylibOlderThan4_5_IsRefusedInOneLine()
    {
        string old = RaylibStub.CompileVariant("libraylib.so", "-DSTUB_BEFORE_4_5");
        AssertRefused(old, $"The desktop viewer needs raylib 4.5 to 5.5, but {old} is a raylib older than 4.5 (it lacks IsImageValid and IsImageReady");
    }

    [Theory]
    [InlineData("libraylib.so.5.5.0", "5.5.0")]
    [InlineData("libraylib.so.550", "5.5.0")]
    [InlineData("libraylib.so.4.5.0", "4.5.0")]
    [InlineData("libraylib.so.600", "6.0.0")]
    [InlineData("libraylib.5.0.0.dylib", "5.0.0")]
    [InlineData("libraylib.450.dylib", "4.5.0")]
    [InlineData("libraylib.so", null)]
    [InlineData("raylib.dll", null)]
    [InlineData("libraylib.so.5", null)]
    public void TheVersion_IsReadFromTheLibrarysFileName(string name, string? version)
    {
        Assert.Equal(version, RaylibLibrary.VersionFromFileName(name)?.ToString(3));
    }

    [Theory]
    [InlineData("4.5.0", true, true)]
    [InlineData("5.0.0", true, true)]
    [InlineData("5.5.0", true, true)]
    [InlineData("4.2.0", true, false)]
    [InlineData("6.0.0", true, false)]
    [InlineData(null, true, true)]
    [InlineData(null, false, false)]
    public void Versions4_5To5_AreAccepted(string? version, bool marker, bool accepted)
    {
        string? problem = RaylibLibrary.VersionProblem("/lib/libraylib.so", version is null ? null : Version.Parse(version), marker);
        Assert.Equal(accepted, problem is null);
    }

    private static void AssertRefused(string library, string start)
    {
        Assert.False(RaylibLibrary.TryLoad([library], out RaylibApi? api, out string failure));
        Assert.Null(api);
        Assert.StartsWith(start, failure, StringComparison.Ordinal);
        Assert.EndsWith("or watch in the browser instead: rlmemory watch <agent> without --window.", failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public void ALibraryWithoutTheFunctions_IsNamedInTheError()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // libc loads, but has none of raylib's functions.
        Assert.False(RaylibLibrary.TryLoad(["libc.so.6"], out RaylibApi? api, out string failure));
        Assert.Null(api);
        Assert.StartsWith("The desktop viewer needs raylib 4.5 to 5.5, but libc.so.6 lacks InitWindow, WindowShouldClose,", failure, StringComparison.Ordinal);
        Assert.EndsWith("rlmemory watch <agent> without --window.", failure, StringComparison.Ordinal);
    }
}
