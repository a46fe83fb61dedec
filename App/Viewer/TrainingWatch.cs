using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Rendering;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>
/// Shows training live in the browser viewer: a callback that plays showcase episodes, greedily with the trainer's
/// current weights, on a separate copy of the environment, and publishes them to a <see cref="LiveFeed"/>.
/// </summary>
/// <remarks>
/// Everything happens on the training thread inside <see cref="OnStep"/>, so the network is never used by two threads.
/// While no page is connected, <see cref="OnStep"/> only reads the viewer count and returns. While a page watches, it
/// takes the environment steps due at the playback speed (the environment's natural speed at 1×) and draws once per
/// step taken, so it costs a few percent of a core at most; the feed drops frames rather than wait. Training is not
/// affected otherwise: the showcase has its own environment and takes no random numbers from the run.
/// </remarks>
public sealed class TrainingWatch : TrainingCallback, IDisposable
{
    private readonly LiveFeed _feed;
    private readonly IEnv _env;
    private readonly int _seed;
    private EpisodePlayer? _player;
    private WatchLoop? _loop;

    /// <summary>Prepares to show episodes of <paramref name="makeEnv"/>'s environment on <paramref name="feed"/>.</summary>
    /// <param name="makeEnv">Creates the showcase environment (the training environment's id and options).</param>
    /// <param name="feed">Where frames go.</param>
    /// <param name="seed">Seed of the first showcase episode (episode k uses seed + k).</param>
    /// <exception cref="InvalidOperationException">The environment cannot render.</exception>
    public TrainingWatch(Func<IEnv> makeEnv, LiveFeed feed, int seed = 20_000)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        _feed = feed ?? throw new ArgumentNullException(nameof(feed));
        _env = MakeShowcaseEnvironment(makeEnv);

        _seed = seed;
        Clock = new PlaybackClock(((IRenderable)_env.Unwrapped).RenderFps);
    }

    /// <summary>The playback clock the page's controls act on.</summary>
    public PlaybackClock Clock { get; }

    /// <summary>Makes the showcase environment of a watched training run, refusing one that cannot render.</summary>
    /// <exception cref="InvalidOperationException">The environment cannot render.</exception>
    internal static IEnv MakeShowcaseEnvironment(Func<IEnv> makeEnv)
    {
        IEnv env = makeEnv();
        if (!env.CanRender())
        {
            string name = env.Name;
            string type = env.Unwrapped.GetType().Name;
            env.Dispose();
            throw new InvalidOperationException(
                $"{name} cannot render (its innermost environment, a {type}, does not implement IRenderable), so --watch has nothing to show; train without --watch.");
        }

        return env;
    }

    /// <inheritdoc />
    public override void OnTrainingStart(StepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // The trainer's agent shares its weights (it sees every update) and stays the trainer's: only its actor is ours.
        _player = EpisodePlayer.For(context.Trainer.Agent, _env, _seed);
        _loop = new WatchLoop(_player, Clock, _feed, $"{context.Trainer.Algo.ToUpperInvariant()} training on {_env.Name}") { TrainingStep = context.Step };
        _loop.PublishNow();
    }

    /// <inheritdoc />
    public override bool OnStep(StepContext context)
    {
        if (_loop is not null && _feed.Viewers > 0)
        {
            _loop.TrainingStep = context.Step;
            _loop.Turn();
        }

        return true;
    }

    /// <inheritdoc />
    public override void OnTrainingEnd(StepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_loop is not null)
        {
            _loop.TrainingStep = context.Step;
            _loop.Title += " (finished)";
            _loop.PublishNow();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _player?.Dispose();
        _env.Dispose();
    }
}
