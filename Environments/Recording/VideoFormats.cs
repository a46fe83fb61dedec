namespace RlMemory.Environments.Recording;

/// <summary>The video formats the recorders write; combine them to write an episode in both.</summary>
[Flags]
public enum VideoFormats
{
    /// <summary>No format.</summary>
    None = 0,

    /// <summary>Animated GIF (<c>.gif</c>), written with Magick.NET; needs nothing else.</summary>
    Gif = 1,

    /// <summary>H.264 video in an MP4 container (<c>.mp4</c>), written by piping frames to <c>ffmpeg</c>, which must be installed.</summary>
    Mp4 = 2,
}

/// <summary>File extensions of <see cref="VideoFormats"/>.</summary>
public static class VideoFormatExtensions
{
    /// <summary>The extension of a single format, with its dot: <c>.gif</c> or <c>.mp4</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="format"/> is not exactly one format.</exception>
    public static string Extension(this VideoFormats format) => format switch
    {
        VideoFormats.Gif => ".gif",
        VideoFormats.Mp4 => ".mp4",
        _ => throw new ArgumentException($"Expected a single video format (Gif or Mp4), got {format}.", nameof(format)),
    };

    /// <summary>The format a path's extension names (<c>.gif</c> or <c>.mp4</c>, any case).</summary>
    /// <exception cref="ArgumentException">The extension is missing or names no supported format.</exception>
    public static VideoFormats FromPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string extension = Path.GetExtension(path);
        if (extension.Equals(".gif", StringComparison.OrdinalIgnoreCase))
        {
            return VideoFormats.Gif;
        }

        if (extension.Equals(".mp4", StringComparison.OrdinalIgnoreCase))
        {
            return VideoFormats.Mp4;
        }

        throw new ArgumentException(
            $"'{path}': the output file must end in .gif (animated GIF) or .mp4 (H.264 video, needs ffmpeg); got "
            + (extension.Length == 0 ? "no extension." : $"'{extension}'."),
            nameof(path));
    }

    /// <summary>The single formats in <paramref name="formats"/>, GIF first.</summary>
    internal static IReadOnlyList<VideoFormats> Split(this VideoFormats formats)
    {
        var list = new List<VideoFormats>(2);
        if (formats.HasFlag(VideoFormats.Gif))
        {
            list.Add(VideoFormats.Gif);
        }

        if (formats.HasFlag(VideoFormats.Mp4))
        {
            list.Add(VideoFormats.Mp4);
        }

        return list;
    }
}
