using RlMemory.Environments.Recording;
using RlMemory.Environments.Rendering;
using RlMemory.Environments.Tests.Support;

namespace RlMemory.Environments.Tests.Recording;

public sealed class ComposeFrameTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The picture with a band of one colour to its right: what a side panel (e.g. memory heatmaps) looks like.</summary>
    private static Func<RgbFrame, RgbFrame> WithBand(int width, Rgb color, List<int>? calls = null)
    {
        RgbFrame? output = null;
        return picture =>
        {
            calls?.Add(picture.Width);
            output ??= new RgbFrame(picture.Width + width, picture.Height);
            for (int y = 0; y < picture.Height; y++)
            {
                Array.Copy(picture.Pixels, y * picture.Width * 3, output.Pixels, y * output.Width * 3, picture.Width * 3);
                for (int x = picture.Width; x < output.Width; x++)
                {
                    output[x, y] = color;
                }
            }

            return output;
        };
    }

    [Fact]
    public void Gif_WritesTheComposedFrames_AtTheirSize()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("composed.gif");
        var calls = new List<int>();
        RecordingResult result = EpisodeRecorder.Record(env, _ => 1, path, seed: 0, composeFrame: WithBand(100, new Rgb(0, 0, 255), calls));

        Assert.Equal((700, 400), (result.Width, result.Height));
        var (frames, _, _) = Videos.ReadGif(path);
        Assert.Equal(result.FrameCount, frames.Count);
        Assert.Equal(result.FrameCount, calls.Count);
        Assert.All(calls, w => Assert.Equal(600, w));
        Assert.All(frames, f => Assert.Equal((700, 400), (f.Width, f.Height)));
        Assert.Equal(new Rgb(0, 0, 255), frames[^1][650, 200]);
        Assert.Equal(Rgb.Black, frames[0][300, 300]); // the cart, from the environment's picture
    }

    [FfmpegFact]
    public void Mp4_WritesTheComposedFrames_AtTheirSize()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("composed.mp4");
        RecordingResult result = EpisodeRecorder.Record(env, _ => 1, path, seed: 0, options: new RecordingOptions { MaxFrames = 5 }, composeFrame: WithBand(101, new Rgb(0, 0, 255)));
        Assert.Equal((702, 400), (result.Width, result.Height)); // 701 padded to even
        var probe = Videos.ProbeMp4(path);
        Assert.Equal((5, 702, 400), (probe.Frames, probe.Width, probe.Height));
    }

    [Fact]
    public void ComposedFramesOfChangingSize_AreRefused_AndNothingIsWritten()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        string path = _folder.File("bad.gif");
        int call = 0;
        var e = Assert.Throws<ArgumentException>(() => EpisodeRecorder.Record(env, _ => 1, path, seed: 0, composeFrame: picture => new RgbFrame(10 + call++, 10)));
        Assert.Contains("has 10×10 frames; got a 11×10 frame", e.Message, StringComparison.Ordinal);
        Assert.Empty(_folder.FileNames());
    }
}
