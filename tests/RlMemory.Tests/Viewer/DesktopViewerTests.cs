using System.Runtime.InteropServices;
using RlMemory.App.Viewer;
using RlMemory.App.Viewer.Raylib;
using RlMemory.Environments;
using RlMemory.Environments.Rendering;

namespace RlMemory.Tests.Viewer;

[Collection("raylib")]
public sealed class DesktopViewerTests
{
    [Fact]
    public void RaylibStructs_HaveRaylibHsLayout()
    {
        // raylib.h (4.5 to 5.5): Color {unsigned char r, g, b, a}; Image {void *data; int width, height, mipmaps, format};
        // Texture {unsigned int id; int width, height, mipmaps, format}.
        Assert.Equal(4, Marshal.SizeOf<RaylibColor>());
        Assert.Equal([0, 1, 2, 3], new[] { "<R>k__BackingField", "<G>k__BackingField", "<B>k__BackingField", "<A>k__BackingField" }.Select(f => (int)Marshal.OffsetOf<RaylibColor>(f)));
        Assert.Equal(IntPtr.Size + 16, Marshal.SizeOf<RaylibImage>());
        Assert.Equal(0, (int)Marshal.OffsetOf<RaylibImage>(nameof(RaylibImage.Data)));
        Assert.Equal(IntPtr.Size, (int)Marshal.OffsetOf<RaylibImage>(nameof(RaylibImage.Width)));
        Assert.Equal(IntPtr.Size + 4, (int)Marshal.OffsetOf<RaylibImage>(nameof(RaylibImage.Height)));
        Assert.Equal(IntPtr.Size + 8, (int)Marshal.OffsetOf<RaylibImage>(nameof(RaylibImage.Mipmaps)));
        Assert.Equal(IntPtr.Size + 12, (int)Marshal.OffsetOf<RaylibImage>(nameof(RaylibImage.Format)));
        Assert.Equal(20, Marshal.SizeOf<RaylibTexture>());
        Assert.Equal(
            [0, 4, 8, 12, 16],
            new[] { nameof(RaylibTexture.Id), nameof(RaylibTexture.Width), nameof(RaylibTexture.Height), nameof(RaylibTexture.Mipmaps), nameof(RaylibTexture.Format) }
                .Select(f => (int)Marshal.OffsetOf<RaylibTexture>(f)));
        Assert.Equal(4, RaylibConstants.PixelFormatR8G8B8);
    }

    [Fact]
    public void LibraryProbing_TriesTheExplicitPathFirst_ThenTheDevelopmentName_ThenVersionedNames()
    {
        IReadOnlyList<string> linux = RaylibLibrary.Candidates(OSPlatform.Linux, "/opt/raylib/libraylib.so");
        Assert.Equal(["/opt/raylib/libraylib.so", "libraylib.so", "libraylib.so.550", "libraylib.so.5.5.0", "libraylib.so.500"], linux.Take(5));
        Assert.Contains("libraylib.so.5", linux);
        Assert.Contains("libraylib.so.450", linux);
        Assert.Equal("/usr/local/lib/libraylib.so", linux.First(n => n.StartsWith('/') && n != "/opt/raylib/libraylib.so"));

        Assert.Equal("libraylib.so", RaylibLibrary.Candidates(OSPlatform.Linux, null)[0]);
        Assert.Equal("libraylib.so", RaylibLibrary.Candidates(OSPlatform.Linux, " ")[0]);
        Assert.Equal(["raylib.dll", "libraylib.dll"], RaylibLibrary.Candidates(OSPlatform.Windows, null));
        IReadOnlyList<string> mac = RaylibLibrary.Candidates(OSPlatform.OSX, null);
        Assert.Equal("libraylib.dylib", mac[0]);
        Assert.Contains("/opt/homebrew/lib/libraylib.dylib", mac);
    }

    [Fact]
    public void Keys_MapToPlaybackCommands()
    {
        Assert.Equal(PlaybackCommand.TogglePause, RaylibKeys.CommandFor(32));    // KEY_SPACE
        Assert.Equal(PlaybackCommand.Step, RaylibKeys.CommandFor(262));          // KEY_RIGHT
        Assert.Equal(PlaybackCommand.Step, RaylibKeys.CommandFor(78));           // KEY_N
        Assert.Equal(PlaybackCommand.Faster, RaylibKeys.CommandFor(265));        // KEY_UP
        Assert.Equal(PlaybackCommand.Faster, RaylibKeys.CommandFor(334));        // KEY_KP_ADD
        Assert.Equal(PlaybackCommand.Slower, RaylibKeys.CommandFor(264));        // KEY_DOWN
        Assert.Equal(PlaybackCommand.Slower, RaylibKeys.CommandFor(45));         // KEY_MINUS
        Assert.Null(RaylibKeys.CommandFor(81));                                  // KEY_Q closes the window instead
        Assert.Equal(81, RaylibKeys.QuitKey);
        Assert.Equal([PlaybackCommand.TogglePause, PlaybackCommand.Faster], RaylibKeys.Pressed(key => key is 32 or 265));
    }

    [Fact]
    public void WithoutRaylib_LoadingIt_SaysHowToInstallIt_AndPointsToTheBrowser()
    {
        Assert.False(RaylibLibrary.TryLoad(["/no/such/libraylib.so", "/no/such/libraylib.so.550"], out RaylibApi? api, out string failure));
        Assert.Null(api);
        Assert.StartsWith("The desktop viewer needs the raylib library (raylib 5), which was not found (tried /no/such/libraylib.so, /no/such/libraylib.so.550, …).", failure, StringComparison.Ordinal);
        Assert.Contains("bash build/raylib.sh", failure, StringComparison.Ordinal);
        Assert.Contains("brew install raylib", failure, StringComparison.Ordinal);
        Assert.Contains("vcpkg install raylib", failure, StringComparison.Ordinal);
        Assert.Contains("rlmemory watch <agent> without --window", failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public void TheCacheBuild_IsTriedLast_WhereBuildRaylibShPutsIt()
    {
        IReadOnlyList<string> linux = RaylibLibrary.Candidates(OSPlatform.Linux, null, "/home/u/.cache/rlmemory");
        Assert.Equal("/home/u/.cache/rlmemory/raylib-5.5/libraylib.so", linux[^1]);
        Assert.DoesNotContain(RaylibLibrary.Candidates(OSPlatform.OSX, null, "/c"), c => c.StartsWith("/c", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(50, 1, false, 50)]      // CartPole at 1x: one frame per step
    [InlineData(50, 2, false, 60)]      // 100 steps/s: the screen's 60 at most
    [InlineData(50, 0.5, false, 30)]    // 25 steps/s: 30 frames/s so keys answer promptly
    [InlineData(15, 4, false, 60)]
    [InlineData(50, 1, true, 30)]       // paused
    public void FramePacing_FollowsThePlaybackSpeed_Within30To60(double stepsPerSecond, double speed, bool paused, int fps)
    {
        var clock = new PlaybackClock(stepsPerSecond, new ManualTime(), paused);
        clock.SetSpeed(speed);
        Assert.Equal(fps, DesktopViewer.FrameRateFor(clock));
    }

    [Fact]
    public void FrameLoop_AppliesKeys_PausesStepsAndChangesSpeed_UntilTheWindowCloses()
    {
        var time = new ManualTime();
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        using var player = new EpisodePlayer(env, new ConstantActor(1));
        var clock = new PlaybackClock(50, time);

        // One frame per 1/50 s of the manual clock; keys pressed at given frames; the window closes after frame 8.
        var window = new FakeWindow(time, closeAfter: 8)
        {
            Keys =
            {
                [3] = [PlaybackCommand.TogglePause],
                [5] = [PlaybackCommand.Step],
                [6] = [PlaybackCommand.TogglePause, PlaybackCommand.Faster],
            },
        };
        ViewerSession session = DesktopViewer.Run(window, player, clock, "CartPole-v1");

        Assert.Equal(8, session.Frames);
        Assert.Equal(5, session.Steps);
        // Paused at frame 3, one step at frame 5, playing again at double speed from frame 6 (counting from then).
        Assert.Equal([0, 1, 2, 2, 2, 3, 3, 5], window.StepsShown);
        Assert.Contains("[paused]", window.Statuses[3], StringComparison.Ordinal);
        Assert.Contains("speed 2x", window.Statuses[6], StringComparison.Ordinal);
        Assert.StartsWith("CartPole-v1  episode 1  step 5  return 5  action 1  speed 2x", window.Statuses[7], StringComparison.Ordinal);
    }

    [Fact]
    public void FrameLoop_StopsOnCancellation()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        using var player = new EpisodePlayer(env, new ConstantActor(1));
        using var cancel = new CancellationTokenSource();
        var window = new FakeWindow(new ManualTime(), closeAfter: int.MaxValue) { OnPresent = n => { if (n == 2) { cancel.Cancel(); } } };
        Assert.Equal(2, DesktopViewer.Run(window, player, new PlaybackClock(50), "t", cancellationToken: cancel.Token).Frames);
    }

    private sealed class FakeWindow(ManualTime time, int closeAfter) : IViewerWindow
    {
        private int _presented;

        public Dictionary<int, PlaybackCommand[]> Keys { get; } = [];

        public List<int> StepsShown { get; } = [];

        public List<string> Statuses { get; } = [];

        public Action<int>? OnPresent { get; init; }

        public bool ShouldClose => _presented >= closeAfter;

        public IReadOnlyList<PlaybackCommand> TakeCommands() => Keys.GetValueOrDefault(_presented, []);

        public void Present(RgbFrame frame, RgbFrame? memoryPanel, string status)
        {
            Statuses.Add(status);
            StepsShown.Add(int.Parse(status.Split("step ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
            _presented++;
            time.AdvanceSeconds(0.02);
            OnPresent?.Invoke(_presented);
        }

        public void Dispose()
        {
        }
    }
}
