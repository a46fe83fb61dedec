using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Recording;

public sealed class RecordEpisodesTests : IDisposable
{
    private static readonly RecordingOptions Small = new() { Scale = 0.25 };
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void EveryKthEpisode_IsWrittenWhenItEnds_WithOneFramePerStepPlusTheReset()
    {
        using var env = new RecordEpisodes<int>(EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.Every(2), "cp", options: Small);
        var lengths = PlayEpisodes(env, 5, seed: 0);

        Assert.Equal(["cp-episode-0.gif", "cp-episode-2.gif", "cp-episode-4.gif"], _folder.FileNames());
        Assert.Equal(new[] { 0, 2, 4 }.Select(e => env.PathOf(e, VideoFormats.Gif)), env.RecordedFiles);
        foreach (int e in new[] { 0, 2, 4 })
        {
            var (frames, delays, _) = Videos.ReadGif(env.PathOf(e, VideoFormats.Gif));
            Assert.Equal(lengths[e] + 1, frames.Count);
            Assert.All(frames, f => Assert.Equal((150, 100), (f.Width, f.Height)));
            Assert.All(delays, d => Assert.Equal(2u, d));
        }
    }

    [Fact]
    public void ChosenEpisodes_AndPredicates_PickTheEpisodes()
    {
        using (var env = new RecordEpisodes<int>(EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.Episodes(1, 3), options: Small))
        {
            PlayEpisodes(env, 4, seed: 0);
        }

        Assert.Equal(["rl-video-episode-1.gif", "rl-video-episode-3.gif"], _folder.FileNames());

        using var other = new TempFolder();
        using (var env = new RecordEpisodes<int>(EnvRegistry.Make<int>("CartPole-v1"), other.Path, EpisodeTrigger.When(e => e == 2, "the third"), "p", options: Small))
        {
            PlayEpisodes(env, 3, seed: 0);
            Assert.Equal("the third", env.Trigger.ToString());
        }

        Assert.Equal(["p-episode-2.gif"], other.FileNames());
    }

    [Fact]
    public void DefaultTrigger_IsGymnasiumsCappedCubicSchedule()
    {
        var recorded = Enumerable.Range(0, 3001).Where(EpisodeTrigger.CappedCubic.ShouldRecord).ToArray();
        Assert.Equal([0, 1, 8, 27, 64, 125, 216, 343, 512, 729, 1000, 2000, 3000], recorded);
        Assert.Equal([0, 3, 6, 9], Enumerable.Range(0, 10).Where(EpisodeTrigger.Every(3).ShouldRecord));
        Assert.True(Enumerable.Range(0, 10).All(EpisodeTrigger.All.ShouldRecord));
        Assert.Throws<ArgumentOutOfRangeException>(() => EpisodeTrigger.Every(0));
        Assert.Throws<ArgumentException>(() => EpisodeTrigger.Episodes());
        Assert.Throws<ArgumentException>(() => EpisodeTrigger.Episodes(-1));
    }

    [Fact]
    public void Recording_DoesNotChangeTheEpisodes()
    {
        using var recorded = new RecordEpisodes<int>(EnvRegistry.Make<int>("MountainCar-v0"), _folder.Path, EpisodeTrigger.All, options: Small with { MaxFrames = 50 });
        using var plain = EnvRegistry.Make<int>("MountainCar-v0");
        var rng = new NumpyRandom(3);
        var a = new float[2];
        var b = new float[2];
        recorded.Reset(a, seed: 9);
        plain.Reset(b, seed: 9);
        for (int t = 0; t < 120; t++)
        {
            int action = (int)rng.Integers(0, 3);
            StepResult ra = recorded.Step(action, a), rb = plain.Step(action, b);
            Assert.Equal(b, a);
            Assert.Equal((rb.Reward, rb.Terminated, rb.Truncated), (ra.Reward, ra.Terminated, ra.Truncated));
        }

        Assert.Equal(["rl-video-episode-0.gif"], _folder.FileNames()); // written when MaxFrames was reached
        Assert.Equal(50, Videos.ReadGif(recorded.PathOf(0, VideoFormats.Gif)).Frames.Count);
        Assert.False(recorded.IsRecording);
    }

    [Fact]
    public void AnEpisodeCutShortByReset_IsWrittenWithItsFrames()
    {
        using var env = new RecordEpisodes<int>(EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.Episodes(0), options: Small);
        env.Reset(seed: 0);
        env.Step(0, new float[4]);
        env.Step(1, new float[4]);
        Assert.True(env.IsRecording);
        Assert.Empty(_folder.FileNames());
        env.Reset(seed: 1);
        Assert.Equal(1, env.EpisodeIndex);
        Assert.False(env.IsRecording);
        Assert.Equal(3, Videos.ReadGif(env.PathOf(0, VideoFormats.Gif)).Frames.Count);
    }

    [Fact]
    public void AnEpisodeStillRunningAtDispose_LeavesNoFile()
    {
        var env = new RecordEpisodes<int>(EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.All, options: Small);
        env.Reset(seed: 0);
        env.Step(0, new float[4]);
        env.Dispose();
        Assert.Empty(_folder.FileNames());
    }

    [Fact]
    public void APolicyThatThrowsMidEpisode_LeavesNoFileBehind()
    {
        void Play()
        {
            using var env = new RecordEpisodes<int>(EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.All, options: Small);
            env.Reset(seed: 0);
            for (int t = 0; ; t++)
            {
                int action = t < 5 ? 0 : throw new InvalidOperationException("policy failed");
                env.Step(action, new float[4]);
            }
        }

        var ex = Assert.Throws<InvalidOperationException>(Play);
        Assert.Equal("policy failed", ex.Message);
        Assert.Empty(_folder.FileNames());
    }

    [FfmpegFact]
    public void BothFormats_AreWrittenSideBySide()
    {
        using var env = new RecordEpisodes<int>(
            EnvRegistry.Make<int>("CartPole-v1"), _folder.Path, EpisodeTrigger.All, "both", VideoFormats.Gif | VideoFormats.Mp4, Small with { Fps = 25 });
        int length = PlayEpisodes(env, 1, seed: 2)[0];
        Assert.Equal(["both-episode-0.gif", "both-episode-0.mp4"], _folder.FileNames());
        Assert.Equal(length + 1, Videos.ReadGif(env.PathOf(0, VideoFormats.Gif)).Frames.Count);
        var probe = Videos.ProbeMp4(env.PathOf(0, VideoFormats.Mp4));
        Assert.Equal((length + 1, 150, 100, "25/1"), (probe.Frames, probe.Width, probe.Height, probe.FrameRate));
    }

    [Fact]
    public void Construction_RefusesWhatCannotWork_BeforeAnyEpisode()
    {
        var cannotDraw = Assert.Throws<InvalidOperationException>(() => new RecordEpisodes<int>(new CountingEnv(), _folder.Path));
        Assert.Contains("cannot render", cannotDraw.Message);

        string file = _folder.File("a-file");
        File.WriteAllText(file, "x");
        var notAFolder = Assert.Throws<IOException>(() => new RecordEpisodes<int>(new CartPoleEnv(), Path.Combine(file, "videos")));
        Assert.Contains($"Cannot write videos to the folder '{Path.Combine(file, "videos")}'", notAFolder.Message);

        Assert.Throws<ArgumentException>(() => new RecordEpisodes<int>(new CartPoleEnv(), _folder.Path, namePrefix: "a/b"));
        Assert.Throws<ArgumentException>(() => new RecordEpisodes<int>(new CartPoleEnv(), _folder.Path, formats: VideoFormats.None));
        Assert.Throws<FileNotFoundException>(() => new RecordEpisodes<int>(
            new CartPoleEnv(), _folder.Path, formats: VideoFormats.Mp4, options: new RecordingOptions { FfmpegPath = _folder.File("no-ffmpeg") }));
        Assert.Equal(["a-file"], _folder.FileNames());
    }

    [Fact]
    public void AMissingFolder_IsCreated()
    {
        string nested = Path.Combine(_folder.Path, "runs", "videos");
        using var env = new RecordEpisodes<int>(new TimeLimit<int>(new CartPoleEnv(), 3), nested, EpisodeTrigger.All, options: Small);
        PlayEpisodes(env, 1, seed: 0);
        Assert.True(File.Exists(Path.Combine(nested, "rl-video-episode-0.gif")));
    }

    /// <summary>Plays CartPole episodes with a policy that pushes against the pole's lean (it falls fast); returns their lengths.</summary>
    private static List<int> PlayEpisodes(IEnv<int> env, int episodes, int seed)
    {
        var lengths = new List<int>();
        var obs = new float[env.ObservationSpace.Size];
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(obs, seed: seed + e);
            int length = 1;
            while (!env.Step(obs[2] > 0 ? 0 : 1, obs).Done)
            {
                length++;
            }

            lengths.Add(length);
        }

        return lengths;
    }
}
