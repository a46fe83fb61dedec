using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Tests.Support;

namespace RlMemory.Environments.Tests.Recording;

/// <summary>Bad output paths, missing or failing ffmpeg, and failures mid-episode: clear errors, and never a partial file.</summary>
public sealed class RecordingBadInputTests : IDisposable
{
    private static readonly RecordingOptions Small = new() { Scale = 0.25 };
    private readonly TempFolder _folder = new();
    private int _policyCalls;

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("out.avi", "got '.avi'")]
    [InlineData("out", "got no extension")]
    public void AnUnknownExtension_IsRefusedBeforePlaying(string name, string detail)
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<ArgumentException>(() => EpisodeRecorder.Record(env, CountingPolicy, _folder.File(name)));
        Assert.Contains("must end in .gif (animated GIF) or .mp4", ex.Message);
        Assert.Contains(detail, ex.Message);
        Assert.Equal(0, _policyCalls);
    }

    [Fact]
    public void AnOutputFolderThatCannotBeCreated_IsNamedInTheError_BeforePlaying()
    {
        string file = _folder.File("not-a-folder");
        File.WriteAllText(file, "x");
        string path = Path.Combine(file, "videos", "out.gif");
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<IOException>(() => EpisodeRecorder.Record(env, CountingPolicy, path));
        Assert.StartsWith($"Cannot write the video to '{path}'", ex.Message);
        Assert.Contains("Choose a folder you can write to", ex.Message);
        Assert.Equal(0, _policyCalls);
        Assert.Equal(["not-a-folder"], _folder.FileNames());
    }

    [Fact]
    public void AnOutputPathThatIsAFolder_IsRefused()
    {
        string path = _folder.File("taken.gif");
        Directory.CreateDirectory(path);
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<IOException>(() => EpisodeRecorder.Record(env, CountingPolicy, path));
        Assert.Equal($"Cannot write the video to '{path}': it is a folder. Give a file name ending in .gif or .mp4.", ex.Message);
        Assert.Equal(0, _policyCalls);
    }

    [Fact]
    public void AReadOnlyFileSystem_IsRefusedBeforePlaying()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc is Linux's
        }

        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<IOException>(() => EpisodeRecorder.Record(env, CountingPolicy, "/proc/rlmemory-videos/out.gif"));
        Assert.StartsWith("Cannot write the video to '/proc/rlmemory-videos/out.gif'", ex.Message);
        Assert.Equal(0, _policyCalls);
    }

    [Fact]
    public void APolicyThatThrowsMidEpisode_LeavesNoFile_AndKeepsAnOlderFileIntact()
    {
        string path = _folder.File("episode.gif");
        File.WriteAllText(path, "an older video");
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<InvalidOperationException>(() => EpisodeRecorder.Record(env, ThrowsAtStep(4), path, seed: 0));
        Assert.Equal("policy failed at step 4", ex.Message);
        Assert.Equal(["episode.gif"], _folder.FileNames()); // no temporary file left
        Assert.Equal("an older video", File.ReadAllText(path));
    }

    [Fact]
    public void AnEnvironmentThatCannotDraw_IsRefusedBeforePlaying()
    {
        using var env = new CountingEnv(terminateAt: 3);
        var ex = Assert.Throws<InvalidOperationException>(() => EpisodeRecorder.Record(env, CountingPolicy, _folder.File("x.gif")));
        Assert.StartsWith("CountingEnv cannot render", ex.Message);
        Assert.Equal(0, _policyCalls);
        Assert.Empty(_folder.FileNames());
    }

    [Fact]
    public void ArgumentsOutOfRange_AreRefusedWithTheirNames()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        Assert.Contains("episodes must be at least 1", Assert.Throws<ArgumentOutOfRangeException>(() => EpisodeRecorder.Record(env, CountingPolicy, _folder.File("a.gif"), episodes: 0)).Message);
        Assert.Contains("seed must be in", Assert.Throws<ArgumentOutOfRangeException>(() => EpisodeRecorder.Record(env, CountingPolicy, _folder.File("a.gif"), seed: -1)).Message);
        Assert.Contains("RecordingOptions.Fps must be in [1, 100]", Assert.Throws<ArgumentOutOfRangeException>(() => new RecordingOptions { Fps = 0 }).Message);
        Assert.Contains("RecordingOptions.Scale must be in (0, 16], got -1", Assert.Throws<ArgumentOutOfRangeException>(() => new RecordingOptions { Scale = -1 }).Message);
        Assert.Contains("RecordingOptions.MaxFrames must be at least 1", Assert.Throws<ArgumentOutOfRangeException>(() => new RecordingOptions { MaxFrames = 0 }).Message);
        Assert.Equal(0, _policyCalls);
    }

    [Fact]
    public void Mp4WithoutFfmpeg_SaysHowToInstallIt()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Ffmpeg.Require(null, pathVariable: _folder.Path));
        Assert.Contains("Writing MP4 video needs ffmpeg, which was not found on PATH.", ex.Message);
        Assert.Contains("apt-get install ffmpeg", ex.Message);
        Assert.Contains("or record a .gif instead", ex.Message);
        Assert.Null(Ffmpeg.Find(null, pathVariable: ""));

        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var missing = Assert.Throws<FileNotFoundException>(() => EpisodeRecorder.Record(
            env, CountingPolicy, _folder.File("a.mp4"), options: new RecordingOptions { FfmpegPath = _folder.File("ffmpeg") }));
        Assert.Contains("does not exist", missing.Message);
        Assert.Equal(0, _policyCalls);
    }

    [FakeFfmpegFact]
    public void AnFfmpegThatFails_IsReportedWithItsMessages_AndLeavesNoFile()
    {
        // Reads every frame, writes half a file to its output (the last argument), complains and fails.
        string fake = Videos.WriteScript(_folder.File("fake-ffmpeg"),
            "for last; do :; done\ncat > /dev/null\necho partial > \"$last\"\necho 'Unknown encoder libx264' >&2\nexit 3");
        string path = _folder.File("video.mp4");
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<IOException>(() => EpisodeRecorder.Record(
            env, _ => 1, path, seed: 0, options: Small with { FfmpegPath = fake }));
        Assert.Contains("ffmpeg failed (exit code 3)", ex.Message);
        Assert.Contains($"'{path}'", ex.Message);
        Assert.Contains("Unknown encoder libx264", ex.Message);
        Assert.Equal(["fake-ffmpeg"], _folder.FileNames());
    }

    [FakeFfmpegFact]
    public void AnFfmpegThatDiesWhileReceivingFrames_IsReported_AndLeavesNoFile()
    {
        string fake = Videos.WriteScript(_folder.File("fake-ffmpeg"), "echo 'cannot open display' >&2\nexit 1");
        string path = _folder.File("video.mp4");
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<IOException>(() => EpisodeRecorder.Record(env, _ => 1, path, seed: 0, options: new RecordingOptions { FfmpegPath = fake }));
        Assert.Contains("ffmpeg", ex.Message);
        Assert.Contains("cannot open display", ex.Message);
        Assert.Equal(["fake-ffmpeg"], _folder.FileNames());
    }

    [FakeFfmpegFact]
    public void RecordEpisodes_ReportsFfmpegFailureFromTheStepThatEndsTheEpisode_AndLeavesNoFile()
    {
        string fake = Videos.WriteScript(_folder.File("fake-ffmpeg"), "cat > /dev/null\necho 'disk full' >&2\nexit 1");
        using var env = new RecordEpisodes<int>(
            EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.All, "v", VideoFormats.Gif | VideoFormats.Mp4, Small with { FfmpegPath = fake });
        var obs = new float[4];
        env.Reset(obs, seed: 0);
        var ex = Assert.Throws<IOException>(() =>
        {
            while (!env.Step(1, obs).Done)
            {
            }
        });
        Assert.Contains("disk full", ex.Message);
        Assert.Contains("v-episode-0", ex.Message);
        // The GIF is written first; the MP4 failed and left nothing, not even a temporary file.
        Assert.Equal(["fake-ffmpeg", "v-episode-0.gif"], _folder.FileNames());
    }

    private int CountingPolicy(ReadOnlySpan<float> observation)
    {
        _policyCalls++;
        return 0;
    }

    private static Func<ReadOnlySpan<float>, int> ThrowsAtStep(int step)
    {
        int t = 0;
        return _ => ++t < step ? 0 : throw new InvalidOperationException($"policy failed at step {step}");
    }
}
