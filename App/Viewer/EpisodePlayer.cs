using System.Globalization;
using RlMemory.Agents;
using RlMemory.App.Plots;
using RlMemory.Environments;
using RlMemory.Environments.Rendering;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>What a viewer shows beside the picture: the episode, its step and return so far, and the playback state.</summary>
/// <param name="Title">What is being watched, e.g. <c>DqnAgent on CartPole-v1</c>.</param>
/// <param name="Episode">The episode number, from 1.</param>
/// <param name="Step">Steps taken in this episode.</param>
/// <param name="Return">The return of this episode so far.</param>
/// <param name="Done">Whether this episode has ended (the next step starts another).</param>
/// <param name="LastReturn">The return of the previous episode, if any.</param>
/// <param name="LastLength">The length of the previous episode, if any.</param>
/// <param name="Paused">Whether playback is paused.</param>
/// <param name="Speed">The playback speed (1 is the environment's natural speed).</param>
/// <param name="HasMemory">Whether the agent shows its external memory (heatmaps).</param>
/// <param name="TrainingStep">The training step, when watching a run in progress.</param>
/// <param name="Action">The last action taken, as text (<c>1</c> for a discrete action, <c>[0.53, -1.2]</c> for a continuous one); null before the episode's first step.</param>
public sealed record ViewerStatus(
    string Title,
    int Episode,
    int Step,
    double Return,
    bool Done,
    double? LastReturn,
    int? LastLength,
    bool Paused,
    double Speed,
    bool HasMemory,
    long? TrainingStep = null,
    string? Action = null);

/// <summary>
/// Plays an agent in an environment one step at a time, episode after episode, for the viewers: keeps the current
/// picture (<see cref="Frame"/>), the memory heatmaps of agents with external memory (<see cref="MemoryPanel"/>), and
/// the episode's step and return. Episode k (from 0) is reset with <c>seed + k</c>. Discrete and continuous agents
/// play alike (<see cref="For"/> takes either). Not thread-safe: one thread plays.
/// </summary>
public sealed class EpisodePlayer : IDisposable
{
    private readonly IEnv _env;
    private readonly IRenderable _renderable;
    private readonly SkiaCanvas _canvas;
    private readonly float[] _observation;
    private readonly bool _ownsEnv;
    private readonly MemoryHeatmap? _heatmap;
    private readonly MemoryTraceWindow? _memoryWindow;
    private readonly float[]? _memoryStep;
    private Seat _seat;
    private IMemoryIntrospection? _memory;
    private bool _started;
    private bool _frameStale = true;

    /// <summary>Creates a player; the first <see cref="Advance"/> (or <see cref="Render"/>) starts the first episode.</summary>
    /// <param name="env">The environment; its innermost environment must draw itself (<see cref="IRenderable"/>).</param>
    /// <param name="actor">The agent's actor (row 0 is used); not disposed by the player.</param>
    /// <param name="seed">Seed of the first episode (episode k uses seed + k).</param>
    /// <param name="ownsEnv">Dispose <paramref name="env"/> with the player.</param>
    /// <param name="memoryWindow">Steps shown in the memory heatmaps.</param>
    /// <exception cref="InvalidOperationException">The environment cannot render (the message names it and says so in one line).</exception>
    public EpisodePlayer(IEnv<int> env, IEpisodeActor actor, int seed = 0, bool ownsEnv = false, int memoryWindow = 64)
        : this(env, new Seat<int>(env, actor ?? throw new ArgumentNullException(nameof(actor)), [0], ownsActor: false), seed, ownsEnv, memoryWindow)
    {
    }

    /// <summary>Creates a player of a continuous agent's actor (row 0 is used; not disposed by the player); see the other constructor.</summary>
    public EpisodePlayer(IEnv<float[]> env, IEpisodeActor<float[]> actor, int seed = 0, bool ownsEnv = false, int memoryWindow = 64)
        : this(env, ContinuousSeat(env, actor, ownsActor: false), seed, ownsEnv, memoryWindow)
    {
    }

    private EpisodePlayer(IEnv env, Seat seat, int seed, bool ownsEnv, int memoryWindow)
    {
        ArgumentNullException.ThrowIfNull(env);
        object actor = seat.Actor;
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        if (!env.CanRender())
        {
            throw new InvalidOperationException(
                $"{env.Name} cannot render (its innermost environment, a {env.Unwrapped.GetType().Name}, does not implement IRenderable), so there is nothing to watch; watch or record an environment that draws itself.");
        }

        _env = env;
        _ownsEnv = ownsEnv;
        _seat = seat;
        _renderable = (IRenderable)env.Unwrapped;
        _canvas = new SkiaCanvas(_renderable.RenderWidth, _renderable.RenderHeight);
        Frame = new RgbFrame(_canvas.FrameWidth, _canvas.FrameHeight);
        _observation = new float[env.ObservationSpace.Size];
        Seed = seed;
        _memory = actor as IMemoryIntrospection;
        if (_memory is not null)
        {
            _memoryWindow = MemoryTraceWindow.For(_memory, memoryWindow);
            _memoryStep = new float[_memoryWindow.StepSize];
            _heatmap = new MemoryHeatmap(320, Math.Max(Frame.Height, 160));
            MemoryPanel = new RgbFrame(_heatmap.Width, _heatmap.Height);
        }
    }

    /// <summary>The environment's id or name.</summary>
    /// <summary>
    /// A player of <paramref name="agent"/>, discrete or continuous, in <paramref name="env"/> (whose actions must be of the
    /// agent's type): the player begins the agent's actor and disposes it; <paramref name="ownsEnv"/> as the constructors.
    /// </summary>
    /// <exception cref="ArgumentException">The environment's actions are not of the agent's type.</exception>
    public static EpisodePlayer For(IAgent agent, IEnv env, int seed = 0, bool ownsEnv = false, int memoryWindow = 64)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(env);
        Seat seat = SeatFor(agent, env);
        try
        {
            return new EpisodePlayer(env, seat, seed, ownsEnv, memoryWindow);
        }
        catch
        {
            seat.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Plays on with <paramref name="agent"/> (an updated agent of the same action type) from the next episode, with an
    /// actor of its own that the player disposes, as <see cref="ReplaceActor"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">An episode is under way, or the new agent's memory shape differs.</exception>
    /// <exception cref="ArgumentException">The agent's actions are not of the environment's type.</exception>
    public void ReplaceAgent(IAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        Seat seat = SeatFor(agent, _env);
        try
        {
            Replace(seat);
        }
        catch
        {
            seat.Dispose();
            throw;
        }
    }

    /// <summary>The environment's name.</summary>
    public string EnvName => _env.Name;

    /// <summary>The environment's natural speed in steps per second (its <see cref="IRenderable.RenderFps"/>).</summary>
    public int Fps => _renderable.RenderFps;

    /// <summary>Seed of the first episode.</summary>
    public int Seed { get; }

    /// <summary>The picture after the last <see cref="Render"/>.</summary>
    public RgbFrame Frame { get; }

    /// <summary>The memory heatmaps after the last <see cref="Render"/>, for agents with external memory; null otherwise.</summary>
    public RgbFrame? MemoryPanel { get; }

    /// <summary>The steps of memory traces shown, for agents with external memory.</summary>
    public MemoryTraceWindow? MemoryWindow => _memoryWindow;

    /// <summary>The episode being played, from 1 (0 before the first).</summary>
    public int Episode { get; private set; }

    /// <summary>Steps taken in the current episode.</summary>
    public int EpisodeStep { get; private set; }

    /// <summary>The current episode's return so far.</summary>
    public double EpisodeReturn { get; private set; }

    /// <summary>Whether the current episode has ended (the next <see cref="Advance"/> starts another).</summary>
    public bool EpisodeDone { get; private set; }

    /// <summary>The previous episode's return and length, if one has ended.</summary>
    public (double Return, int Length)? LastEpisode { get; private set; }

    /// <summary>
    /// Takes <paramref name="steps"/> moves: each is one environment step, or, after an episode ended (and at the very
    /// start), the reset that starts the next episode, so that the last picture of every episode is seen.
    /// </summary>
    public void Advance(int steps = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        for (int i = 0; i < steps; i++)
        {
            if (!_started || EpisodeDone)
            {
                StartEpisode();
            }
            else
            {
                StepOnce();
            }
        }
    }

    /// <summary>Draws the current state into <see cref="Frame"/> (and the heatmaps into <see cref="MemoryPanel"/>). Starts the first episode if needed.</summary>
    public void Render()
    {
        if (!_started)
        {
            StartEpisode();
        }

        if (!_frameStale)
        {
            return;
        }

        _canvas.Draw(_renderable);
        _canvas.CopyTo(Frame);
        if (_heatmap is not null)
        {
            _heatmap.Draw(_memoryWindow!, MemoryPanel!);
        }

        _frameStale = false;
    }

    /// <summary>
    /// Plays on with another actor (an updated agent), from the next episode: call it when <see cref="EpisodeDone"/> or
    /// before the first step. The old actor is not disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">An episode is under way, or the new actor's memory shape differs.</exception>
    public void ReplaceActor(IEpisodeActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (_env is not IEnv<int> env)
        {
            throw new InvalidOperationException($"EpisodePlayer.ReplaceActor: {_env.Name} takes continuous actions; this actor plays discrete ones.");
        }

        Replace(new Seat<int>(env, actor, [0], ownsActor: false));
    }

    private void Replace(Seat seat)
    {
        object actor = seat.Actor;
        if (_started && !EpisodeDone)
        {
            throw new InvalidOperationException("EpisodePlayer.ReplaceActor: an episode is under way; replace the actor when it has ended.");
        }

        var memory = actor as IMemoryIntrospection;
        if ((memory is null) != (_memory is null)
            || (memory is not null && (memory.MemorySlots != _memoryWindow!.Slots || !memory.TraceNames.SequenceEqual(_memoryWindow.Names))))
        {
            throw new InvalidOperationException("EpisodePlayer.ReplaceActor: the new agent's memory differs from the old one's; start a new viewer.");
        }

        _seat.Dispose();
        _seat = seat;
        _memory = memory;
    }

    /// <summary>The status line for viewers.</summary>
    public ViewerStatus Status(string title, PlaybackClock clock, long? trainingStep = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return new ViewerStatus(
            title, Episode, EpisodeStep, EpisodeReturn, EpisodeDone, LastEpisode?.Return, LastEpisode?.Length,
            clock.Paused, clock.Speed, _memory is not null, trainingStep, EpisodeStep == 0 ? null : _seat.ActionText());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _canvas.Dispose();
        _heatmap?.Dispose();
        _seat.Dispose();
        if (_ownsEnv)
        {
            _env.Dispose();
        }
    }

    private void StartEpisode()
    {
        if (_started && EpisodeDone)
        {
            LastEpisode = (EpisodeReturn, EpisodeStep);
        }

        _seat.ResetActor();
        _memoryWindow?.Clear();
        _env.Reset(_observation, seed: (int)((Seed + (long)Episode) % int.MaxValue));
        _started = true;
        Episode++;
        EpisodeStep = 0;
        EpisodeReturn = 0;
        EpisodeDone = false;
        _frameStale = true;
    }

    private void StepOnce()
    {
        _seat.Act(_observation);
        if (_memory is not null && _memory.TryReadLastStep(0, _memoryStep))
        {
            _memoryWindow!.Add(_memoryStep);
        }

        StepResult result = _seat.Step(_observation);
        EpisodeStep++;
        EpisodeReturn += result.Reward;
        EpisodeDone = result.Done;
        _frameStale = true;
    }

    private static Seat ContinuousSeat(IEnv<float[]> env, IEpisodeActor<float[]> actor, bool ownsActor)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(actor);
        int size = env.ActionSpace is Box box ? box.Size : throw new ArgumentException($"{env.Name} has the action space {env.ActionSpace}, not a Box.", nameof(env));
        return new Seat<float[]>(env, actor, [new float[size]], ownsActor);
    }

    private static Seat SeatFor(IAgent agent, IEnv env) => (agent, env) switch
    {
        (IDiscreteAgent discrete, IEnv<int> e) => new Seat<int>(e, discrete.Begin(1), [0], ownsActor: true),
        (IContinuousAgent continuous, IEnv<float[]> e) => ContinuousSeat(e, continuous.Begin(1), ownsActor: true),
        _ => throw new ArgumentException($"{env.Name} has the action space {env.ActionSpace}, which a {agent.Kind} does not play.", nameof(env)),
    };

    /// <summary>The agent's actor in its seat: acts on an observation and steps the environment with the action.</summary>
    private abstract class Seat : IDisposable
    {
        public abstract object Actor { get; }

        public abstract void ResetActor();

        public abstract void Act(float[] observation);

        public abstract StepResult Step(float[] observation);

        public abstract string ActionText();

        public abstract void Dispose();
    }

    private sealed class Seat<TAction>(IEnv<TAction> env, IEpisodeActor<TAction> actor, TAction[] action, bool ownsActor) : Seat
    {
        public override object Actor => actor;

        public override void ResetActor() => actor.Reset(0);

        public override void Act(float[] observation) => actor.Act(observation, [0], action);

        public override StepResult Step(float[] observation) => env.Step(action[0], observation);

        public override string ActionText() => action[0] switch
        {
            float[] vector => $"[{string.Join(", ", vector.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)))}]",
            var discrete => Convert.ToString(discrete, CultureInfo.InvariantCulture) ?? string.Empty,
        };

        public override void Dispose()
        {
            if (ownsActor)
            {
                actor.Dispose();
            }
        }
    }
}
