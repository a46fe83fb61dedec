using System.Diagnostics;
using RlMemory.App.Viewer;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;

namespace RlMemory.Tests.Viewer;

// Compares two trainings bitwise: torch's thread count is process-wide, so no other training may run beside it.
[Collection(nameof(RlMemory.Tests.Training.SeededTrainingCollection))]
public sealed class TrainingWatchTests
{
    private static readonly DqnConfig Config = new()
    {
        TotalTimesteps = 800,
        LearningStarts = 200,
        BufferSize = 2_000,
        NetArch = [16],
        EvalFreq = 0,
        EvalEpisodes = 1,
        TargetUpdateInterval = 200,
        Seed = 3,
    };

    [Fact]
    public void WithNobodyWatching_OnStepReturnsAtOnce_AndShowsNothingNew()
    {
        var feed = new LiveFeed();
        using var watch = new TrainingWatch(() => EnvRegistry.Make<int>("CartPole-v1"), feed);
        using var trainer = new DqnTrainer(Config, new TrainerOptions { Quiet = true });
        var context = new StepContext(0, 0, trainer);
        watch.OnTrainingStart(context);
        Assert.Equal(1, feed.FrameNumber);   // the first picture, for the first page that connects
        Assert.Equal("DQN training on CartPole-v1", feed.Status!.Title);

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 200_000; i++)
        {
            watch.OnStep(context);
        }

        // A viewer-count read per step; bound generous for a loaded 2-core machine (it measures ~2 ns).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"200,000 unwatched steps took {clock.Elapsed}");
        Assert.Equal(1, feed.FrameNumber);
    }

    [Fact]
    public async Task WhileWatched_ShowcaseEpisodesPlay_AndTrainingEndsExactlyAsWithoutTheViewer()
    {
        float[] unwatched;
        using (var plain = new DqnTrainer(Config, new TrainerOptions { Quiet = true }))
        {
            plain.Learn();
            unwatched = Parameters(plain);
        }

        var feed = new LiveFeed();
        using var connection = feed.Connect();
        using var watch = new TrainingWatch(() => EnvRegistry.Make<int>("CartPole-v1"), feed);
        watch.Clock.SetSpeed(PlaybackClock.MaxSpeed);
        using var watched = new DqnTrainer(Config, new TrainerOptions { Quiet = true, Callbacks = [new PacedByThePage(feed), watch] });
        using var done = new CancellationTokenSource();
        Task page = Task.Run(async () =>
        {
            // The page: takes each new picture as it comes.
            while (!done.IsCancellationRequested)
            {
                await feed.SnapshotAsync(CancellationToken.None);
                await Task.Delay(5);
            }
        });
        watched.Learn();
        await done.CancelAsync();
        await page;

        Assert.True(feed.FrameNumber > 3, $"only {feed.FrameNumber} frames were shown");
        Assert.Equal(800, feed.Status!.TrainingStep);
        Assert.EndsWith("(finished)", feed.Status.Title, StringComparison.Ordinal);
        Assert.Equal(unwatched, Parameters(watched));
    }

    [Fact]
    public void InAWindow_ShowcaseEpisodesPlay_ClosingItLetsTrainingGoOn_AndTrainingEndsExactlyAsWithoutIt()
    {
        float[] unwatched;
        using (var plain = new DqnTrainer(Config, new TrainerOptions { Quiet = true }))
        {
            plain.Learn();
            unwatched = Parameters(plain);
        }

        // The window closes (as Esc would) after 4 pictures; the training's own pace lets pictures fall due.
        var window = new RecordingWindow(closeAfter: 4);
        var output = new StringWriter();
        (int Width, int Height, string Title)? opened = null;
        using var view = new TrainingWindow(
            () => EnvRegistry.Make<int>("CartPole-v1"),
            (w, h, title) =>
            {
                opened = (w, h, title);
                return window;
            },
            output);
        view.Clock.SetSpeed(PlaybackClock.MaxSpeed);
        using var watched = new DqnTrainer(Config, new TrainerOptions { Quiet = true, Callbacks = [new Slowed(), view] });
        view.Open(watched);
        Assert.Equal((600, 400, "RlMemory: DQN training on CartPole-v1"), opened);
        Assert.Equal([0], window.Fps);   // presents without waiting for the screen: the training sets the pace
        watched.Learn();

        Assert.Equal(4, window.Presented);
        Assert.Equal(1, window.Disposals);
        Assert.False(view.IsOpen);
        Assert.Equal("The training window was closed; training goes on (Ctrl+C stops it)." + Environment.NewLine, output.ToString());
        Assert.StartsWith("DQN training on CartPole-v1 at step 0  episode 1  step 0", window.Statuses[0], StringComparison.Ordinal);
        Assert.True(window.Statuses.Skip(1).Any(s => !s.Contains("  step 0  ", StringComparison.Ordinal)), string.Join(" | ", window.Statuses));
        Assert.Equal(unwatched, Parameters(watched));
    }

    [Fact]
    public void AnEnvironmentThatCannotRender_IsRefusedBeforeTraining()
    {
        BlindEnv.Register();
        var e = Assert.Throws<InvalidOperationException>(() => new TrainingWatch(() => EnvRegistry.Make<int>(BlindEnv.Id), new LiveFeed()));
        Assert.StartsWith($"{BlindEnv.Id} cannot render", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("so --watch has nothing to show; train without --watch.", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A window that records what it is shown, and reports closed after <c>closeAfter</c> pictures.</summary>
    private sealed class RecordingWindow(int closeAfter) : IViewerWindow
    {
        public int Presented { get; private set; }

        public int Disposals { get; private set; }

        public List<string> Statuses { get; } = [];

        public List<int> Fps { get; } = [];

        public bool ShouldClose => Presented >= closeAfter;

        public IReadOnlyList<PlaybackCommand> TakeCommands() => [];

        public void Present(RlMemory.Environments.Rendering.RgbFrame frame, RlMemory.Environments.Rendering.RgbFrame? memoryPanel, string status)
        {
            Statuses.Add(status);
            Presented++;
        }

        public void SetTargetFps(int fps) => Fps.Add(fps);

        public void Dispose() => Disposals++;
    }

    /// <summary>Lets wall time pass every 50 steps, so that the window's pictures fall due however fast the machine trains.</summary>
    private sealed class Slowed : TrainingCallback
    {
        public override bool OnStep(StepContext context)
        {
            if (context.Step % 50 == 0)
            {
                Thread.Sleep(40);
            }

            return true;
        }
    }

    private static float[] Parameters(DqnTrainer trainer) =>
        [.. trainer.Network.parameters().SelectMany(p => p.data<float>().ToArray())];

    /// <summary>
    /// Every 100 steps, lets some wall time pass (so that showcase steps fall due) and waits for the page to take the
    /// latest picture, so that the test does not depend on how the machine schedules the page's thread.
    /// </summary>
    private sealed class PacedByThePage(LiveFeed feed) : TrainingCallback
    {
        public override bool OnStep(StepContext context)
        {
            if (context.Step % 100 == 0)
            {
                Thread.Sleep(20);
                var wait = Stopwatch.StartNew();
                while (!feed.FrameTaken && wait.Elapsed < TimeSpan.FromSeconds(5))
                {
                    Thread.Sleep(1);
                }
            }

            return true;
        }
    }
}
