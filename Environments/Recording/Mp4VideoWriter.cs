using System.Diagnostics;
using System.Globalization;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Recording;

/// <summary>
/// Writes an H.264 MP4 by piping raw RGB frames to an <c>ffmpeg</c> process (libx264, yuv420p, which players expect).
/// yuv420p needs even dimensions, so an odd width or height is padded with one white column or row. ffmpeg writes to a
/// temporary file; a failure of ffmpeg (its exit code and last messages are reported) deletes it.
/// </summary>
internal sealed class Mp4VideoWriter : VideoWriter
{
    private const int StderrLinesKept = 20;

    private readonly Process _process;
    private readonly Queue<string> _stderr = new();
    private readonly Stream _stdin;

    public Mp4VideoWriter(string path, int width, int height, int fps, string ffmpegPath)
        : base(path, width, height, fps)
    {
        var start = new ProcessStartInfo(ffmpegPath)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string argument in Arguments(width, height, fps, TemporaryPath))
        {
            start.ArgumentList.Add(argument);
        }

        _process = new Process { StartInfo = start };
        _process.ErrorDataReceived += (_, e) => KeepStderr(e.Data);
        _process.OutputDataReceived += (_, e) => KeepStderr(e.Data);
        try
        {
            _process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _process.Dispose();
            throw new IOException($"Could not start ffmpeg ('{ffmpegPath}') to write '{path}': {e.Message}. {Ffmpeg.InstallHint}", e);
        }

        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        _stdin = _process.StandardInput.BaseStream;
    }

    /// <summary>The ffmpeg arguments that read raw rgb24 frames from stdin and write an MP4 to <paramref name="output"/>.</summary>
    internal static IReadOnlyList<string> Arguments(int width, int height, int fps, string output)
    {
        var arguments = new List<string>
        {
            "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pixel_format", "rgb24",
            "-video_size", string.Create(CultureInfo.InvariantCulture, $"{width}x{height}"),
            "-framerate", fps.ToString(CultureInfo.InvariantCulture),
            "-i", "pipe:0",
            "-an",
        };
        if (width % 2 != 0 || height % 2 != 0)
        {
            arguments.AddRange(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0:color=white"]);
        }

        arguments.AddRange(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", output]);
        return arguments;
    }

    protected override void AppendCore(RgbFrame frame)
    {
        try
        {
            _stdin.Write(frame.Pixels);
        }
        catch (IOException e)
        {
            throw Failure("stopped while receiving frames", e);
        }
    }

    protected override void WriteTemporary()
    {
        try
        {
            _stdin.Flush();
            _stdin.Close();
        }
        catch (IOException e)
        {
            throw Failure("stopped before the last frame", e);
        }

        _process.WaitForExit();
        if (_process.ExitCode != 0)
        {
            throw Failure("failed", null);
        }

        if (!File.Exists(TemporaryPath) || new FileInfo(TemporaryPath).Length == 0)
        {
            throw Failure("exited successfully but wrote no video", null);
        }
    }

    protected override void ReleaseResources()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private IOException Failure(string what, Exception? inner)
    {
        if (!_process.HasExited)
        {
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        if (_process.HasExited)
        {
            _process.WaitForExit(); // flushes the asynchronous stderr reader
        }

        string messages;
        lock (_stderr)
        {
            messages = _stderr.Count == 0 ? "(ffmpeg printed nothing)" : string.Join(Environment.NewLine, _stderr);
        }

        string code = _process.HasExited ? string.Create(CultureInfo.InvariantCulture, $" (exit code {_process.ExitCode})") : "";
        return new IOException($"ffmpeg {what}{code} while writing the video '{Path}'. ffmpeg said:{Environment.NewLine}{messages}", inner);
    }

    private void KeepStderr(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }

        lock (_stderr)
        {
            if (_stderr.Count == StderrLinesKept)
            {
                _stderr.Dequeue();
            }

            _stderr.Enqueue(line);
        }
    }
}
