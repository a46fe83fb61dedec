using RlMemory.Agents;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// One actor of a distributed run, in whatever process it lives (a thread of the learner's process, or
/// <c>rlmemory cluster actor</c>): it joins the run's coordinator, steps its own vector environment with an ε-greedy
/// copy of the Q-network (R2D2: carrying each environment's recurrent state), completes items — n-step transitions
/// (DQN) or sequences with the state before each (R2D2) — inserts them in batches into the shards in turn (waiting
/// while a shard pushes back), pulls newer weights every <see cref="RunPlan.PullEvery"/> vector steps and reports its
/// progress. A restarted actor of the same index goes on from the steps its predecessor reported.
/// </summary>
public static class DistributedActor
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
        DistributedAlgorithm algorithm = DistributedAlgorithm.FromPlan(plan);
        RunConfig config = algorithm.Config;
        IQLearningConfig q = algorithm.Q;
        var shards = Enumerable.Range(0, plan.Shards).Select(i => grains.GetGrain<IReplayShardGrain>(i, run.RunId)).ToArray();
        IParameterStoreGrain store = grains.GetGrain<IParameterStoreGrain>(run.RunId);

        int n = config.NumEnvs;
        NativeHeap.Apply(); // the allocator settings of the learner and single-process runs
        set_num_threads(1);
        MklOnAmd.Apply(); // the kernels the learner and single-process runs use
        using VectorEnv<int> envs = TrainingEnvironments.MakeVector<int>(config, n);

        // Each start of an index explores with its own seed: a restarted actor does not replay its predecessor's episodes.
        int seed = config.Seed + (1000 * (index + 1)) + (100_000 * (assignment.Incarnation - 1));
        envs.Reset(seed: seed);
        using IActorPolicy policy = algorithm.CreateActor(envs, seed);
        var exploration = new LinearSchedule(q.ExplorationInitialEps, q.ExplorationFinalEps, (long)(q.ExplorationFraction * config.TotalTimesteps));
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
                    Weights.Load(policy.Network, weights.Values);
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
            policy.Act(envs.Observations, actions, global < q.LearningStarts ? 1.0 : exploration.ValueAt(global));
            VectorStep<int> step = envs.Step(actions);
            policy.Record(step);
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
            while (policy.Take(run, name, sequence, plan.InsertBatch, final: false) is { } batch)
            {
                if (!Insert(batch, route, (int)((index + sequence) % shards.Length), stop, () => Report(finished: false)))
                {
                    return;
                }

                sequence++;
            }
        }

        while (policy.Take(run, name, sequence, plan.InsertBatch, final: true) is { } last)
        {
            if (!Insert(last, route, (int)((index + sequence) % shards.Length), stop, () => Report(finished: false)))
            {
                return;
            }

            sequence++;
        }

        Report(finished: true);
    }

    /// <summary>How long an insert that every shard refused waits at the shards for room before the actor offers it again.</summary>
    internal const int InsertWaitMs = 250;

    /// <summary>
    /// Sends a batch to shard <paramref name="first"/> or, refused or unreachable, the next ones (<see cref="ShardRoute"/>);
    /// when every shard refuses, offers it again letting each shard hold it until the learner's samples make room (at
    /// most <see cref="InsertWaitMs"/>; the batch is sent once per offer instead of at every poll), reporting to the
    /// coordinator every few seconds (a learner that is away, e.g. restarting from its checkpoint, does not make the
    /// waiting actor look gone). With every shard unreachable it waits 1, 2, 4 … 32 ms between offers. False when
    /// stopped first.
    /// </summary>
    private static bool Insert(Func<IReplayShardGrain, int, Task<InsertReply>> batch, ShardRoute route, int first, Func<bool> stop, Action heartbeat)
    {
        int waitMs = 0, pause = 1;
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (!stop())
        {
            if (route.TryInsert(batch, first, waitMs))
            {
                return true;
            }

            waitMs = InsertWaitMs;
            if (route.AllPassedOver)
            {
                // No shard could be offered the batch (every one unreachable for now): do not spin.
                Thread.Sleep(pause);
                pause = Math.Min(pause * 2, 32);
            }
            else
            {
                pause = 1;
            }

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

    /// <summary>Whether every shard is passed over for now (it could not be reached lately).</summary>
    public bool AllPassedOver => Array.TrueForAll(_avoidUntil, until => Environment.TickCount64 < until);

    /// <summary>
    /// Offers a batch (<paramref name="insert"/> sends it to a shard, which may hold it <paramref name="waitMs"/> for
    /// room) to the shards from <paramref name="preferred"/> on: whether one took it.
    /// </summary>
    public bool TryInsert(Func<IReplayShardGrain, int, Task<InsertReply>> insert, int preferred, int waitMs = 0)
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
                bool accepted = insert(shards[i], waitMs).GetAwaiter().GetResult().Accepted;
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
