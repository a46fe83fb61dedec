namespace RlMemory.Environments.Recording;

/// <summary>
/// How recorders turn an episode into a video: frame rate, frame size, a cap on the length, and where ffmpeg is.
/// Each property is validated when set, with a message that names it, the bad value and the allowed range.
/// </summary>
public sealed record RecordingOptions
{
    private readonly int? _fps;
    private readonly double _scale = 1.0;
    private readonly int? _maxFrames;
    private readonly string? _ffmpegPath;

    /// <summary>The default options: the environment's own frame rate, full size, whole episodes, ffmpeg from PATH.</summary>
    public static RecordingOptions Default { get; } = new();

    /// <summary>
    /// Frames per second of the video, in [1, 100], or null (the default) for the environment's
    /// <see cref="Rendering.IRenderable.RenderFps"/> (its natural speed: 50 for CartPole, 30 for MountainCar and Pendulum,
    /// 15 for Acrobot). A GIF stores delays in hundredths of a second, so it plays at <c>100 / round(100 / fps)</c>.
    /// </summary>
    public int? Fps
    {
        get => _fps;
        init => _fps = value is null or (>= 1 and <= 100)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Fps), value, $"RecordingOptions.Fps must be in [1, 100] (or null for the environment's rate), got {value}.");
    }

    /// <summary>
    /// The frame size relative to the environment's picture, in (0, 16]; default 1 (CartPole: 600×400). A frame is
    /// <c>round(width × scale)</c> × <c>round(height × scale)</c> pixels, drawn at that size (not resampled).
    /// </summary>
    public double Scale
    {
        get => _scale;
        init => _scale = value > 0 && value <= 16
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Scale), value, $"RecordingOptions.Scale must be in (0, 16], got {value}.");
    }

    /// <summary>
    /// The most frames one video holds, at least 1, or null (the default) for no limit. When a video is full it is
    /// written at once; <see cref="EpisodeRecorder.Record{TAction}"/> also stops playing then.
    /// </summary>
    public int? MaxFrames
    {
        get => _maxFrames;
        init => _maxFrames = value is null or >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxFrames), value, $"RecordingOptions.MaxFrames must be at least 1 (or null for no limit), got {value}.");
    }

    /// <summary>The ffmpeg executable for MP4 output, or null (the default) to look for <c>ffmpeg</c> on PATH.</summary>
    public string? FfmpegPath
    {
        get => _ffmpegPath;
        init => _ffmpegPath = value is null || !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new ArgumentException("RecordingOptions.FfmpegPath must be null (find ffmpeg on PATH) or a path, got an empty string.", nameof(FfmpegPath));
    }
}
