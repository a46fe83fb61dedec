using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Logging;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>How a distributed run is laid out.</summary>
public sealed record DistributedOptions
{
    /// <summary>Actors, each with its own vector environment (the configuration's <c>n_envs</c>) and policy copy.</summary>
    public int Actors { get; init; } = 2;

    /// <summary>Replay shards (0: one per actor); the configuration's <c>buffer_size</c> is split between them.</summary>
    public int Shards { get; init; }

    /// <summary>Transitions an actor sends per insert.</summary>
    public int InsertBatch { get; init; } = 64;

    /// <summary>Vector steps between an actor's weight pulls.</summary>
    public int PullEvery { get; init; } = 64;

    /// <summary>Learner updates between weight publications.</summary>
    public int PublishEvery { get; init; } = 64;

    /// <summary>Learner updates per round of sampling: each shard is asked for this many batches' share at once.</summary>
    public int BatchesPerSample { get; init; } = 8;

    /// <summary>
    /// Starts actor processes: given where an actor finds the run, the process to start (e.g. <c>rlmemory cluster actor
    /// --gateway … --run … --index …</c>). Null: actors are threads of this process.
    /// </summary>
    public Func<ActorLaunch, System.Diagnostics.ProcessStartInfo>? ActorProcess { get; init; }

    /// <summary>
    /// Transitions (R2D2: environment steps of inserted sequences) a shard takes between checkpoints of its replay and
    /// counters (in the run folder's <c>shards/</c>;
    /// none without a run folder, or with 0): a shard whose silo dies comes back from its last one, losing at most this
    /// many transitions and those inserted since.
    /// </summary>
    public long ShardCheckpointEvery { get; init; } = 10_000;

    /// <summary>Whether this process starts the actors (threads, or <see cref="ActorProcess"/>); false: they are started elsewhere and join the run.</summary>
    public bool StartActors { get; init; } = true;

    /// <summary>How often an actor process that dies is started again (it rejoins where it last reported).</summary>
    public int ActorRestarts { get; init; } = 3;

    /// <summary>An unfinished actor silent for longer is counted as gone (the run can end without it).</summary>
    public TimeSpan ActorTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Learner updates between learner checkpoints (networks, optimizer, counters, each actor's steps; in the run
    /// folder's <c>checkpoints/</c>, the two newest kept; none without a run folder, or with 0). Null: the
    /// configuration's <c>checkpoint_freq</c> (environment steps, at DQN's updates per step) when it is set, else every
    /// 2,000 updates. A learner that dies is started again with <see cref="ResumeFrom"/> and goes on from its last one;
    /// it also writes one when cancelled (Ctrl+C).
    /// </summary>
    public long? LearnerCheckpointEvery { get; init; }

    /// <summary>
    /// A run folder whose latest learner checkpoint this learner goes on from: the run's id, configuration and layout
    /// are the checkpoint's; the shards come back from theirs where their silo died too; null: a new run.
    /// </summary>
    public string? ResumeFrom { get; init; }

    /// <summary>Learner updates between log rows.</summary>
    public int LogEvery { get; init; } = 500;

    /// <summary>The run folder (logs, final model); null: none is written.</summary>
    public string? RunDirectory { get; init; }

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ConfigException">Names the setting, its value and what is allowed.</exception>
    public DistributedOptions Validate()
    {
        Check(Actors, 1, 256, "actors");
        Check(Shards, 0, 256, "shards");
        Check(InsertBatch, 1, 1 << 16, "insert_batch");
        Check(PullEvery, 1, 1 << 20, "pull_every");
        Check(PublishEvery, 1, 1 << 20, "publish_every");
        Check(BatchesPerSample, 1, 1024, "batches_per_sample");
        Check(LogEvery, 1, 1 << 30, "log_every");
        Check(ActorRestarts, 0, 1000, "actor_restarts");
        if (LearnerCheckpointEvery < 0)
        {
            throw new ConfigException($"learner_checkpoint_every = {LearnerCheckpointEvery} is out of range: must be 0 (none) or more.");
        }

        if (ShardCheckpointEvery < 0)
        {
            throw new ConfigException($"shard_checkpoint_every = {ShardCheckpointEvery} is out of range: must be 0 (none) or more.");
        }

        if (ActorTimeout <= TimeSpan.Zero)
        {
            throw new ConfigException($"actor_timeout = {ActorTimeout} is out of range: must be positive.");
        }

        return this;

        static void Check(int value, int low, int high, string name)
        {
            if (value < low || value > high)
            {
                throw new ConfigException($"{name} = {value} is out of range: must be in [{low}, {high}].");
            }
        }
    }
}

/// <summary>What a distributed run did.</summary>
/// <param name="EnvSteps">Environment steps the actors took.</param>
/// <param name="Updates">The learner's gradient steps.</param>
/// <param name="FinalEvaluation">Greedy episodes of the final weights.</param>
/// <param name="Seconds">Wall-clock time of the run (the cluster's start excluded).</param>
/// <param name="SamplesPerInsert">Transitions sampled per transition inserted, measured over the shards.</param>
/// <param name="TargetSamplesPerInsert">The rate limiter's target.</param>
/// <param name="WeightsVersion">The last weights version published.</param>
/// <param name="BytesPerTransition">Payload bytes per item (transition, or R2D2's sequence with its state) in the actors' inserts.</param>
/// <param name="Shards">Each shard's counters at the end.</param>
/// <param name="WeightLatencyMs">Median time from a weights publication to an actor's first step with them (ms).</param>
public sealed record DistributedResult(
    long EnvSteps,
    long Updates,
    EvaluationResult FinalEvaluation,
    double Seconds,
    double SamplesPerInsert,
    double TargetSamplesPerInsert,
    long WeightsVersion,
    double BytesPerTransition,
    IReadOnlyList<ShardStatistics> Shards,
    double WeightLatencyMs)
{
    /// <summary>Environment steps per second over the run.</summary>
    public double EnvStepsPerSecond => (EnvSteps - StartSteps) / Seconds;

    /// <summary>Learner updates per second over the run.</summary>
    public double UpdatesPerSecond => (Updates - StartUpdates) / Seconds;

    /// <summary>Actor starts, restarts after a death included.</summary>
    public int ActorStarts { get; init; }

    /// <summary>Environment steps taken before this learner started (a resumed learner: its checkpoint's; else 0).</summary>
    public long StartSteps { get; init; }

    /// <summary>Updates made before this learner started (a resumed learner: its checkpoint's; else 0).</summary>
    public long StartUpdates { get; init; }

    /// <summary>Replay shards that were lost (their silo died) and came back from their checkpoints during the run.</summary>
    public IReadOnlyList<ShardRecovery> ShardRecoveries { get; init; } = [];
}

/// <summary>
/// A Q-learning run laid out as Ape-X and R2D2 ran it (Horgan et al. 2018, Kapturowski et al. 2019): actors with their
/// own environments and policy copies push complete items — n-step transitions (DQN) or overlapping sequences with the
/// recurrent state before each (R2D2) — in batches to replay shards; one learner samples from every shard, trains the
/// existing learner and publishes versioned weights that the actors pull every <see cref="DistributedOptions.PullEvery"/>
/// steps. The shards and the parameter store are Orleans grains; a samples-per-insert rate limiter on each shard keeps
/// the learner's replay ratio at the single-process loop's whatever the actors' speed. <see cref="Learn(CancellationToken)"/>
/// runs every role in one process on a local (localhost-clustered) silo.
/// </summary>
/// <remarks>
/// The actors' ε follows the configuration's schedule over the environment steps of all actors together; the learner
/// updates its target network every <c>gradient_steps · max(1, target_update_interval / (train_freq · n_envs))</c>
/// updates (where the single-process loop's updates fall between its training phases). The final weights are evaluated
/// once, at the end (<c>eval_freq</c> does not apply); each role computes with one torch thread on the CPU.
/// Prioritized replay is Ape-X's (DQN) and R2D2's (sequences, η-mixed priorities): actors compute each item's initial
/// priority with their copy of the network, the learner sends new ones back to the shards after each round. DQN's
/// memory-saving storage and other devices are refused for now.
/// </remarks>
public sealed class DistributedTrainer
{
    private readonly DistributedAlgorithm _algorithm;
    private readonly RunConfig _config;
    private readonly DistributedOptions _options;
    private readonly int _shards;
    private readonly LearnerCheckpoint? _resume;
    private volatile bool _stopping;

    /// <summary>
    /// A run of <paramref name="config"/> (a <see cref="DqnConfig"/> or <see cref="Training.R2d2.R2d2Config"/>) laid out as
    /// <paramref name="options"/> says; with <see cref="DistributedOptions.ResumeFrom"/>, the run of that folder's
    /// learner checkpoint (its configuration replaces <paramref name="config"/>).
    /// </summary>
    /// <exception cref="ConfigException">Another algorithm, a setting out of range or not offered in distributed runs, or a resumed run's layout differs.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume from is missing, corrupt or not a distributed learner's of this algorithm.</exception>
    public DistributedTrainer(RunConfig config, DistributedOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _options = (options ?? new DistributedOptions()).Validate();
        _algorithm = DistributedAlgorithm.For(config, config.GetType().Name);
        if (_options.ResumeFrom is not null)
        {
            _resume = LearnerCheckpoint.Open(_options.ResumeFrom, _algorithm);
            config = _resume.Config;
            _algorithm = DistributedAlgorithm.For(config, config.GetType().Name);
            int shards = _options.Shards == 0 ? _options.Actors : _options.Shards;
            if (_resume.Actors != _options.Actors || _resume.Shards != shards)
            {
                throw new ConfigException($"The run in {_options.ResumeFrom} has {_resume.Actors} actors and {_resume.Shards} replay shards; resume it with the same layout (--actors {_resume.Actors}), not {_options.Actors} actors and {shards} shards.");
            }
        }

        _config = config;
        _shards = _options.Shards == 0 ? _options.Actors : _options.Shards;
        _algorithm.Validate(_shards);
    }

    /// <summary>Refuses a configuration no distributed run trains, naming its algorithm <paramref name="algo"/>.</summary>
    /// <exception cref="ConfigException">Not a DQN or R2D2 configuration.</exception>
    public static void RequireDistributed(RunConfig config, string algo) => DistributedAlgorithm.For(config, algo);

    /// <summary>Learner updates between learner checkpoints (0: none); see <see cref="DistributedOptions.LearnerCheckpointEvery"/>.</summary>
    public long LearnerCheckpointEvery => _options.LearnerCheckpointEvery
        ?? (_config.CheckpointFreq > 0 ? Math.Max(1, _config.CheckpointFreq * _algorithm.GradientStepsPerPhase / ((long)_algorithm.Q.TrainFreq * _config.NumEnvs)) : 2_000);

    /// <summary>The folder of the last learner checkpoint this trainer wrote, or null.</summary>
    public string? LastCheckpoint { get; private set; }

    /// <summary>The run's configuration (a resumed run's: its checkpoint's).</summary>
    public RunConfig Config => _config;

    /// <summary>The algorithm's name, for messages: DQN, R2D2.</summary>
    public string Title => _algorithm.Title;

    /// <summary>The id of the run being resumed, or null for a new run.</summary>
    public string? ResumedRunId => _resume?.RunId;

    /// <summary>Updates and environment steps of the checkpoint being resumed (zeros for a new run).</summary>
    public (long Updates, long Steps) ResumedAt => _resume is null ? (0, 0) : (_resume.Updates, _resume.ActorSteps.Sum());

    /// <summary>The rate limiter's target: transitions sampled per transition inserted (DQN), or sequences sampled per environment step inserted (R2D2).</summary>
    public double TargetSamplesPerInsert => _algorithm.TargetSamplesPerInsert;

    /// <summary>Starts a local silo, runs the actors and the learner until the actors have taken <c>n_timesteps</c> steps together, evaluates the final weights.</summary>
    public DistributedResult Learn(CancellationToken cancel = default)
    {
        var (observationSize, actionCount) = _algorithm.Probe();
        using IHost host = LocalSilo(out int gatewayPort);
        host.StartAsync(cancel).GetAwaiter().GetResult();
        try
        {
            IGrainFactory grains = host.Services.GetRequiredService<IGrainFactory>();
            var run = RunIdentity.Current(_resume?.RunId ?? NewRunId());
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, ClusterHosts.Stopping(host)); // SIGTERM too
            return Run(grains, run, observationSize, actionCount, ["--gateway", $"127.0.0.1:{gatewayPort}"], stop.Token);
        }
        finally
        {
            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Trains as the learner of run <paramref name="runId"/> on an existing cluster (<paramref name="grains"/>: a
    /// client of it, e.g. <see cref="ClusterHosts.StartClient"/>). Actors join with <c>rlmemory cluster actor --run
    /// RUN_ID --index I</c> and the arguments that reach the cluster (<paramref name="connect"/>, e.g. <c>--redis
    /// HOST:PORT</c>); with <see cref="DistributedOptions.ActorProcess"/> this process starts them.
    /// </summary>
    public DistributedResult Learn(IGrainFactory grains, string runId, IReadOnlyList<string> connect, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        if (_resume is not null && runId != _resume.RunId)
        {
            throw new ConfigException($"The checkpoint in {_options.ResumeFrom} is of run '{_resume.RunId}', not '{runId}'.");
        }

        var (observationSize, actionCount) = _algorithm.Probe();
        return Run(grains, RunIdentity.Current(runId), observationSize, actionCount, connect, cancel);
    }

    /// <summary>A new run id: the environment, the seed and a random part.</summary>
    public string NewRunId() => $"{_config.Env}-{_config.Seed}-{Guid.NewGuid():N}";

    private DistributedResult Run(IGrainFactory grains, RunIdentity run, int observationSize, int actionCount, IReadOnlyList<string> connect, CancellationToken cancel)
    {
        _stopping = false;
        double spi = TargetSamplesPerInsert;
        int k = _options.BatchesPerSample;
        int batchSize = _algorithm.Q.BatchSize;
        int insertBatch = _options.InsertBatch;
        int largest = LearnerShards.Shares(batchSize, _shards).Max() * k;
        long minPerShard = Math.Max(largest, (_algorithm.Q.LearningStarts + _shards - 1) / _shards);
        var limit = new RateLimit(spi, minPerShard, 2 * (largest + (spi * insertBatch))).Validate(largest, insertBatch);
        var shards = Enumerable.Range(0, _shards).Select(i => grains.GetGrain<IReplayShardGrain>(i, run.RunId)).ToArray();
        string? checkpoints = _options.RunDirectory is null || _options.ShardCheckpointEvery == 0 ? null : Path.GetFullPath(Path.Combine(_options.RunDirectory, "shards"));
        SequenceShape? sequences = _algorithm.Sequences(observationSize, actionCount);
        ShardSettings[] settings = [.. shards.Select((s, i) => new ShardSettings(run, Math.Max(1, _algorithm.BufferSize / _shards), observationSize, actionCount, limit, (ulong)(_config.Seed + 2 + i), checkpoints, _options.ShardCheckpointEvery, sequences, _algorithm.Priorities))];
        Task.WaitAll([.. shards.Select((s, i) => s.Configure(settings[i]))], cancel);
        long stepsDone = 0; // the actors' steps as the learner last heard (β's schedule)
        var replay = new LearnerShards(shards, settings, run, batchSize, k, largest, Console.Error, (shard, r, count) => _algorithm.Sample(shard, r, count, stepsDone));
        IParameterStoreGrain store = grains.GetGrain<IParameterStoreGrain>(run.RunId);
        IRunGrain coordinator = grains.GetGrain<IRunGrain>(run.RunId);
        long stepsPerActor = (_config.TotalTimesteps + _options.Actors - 1) / _options.Actors;
        var plan = new RunPlan(run, _algorithm.Yaml, _options.Actors, _shards, insertBatch, _options.PullEvery, stepsPerActor);
        if (_resume is null)
        {
            coordinator.Start(plan, _options.ActorTimeout).GetAwaiter().GetResult();
        }
        else
        {
            coordinator.Resume(plan, _options.ActorTimeout, _resume.ActorSteps).GetAwaiter().GetResult();
        }

        // Parallelism comes from the roles (actors, the learner): one torch thread each, as the single-process loop
        // acts, instead of every role's operations spreading over every core.
        NativeHeap.Apply(); // freed tensor memory stays in the process for the next update (as in the single-process loop)
        set_num_threads(1);
        MklOnAmd.Apply(); // libtorch is loaded now, and no matrix product has run yet (as the single-process loop does)
        manual_seed(_config.Seed);
        using DistributedLearner learner = _algorithm.CreateLearner(observationSize, actionCount);
        long version = 1;
        if (_resume is not null)
        {
            _resume.Restore(learner);
            // The store may hold versions published after the checkpoint (its silo lived on): publish above them.
            version = Math.Max(_resume.WeightsVersion, store.Version().GetAwaiter().GetResult()) + 1;
        }

        store.Publish(new WeightsMessage(run, version, Weights.Flatten(learner.Policy), DateTime.UtcNow.Ticks)).GetAwaiter().GetResult();

        var clock = Stopwatch.StartNew();
        using var actors = new ActorSupervisor(_options, run, connect, grains, () => _stopping);
        actors.StartAll();

        using RunLog? log = _options.RunDirectory is null ? null : new RunLog(_options.RunDirectory, Columns, resumeFrom: _resume?.Log);
        long checkpointEvery = LearnerCheckpointEvery;
        CheckpointStore? learnerCheckpoints = _options.RunDirectory is null || checkpointEvery == 0 ? null : new CheckpointStore(_options.RunDirectory);
        RunProgress progress = coordinator.Progress(run).GetAwaiter().GetResult();

        // The run's progress; a coordinator lost with its silo is started again from the actors' last known steps,
        // and one that cannot be reached for now leaves the last progress standing.
        RunProgress Progress()
        {
            try
            {
                return coordinator.Progress(run).GetAwaiter().GetResult();
            }
            catch (RunNotStartedException)
            {
                Console.Error.WriteLine($"warning: the run's coordinator was lost with its silo; the learner starts it again from the actors' last reported steps ({progress.StepsDone:N0}).");
                coordinator.Resume(plan, _options.ActorTimeout, progress.ActorSteps).GetAwaiter().GetResult();
                return coordinator.Progress(run).GetAwaiter().GetResult();
            }
            catch (Exception e) when (ClusterFaults.IsUnreachable(e))
            {
                return progress;
            }
        }
        var progressClock = Stopwatch.StartNew();
        int wait = 1;
        bool finished = false;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                actors.Check();
                if (!replay.TrySample(learner.Updates))
                {
                    // Waiting for the actors: back off (1, 2, 4 … 16 ms) and ask the coordinator at most every 100 ms.
                    if (progressClock.ElapsedMilliseconds >= 100)
                    {
                        progress = Progress();
                        progressClock.Restart();
                        if (progress.Finished + progress.Silent >= _options.Actors)
                        {
                            finished = true;
                            break; // every actor is done (or gone), and the rate limiter allows no more samples
                        }
                    }

                    Thread.Sleep(wait);
                    wait = Math.Min(wait * 2, 16);
                    continue;
                }

                wait = 1;

                // k updates from one round: batch j takes rows [j·share, (j + 1)·share) of every shard's sample. With a
                // shard lost, the others give its share (and k may be smaller, as their limiters admit).
                using var round = NewDisposeScope();
                var (live, share, rounds) = replay.Layout;
                IShardSample[] samples = replay.Samples;
                stepsDone = progress.StepsDone;
                double[][]? priorities = learner.TrainRound(samples, share, rounds, () => progress.StepsDone, () =>
                {
                    if (learner.Updates % _options.PublishEvery == 0)
                    {
                        version++;
                        try
                        {
                            store.Publish(new WeightsMessage(run, version, Weights.Flatten(learner.Policy), DateTime.UtcNow.Ticks)).GetAwaiter().GetResult();
                        }
                        catch (Exception e) when (ClusterFaults.IsUnreachable(e))
                        {
                            // The store's silo died: the next publication goes to its new activation.
                            Console.Error.WriteLine($"warning: weights version {version} could not be published ({ClusterFaults.Reason(e)}); the next publication tries again.");
                        }
                    }

                    if (learnerCheckpoints is not null && learner.Updates % checkpointEvery == 0)
                    {
                        progress = Progress();
                        LastCheckpoint = LearnerCheckpoint.Save(learnerCheckpoints, progress.StepsDone, run.RunId, _algorithm, _options.Actors, _shards, learner, version, progress.ActorSteps, log?.Position);
                    }

                    if (log is not null && learner.Updates % _options.LogEvery == 0)
                    {
                        progress = Progress();
                        Log(log, learner, replay, progress, version, clock);
                    }
                });

                if (priorities is not null)
                {
                    replay.UpdatePriorities(live, samples, priorities);
                }

                replay.Clear();
            }
        }
        finally
        {
            _stopping = true;
            actors.StopAll(finished);
        }

        actors.ThrowIfFailed();
        if (cancel.IsCancellationRequested)
        {
            // Interrupted (Ctrl+C): a last learner checkpoint, so the run goes on from here with ResumeFrom.
            if (learnerCheckpoints is not null && learner.Updates > 0)
            {
                progress = Progress();
                LastCheckpoint = LearnerCheckpoint.Save(learnerCheckpoints, progress.StepsDone, run.RunId, _algorithm, _options.Actors, _shards, learner, version, progress.ActorSteps, log?.Position);
            }

            cancel.ThrowIfCancellationRequested();
        }
        double seconds = clock.Elapsed.TotalSeconds;
        progress = Progress();
        ShardStatistics[] statistics = replay.Statistics();
        if (log is not null)
        {
            Log(log, learner, replay, progress, version, clock);
        }

        EvaluationResult evaluation = learner.Evaluate(progress.StepsDone);
        if (_options.RunDirectory is not null)
        {
            learner.SaveAgent(Path.Combine(_options.RunDirectory, "final_model.rlagent"));
        }

        long inserted = statistics.Sum(s => s.Inserted);
        double[] sorted = [.. progress.WeightLatenciesMs.Order()];
        return new DistributedResult(
            progress.StepsDone,
            learner.Updates,
            evaluation,
            seconds,
            inserted == 0 ? 0 : statistics.Sum(s => s.Sampled) / (double)inserted,
            TargetSamplesPerInsert,
            version,
            _algorithm.BytesPerItem(observationSize, actionCount),
            statistics,
            sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2])
        {
            ActorStarts = progress.Joins,
            StartSteps = ResumedAt.Steps,
            StartUpdates = ResumedAt.Updates,
            ShardRecoveries = [.. replay.Recoveries],
        };
    }

    private static readonly string[] Columns =
    [
        "time/total_timesteps", "time/fps", "rollout/ep_rew_mean", "train/loss", "train/q_values", "train/n_updates",
        "distributed/inserted", "distributed/sampled", "distributed/samples_per_insert", "distributed/inserts_refused",
        "distributed/samples_refused", "distributed/weights_version", "distributed/actor_starts",
    ];

    private static void Log(RunLog log, DistributedLearner learner, LearnerShards shards, RunProgress progress, long version, Stopwatch clock)
    {
        ShardStatistics[] s = shards.Statistics();
        var (loss, q) = learner.TakeStatistics();
        long inserted = s.Sum(x => x.Inserted), sampled = s.Sum(x => x.Sampled);
        log.Record(progress.StepsDone,
        [
            new("time/total_timesteps", progress.StepsDone), new("time/fps", progress.StepsDone / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)),
            new("rollout/ep_rew_mean", progress.RecentReturns.Length == 0 ? double.NaN : progress.RecentReturns.Average()), new("train/loss", loss), new("train/q_values", q),
            new("train/n_updates", learner.Updates), new("distributed/inserted", inserted), new("distributed/sampled", sampled),
            new("distributed/samples_per_insert", inserted == 0 ? double.NaN : sampled / (double)inserted),
            new("distributed/inserts_refused", s.Sum(x => x.InsertsRefused)), new("distributed/samples_refused", s.Sum(x => x.SamplesRefused)),
            new("distributed/weights_version", version), new("distributed/actor_starts", progress.Joins),
        ]);
    }

    private static IHost LocalSilo(out int gateway)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        int silo = FreePort(), port = FreePort();
        gateway = port;
        builder.UseOrleans(s => s.UseLocalhostClustering(siloPort: silo, gatewayPort: port, serviceId: ActorProcessHost.ClusterId, clusterId: ActorProcessHost.ClusterId).AddRunGrains());
        return builder.Build();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
