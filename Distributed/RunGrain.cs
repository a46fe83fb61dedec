namespace RlMemory.Distributed;

/// <summary>
/// What every process of a run needs to take part: the configuration (as the run's YAML), the layout, and each
/// actor's share of the steps. The learner starts the run with it; actors get it when they join.
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.RunPlan")]
public sealed record RunPlan(
    [property: Id(0)] RunIdentity Run,
    [property: Id(1)] string ConfigYaml,
    [property: Id(2)] int Actors,
    [property: Id(3)] int Shards,
    [property: Id(4)] int InsertBatch,
    [property: Id(5)] int PullEvery,
    [property: Id(6)] long StepsPerActor);

/// <summary>An actor's place in the run: the plan, the steps its index already took (a restarted actor goes on from there) and its incarnation.</summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ActorAssignment")]
public sealed record ActorAssignment([property: Id(0)] RunPlan Plan, [property: Id(1)] long StepsDone, [property: Id(2)] int Incarnation);

/// <summary>An actor's progress since its last report.</summary>
/// <param name="Actor">Its index.</param>
/// <param name="Incarnation">Which start of that index sends it (reports of an earlier one are refused).</param>
/// <param name="StepsDone">Environment steps it has taken in the run (all its incarnations).</param>
/// <param name="Finished">Whether it has taken its share and sent its last batch.</param>
/// <param name="EpisodeReturns">Returns of the episodes it finished since the last report.</param>
/// <param name="WeightLatenciesMs">For each weights version it loaded since the last report: milliseconds from publication to loading.</param>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ActorReport")]
public sealed record ActorReport(
    [property: Id(0)] int Actor,
    [property: Id(1)] int Incarnation,
    [property: Id(2)] long StepsDone,
    [property: Id(3)] bool Finished,
    [property: Id(4)] double[] EpisodeReturns,
    [property: Id(5)] double[] WeightLatenciesMs);

/// <summary>The run as the coordinator sees it.</summary>
/// <param name="StepsDone">Environment steps of all actors.</param>
/// <param name="Finished">Actors that took their share.</param>
/// <param name="Silent">Unfinished actors that have not reported for longer than the timeout (gone, unless they come back).</param>
/// <param name="RecentReturns">The last 100 episode returns of all actors.</param>
/// <param name="WeightLatenciesMs">Every publication-to-loading latency reported so far (at most the last 10,000).</param>
/// <param name="Joins">Starts of actors, restarts included.</param>
/// <param name="ActorSteps">Each actor's steps as it last reported them (a learner checkpoint keeps them).</param>
[GenerateSerializer]
[Alias("RlMemory.Distributed.RunProgress")]
public sealed record RunProgress(
    [property: Id(0)] long StepsDone,
    [property: Id(1)] int Finished,
    [property: Id(2)] int Silent,
    [property: Id(3)] double[] RecentReturns,
    [property: Id(4)] double[] WeightLatenciesMs,
    [property: Id(5)] int Joins,
    [property: Id(6)] long[] ActorSteps);

/// <summary>The run's coordinator: the plan, actors joining and reporting, and whether they are done or gone. Keyed by the run's id.</summary>
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run (the learner, once; again with the same plan: nothing changes).</summary>
    Task Start(RunPlan plan, TimeSpan actorTimeout);

    /// <summary>
    /// Starts the run again for a learner resumed from its checkpoint: a coordinator that still holds the run (its silo
    /// lived on) keeps its newer progress; a new one (its silo died with the learner) takes each actor's steps from
    /// the checkpoint, so restarted actors go on from there.
    /// </summary>
    /// <exception cref="ArgumentException">Another plan, or steps for another number of actors.</exception>
    Task Resume(RunPlan plan, TimeSpan actorTimeout, long[] actorSteps);

    /// <summary>Actor <paramref name="actor"/> joins (or rejoins after a restart): its assignment.</summary>
    /// <exception cref="RunMismatchException">Another run or protocol.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No such actor index in the plan.</exception>
    Task<ActorAssignment> Join(RunIdentity run, int actor);

    /// <summary>An actor's progress; from an earlier incarnation of that index it is refused.</summary>
    Task Report(RunIdentity run, ActorReport report);

    /// <summary>The run's progress.</summary>
    Task<RunProgress> Progress(RunIdentity run);
}

/// <inheritdoc cref="IRunGrain" />
[ShardSpreadPlacement]
internal sealed class RunGrain : Grain, IRunGrain
{
    private readonly List<double> _returns = [];
    private readonly List<double> _latencies = [];
    private RunPlan? _plan;
    private TimeSpan _timeout;
    private long[] _steps = [];
    private bool[] _finished = [];
    private int[] _incarnation = [];
    private DateTime[] _lastSeen = [];
    private int _joins;

    private const int UnknownIncarnation = -1;

    private string Where => $"the coordinator of run '{this.GetPrimaryKeyString()}'";

    public Task Start(RunPlan plan, TimeSpan actorTimeout)
    {
        ArgumentNullException.ThrowIfNull(plan);
        RunIdentity.Current(this.GetPrimaryKeyString()).Require(plan.Run, Where);
        if (_plan is not null)
        {
            return _plan == plan ? Task.CompletedTask : throw new ArgumentException($"{Where} was started with another plan.", nameof(plan));
        }

        _plan = plan;
        _timeout = actorTimeout;
        _steps = new long[plan.Actors];
        _finished = new bool[plan.Actors];
        _incarnation = new int[plan.Actors];
        _lastSeen = Enumerable.Repeat(DateTime.UtcNow, plan.Actors).ToArray();
        return Task.CompletedTask;
    }

    public Task Resume(RunPlan plan, TimeSpan actorTimeout, long[] actorSteps)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(actorSteps);
        if (actorSteps.Length != plan.Actors || Array.Exists(actorSteps, s => s < 0 || s > plan.StepsPerActor))
        {
            throw new ArgumentException($"{Where}: a resumed run needs each of its {plan.Actors} actors' steps in [0, {plan.StepsPerActor}]; got [{string.Join(", ", actorSteps)}].", nameof(actorSteps));
        }

        bool known = _plan is not null;
        Start(plan, actorTimeout).GetAwaiter().GetResult();
        if (!known)
        {
            actorSteps.CopyTo(_steps, 0);
            for (int i = 0; i < _finished.Length; i++)
            {
                _finished[i] = _steps[i] >= plan.StepsPerActor;
            }

            // Which start of each actor is running is unknown here: the first one to report is adopted (actors that
            // still run after the coordinator's silo died go on without rejoining).
            Array.Fill(_incarnation, UnknownIncarnation);
        }

        return Task.CompletedTask;
    }

    public Task<ActorAssignment> Join(RunIdentity run, int actor)
    {
        RunPlan plan = Require(run);
        if (actor < 0 || actor >= plan.Actors)
        {
            throw new ArgumentOutOfRangeException(nameof(actor), actor, $"{Where}: the run has actors 0 to {plan.Actors - 1}.");
        }

        _incarnation[actor] = Math.Max(_incarnation[actor], 0) + 1;
        _joins++;
        _lastSeen[actor] = DateTime.UtcNow;
        return Task.FromResult(new ActorAssignment(plan, _steps[actor], _incarnation[actor]));
    }

    public Task Report(RunIdentity run, ActorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        RunPlan plan = Require(run);
        if (report.Actor < 0 || report.Actor >= plan.Actors)
        {
            throw new ArgumentOutOfRangeException(nameof(report), report.Actor, $"{Where}: the run has actors 0 to {plan.Actors - 1}.");
        }

        if (_incarnation[report.Actor] == UnknownIncarnation && report.Incarnation > 0)
        {
            _incarnation[report.Actor] = report.Incarnation;
        }

        if (report.Incarnation != _incarnation[report.Actor])
        {
            throw new InvalidOperationException($"{Where}: a report of actor {report.Actor}'s start {report.Incarnation} was refused; start {_incarnation[report.Actor]} of that actor has taken its place.");
        }

        _steps[report.Actor] = report.StepsDone;
        _finished[report.Actor] |= report.Finished;
        _lastSeen[report.Actor] = DateTime.UtcNow;
        Keep(_returns, report.EpisodeReturns, 100);
        Keep(_latencies, report.WeightLatenciesMs, 10_000);
        return Task.CompletedTask;
    }

    public Task<RunProgress> Progress(RunIdentity run)
    {
        Require(run);
        DateTime now = DateTime.UtcNow;
        int silent = Enumerable.Range(0, _finished.Length).Count(i => !_finished[i] && now - _lastSeen[i] > _timeout);
        return Task.FromResult(new RunProgress(_steps.Sum(), _finished.Count(f => f), silent, [.. _returns], [.. _latencies], _joins, [.. _steps]));
    }

    private RunPlan Require(RunIdentity run)
    {
        RunPlan plan = _plan ?? throw new RunNotStartedException($"{Where} has not been started: start the learner (it starts the run) before the actors.");
        plan.Run.Require(run, Where);
        return plan;
    }

    private static void Keep(List<double> kept, double[]? values, int most)
    {
        kept.AddRange(values ?? []);
        if (kept.Count > most)
        {
            kept.RemoveRange(0, kept.Count - most);
        }
    }
}
