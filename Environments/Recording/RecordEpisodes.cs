using System.Globalization;
using RlMemory.Environments.Rendering;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Recording;

/// <summary>
/// Records chosen episodes to video files (Gymnasium's <c>RecordVideo</c>): for each episode the
/// <see cref="EpisodeTrigger"/> selects, a frame is drawn after <c>Reset</c> and after every <c>Step</c>, and when the
/// episode ends (terminated or truncated) the video is written to <c>&lt;folder&gt;/&lt;prefix&gt;-episode-&lt;n&gt;.gif</c>
/// (and/or <c>.mp4</c>), n counting resets from 0. The innermost environment must implement <see cref="IRenderable"/>.
/// </summary>
/// <remarks>
/// <para>Files are written atomically (a temporary file in the same folder, flushed, then renamed), replacing a file of
/// the same name. An episode cut short by <c>Reset</c> is written with the frames it has; one still running when the
/// wrapper is disposed (e.g. because the caller's code threw) is discarded, so no file ever holds a broken video.</para>
/// <para>A video that cannot be written makes the <c>Step</c> (or <c>Reset</c>) that ended its episode throw an
/// <see cref="IOException"/> naming the file; the environment itself has stepped. Drawing does not change the
/// environment's state or random generator, so recorded and unrecorded runs with the same seeds are identical.</para>
/// </remarks>
public sealed class RecordEpisodes<TAction> : Wrapper<TAction>
{
    private readonly FrameCapture _capture;
    private readonly IReadOnlyList<VideoFormats> _formats;
    private readonly string? _ffmpegPath;
    private readonly List<string> _recordedFiles = [];
    private List<VideoWriter>? _writers;
    private int _episode = -1;
    private bool _disposed;

    /// <summary>Wraps <paramref name="inner"/> to record its episodes.</summary>
    /// <param name="inner">The environment; its innermost environment must implement <see cref="IRenderable"/>.</param>
    /// <param name="folder">The folder for the videos; created if missing.</param>
    /// <param name="trigger">Which episodes to record; default <see cref="EpisodeTrigger.CappedCubic"/> (Gymnasium's default).</param>
    /// <param name="namePrefix">The start of each file name (default <c>rl-video</c>, as Gymnasium's).</param>
    /// <param name="formats">GIF, MP4 or both (default GIF). MP4 needs ffmpeg.</param>
    /// <param name="options">Frame rate, frame size, length cap, ffmpeg path; default <see cref="RecordingOptions.Default"/>.</param>
    /// <exception cref="InvalidOperationException">The environment cannot render, or MP4 is asked for and ffmpeg is not on PATH.</exception>
    /// <exception cref="IOException">The folder cannot be created or written.</exception>
    /// <exception cref="ArgumentException">No format, or a prefix that is empty or not a plain file name.</exception>
    public RecordEpisodes(
        IEnv<TAction> inner,
        string folder,
        EpisodeTrigger? trigger = null,
        string namePrefix = "rl-video",
        VideoFormats formats = VideoFormats.Gif,
        RecordingOptions? options = null)
        : base(inner)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        IRenderable renderable = RenderExtensions.RequireRenderable(inner);
        _formats = formats.Split();
        if (_formats.Count == 0 || (formats & ~(VideoFormats.Gif | VideoFormats.Mp4)) != 0)
        {
            throw new ArgumentException($"RecordEpisodes: formats must be Gif, Mp4 or Gif | Mp4, got {formats}.", nameof(formats));
        }

        CheckPrefix(namePrefix);
        Options = options ?? RecordingOptions.Default;
        if (formats.HasFlag(VideoFormats.Mp4))
        {
            _ffmpegPath = Ffmpeg.Require(Options.FfmpegPath);
        }

        Folder = OutputFiles.EnsureWritableFolder(folder);
        Trigger = trigger ?? EpisodeTrigger.CappedCubic;
        NamePrefix = namePrefix;
        Formats = formats;
        Fps = Options.Fps ?? renderable.RenderFps;
        _capture = new FrameCapture(renderable, Options.Scale);
    }

    /// <summary>The full path of the folder videos are written to.</summary>
    public string Folder { get; }

    /// <summary>The episodes recorded.</summary>
    public EpisodeTrigger Trigger { get; }

    /// <summary>The start of the file names.</summary>
    public string NamePrefix { get; }

    /// <summary>The formats written.</summary>
    public VideoFormats Formats { get; }

    /// <summary>The options in force.</summary>
    public RecordingOptions Options { get; }

    /// <summary>The videos' frame rate (the option's, or the environment's natural rate).</summary>
    public int Fps { get; }

    /// <summary>The frame width in pixels.</summary>
    public int FrameWidth => _capture.Frame.Width;

    /// <summary>The frame height in pixels.</summary>
    public int FrameHeight => _capture.Frame.Height;

    /// <summary>The index of the current episode (0 for the first <c>Reset</c>), or −1 before the first <c>Reset</c>.</summary>
    public int EpisodeIndex => _episode;

    /// <summary>Whether the current episode is being recorded.</summary>
    public bool IsRecording => _writers is not null;

    /// <summary>The full paths of the videos written so far, in order.</summary>
    public IReadOnlyList<string> RecordedFiles => _recordedFiles.AsReadOnly();

    /// <summary>The path the video of episode <paramref name="episode"/> gets in <paramref name="format"/>.</summary>
    public string PathOf(int episode, VideoFormats format) =>
        Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"{NamePrefix}-episode-{episode}{format.Extension()}"));

    /// <inheritdoc />
    public override Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_writers is not null)
        {
            Finish(); // the episode under way was cut short: write what it has
        }

        Info info = Inner.Reset(observation, seed, options);
        _episode++;
        if (Trigger.ShouldRecord(_episode))
        {
            Start();
            Capture();
        }

        return info;
    }

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StepResult result = Inner.Step(action, observation);
        if (_writers is not null)
        {
            Capture();
            if (result.Done && _writers is not null)
            {
                Finish();
            }
        }

        return result;
    }

    /// <summary>Discards a video whose episode has not ended, releases the drawing surface and disposes the inner environment.</summary>
    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Abort();
            _capture.Dispose();
        }
        finally
        {
            base.Dispose();
        }
    }

    /// <summary>
    /// Saves the episode counter (so the trigger picks the same episodes after a restore). An episode being recorded
    /// when the state is restored is dropped, not written.
    /// </summary>
    protected override void WriteStateCore(BinaryWriter writer) => writer.Write(_episode);

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        int episode = reader.ReadInt32();
        Abort();
        _episode = episode;
    }

    private void Start()
    {
        var writers = new List<VideoWriter>(_formats.Count);
        try
        {
            foreach (VideoFormats format in _formats)
            {
                writers.Add(VideoWriter.Create(format, PathOf(_episode, format), FrameWidth, FrameHeight, Fps, _ffmpegPath));
            }
        }
        catch
        {
            DisposeAll(writers);
            throw;
        }

        _writers = writers;
    }

    private void Capture()
    {
        List<VideoWriter> writers = _writers!;
        try
        {
            RgbFrame frame = _capture.Capture();
            foreach (VideoWriter writer in writers)
            {
                writer.Append(frame);
            }
        }
        catch
        {
            Abort();
            throw;
        }

        if (Options.MaxFrames is int max && writers[0].FrameCount >= max)
        {
            Finish();
        }
    }

    private void Finish()
    {
        List<VideoWriter> writers = _writers!;
        _writers = null;
        try
        {
            foreach (VideoWriter writer in writers)
            {
                writer.Commit();
                _recordedFiles.Add(writer.Path);
            }
        }
        finally
        {
            DisposeAll(writers);
        }
    }

    private void Abort()
    {
        if (_writers is { } writers)
        {
            _writers = null;
            DisposeAll(writers);
        }
    }

    private static void DisposeAll(List<VideoWriter> writers)
    {
        List<Exception>? errors = null;
        foreach (VideoWriter writer in writers)
        {
            try
            {
                writer.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                (errors ??= []).Add(e);
            }
        }

        if (errors is not null)
        {
            throw new AggregateException("Could not clean up after recording: delete the temporary files left in the video folder by hand.", errors);
        }
    }

    private static void CheckPrefix(string namePrefix)
    {
        ArgumentNullException.ThrowIfNull(namePrefix);
        if (namePrefix.Length == 0 || namePrefix.Trim().Length == 0
            || namePrefix.IndexOfAny(['/', '\\']) >= 0 || namePrefix.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            || namePrefix is "." or "..")
        {
            throw new ArgumentException(
                $"RecordEpisodes: namePrefix must be a plain file name without '/' or '\\', got '{namePrefix}'.", nameof(namePrefix));
        }
    }
}
