using ImageMagick;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Recording;

/// <summary>
/// Writes an animated GIF with Magick.NET: frames are kept in memory (about width × height × 3 bytes each) and written
/// at <see cref="VideoWriter.Commit"/> with one shared 256-colour palette (no dithering, so flat colours stay exact),
/// a delay of <c>round(100 / fps)</c> hundredths of a second per frame, looping forever.
/// </summary>
internal sealed class GifVideoWriter : VideoWriter
{
    private readonly MagickImageCollection _frames = [];

    public GifVideoWriter(string path, int width, int height, int fps)
        : base(path, width, height, fps)
    {
        Delay = GifDelay(fps);
    }

    /// <summary>The delay between frames in hundredths of a second.</summary>
    public uint Delay { get; }

    /// <summary>The GIF delay for <paramref name="fps"/> frames per second: <c>round(100 / fps)</c>, at least 1.</summary>
    public static uint GifDelay(int fps) => (uint)Math.Max(1, (int)Math.Round(100.0 / fps, MidpointRounding.AwayFromZero));

    protected override void AppendCore(RgbFrame frame)
    {
        var settings = new PixelReadSettings((uint)frame.Width, (uint)frame.Height, StorageType.Char, PixelMapping.RGB);
        var image = new MagickImage(frame.Pixels, settings)
        {
            AnimationDelay = Delay,
            AnimationTicksPerSecond = 100,
            GifDisposeMethod = GifDisposeMethod.None,
        };
        _frames.Add(image);
    }

    protected override void WriteTemporary()
    {
        _frames[0].AnimationIterations = 0; // loop forever
        _frames.Quantize(new QuantizeSettings { Colors = 256, DitherMethod = DitherMethod.No });
        using var stream = new FileStream(TemporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        _frames.Write(stream, MagickFormat.Gif);
        stream.Flush(flushToDisk: true);
    }

    protected override void ReleaseResources() => _frames.Dispose();
}
