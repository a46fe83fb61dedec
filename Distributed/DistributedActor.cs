using RlMemory.Agents;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// One DQN actor of a distributed run, in whatever process it lives (a thread of the learner's process, or
/// <c>rlmemory cluster actor</c>): it joins the run's coordinator, steps its own vector environment with an ε-greedy
/// copy of the Q-network, assembles n-step transitions, inserts them in batches into the shards in turn (waiting while
/// a shard pushes back), pulls newer weights every <see cref="RunPlan.PullEvery"/> vector steps and reports its
/// progress. A restarted actor of the same index goes on from the steps its predecessor reported.
/// </summary>
public static class DqnActor
{
    /// <summary>How often an actor whose inserts are refused tells the coordinator it is still there.</summary>
    internal static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(5);

    /// <summary>Runs actor <paramref name="index"/> of <paramref name="run"/> until it has taken its share of the steps, or <paramref name="stop"/> says so.</summary>
    /// <exception cref="RunMismatchException">The cluster serves another run or protocol.</exception>
    public static void Run(IGrainFactory grains, RunIdentity run, int index, Func<bool> stop)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(stop);
        IRunGrain coordinator = grains.GetGrain<IRunGrain>(run.RunId);
        ActorAssignment assignment = coordinator.Join(run, index).GetAwaiter().GetResult();
        RunPlan plan = assignment.Plan;
        var config = (DqnConfig)TrainerCatalog.Find(DqnTrainer.Algo).Configure(Presets.Parse(plan.ConfigYaml, run.RunId, "the run's plan"), []).Config;
        var shards = Enumerable.Range(0, plan.Shards).Select(i => grains.GetGrain<IReplayShardGrain>(i, run.RunId)).ToArray();
        IParameterStoreGrain store = grains.GetGrain<IParameterStoreGrain>(run.RunId);

        int n = config.NumEnvs;
        set_num_threads(1);
        MklOnAmd.Apply(); // the kernels the learner and single-process runs use
        using VectorEnv<int> envs = TrainingEnvironments.MakeVector<int>(config, n);
        var network = new QNetworkConfig
        {
            ObservationSize = envs.ObservationSize,
            ActionCount = ((RlMemory.Environments.Discrete)envs.SingleActionSpace).N,
            HiddenSizes = config.NetArch,
            Dueling = config.Dueling,
        };

        // Each start of an index explores with its own seed: a restarted actor does not replay its predecessor's episodes.
        int seed = config.Seed + (1000 * (index + 1)) + (100_000 * (assignment.Incarnation - 1));
        envs.Reset(seed: seed);
        using var policy = new QNetwork(network, CPU);
        using var actor = new BatchedActor(policy, n, (ulong)seed);
        var exploration = new LinearSchedule(config.ExplorationInitialEps, config.ExplorationFinalEps, (long)(config.ExplorationFraction * config.TotalTimesteps));
        var assembler = new NStepAssembler(config.NSteps, config.Gamma, n, network.ObservationSize, ActionSpec.Discrete);
        var sink = new TransitionBatchSink(network.ObservationSize);
        var actions = new int[n];
        var running = new double[n];
        var returns = new List<double>();
        var latencies = new List<double>();
        long version = 0, sequence = 0, steps = assignment.StepsDone;
        string name = $"actor-{index}.{assignment.Incarnation}";
        var route = new ShardRoute(shards, $"actor {index}");

        void Report(bool finished)
        {
            try
            {
                coordinator.Report(run, new ActorReport(index, assignment.Incarnation, steps, finished, [.. returns], [.. latencies])).GetAwaiter().GetResult();
            }
            catch (Exception e) when (!finished && (e is RunNotStartedException || ClusterFaults.IsUnreachable(e)))
            {
                // The coordinator's silo died: the learner starts it again; this report's steps go with the next one.
                Console.Error.WriteLine($"warning: actor {index}: the run's coordinator cannot take a report now ({ClusterFaults.Reason(e)}); reporting again later.");
                return;
            }

            returns.Clear();
            latencies.Clear();
        }

        for (long v = 0; steps < plan.StepsPerActor; v++)
        {
            if (stop())
            {
                return;
            }

            if (v % plan.PullEvery == 0)
            {
                WeightsMessage? weights = null;
                try
                {
                    weights = store.Pull(run, version).GetAwaiter().GetResult();
                }
                catch (Exception e) when (ClusterFaults.IsUnreachable(e))
                {
                    // The store's silo died: act with the weights held; the learner's next publication reaches the new store.
                    Console.Error.WriteLine($"warning: actor {index}: the parameter store cannot be reached ({ClusterFaults.Reason(e)}); acting with version {version}.");
                }

                if (weights is not null)
                {
                    Weights.Load(policy, weights.Values);
                    version = weights.Version;
                    if (weights.PublishedTicks > 0)
                    {
                        latencies.Add(TimeSpan.FromTicks(DateTime.UtcNow.Ticks - weights.PublishedTicks).TotalMilliseconds);
                    }
                }

                Report(finished: false);
            }

            // ε over the steps of all actors together, estimated as this actor's times the number of actors.
            long global = steps * plan.Actors;
            actor.EpsilonGreedy(envs.Observations, actions, global < config.LearningStarts ? 1.0 : exploration.ValueAt(global));
            VectorStep<int> step = envs.Step(actions);
            assembler.AddStep(step, sink);
            for (int i = 0; i < n; i++)
            {
                running[i] += step.Rewards[i];
                if (step.Terminations[i] || step.Truncations[i])
                {
                    returns.Add(running[i]);
                    running[i] = 0;
                }
            }

            steps += n;
            while (sink.Count >= plan.InsertBatch)
            {
                if (!Insert(sink.Take(run, name, sequence, plan.InsertBatch), route, (int)((index + sequence) % shards.Length), stop, () => Report(finished: false)))
                {
                    return;
                }

                sequence++;
            }
        }

        if (sink.Count > 0 && !Insert(sink.Take(run, name, sequence, sink.Count), route, (int)((index + sequence) % shards.Length), stop, () => Report(finished: false)))
        {
            return;
        }

        Report(finished: true);
    }

    /// <summary>
    /// Sends a batch to shard <paramref name="first"/> or, refused or unreachable, the next ones (<see cref="ShardRoute"/>);
    /// when every shard refuses, waits for the learner (1, 2, 4 … 32 ms) and offers it again, reporting to the
    /// coordinator every few seconds (a learner that is away, e.g. restarting from its checkpoint, does not make the
    /// waiting actor look gone). False when stopped first.
    /// </summary>
    private static bool Insert(TransitionBatchMessage batch, ShardRoute route, int first, Func<bool> stop, Action heartbeat)
    {
        int wait = 1;
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (!stop())
        {
            if (route.TryInsert(batch, first))
            {
                return true;
            }

            Thread.Sleep(wait);
            wait = Math.Min(wait * 2, 32);
            if (waiting.Elapsed >= HeartbeatEvery)
            {
                heartbeat();
                waiting.Restart();
            }
        }

        return false;
    }
}

/// <summary>
/// Where an actor's inserts go: the shard its turn names, else (refused while the learner is behind on it, or
/// unreachable) the next ones in turn, so shards whose rate limiters drifted apart (one restored from an older
/// checkpoint, an actor gone) cannot hold a batch back while another shard would take it. A shard that could not be
/// reached is passed over for 2 s (its silo died, or its new activation is not configured yet); losing and regaining
/// one is said once each.
/// </summary>
internal sealed class ShardRoute(IReplayShardGrain[] shards, string name)
{
    private const long AvoidMs = 2000;
    private readonly long[] _avoidUntil = new long[shards.Length];
    private readonly bool[] _lost = new bool[shards.Length];

    /// <summary>Offers <paramref name="batch"/> to the shards from <paramref name="preferred"/> on: whether one took it.</summary>
    public bool TryInsert(TransitionBatchMessage batch, int preferred)
    {
        for (int k = 0; k < shards.Length; k++)
        {
            int i = (preferred + k) % shards.Length;
            if (Environment.TickCount64 < _avoidUntil[i])
            {
                continue;
            }

            try
            {
                bool accepted = shards[i].Insert(batch).GetAwaiter().GetResult().Accepted;
                if (_lost[i])
                {
                    _lost[i] = false;
                    Console.Error.WriteLine($"{name}: replay shard {i} takes inserts again.");
                }

                if (accepted)
                {
                    return true;
                }
            }
            catch (Exception e) when (ClusterFaults.IsUnreachable(e))
            {
                _avoidUntil[i] = Environment.TickCount64 + AvoidMs;
                if (!_lost[i])
                {
                    _lost[i] = true;
                    Console.Error.WriteLine($"warning: {name}: replay shard {i} cannot be reached ({ClusterFaults.Reason(e)}); sending to the other shards until it is back.");
                }
            }
        }

        return false;
    }
}

/// <summary>Collects what an <see cref="NStepAssembler"/> completes, until an insert takes it.</summary>
internal sealed class TransitionBatchSink(int observationSize) : ITransitionSink
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
