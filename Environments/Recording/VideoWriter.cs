using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Recording;

/// <summary>
/// Writes frames of one size to one video file. Nothing appears under the final name until <see cref="Commit"/>
/// succeeds; disposing a writer that was not committed discards everything written so far.
/// </summary>
internal abstract class VideoWriter : IDisposable
{
    protected VideoWriter(string path, int width, int height, int fps)
    {
        Path = path;
        Width = width;
        Height = height;
        Fps = fps;
        TemporaryPath = OutputFiles.TemporaryPathFor(path);
    }

    /// <summary>The final path.</summary>
    public string Path { get; }

    /// <summary>The frame width.</summary>
    public int Width { get; }

    /// <summary>The frame height.</summary>
    public int Height { get; }

    /// <summary>Frames per second.</summary>
    public int Fps { get; }

    /// <summary>The number of frames appended.</summary>
    public int FrameCount { get; private set; }

    /// <summary>Whether <see cref="Commit"/> succeeded.</summary>
    public bool Committed { get; private set; }

    /// <summary>The temporary file the video is written to before the rename.</summary>
    protected string TemporaryPath { get; }

    /// <summary>Creates the writer for one format.</summary>
    public static VideoWriter Create(VideoFormats format, string path, int width, int height, int fps, string? ffmpegPath) => format switch
    {
        VideoFormats.Gif => new GifVideoWriter(path, width, height, fps),
        VideoFormats.Mp4 => new Mp4VideoWriter(path, width, height, fps, ffmpegPath ?? Ffmpeg.Require()),
        _ => throw new ArgumentException($"Expected a single video format (Gif or Mp4), got {format}.", nameof(format)),
    };

    /// <summary>Adds a frame (its pixels are copied or consumed before this returns).</summary>
    public void Append(RgbFrame frame)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Committed)
        {
            throw new InvalidOperationException($"The video '{Path}' is already written.");
        }

        if (frame.Width != Width || frame.Height != Height)
        {
            throw new ArgumentException($"The video '{Path}' has {Width}×{Height} frames; got a {frame.Width}×{frame.Height} frame.", nameof(frame));
        }

        AppendCore(frame);
        FrameCount++;
    }

    /// <summary>Finishes the video and renames it to <see cref="Path"/>.</summary>
    /// <exception cref="InvalidOperationException">No frame was appended.</exception>
    /// <exception cref="IOException">Writing failed; nothing is left under either name.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Committed)
        {
            return;
        }

        if (FrameCount == 0)
        {
            throw new InvalidOperationException($"The video '{Path}' has no frames.");
        }

        try
        {
            WriteTemporary();
            OutputFiles.Commit(TemporaryPath, Path);
        }
        catch (Exception e)
        {
            // IOExceptions from the writers and from the rename name the file; anything else (e.g. an encoder's own
            // exception) is wrapped so that the message says which video failed.
            Exception reported = e is IOException ? e : new IOException($"Could not write the video '{Path}': {e.Message}", e);
            Exception thrown = OutputFiles.CleanUpAfter(reported, TemporaryPath);
            if (ReferenceEquals(thrown, e))
            {
                throw;
            }

            throw thrown;
        }

        Committed = true;
    }

    /// <summary>Discards an unfinished video (deleting its temporary file) and releases resources.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseResources();
        if (!Committed)
        {
            OutputFiles.DeleteTemporary(TemporaryPath);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Adds one frame.</summary>
    protected abstract void AppendCore(RgbFrame frame);

    /// <summary>Writes the complete video to <see cref="TemporaryPath"/>.</summary>
    protected abstract void WriteTemporary();

    /// <summary>Releases the writer's resources (a process, images); called once by <see cref="Dispose"/>.</summary>
    protected abstract void ReleaseResources();

    private bool _disposed;
}
