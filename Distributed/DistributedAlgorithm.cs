using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Learning;
using RlMemory.Training.R2d2;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// What a distributed run's roles need to know about its algorithm (DQN or R2D2): what the shards hold, what the
/// learner trains on and how the actors act and what they send. The run loop (<see cref="DistributedTrainer"/>) and
/// the actor loop (<see cref="DistributedActor"/>) are the same for every algorithm.
/// </summary>
internal abstract class DistributedAlgorithm
{
    /// <summary>The algorithm of <paramref name="config"/>.</summary>
    /// <exception cref="ConfigException">Not one that trains distributed.</exception>
    public static DistributedAlgorithm For(RunConfig config, string algo) => config switch
    {
        DqnConfig dqn => new DqnDistributed(dqn),
        R2d2Config r2d2 => new R2d2Distributed(r2d2),
        _ => throw new ConfigException($"Distributed runs (--actors, cluster learner) train dqn and r2d2 presets; this preset's algorithm is {algo} (leave out --actors to train it in one process)."),
    };

    /// <summary>The algorithm of a run's plan (an actor reading what it joined).</summary>
    public static DistributedAlgorithm FromPlan(RunPlan plan)
    {
        Preset preset = Presets.Parse(plan.ConfigYaml, plan.Run.RunId, "the run's plan");
        return For(TrainerCatalog.Find(preset.Algo).Configure(preset, []).Config, preset.Algo);
    }

    /// <summary>The configuration.</summary>
    public abstract RunConfig Config { get; }

    /// <summary>The Q-learning settings the loops share (exploration, learning starts, batch size).</summary>
    public IQLearningConfig Q => (IQLearningConfig)Config;

    /// <summary>The preset algorithm's name (<c>dqn</c>, <c>r2d2</c>).</summary>
    public abstract string Algo { get; }

    /// <summary>For messages: DQN, R2D2.</summary>
    public abstract string Title { get; }

    /// <summary>The algorithm name a learner checkpoint's manifest records.</summary>
    public string CheckpointAlgo => $"{Algo}-distributed";

    /// <summary>Replay capacity in items, over all shards.</summary>
    public abstract int BufferSize { get; }

    /// <summary>Gradient steps per training phase of the single-process loop.</summary>
    public abstract int GradientStepsPerPhase { get; }

    /// <summary>τ of the target updates.</summary>
    public abstract double Tau { get; }

    /// <summary>
    /// The rate limiter's target, as in the single-process loop: items sampled per transition inserted (DQN), or
    /// sequences sampled per environment step the inserted sequences stand for (R2D2):
    /// <c>batch_size · gradient_steps / (train_freq · n_envs)</c> either way.
    /// </summary>
    public double TargetSamplesPerInsert => (double)Q.BatchSize * GradientStepsPerPhase / ((double)Q.TrainFreq * Config.NumEnvs);

    /// <summary>The configuration as YAML (a run's plan).</summary>
    public string Yaml => ConfigYaml.Write(Algo, Entries());

    /// <summary>The configuration's keys and values.</summary>
    public abstract IReadOnlyList<KeyValuePair<string, object?>> Entries();

    /// <summary>A configuration of this algorithm from saved keys and values (a checkpoint's).</summary>
    public abstract RunConfig Apply(IEnumerable<KeyValuePair<string, object?>> values, string source);

    /// <summary>Refuses what the distributed run does not offer, and layouts that cannot work.</summary>
    /// <exception cref="ConfigException">Names the key and what to do.</exception>
    public abstract void Validate(int shards);

    /// <summary>The shape of the shards' sequences (R2D2), or null for transitions.</summary>
    public abstract SequenceShape? Sequences(int observationSize, int actionCount);

    /// <summary>The shards' priority settings (prioritized replay), or null for uniform sampling.</summary>
    public virtual ShardPriorities? Priorities => null;

    /// <summary>Asks <paramref name="shard"/> for <paramref name="count"/> items, <paramref name="envStep"/> steps into the run (for β's schedule).</summary>
    public abstract Task<IShardSample?> Sample(IReplayShardGrain shard, RunIdentity run, int count, long envStep);

    /// <summary>Payload bytes per item of the actors' inserts.</summary>
    public abstract double BytesPerItem(int observationSize, int actionCount);

    /// <summary>The learner, its networks initialised from the seed in effect.</summary>
    public abstract DistributedLearner CreateLearner(int observationSize, int actionCount);

    /// <summary>An actor's policy copy and what it sends, for <paramref name="envs"/>.</summary>
    public abstract IActorPolicy CreateActor(VectorEnv<int> envs, int seed);

    /// <summary>The environment's observation size and number of actions; refuses environments the algorithm cannot train.</summary>
    /// <exception cref="ConfigException">Not a Discrete(n) action space starting at 0.</exception>
    public (int ObservationSize, int ActionCount) Probe()
    {
        TrainingEnvironments.RequireTrainable(Config.Env, Algo, typeof(int));
        using VectorEnv<int> envs = TrainingEnvironments.MakeVector<int>(Config, 1);
        return envs.SingleActionSpace is Discrete { Start: 0 } discrete
            ? (envs.ObservationSize, discrete.N)
            : throw new ConfigException($"env {Config.Env} has the action space {envs.SingleActionSpace}; {Title} needs Discrete(n) starting at 0.");
    }

    /// <summary>Refuses devices other than the CPU (the roles run there for now).</summary>
    protected void RequireCpu()
    {
        if (!string.Equals(Config.Device, "cpu", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"device = {Config.Device}: the distributed {Title} runs its learner and actors on the CPU for now; set device: cpu or train in one process.");
        }
    }
}

/// <summary>The learner of a distributed run: its networks, its gradient steps on the shards' samples, and what a checkpoint keeps.</summary>
internal abstract class DistributedLearner : IDisposable
{
    /// <summary>The network the actors copy (published as flat weights).</summary>
    public abstract nn.Module Policy { get; }

    /// <summary>Gradient steps taken.</summary>
    public abstract long Updates { get; }

    /// <summary>
    /// Trains on one round of samples: <paramref name="rounds"/> batches, batch j taking rows [j·share, (j + 1)·share)
    /// of each shard's sample; updates the target network where the single-process loop would; calls
    /// <paramref name="afterUpdate"/> after each gradient step. Returns, with prioritized replay, each sampled row's
    /// new |TD error| (one array per sample, in its row order) for the shards; else null.
    /// </summary>
    public abstract double[][]? TrainRound(IShardSample[] samples, int[] shares, int rounds, Func<long> envStep, Action afterUpdate);

    /// <summary>Mean loss and mean Q since the last call.</summary>
    public abstract (double Loss, double Q) TakeStatistics();

    /// <summary>The statistics since the last <see cref="TakeStatistics"/>, for checkpoints.</summary>
    public abstract double[] StatisticsState();

    /// <summary>Writes the networks and the optimizer into a checkpoint folder.</summary>
    public abstract void Save(string folder);

    /// <summary>Loads what <see cref="Save"/> wrote, the update count and the statistics.</summary>
    public abstract void Restore(string folder, long updates, double[] statistics);

    /// <summary>Greedy episodes of the online network.</summary>
    public abstract EvaluationResult Evaluate(long step);

    /// <summary>Saves the online network as the run's agent file.</summary>
    public abstract void SaveAgent(string path);

    /// <inheritdoc />
    public abstract void Dispose();
}

/// <summary>A Q-learner of a distributed run (DQN's, R2D2's): what the two share.</summary>
/// <typeparam name="TNetwork">The Q-network.</typeparam>
internal abstract class QDistributedLearner<TNetwork>(QLearner<TNetwork> learner, string kind, int targetEvery, double tau) : DistributedLearner
    where TNetwork : nn.Module
{
    private const string NetworksFile = "networks.rlmb";
    private const string OptimizerFile = "optimizer.bin";

    /// <summary>The learner.</summary>
    protected QLearner<TNetwork> Learner => learner;

    /// <inheritdoc />
    public override nn.Module Policy => learner.Online;

    /// <inheritdoc />
    public override long Updates => learner.Updates;

    /// <inheritdoc />
    public override (double Loss, double Q) TakeStatistics() => learner.TakeStatistics();

    /// <inheritdoc />
    public override double[] StatisticsState() => learner.StatisticsState();

    /// <inheritdoc />
    public override void Save(string folder)
    {
        ModuleFile.Save(Path.Combine(folder, NetworksFile), kind, 1, "{}", ("online", learner.Online), ("target", learner.Target));
        File.WriteAllBytes(Path.Combine(folder, OptimizerFile), learner.OptimizerState());
    }

    /// <inheritdoc />
    public override void Restore(string folder, long updates, double[] statistics)
    {
        ModuleFile.Load(Path.Combine(folder, NetworksFile), kind, ("online", learner.Online), ("target", learner.Target));
        learner.RestoreOptimizer(File.ReadAllBytes(Path.Combine(folder, OptimizerFile)), updates);
        learner.RestoreStatistics(statistics);
    }

    /// <summary>Copies (or moves, τ &lt; 1) the target network where the single-process loop's updates fall; whether it did.</summary>
    protected bool UpdateTargetIfDue()
    {
        if (learner.Updates % targetEvery != 0)
        {
            return false;
        }

        learner.UpdateTarget(tau);
        return true;
    }

    /// <inheritdoc />
    public override void Dispose() => learner.Dispose();
}

/// <summary>An actor's copy of the policy and the items it has completed but not sent yet.</summary>
internal interface IActorPolicy : IDisposable
{
    /// <summary>The network whose weights are pulled from the parameter store.</summary>
    nn.Module Network { get; }

    /// <summary>ε-greedy actions for every environment.</summary>
    void Act(ReadOnlySpan<float> observations, Span<int> actions, double epsilon);

    /// <summary>Records the step the last actions made (completing transitions or sequences).</summary>
    void Record(in VectorStep<int> step);

    /// <summary>Completed items not sent yet.</summary>
    int Pending { get; }

    /// <summary>
    /// The next batch to send, as a call that offers it to a shard (waiting there at most the given milliseconds for
    /// room, see <see cref="IReplayShardGrain.Insert"/>), or null: with <paramref name="final"/>, everything
    /// pending (null when nothing is); else a batch of <paramref name="insertBatch"/> transitions (DQN) or the sequences
    /// completed once <paramref name="insertBatch"/> steps were taken since the last batch (R2D2).
    /// </summary>
    Func<IReplayShardGrain, int, Task<InsertReply>>? Take(RunIdentity run, string actor, long sequence, int insertBatch, bool final);
}
