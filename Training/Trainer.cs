using RlMemory.Agents;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>
/// What every trainer offers: its configuration, where the run stands, the agent, and <see cref="Learn"/>. The
/// algorithms' trainers (<see cref="Dqn.DqnTrainer"/>, <see cref="R2d2.R2d2Trainer"/>, <see cref="Ppo.PpoTrainer"/>)
/// derive from it and add what is particular to them; all of them run the same loop.
/// </summary>
/// <typeparam name="TConfig">The algorithm's configuration record.</typeparam>
/// <typeparam name="TAgent">The agent the algorithm trains.</typeparam>
public abstract class Trainer<TConfig, TAgent> : ITrainer
    where TConfig : RunConfig, new()
    where TAgent : class, IAgent
{
    private readonly ITrainingRun _run;
    private readonly string _algo;

    /// <summary>
    /// Builds everything a run of an algorithm with discrete actions needs: the configuration (a checkpoint's, when
    /// resuming with <see cref="TrainerOptions.ResumeFrom"/>: only the step budget may grow), validated by
    /// <paramref name="schema"/> and <paramref name="validate"/>, then the run with the algorithm <paramref name="build"/> makes.
    /// </summary>
    /// <exception cref="ConfigException">The configuration is invalid or inconsistent, or names a core this version cannot build.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume from is missing, corrupt or for another run shape.</exception>
    private protected Trainer(
        string algo,
        string name,
        ConfigSchema<TConfig> schema,
        TConfig config,
        TrainerOptions? options,
        Action<TConfig> validate,
        Func<TConfig, string> title,
        Func<TConfig, AlgorithmContext<int>, ITrainingAlgorithm<int>> build)
    {
        (Config, _run) = Start(algo, name, schema, config, options, validate, title, build);
        _algo = algo;
    }

    /// <summary>Builds a run of an algorithm with continuous actions (<c>float[]</c>; see the other constructor).</summary>
    private protected Trainer(
        string algo,
        string name,
        ConfigSchema<TConfig> schema,
        TConfig config,
        TrainerOptions? options,
        Action<TConfig> validate,
        Func<TConfig, string> title,
        Func<TConfig, AlgorithmContext<float[]>, ITrainingAlgorithm<float[]>> build)
    {
        (Config, _run) = Start(algo, name, schema, config, options, validate, title, build);
        _algo = algo;
    }

    private static (TConfig Config, ITrainingRun Run) Start<TAction>(
        string algo,
        string name,
        ConfigSchema<TConfig> schema,
        TConfig config,
        TrainerOptions? options,
        Action<TConfig> validate,
        Func<TConfig, string> title,
        Func<TConfig, AlgorithmContext<TAction>, ITrainingAlgorithm<TAction>> build)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new TrainerOptions();
        Checkpoint? checkpoint = options.ResumeFrom is null ? null : CheckpointStore.Open(options.ResumeFrom, algo);
        if (checkpoint is not null)
        {
            // The configuration of a resumed run is the checkpoint's; only the step budget may grow.
            TConfig saved = CheckpointState.Restore(checkpoint, () => schema.Apply(new TConfig(), new CheckpointState(checkpoint).Config(), $"checkpoint {checkpoint.Folder}"));
            config = saved with { TotalTimesteps = options.KeepSavedBudget ? saved.TotalTimesteps : Math.Max(saved.TotalTimesteps, config.TotalTimesteps) };
        }

        schema.Validate(config);
        TrainingEnvironments.RequireTrainable(config.Env, algo, typeof(TAction));
        validate(config);
        var run = new TrainingRun<TAction>(config, algo, name, title(config), c => schema.ToEntries((TConfig)c), options, checkpoint, context => build(config, context));
        return (config, run);
    }

    /// <inheritdoc />
    string ITrainer.Algo => _algo;

    /// <summary>The run's configuration (for a resumed run, the checkpoint's).</summary>
    public TConfig Config { get; }

    /// <inheritdoc />
    public string Title => _run.Title;

    /// <inheritdoc />
    public string EnvId => Config.Env;

    /// <inheritdoc />
    public long TotalTimesteps => Config.TotalTimesteps;

    /// <inheritdoc />
    public long Step => _run.Step;

    /// <inheritdoc />
    public long Updates => _run.Algorithm.Updates;

    /// <inheritdoc />
    public IReadOnlyList<EvaluationResult> Evaluations => _run.Evaluations;

    /// <inheritdoc />
    public IReadOnlyList<(long Step, double Return)> EpisodeReturns => _run.EpisodeReturns;

    /// <summary>
    /// The greedy agent acting with the trained network: one object, owned by the trainer, that follows training
    /// (save it with its <c>Save</c>; it is disposed with the trainer).
    /// </summary>
    public TAgent Agent => (TAgent)_run.Algorithm.Agent;

    /// <inheritdoc />
    IAgent ITrainer.Agent => Agent;

    /// <summary>The algorithm the run drives (for the derived trainer's typed properties).</summary>
    private protected ITrainingAlgorithm Algorithm => _run.Algorithm;

    /// <summary>
    /// Trains until <see cref="RunConfig.TotalTimesteps"/>, a stop from a callback or the return threshold, or
    /// cancellation (which checkpoints and returns with <see cref="TrainingResult.Interrupted"/> set). Ends with an
    /// evaluation, the final checkpoint and the final agent (when there is a run folder).
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss, gradient, observation, reward or recurrent state became NaN or infinite (a checkpoint of the last good state is written first).</exception>
    public TrainingResult Learn(CancellationToken cancellationToken = default) => _run.Learn(this, cancellationToken);

    /// <summary>Disposes the environments, the networks and the replay.</summary>
    public void Dispose()
    {
        _run.Dispose();
        GC.SuppressFinalize(this);
    }
}
