using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>The keys DQN and R2D2 share: Stable-Baselines3's counting of training phases, target updates and exploration.</summary>
internal interface IQLearningConfig
{
    /// <summary>Environment steps collected before learning starts.</summary>
    long LearningStarts { get; }

    /// <summary>Vector steps between training phases.</summary>
    int TrainFreq { get; }

    /// <summary>Environment steps between target updates.</summary>
    int TargetUpdateInterval { get; }

    /// <summary>Items (transitions, sequences) per gradient step.</summary>
    int BatchSize { get; }

    /// <summary>Adam's step size.</summary>
    double LearningRate { get; }

    /// <summary>Fraction of the run over which ε decays linearly.</summary>
    double ExplorationFraction { get; }

    /// <summary>ε at the start.</summary>
    double ExplorationInitialEps { get; }

    /// <summary>ε after the decay.</summary>
    double ExplorationFinalEps { get; }
}

/// <summary>
/// The loop of an ε-greedy Q-learning algorithm (DQN, R2D2), following Stable-Baselines3's DQN: act uniformly at
/// random until <c>learning_starts</c>, then ε-greedily with ε decaying linearly; remember each step; every
/// <c>target_update_interval</c> environment steps update the target network; every <c>train_freq</c> vector steps
/// (once past <c>learning_starts</c> and with a batch's worth in replay) run a training phase. A derived algorithm
/// supplies the learner, the actor, the replay and the training phase.
/// </summary>
/// <typeparam name="TNetwork">The Q-network.</typeparam>
/// <typeparam name="TBatch">What the replay samples (transitions, sequences).</typeparam>
internal abstract class QLearningAlgorithm<TNetwork, TBatch> : ITrainingAlgorithm<int>
    where TNetwork : nn.Module
    where TBatch : IDisposable
{
    private const string NetworksFile = "networks.rlmb";
    private const string OptimizerFile = "optimizer.bin";

    private readonly IQLearningConfig _config;
    private readonly string _networksKind;
    private readonly int _numEnvs;
    private readonly int _targetEvery;
    private readonly int _learningThreads;
    private readonly int _actingThreads;
    private readonly double _tau;
    private readonly LinearSchedule _exploration;
    private long _vectorSteps;
    private double _epsilon = 1;

    /// <param name="config">The shared keys.</param>
    /// <param name="run">The run's settings (environments, budget).</param>
    /// <param name="tau">The target update coefficient (1: a copy).</param>
    /// <param name="networksKind">The kind of the checkpoint's network file, e.g. <c>DqnNetworks</c>.</param>
    /// <param name="actingThreads">Torch threads while acting (learning uses <see cref="RunConfig.TorchThreads"/>).</param>
    protected QLearningAlgorithm(IQLearningConfig config, RunConfig run, double tau, string networksKind, int actingThreads)
    {
        _learningThreads = TrainingRun.LearningThreads(run.TorchThreads, Environment.ProcessorCount, out _);
        _actingThreads = TrainingRun.LearningThreads(actingThreads, Environment.ProcessorCount, out _);
        torch.set_num_threads(_actingThreads);
        _config = config;
        _networksKind = networksKind;
        _numEnvs = run.NumEnvs;
        _targetEvery = Math.Max(config.TargetUpdateInterval / run.NumEnvs, 1);
        _tau = tau;
        _exploration = new LinearSchedule(config.ExplorationInitialEps, config.ExplorationFinalEps, (long)(config.ExplorationFraction * run.TotalTimesteps));
    }

    /// <inheritdoc />
    public virtual IReadOnlyList<string> Columns { get; } =
        ["rollout/exploration_rate", "train/loss", "train/q_values", "train/n_updates", "train/learning_rate"];

    /// <inheritdoc />
    public long Updates => Learner.Updates;

    /// <inheritdoc />
    public abstract IAgent<int> Agent { get; }

    /// <inheritdoc />
    public IReadOnlyList<(string Name, nn.Module Module)> Networks => [("online", Learner.Online), ("target", Learner.Target)];

    /// <inheritdoc />
    public bool LearningDue { get; private set; }

    /// <inheritdoc />
    public bool Collecting => false;

    /// <inheritdoc />
    public bool LogsAfterLearning => false;

    /// <summary>The learner (online and target networks, optimizer, statistics).</summary>
    protected abstract QLearner<TNetwork> Learner { get; }

    /// <summary>The replay memory.</summary>
    protected abstract IReplayBuffer<TBatch> Replay { get; }

    /// <summary>The ε-greedy actor of the training environments.</summary>
    protected abstract IExploringActor Actor { get; }

    /// <inheritdoc />
    public void Act(long step, ReadOnlySpan<float> observations, Span<int> actions)
    {
        // Uniformly random until learning starts, then ε-greedy with one batched forward pass.
        _epsilon = step < _config.LearningStarts ? 1.0 : _exploration.ValueAt(step);
        ChooseActions(step, observations, actions, _epsilon);
    }

    /// <inheritdoc />
    public void Observe(long step, in VectorStep<int> transition)
    {
        // The replay skips the autoreset steps itself; a NaN or infinite reward or observation is the environments'
        // fault, and the learner's state is still good.
        try
        {
            Remember(transition);
        }
        catch (ArgumentException e)
        {
            throw new TrainingDivergedException(step + _numEnvs, Learner.Updates, "transition", double.NaN, e.Message) { FromEnvironments = true };
        }

        // Target network every target_update_interval environment steps, training every train_freq vector steps, as
        // SB3 counts them.
        _vectorSteps++;
        if (_vectorSteps % _targetEvery == 0)
        {
            Learner.UpdateTarget(_tau);
        }

        LearningDue = _vectorSteps % _config.TrainFreq == 0 && step + _numEnvs > _config.LearningStarts && Replay.Count >= _config.BatchSize;
    }

    /// <inheritdoc />
    public void Learn(long step, ReadOnlySpan<float> observations)
    {
        LearningDue = false;
        torch.set_num_threads(_learningThreads);
        try
        {
            Train(step);
        }
        finally
        {
            torch.set_num_threads(_actingThreads);
        }
    }

    /// <inheritdoc />
    public virtual void AddLogValues(long step, ICollection<KeyValuePair<string, double>> row)
    {
        var (loss, q) = Learner.TakeStatistics();
        row.Add(new("rollout/exploration_rate", _epsilon));
        row.Add(new("train/loss", loss));
        row.Add(new("train/q_values", q));
        row.Add(new("train/n_updates", Learner.Updates));
        row.Add(new("train/learning_rate", _config.LearningRate));
    }

    /// <summary>A restart (the environments were reset outside a step) cuts the episodes the replay is assembling.</summary>
    public virtual void EpisodesBegin(ReadOnlySpan<float> observations, bool restart)
    {
        if (restart)
        {
            Replay.BeginNewEpisodes();
        }
    }

    /// <inheritdoc />
    public JsonNode Save(string folder, bool exact)
    {
        ModuleFile.Save(Path.Combine(folder, NetworksFile), _networksKind, 1, "{}", ("online", Learner.Online), ("target", Learner.Target));
        File.WriteAllBytes(Path.Combine(folder, OptimizerFile), Learner.OptimizerState());
        SaveReplay(folder, exact);
        var state = new QLearningState(_vectorSteps, Learner.Updates, Actor.GetGeneratorState(), Learner.StatisticsState());
        return JsonSerializer.SerializeToNode(state, TrainingJsonContext.Default.QLearningState)!;
    }

    /// <inheritdoc />
    public void Restore(AlgorithmCheckpoint checkpoint, bool exact)
    {
        QLearningState state = checkpoint.Value(TrainingJsonContext.Default.QLearningState, s => s.Problem());
        ModuleFile.Load(checkpoint.File(NetworksFile), _networksKind, ("online", Learner.Online), ("target", Learner.Target));
        Learner.RestoreOptimizer(File.ReadAllBytes(checkpoint.File(OptimizerFile)), state.Updates);
        Learner.RestoreStatistics(state.Statistics);
        LoadReplay(checkpoint.Folder, exact);
        _vectorSteps = state.VectorSteps;
        Actor.SetGeneratorState(state.ActorGenerator);
    }

    /// <summary>Chooses the actions: uniformly at random with probability <paramref name="epsilon"/>, else greedily.</summary>
    /// <exception cref="TrainingDivergedException">The actor's state became non-finite.</exception>
    protected virtual void ChooseActions(long step, ReadOnlySpan<float> observations, Span<int> actions, double epsilon) =>
        Actor.EpsilonGreedy(observations, actions, epsilon);

    /// <summary>Stores the step in replay.</summary>
    /// <exception cref="ArgumentException">A reward or observation is NaN or infinite.</exception>
    protected abstract void Remember(in VectorStep<int> transition);

    /// <summary>One training phase (<c>gradient_steps</c> updates).</summary>
    protected abstract void Train(long step);

    /// <summary>Writes the replay (and, when <paramref name="exact"/>, per-environment actor state) into <paramref name="folder"/>.</summary>
    protected virtual void SaveReplay(string folder, bool exact) => Replay.Save(Path.Combine(folder, "replay"));

    /// <summary>Reads what <see cref="SaveReplay"/> wrote.</summary>
    protected abstract void LoadReplay(string folder, bool exact);

    /// <summary>Disposes the replay, the actor, the agent and the learner.</summary>
    public void Dispose()
    {
        Replay.Dispose();
        Actor.Dispose();
        Agent.Dispose();
        Learner.Dispose();
    }

    /// <summary>
    /// Builds the replay within the memory budget; a configuration the buffer refuses becomes a
    /// <see cref="ConfigException"/>. On failure the learner already built is disposed.
    /// </summary>
    protected static TReplay BuildReplay<TReplay>(Func<TReplay> build, MemoryEstimate memory, string lower, IDisposable learner)
    {
        try
        {
            return MemoryBudget.Allocate(build, memory, lower);
        }
        catch (ArgumentException e)
        {
            learner.Dispose();
            throw new ConfigException($"The replay memory cannot be built from this configuration: {e.Message}", e);
        }
        catch
        {
            learner.Dispose();
            throw;
        }
    }
}

/// <summary>The state of a <see cref="QLearningAlgorithm{TNetwork, TBatch}"/> in a checkpoint.</summary>
/// <param name="VectorSteps">Vector steps taken (the target and training cadence counts them).</param>
/// <param name="Updates">Gradient steps taken.</param>
/// <param name="ActorGenerator">The actor's exploration generator.</param>
/// <param name="Statistics">The learner's statistics since the last log row.</param>
internal sealed record QLearningState(long VectorSteps, long Updates, byte[] ActorGenerator, double[] Statistics)
{
    public string? Problem() =>
        VectorSteps < 0 || Updates < 0 ? "has a negative counter"
        : ActorGenerator is null || Statistics is null ? "lacks the actor's generator or the statistics"
        : null;
}
