using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Rendering;
using RlMemory.Environments.Tests.Support;

namespace RlMemory.Environments.Tests.Recording;

public sealed class EpisodeRecorderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Gif_HasOneFramePerStepPlusTheReset_AtTheEnvironmentsSizeAndRate()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("cartpole.gif");
        RecordingResult result = EpisodeRecorder.Record(env, _ => 1, path, seed: 0);

        int steps = result.Episodes.Single().Length;
        Assert.InRange(steps, 5, 40); // always pushing right topples the pole quickly
        var (frames, delays, iterations) = Videos.ReadGif(path);
        Assert.Equal(steps + 1, frames.Count);
        Assert.Equal(steps + 1, result.FrameCount);
        Assert.All(frames, f => Assert.Equal((600, 400), (f.Width, f.Height)));
        Assert.Equal((path, VideoFormats.Gif, 600, 400, 50), (result.Path, result.Format, result.Width, result.Height, result.Fps));
        Assert.All(delays, d => Assert.Equal(2u, d)); // 50 fps = 2 hundredths of a second
        Assert.Equal(0u, iterations); // loops forever
        for (int i = 1; i < frames.Count; i++)
        {
            Assert.False(frames[i].SamePixels(frames[i - 1]), $"frames {i - 1} and {i} are identical although the cart moved");
        }

        Assert.Equal(["cartpole.gif"], _folder.FileNames()); // no temporary file left
    }

    [Fact]
    public void EpisodeStarting_IsCalledBeforeEachEpisodesFirstAction_WithItsIndex()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var calls = new List<string>();
        int episode = -1;
        EpisodeRecorder.Record(
            env,
            _ =>
            {
                calls.Add($"act {episode}");
                return 1;
            },
            _folder.File("three.gif"),
            episodes: 3,
            seed: 0,
            episodeStarting: k =>
            {
                calls.Add($"start {k}");
                episode = k;
            });

        Assert.Equal(["start 0", "start 1", "start 2"], calls.Where(c => c.StartsWith("start", StringComparison.Ordinal)));
        Assert.Equal("start 0", calls[0]);
        for (int k = 1; k < 3; k++)
        {
            int at = calls.IndexOf($"start {k}");
            Assert.Equal($"act {k - 1}", calls[at - 1]); // the previous episode acted up to its end
            Assert.Equal($"act {k}", calls[at + 1]);
        }
    }

    [Fact]
    public void Gif_FramesShowTheEpisode_AsRenderFrameDrawsIt()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("check.gif");
        EpisodeRecorder.Record(env, _ => 0, path, seed: 4);

        // Replay the same episode and compare each decoded frame with a direct rendering (the GIF's 256-colour
        // palette may shift anti-aliased edge pixels a little, nothing more).
        using var twin = EnvRegistry.Make<int>("CartPole-v1");
        var obs = new float[4];
        twin.Reset(obs, seed: 4);
        var expected = new List<RgbFrame> { twin.RenderFrame() };
        bool done = false;
        while (!done)
        {
            done = twin.Step(0, obs).Done;
            expected.Add(twin.RenderFrame());
        }

        var (frames, _, _) = Videos.ReadGif(path);
        Assert.Equal(expected.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.True(Videos.MeanAbsoluteDifference(expected[i], frames[i]) < 0.5, $"frame {i} differs from the rendering");
        }

        // Flat colours survive the palette exactly.
        double x = twin.Unwrapped<CartPoleEnv>().State[0];
        Assert.Equal(Rgb.Black, frames[^1][(int)(x * 125 + 300) - 15, 310]);
        Assert.Equal(new Rgb(129, 132, 203), frames[^1][(int)(x * 125 + 300), 292]);
    }

    [Fact]
    public void Gif_FrameRateScaleAndLengthCapAreConfigurable()
    {
        using var env = EnvRegistry.Make<int>("Acrobot-v1");
        string path = _folder.File("acrobot.gif");
        var options = new RecordingOptions { Fps = 10, Scale = 0.25, MaxFrames = 30 };
        var rng = new NumpyRandom(1);
        RecordingResult result = EpisodeRecorder.Record(env, _ => (int)rng.Integers(0, 3), path, episodes: 2, seed: 5, options: options);

        var (frames, delays, _) = Videos.ReadGif(path);
        Assert.Equal(30, frames.Count);
        Assert.True(result.StoppedAtMaxFrames);
        Assert.Equal(29, result.Episodes.Single().Length); // Acrobot's episodes last long: the first fills the video
        Assert.All(frames, f => Assert.Equal((125, 125), (f.Width, f.Height)));
        Assert.All(delays, d => Assert.Equal(10u, d));
        Assert.Equal(10, result.Fps);
    }

    [Fact]
    public void SeveralEpisodes_FollowEachOtherInOneFile_EpisodeKSeededWithSeedPlusK()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("three.gif");
        RecordingResult result = EpisodeRecorder.Record(env, _ => 1, path, episodes: 3, seed: 7, options: new RecordingOptions { Scale = 0.25 });

        Assert.Equal(3, result.Episodes.Count);
        Assert.False(result.StoppedAtMaxFrames);
        Assert.Equal(result.Episodes.Sum(e => e.Length + 1), Videos.ReadGif(path).Frames.Count);
        for (int k = 0; k < 3; k++)
        {
            using var twin = EnvRegistry.Make<int>("CartPole-v1");
            var obs = new float[4];
            twin.Reset(obs, seed: 7 + k);
            int length = 1;
            while (!twin.Step(1, obs).Done)
            {
                length++;
            }

            Assert.Equal(length, result.Episodes[k].Length);
        }
    }

    [Fact]
    public void ContinuousActions_RecordToo()
    {
        using var env = EnvRegistry.Make<float[]>("Pendulum-v1");
        string path = _folder.File("pendulum.gif");
        RecordingResult result = EpisodeRecorder.Record(
            env, obs => [obs[1] > 0 ? -2f : 2f], path, seed: 0, options: new RecordingOptions { Scale = 0.2, MaxFrames = 12 });
        Assert.Equal(12, Videos.ReadGif(path).Frames.Count);
        Assert.Equal((100, 100, 30), (result.Width, result.Height, result.Fps));
    }

    [FfmpegFact]
    public void Mp4_HasOneFramePerStepPlusTheReset_AtTheEnvironmentsSizeAndRate()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("cartpole.mp4");
        RecordingResult result = EpisodeRecorder.Record(env, _ => 1, path, seed: 0);

        var probe = Videos.ProbeMp4(path);
        Assert.Equal(result.Episodes.Single().Length + 1, probe.Frames);
        Assert.Equal((600, 400), (probe.Width, probe.Height));
        Assert.Equal(("h264", "yuv420p", "50/1"), (probe.Codec, probe.PixelFormat, probe.FrameRate));
        Assert.Equal(["cartpole.mp4"], _folder.FileNames());

        var frames = Videos.ReadMp4Frames(path, 600, 400);
        Assert.Equal(probe.Frames, frames.Count);
        for (int i = 1; i < frames.Count; i++)
        {
            Assert.True(Videos.MeanAbsoluteDifference(frames[i], frames[i - 1]) > 0.01, $"frames {i - 1} and {i} look the same");
        }

        // The cart is where the final state puts it (lossy video: a pixel well inside the cart is dark).
        double x = env.Unwrapped<CartPoleEnv>().State[0];
        Assert.True(frames[^1][(int)(x * 125 + 300) - 15, 310].R < 40, "the last frame has no cart where the state puts it");
    }

    [FfmpegFact]
    public void Mp4_OddFrameSizesArePaddedToEven_AndTheFrameRateIsKept()
    {
        using var env = EnvRegistry.Make<int>("Acrobot-v1");
        string path = _folder.File("odd.mp4");
        RecordingResult result = EpisodeRecorder.Record(env, _ => 2, path, seed: 1, options: new RecordingOptions { Scale = 0.25, Fps = 12, MaxFrames = 9 });

        var probe = Videos.ProbeMp4(path);
        Assert.Equal((9, 126, 126, "12/1"), (probe.Frames, probe.Width, probe.Height, probe.FrameRate));
        Assert.Equal((126, 126), (result.Width, result.Height));
    }
}
