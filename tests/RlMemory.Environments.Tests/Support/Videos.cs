using System.Diagnostics;
using System.Globalization;
using ImageMagick;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Tests.Support;

/// <summary>Decodes what the recorders wrote: GIFs with Magick.NET, MP4s with ffprobe and ffmpeg.</summary>
internal static class Videos
{
    public const string NoFfmpeg =
        "ffmpeg/ffprobe are not on PATH, so the MP4 tests cannot run: install them (apt-get install ffmpeg); .ci/run does.";

    /// <summary>Whether both ffmpeg and ffprobe are on PATH.</summary>
    public static bool HaveFfmpeg { get; } = Ffmpeg.Find() is not null && FindOnPath("ffprobe") is not null;

    /// <summary>A decoded GIF: each frame composed as shown, with its delay in hundredths of a second.</summary>
    public static (IReadOnlyList<RgbFrame> Frames, IReadOnlyList<uint> Delays, uint Iterations) ReadGif(string path)
    {
        using var collection = new MagickImageCollection(path);
        var delays = collection.Select(image => image.AnimationDelay).ToArray();
        uint iterations = collection[0].AnimationIterations;
        collection.Coalesce();
        var frames = new List<RgbFrame>(collection.Count);
        foreach (IMagickImage<byte> image in collection)
        {
            using IPixelCollection<byte> pixels = image.GetPixels();
            byte[] rgb = pixels.ToByteArray(PixelMapping.RGB) ?? throw new InvalidOperationException($"{path}: no pixels.");
            frames.Add(new RgbFrame((int)image.Width, (int)image.Height, rgb));
        }

        return (frames, delays, iterations);
    }

    /// <summary>ffprobe's count of decoded frames and the stream's size and frame rate.</summary>
    public static (int Frames, int Width, int Height, string FrameRate, string Codec, string PixelFormat) ProbeMp4(string path)
    {
        string output = Run("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
            "-show_entries", "stream=nb_read_frames,width,height,r_frame_rate,codec_name,pix_fmt", "-of", "default=noprint_wrappers=1", path);
        var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1]);
        return (
            int.Parse(values["nb_read_frames"], CultureInfo.InvariantCulture),
            int.Parse(values["width"], CultureInfo.InvariantCulture),
            int.Parse(values["height"], CultureInfo.InvariantCulture),
            values["r_frame_rate"],
            values["codec_name"],
            values["pix_fmt"]);
    }

    /// <summary>The MP4's frames decoded to RGB by ffmpeg.</summary>
    public static IReadOnlyList<RgbFrame> ReadMp4Frames(string path, int width, int height)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var buffer = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(buffer);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"ffmpeg could not decode {path}: {stderr.Result}");
        byte[] all = buffer.ToArray();
        int frameBytes = width * height * 3;
        Assert.Equal(0, all.Length % frameBytes);
        return Enumerable.Range(0, all.Length / frameBytes)
            .Select(i => new RgbFrame(width, height, all.AsSpan(i * frameBytes, frameBytes).ToArray()))
            .ToArray();
    }

    /// <summary>The mean absolute difference per channel between two frames of the same size.</summary>
    public static double MeanAbsoluteDifference(RgbFrame a, RgbFrame b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        long sum = 0;
        for (int i = 0; i < a.Pixels.Length; i++)
        {
            sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        }

        return sum / (double)a.Pixels.Length;
    }

    /// <summary>Writes an executable shell script (for a fake ffmpeg) and returns its path.</summary>
    public static string WriteScript(string path, string body)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Fake ffmpeg scripts need a POSIX shell.");
        }

        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} failed: {stderr.Result}");
        return output;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>A fact that is skipped, with a message saying how to install ffmpeg, when ffmpeg or ffprobe is missing.</summary>
internal sealed class FfmpegFactAttribute : FactAttribute
{
    public FfmpegFactAttribute()
    {
        if (!Videos.HaveFfmpeg)
        {
            Skip = Videos.NoFfmpeg;
        }
    }
}

/// <summary>A fact that runs a shell script as a fake ffmpeg: skipped on Windows.</summary>
internal sealed class FakeFfmpegFactAttribute : FactAttribute
{
    public FakeFfmpegFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "These tests use POSIX shell scripts as fake ffmpeg executables.";
        }
    }
}
