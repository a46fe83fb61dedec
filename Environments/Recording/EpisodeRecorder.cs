using System.Diagnostics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Recording;

/// <summary>What <see cref="EpisodeRecorder.Record{TAction}"/> wrote.</summary>
/// <param name="Path">The full path of the video.</param>
/// <param name="Format">Its format.</param>
/// <param name="FrameCount">The frames in the video: per episode, one after <c>Reset</c> and one per step.</param>
/// <param name="Width">The frame width in pixels.</param>
/// <param name="Height">The frame height in pixels (an MP4 pads an odd width or height by one).</param>
/// <param name="Fps">The frame rate.</param>
/// <param name="Episodes">Return, length and duration of each episode played, in order.</param>
/// <param name="StoppedAtMaxFrames">Whether playing stopped before the last episode ended because the video reached <see cref="RecordingOptions.MaxFrames"/>.</param>
public sealed record RecordingResult(
    string Path,
    VideoFormats Format,
    int FrameCount,
    int Width,
    int Height,
    int Fps,
    IReadOnlyList<EpisodeStatistics> Episodes,
    bool StoppedAtMaxFrames);

/// <summary>
/// Plays episodes with a policy and writes them to one video: the function a program (or the <c>rlmemory record</c>
/// command) calls to see what an agent does.
/// </summary>
public static class EpisodeRecorder
{
    /// <summary>
    /// Plays <paramref name="episodes"/> episodes of <paramref name="env"/> with <paramref name="policy"/> and writes them,
    /// one after another, to <paramref name="outputPath"/>: an animated GIF for <c>.gif</c>, an H.264 MP4 for <c>.mp4</c>
    /// (needs ffmpeg on PATH). The frames are the picture after each <c>Reset</c> and after every <c>Step</c>.
    /// </summary>
    /// <remarks>
    /// Everything that can be checked is checked before the first step: the extension, that the environment can
    /// render, that ffmpeg is there for MP4, and that the output folder exists (it is created if missing) and is
    /// writable. The file is written atomically: if anything fails (the policy throws, ffmpeg fails, the disk fills),
    /// no file appears under <paramref name="outputPath"/> and a file already there is left as it was. Episodes end when
    /// the environment terminates or truncates them (a registered environment has its time limit), or when the video
    /// is full (<see cref="RecordingOptions.MaxFrames"/>). The environment is not disposed.
    /// </remarks>
    /// <param name="env">The environment (wrapped or not); its innermost environment must implement <see cref="IRenderable"/>.</param>
    /// <param name="policy">Maps an observation to an action.</param>
    /// <param name="outputPath">The video file; its extension (<c>.gif</c> or <c>.mp4</c>) picks the format.</param>
    /// <param name="episodes">How many episodes to play, at least 1.</param>
    /// <param name="seed">Seed of the first episode (episode k is reset with <c>seed + k</c>), or null to continue the environment's generator.</param>
    /// <param name="options">Frame rate, frame size, length cap, ffmpeg path.</param>
    /// <param name="episodeStarting">Called with the episode's index (0, 1, ...) before each episode's reset: a recurrent policy forgets its state there.</param>
    /// <param name="composeFrame">
    /// Turns each picture into the frame written (for example, the picture with a panel beside it); null writes the
    /// picture itself. It receives the environment's picture (a frame reused between calls) and must return frames of
    /// one size, fixed by the first; the frame it returns is copied or consumed before the next call.
    /// </param>
    /// <returns>What was written.</returns>
    /// <exception cref="ArgumentException">The extension is not .gif or .mp4, or an argument is out of range.</exception>
    /// <exception cref="InvalidOperationException">The environment cannot render, or .mp4 is asked for and ffmpeg is not on PATH.</exception>
    /// <exception cref="IOException">The output cannot be written (the message names the path), or ffmpeg failed.</exception>
    public static RecordingResult Record<TAction>(
        IEnv<TAction> env,
        Func<ReadOnlySpan<float>, TAction> policy,
        string outputPath,
        int episodes = 1,
        int? seed = null,
        RecordingOptions? options = null,
        Action<int>? episodeStarting = null,
        Func<RgbFrame, RgbFrame>? composeFrame = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(policy);
        if (episodes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(episodes), episodes, $"EpisodeRecorder.Record: episodes must be at least 1, got {episodes}.");
        }

        if (seed < 0 || (seed is int s && (long)s + episodes - 1 > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(seed), seed, $"EpisodeRecorder.Record: seed must be in [0, {int.MaxValue - episodes + 1}] for {episodes} episode(s) (episode k uses seed + k), got {seed}.");
        }

        options ??= RecordingOptions.Default;
        VideoFormats format = VideoFormatExtensions.FromPath(outputPath);
        IRenderable renderable = RenderExtensions.RequireRenderable(env);
        string? ffmpeg = format == VideoFormats.Mp4 ? Ffmpeg.Require(options.FfmpegPath) : null;
        string path = OutputFiles.CheckOutputPath(outputPath);
        int fps = options.Fps ?? renderable.RenderFps;

        using var capture = new FrameCapture(renderable, options.Scale);
        VideoWriter? writer = null;
        try
        {
            // The writer is created with the first frame, whose size a composeFrame may change.
            void Append(RgbFrame picture)
            {
                RgbFrame frame = composeFrame is null ? picture : composeFrame(picture) ?? throw new InvalidOperationException("EpisodeRecorder.Record: composeFrame returned null.");
                writer ??= VideoWriter.Create(format, path, frame.Width, frame.Height, fps, ffmpeg);
                writer.Append(frame);
            }

            var observation = new float[env.ObservationSpace.Size];
            var played = new List<EpisodeStatistics>(episodes);
            bool full = false, done = false;
            for (int k = 0; k < episodes && !full; k++)
            {
                long start = Stopwatch.GetTimestamp();
                episodeStarting?.Invoke(k);
                env.Reset(observation, seed is int first ? first + k : null);
                Append(capture.Capture());
                full = IsFull(writer!, options);
                double episodeReturn = 0;
                int length = 0;
                done = false;
                while (!done && !full)
                {
                    StepResult result = env.Step(policy(observation), observation);
                    episodeReturn += result.Reward;
                    length++;
                    done = result.Done;
                    Append(capture.Capture());
                    full = IsFull(writer!, options);
                }

                played.Add(new EpisodeStatistics(episodeReturn, length, Stopwatch.GetElapsedTime(start).TotalSeconds));
            }

            writer!.Commit();
            bool stoppedEarly = full && !(done && played.Count == episodes);
            int width = writer.Width, height = writer.Height;
            if (format == VideoFormats.Mp4)
            {
                width += width % 2;
                height += height % 2;
            }

            return new RecordingResult(path, format, writer.FrameCount, width, height, fps, played, stoppedEarly);
        }
        finally
        {
            writer?.Dispose();
        }
    }

    private static bool IsFull(VideoWriter writer, RecordingOptions options) =>
        options.MaxFrames is int max && writer.FrameCount >= max;
}
