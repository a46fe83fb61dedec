using System.Collections.Concurrent;
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
    public int PublishEvery { get; init; } = 16;

    /// <summary>Learner updates per round of sampling: each shard is asked for this many batches' share at once.</summary>
    public int BatchesPerSample { get; init; } = 8;

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
/// <param name="BytesPerTransition">Payload bytes per transition in the actors' inserts.</param>
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
    public double EnvStepsPerSecond => EnvSteps / Seconds;

    /// <summary>Learner updates per second over the run.</summary>
    public double UpdatesPerSecond => Updates / Seconds;
}

/// <summary>
/// DQN as Ape-X lays it out (Horgan et al. 2018): actors with their own environments and policy copies push complete
/// (n-step) transitions in batches to replay shards; one learner samples from every shard, trains the existing DQN
/// learner and publishes versioned weights that the actors pull every <see cref="DistributedOptions.PullEvery"/>
/// steps. The shards and the parameter store are Orleans grains; a samples-per-insert rate limiter on each shard keeps
/// the learner's replay ratio at DQN's (<c>batch_size · gradient_steps / (train_freq · n_envs)</c>) whatever the
/// actors' speed. This class runs every role in one process on a local (localhost-clustered) silo.
/// </summary>
/// <remarks>
/// The actors' ε follows the configuration's schedule over the environment steps of all actors together; the learner
/// copies its target network every <c>gradient_steps · max(1, target_update_interval / (train_freq · n_envs))</c>
/// updates (where the single-process loop's copies fall between its training phases). Prioritized replay and
/// memory-saving storage are not offered here yet.
/// </remarks>
public sealed class DistributedDqnTrainer
{
    private readonly DqnConfig _config;
    private readonly DistributedOptions _options;
    private readonly int _shards;
    private long _envSteps;
    private volatile bool _stopping;

    /// <summary>A run of <paramref name="config"/> laid out as <paramref name="options"/> says.</summary>
    /// <exception cref="ConfigException">A setting is out of range or not offered in distributed runs.</exception>
    public DistributedDqnTrainer(DqnConfig config, DistributedOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _options = (options ?? new DistributedOptions()).Validate();
        config.ValidateCombinations();
        if (config.Prioritized)
        {
            throw new ConfigException("prioritized: true is not offered by the distributed DQN yet (its shards sample uniformly); set prioritized: false or train in one process.");
        }

        _config = config;
        _shards = _options.Shards == 0 ? _options.Actors : _options.Shards;
        if (config.BatchSize < _shards)
        {
            throw new ConfigException($"batch_size ({config.BatchSize}) must be at least the number of replay shards ({_shards}): each learner batch takes a share from every shard.");
        }
    }

    /// <summary>The rate limiter's target: DQN's samples per inserted transition.</summary>
    public double TargetSamplesPerInsert => (double)_config.BatchSize * GradientSteps / ((double)_config.TrainFreq * _config.NumEnvs);

    private int GradientSteps => _config.GradientSteps == -1 ? _config.TrainFreq * _config.NumEnvs : _config.GradientSteps;

    /// <summary>Starts a local silo, runs the actors and the learner until the actors have taken <c>n_timesteps</c> steps together, evaluates the final weights.</summary>
    public DistributedResult Learn(CancellationToken cancel = default)
    {
        var (observationSize, actionCount) = Probe();
        var network = new QNetworkConfig { ObservationSize = observationSize, ActionCount = actionCount, HiddenSizes = _config.NetArch, Dueling = _config.Dueling };
        using IHost host = LocalSilo();
        host.StartAsync(cancel).GetAwaiter().GetResult();
        try
        {
            IGrainFactory grains = host.Services.GetRequiredService<IGrainFactory>();
            var run = RunIdentity.Current($"{_config.Env}-{_config.Seed}-{Guid.NewGuid():N}");
            return Run(grains, run, network, cancel);
        }
        finally
        {
            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    private DistributedResult Run(IGrainFactory grains, RunIdentity run, QNetworkConfig network, CancellationToken cancel)
    {
        int perShardBatch = _config.BatchSize / _shards;
        int[] shareOf = [.. Enumerable.Range(0, _shards).Select(i => perShardBatch + (i < _config.BatchSize % _shards ? 1 : 0))];
        double spi = TargetSamplesPerInsert;
        int k = _options.BatchesPerSample;
        int largest = shareOf.Max() * k;
        long minPerShard = Math.Max(largest, (_config.LearningStarts + _shards - 1) / _shards);
        var limit = new RateLimit(spi, minPerShard, 2 * (largest + (spi * _options.InsertBatch))).Validate(largest, _options.InsertBatch);
        var shards = Enumerable.Range(0, _shards).Select(i => grains.GetGrain<IReplayShardGrain>(i, run.RunId)).ToArray();
        Task.WaitAll([.. shards.Select((s, i) => s.Configure(new ShardSettings(run, Math.Max(1, _config.BufferSize / _shards), network.ObservationSize, network.ActionCount, limit, (ulong)(_config.Seed + 2 + i))))], cancel);
        IParameterStoreGrain store = grains.GetGrain<IParameterStoreGrain>(run.RunId);

        // Parallelism comes from the roles (actor threads, the learner): one torch thread each, as the single-process
        // loop acts, instead of every role's operations spreading over every core.
        set_num_threads(1);
        manual_seed(_config.Seed);
        using var learner = new DqnLearner(network, CPU, _config.LearningRate, _config.DoubleQ, _config.Loss, _config.MaxGradNorm);
        long version = 1;
        var published = new ConcurrentDictionary<long, long>();
        published[version] = Stopwatch.GetTimestamp();
        store.Publish(new WeightsMessage(run, version, Weights.Flatten(learner.Online))).GetAwaiter().GetResult();

        var latencies = new ConcurrentBag<double>();
        var episodeReturns = new ConcurrentQueue<double>();
        var payload = new long[2]; // bytes, transitions
        long stepsPerActor = (_config.TotalTimesteps + _options.Actors - 1) / _options.Actors;
        var clock = Stopwatch.StartNew();
        var errors = new ConcurrentQueue<(int Actor, Exception Error)>();
        var actors = Enumerable.Range(0, _options.Actors).Select(i => new Thread(() =>
        {
            try
            {
                RunActor(i, run, network, shards, store, stepsPerActor, published, latencies, episodeReturns, payload);
            }
            catch (Exception e)
            {
                errors.Enqueue((i, e));
                _stopping = true;
            }
        })
        { IsBackground = true, Name = $"rlmemory actor {i}" }).ToList();
        actors.ForEach(a => a.Start());

        using RunLog? log = _options.RunDirectory is null ? null : new RunLog(_options.RunDirectory, Columns);
        int targetEvery = GradientSteps * Math.Max(1, _config.TargetUpdateInterval / (_config.TrainFreq * _config.NumEnvs));
        var samples = new SampledTransitions?[_shards];
        try
        {
            while (!cancel.IsCancellationRequested && errors.IsEmpty)
            {
                bool actorsDone = actors.TrueForAll(a => !a.IsAlive);
                for (int i = 0; i < _shards; i++)
                {
                    samples[i] ??= shards[i].Sample(run, shareOf[i] * k).GetAwaiter().GetResult();
                }

                if (Array.Exists(samples, s => s is null))
                {
                    if (actorsDone)
                    {
                        break; // the actors are done and the rate limiter allows no more samples
                    }

                    Thread.Sleep(1);
                    continue;
                }

                // k updates from one round: batch j takes rows [j·share, (j + 1)·share) of every shard's sample.
                for (int j = 0; j < k; j++)
                {
                    using (var scope = NewDisposeScope())
                    {
                        using TransitionBatch batch = Combine(samples!, shareOf, j, network.ObservationSize);
                        learner.Step(batch, wantPriorities: false, Interlocked.Read(ref _envSteps));
                    }

                    if (learner.Updates % targetEvery == 0)
                    {
                        learner.UpdateTarget(_config.Tau);
                    }

                    if (learner.Updates % _options.PublishEvery == 0)
                    {
                        version++;
                        published[version] = Stopwatch.GetTimestamp();
                        store.Publish(new WeightsMessage(run, version, Weights.Flatten(learner.Online))).GetAwaiter().GetResult();
                    }

                    if (log is not null && learner.Updates % _options.LogEvery == 0)
                    {
                        Log(log, learner, shards, episodeReturns, version, clock);
                    }
                }

                Array.Clear(samples);
            }
        }
        finally
        {
            _stopping = true;
            actors.ForEach(a => a.Join());
        }

        if (!errors.IsEmpty)
        {
            var failures = errors.OrderBy(f => f.Actor).ToList();
            throw new InvalidOperationException(
                $"The distributed run stopped: {string.Join("; ", failures.Select(f => $"actor {f.Actor} failed: {f.Error.Message}"))}",
                failures.Count == 1 ? failures[0].Error : new AggregateException(failures.Select(f => f.Error)));
        }

        cancel.ThrowIfCancellationRequested();
        double seconds = clock.Elapsed.TotalSeconds;
        ShardStatistics[] statistics = Task.WhenAll(shards.Select(s => s.Statistics())).GetAwaiter().GetResult();
        if (log is not null)
        {
            Log(log, learner, shards, episodeReturns, version, clock);
        }

        EvaluationResult evaluation = Evaluate(learner, network);
        if (_options.RunDirectory is not null)
        {
            using var agent = new DqnAgent(learner.Online, _config.Env);
            agent.Save(Path.Combine(_options.RunDirectory, "final_model.rlagent"));
        }

        long inserted = statistics.Sum(s => s.Inserted);
        double[] sorted = [.. latencies.Order()];
        return new DistributedResult(
            Interlocked.Read(ref _envSteps),
            learner.Updates,
            evaluation,
            seconds,
            inserted == 0 ? 0 : statistics.Sum(s => s.Sampled) / (double)inserted,
            TargetSamplesPerInsert,
            version,
            payload[1] == 0 ? 0 : payload[0] / (double)payload[1],
            statistics,
            sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2]);
    }

    private static readonly string[] Columns =
    [
        "time/total_timesteps", "time/fps", "rollout/ep_rew_mean", "train/loss", "train/q_values", "train/n_updates",
        "distributed/inserted", "distributed/sampled", "distributed/samples_per_insert", "distributed/inserts_refused",
        "distributed/samples_refused", "distributed/weights_version",
    ];

    private void Log(RunLog log, DqnLearner learner, IReplayShardGrain[] shards, ConcurrentQueue<double> returns, long version, Stopwatch clock)
    {
        ShardStatistics[] s = Task.WhenAll(shards.Select(x => x.Statistics())).GetAwaiter().GetResult();
        var (loss, q) = learner.TakeStatistics();
        double[] recent = [.. returns.TakeLast(100)];
        long steps = Interlocked.Read(ref _envSteps);
        long inserted = s.Sum(x => x.Inserted), sampled = s.Sum(x => x.Sampled);
        log.Record(steps,
        [
            new("time/total_timesteps", steps), new("time/fps", steps / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)),
            new("rollout/ep_rew_mean", recent.Length == 0 ? double.NaN : recent.Average()), new("train/loss", loss), new("train/q_values", q),
            new("train/n_updates", learner.Updates), new("distributed/inserted", inserted), new("distributed/sampled", sampled),
            new("distributed/samples_per_insert", inserted == 0 ? double.NaN : sampled / (double)inserted),
            new("distributed/inserts_refused", s.Sum(x => x.InsertsRefused)), new("distributed/samples_refused", s.Sum(x => x.SamplesRefused)),
            new("distributed/weights_version", version),
        ]);
    }

    private void RunActor(
        int index, RunIdentity run, QNetworkConfig network, IReplayShardGrain[] shards, IParameterStoreGrain store, long steps,
        ConcurrentDictionary<long, long> published, ConcurrentBag<double> latencies, ConcurrentQueue<double> episodeReturns, long[] payload)
    {
        int n = _config.NumEnvs;
        using VectorEnv<int> envs = TrainingEnvironments.MakeVector<int>(_config, n);
        envs.Reset(seed: _config.Seed + (1000 * (index + 1)));
        using var policy = new QNetwork(network, CPU);
        using var actor = new BatchedActor(policy, n, (ulong)(_config.Seed + 1 + (1000 * index)));
        var exploration = new LinearSchedule(_config.ExplorationInitialEps, _config.ExplorationFinalEps, (long)(_config.ExplorationFraction * _config.TotalTimesteps));
        var assembler = new NStepAssembler(_config.NSteps, _config.Gamma, n, network.ObservationSize, ActionSpec.Discrete);
        var sink = new BatchSink(network.ObservationSize);
        var actions = new int[n];
        var returns = new double[n];
        long version = 0, sequence = 0;
        string name = $"actor-{index}";
        for (long v = 0; v * n < steps && !_stopping; v++)
        {
            if (v % _options.PullEvery == 0)
            {
                WeightsMessage? weights = store.Pull(run, version).GetAwaiter().GetResult();
                if (weights is not null)
                {
                    Weights.Load(policy, weights.Values);
                    version = weights.Version;
                    if (published.TryGetValue(version, out long at))
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(at).TotalMilliseconds);
                    }
                }
            }

            long global = Interlocked.Read(ref _envSteps);
            actor.EpsilonGreedy(envs.Observations, actions, global < _config.LearningStarts ? 1.0 : exploration.ValueAt(global));
            VectorStep<int> step = envs.Step(actions);
            assembler.AddStep(step, sink);
            for (int i = 0; i < n; i++)
            {
                returns[i] += step.Rewards[i];
                if (step.Terminations[i] || step.Truncations[i])
                {
                    episodeReturns.Enqueue(returns[i]);
                    returns[i] = 0;
                }
            }

            Interlocked.Add(ref _envSteps, n);
            while (sink.Count >= _options.InsertBatch)
            {
                Insert(sink.Take(run, name, sequence, _options.InsertBatch), shards[(int)((index + sequence) % shards.Length)], payload);
                sequence++;
            }
        }

        if (sink.Count > 0 && !_stopping)
        {
            Insert(sink.Take(run, name, sequence, sink.Count), shards[(int)((index + sequence) % shards.Length)], payload);
        }

        while (episodeReturns.Count > 1000)
        {
            episodeReturns.TryDequeue(out _);
        }
    }

    private void Insert(TransitionBatchMessage batch, IReplayShardGrain shard, long[] payload)
    {
        // Back-pressure: a refused insert waits for the learner (1, 2, 4 … 32 ms) and is sent again.
        int wait = 1;
        while (!_stopping)
        {
            if (shard.Insert(batch).GetAwaiter().GetResult().Accepted)
            {
                Interlocked.Add(ref payload[0], batch.PayloadBytes);
                Interlocked.Add(ref payload[1], batch.Count);
                return;
            }

            Thread.Sleep(wait);
            wait = Math.Min(wait * 2, 32);
        }
    }

    private static TransitionBatch Combine(SampledTransitions[] parts, int[] shareOf, int j, int observationSize)
    {
        int count = shareOf.Sum();
        var observations = new float[count * observationSize];
        var next = new float[count * observationSize];
        var actions = new long[count];
        var rewards = new float[count];
        var terminated = new float[count];
        var discounts = new float[count];
        int row = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            int share = shareOf[i], from = j * share;
            parts[i].Observations.AsSpan(from * observationSize, share * observationSize).CopyTo(observations.AsSpan(row * observationSize));
            parts[i].NextObservations.AsSpan(from * observationSize, share * observationSize).CopyTo(next.AsSpan(row * observationSize));
            parts[i].Actions.AsSpan(from, share).CopyTo(actions.AsSpan(row));
            parts[i].Rewards.AsSpan(from, share).CopyTo(rewards.AsSpan(row));
            parts[i].Terminated.AsSpan(from, share).CopyTo(terminated.AsSpan(row));
            parts[i].Discounts.AsSpan(from, share).CopyTo(discounts.AsSpan(row));
            row += share;
        }

        return new TransitionBatch(
            tensor(observations, [count, observationSize]),
            tensor(actions, [count]),
            tensor(rewards, [count]),
            tensor(next, [count, observationSize]),
            tensor(terminated, [count]),
            zeros([count], ScalarType.Float32),
            tensor(discounts, [count]),
            arange(count, ScalarType.Int64),
            weights: null);
    }

    private EvaluationResult Evaluate(DqnLearner learner, QNetworkConfig network)
    {
        using var greedy = new BatchedActor(learner.Online, _config.EvalEpisodes, 0);
        using var evaluator = new Evaluator(() => TrainingEnvironments.MakeOne<int>(_config), _config.EvalEpisodes, Evaluator.SeedFor(_config.Seed));
        _ = network;
        return evaluator.Run(Interlocked.Read(ref _envSteps), greedy.Greedy);
    }

    private (int ObservationSize, int ActionCount) Probe()
    {
        TrainingEnvironments.RequireTrainable(_config.Env, DqnTrainer.Algo, typeof(int));
        using VectorEnv<int> envs = TrainingEnvironments.MakeVector<int>(_config, 1);
        return envs.SingleActionSpace is Discrete { Start: 0 } discrete
            ? (envs.ObservationSize, discrete.N)
            : throw new ConfigException($"env {_config.Env} has the action space {envs.SingleActionSpace}; DQN needs Discrete(n) starting at 0.");
    }

    private static IHost LocalSilo()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        int silo = FreePort(), gateway = FreePort();
        builder.UseOrleans(s => s.UseLocalhostClustering(siloPort: silo, gatewayPort: gateway));
        return builder.Build();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Collects what an <see cref="NStepAssembler"/> completes, until an insert takes it.</summary>
    private sealed class BatchSink(int observationSize) : ITransitionSink
    {
        private readonly List<float> _observations = [], _next = [];
        private readonly List<int> _actions = [];
        private readonly List<double> _rewards = [], _discounts = [];
        private readonly List<bool> _terminated = [];

        public int Count => _actions.Count;

        public void AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts)
            where TAction : unmanaged
        {
            if (typeof(TAction) != typeof(int))
            {
                throw new ArgumentException("The distributed DQN stores discrete (int) actions.");
            }

            foreach (float x in transitions.Observations)
            {
                _observations.Add(x);
            }

            foreach (float x in transitions.NextObservations)
            {
                _next.Add(x);
            }

            foreach (TAction a in transitions.Actions)
            {
                _actions.Add((int)(object)a);
            }

            foreach (double r in transitions.Rewards)
            {
                _rewards.Add(r);
            }

            foreach (bool t in transitions.Terminations)
            {
                _terminated.Add(t);
            }

            foreach (double d in discounts)
            {
                _discounts.Add(d);
            }
        }

        public TransitionBatchMessage Take(RunIdentity run, string actor, long sequence, int count)
        {
            var message = new TransitionBatchMessage(
                run, actor, sequence, count,
                [.. _observations.Take(count * observationSize)], [.. _actions.Take(count)], [.. _rewards.Take(count)],
                [.. _next.Take(count * observationSize)], [.. _terminated.Take(count)], [.. _discounts.Take(count)]);
            _observations.RemoveRange(0, count * observationSize);
            _next.RemoveRange(0, count * observationSize);
            _actions.RemoveRange(0, count);
            _rewards.RemoveRange(0, count);
            _terminated.RemoveRange(0, count);
            _discounts.RemoveRange(0, count);
            return message;
        }
    }
}
