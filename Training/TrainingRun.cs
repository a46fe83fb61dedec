using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Logging;
using TorchSharp;

namespace RlMemory.Training;

/// <summary>
/// The run loop every algorithm shares (Stable-Baselines3's <c>learn</c>, Acme's environment loop): it owns the
/// environments, the step counter and the schedules (evaluation, logging, checkpoints), the callbacks and
/// cancellation, evaluation and the best model, the run log, divergence handling and the final checkpoint and agent.
/// Each vector step it asks the <see cref="ITrainingAlgorithm"/> for actions, steps the environments, hands the step to
/// the algorithm, and lets it learn when it is due.
/// </summary>
internal sealed class TrainingRun<TAction> : ITrainingRun
{
    private static readonly string[] RunColumns =
    [
        "time/total_timesteps", "time/episodes", "time/fps", "time/time_elapsed", "rollout/ep_rew_mean", "rollout/ep_len_mean",
    ];

    private static readonly string[] EvaluationColumns = ["eval/mean_reward", "eval/std_reward", "eval/mean_ep_length"];

    private readonly RunConfig _config;
    private readonly string _algo;
    private readonly Func<RunConfig, IEnumerable<KeyValuePair<string, object?>>> _configEntries;
    private readonly TrainerOptions _options;
    private readonly VectorEnv<TAction> _envs;
    private readonly ITrainingAlgorithm<TAction> _algorithm;
    private readonly Evaluator<TAction> _evaluator;
    private readonly IEpisodeActor<TAction> _evaluationActor;
    private readonly EpisodeTracker _episodes;
    private readonly CheckpointStore? _checkpoints;
    private readonly TAction[] _actions;
    private readonly List<EvaluationResult> _evaluations = [];
    private readonly IReadOnlyList<string> _resumeNotes = [];
    private readonly string? _threadNote;
    private readonly int _learningThreads;
    private readonly LogPosition? _resumeLog;
    private long _step;
    private long _nextEval;
    private long _nextLog;
    private long _nextCheckpoint;
    private double _bestMeanReturn = double.NegativeInfinity;
    private bool _envsNeedReset;
    private IProgressSink _progress = NullProgress.Instance;

    /// <summary>
    /// Builds the run: the environments, the algorithm (with <paramref name="build"/>), evaluation, and from
    /// <paramref name="checkpoint"/> (when resuming) every piece of state. On failure everything built is disposed.
    /// </summary>
    /// <param name="config">The validated configuration.</param>
    /// <param name="algo">The algorithm's name in checkpoints.</param>
    /// <param name="name">The algorithm as people write it, e.g. <c>DQN</c>.</param>
    /// <param name="title">What trains, e.g. <c>DQN on CartPole-v1 (seed 0)</c>.</param>
    /// <param name="configEntries">The configuration's keys and values (its schema's entries), for config.yaml and checkpoints.</param>
    /// <param name="options">Where the run writes, what it prints, its callbacks.</param>
    /// <param name="checkpoint">The checkpoint to resume from, or null.</param>
    /// <param name="build">Builds the algorithm on the environments.</param>
    public TrainingRun(
        RunConfig config,
        string algo,
        string name,
        string title,
        Func<RunConfig, IEnumerable<KeyValuePair<string, object?>>> configEntries,
        TrainerOptions options,
        Checkpoint? checkpoint,
        Func<AlgorithmContext<TAction>, ITrainingAlgorithm<TAction>> build)
    {
        _config = config;
        _algo = algo;
        Title = title;
        _configEntries = configEntries;
        _options = options;
        NativeHeap.Apply();
        _learningThreads = TrainingRun.LearningThreads(config.TorchThreads, Environment.ProcessorCount, out _threadNote);
        torch.set_num_threads(_learningThreads);
        MklOnAmd.Apply();   // libtorch is loaded now, and no matrix product has run yet
        var device = TorchDevices.Parse(config.Device);
        torch.manual_seed(config.Seed);

        _envs = TrainingEnvironments.MakeVector<TAction>(config, config.NumEnvs);
        try
        {
            ActionSpaces.Require(_envs.SingleActionSpace, config.Env, name);
            _algorithm = build(new AlgorithmContext<TAction>(_envs, device));
        }
        catch
        {
            _envs.Dispose();
            throw;
        }

        try
        {
            _evaluator = new Evaluator<TAction>(() => TrainingEnvironments.MakeOne<TAction>(config), config.EvalEpisodes, seed: Evaluator.SeedFor(config.Seed));
            _evaluationActor = _algorithm.Agent.Begin(config.EvalEpisodes);
            _episodes = new EpisodeTracker(config.NumEnvs);
            _actions = ActionSpaces.Buffers(_envs.SingleActionSpace, config.NumEnvs);
            _checkpoints = options.RunDirectory is null ? null : new CheckpointStore(options.RunDirectory, options.KeepCheckpoints);
            if (checkpoint is null)
            {
                _envs.Reset(seed: config.Seed);
                _algorithm.EpisodesBegin(_envs.Observations, restart: false);
                _nextEval = config.EvalFreq > 0 ? config.EvalFreq : long.MaxValue;
                _nextLog = config.LogInterval;
                _nextCheckpoint = config.CheckpointFreq > 0 ? config.CheckpointFreq : long.MaxValue;
            }
            else
            {
                _resumeLog = CheckpointState.Restore(checkpoint, () => Restore(checkpoint));
                _resumeNotes = checkpoint.Notes;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>What trains, for titles.</summary>
    public string Title { get; }

    /// <summary>The algorithm.</summary>
    public ITrainingAlgorithm Algorithm => _algorithm;

    /// <summary>Environment steps taken so far.</summary>
    public long Step => _step;

    /// <summary>Every evaluation so far.</summary>
    public IReadOnlyList<EvaluationResult> Evaluations => _evaluations;

    /// <summary>Every finished training episode: the step at which it ended and its return.</summary>
    public IReadOnlyList<(long Step, double Return)> EpisodeReturns => _episodes.History;

    /// <summary>
    /// Trains until the step budget (and, for an algorithm collecting rollouts, the rollout that reaches it), a stop from
    /// a callback or the return threshold, or cancellation (which checkpoints and returns with
    /// <see cref="TrainingResult.Interrupted"/>). Ends with an evaluation, the final checkpoint and the final agent.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A quantity became NaN or infinite (a checkpoint of the last good state is written first).</exception>
    public TrainingResult Learn(ITrainer trainer, CancellationToken cancellationToken)
    {
        // Signals go to other threads while this one runs torch kernels (see TorchThreadSignals).
        using IDisposable signals = TorchThreadSignals.Block();
        if (_options.Quiet)
        {
            return Run(trainer, NullProgress.Instance, cancellationToken);
        }

        IProgressDisplay display = _options.Display ?? new TextProgress(_options.Output);
        return display.Run(Title, _config.TotalTimesteps, sink => Run(trainer, sink, cancellationToken));
    }

    private TrainingResult Run(ITrainer trainer, IProgressSink progress, CancellationToken cancellationToken)
    {
        _progress = progress;
        using RunLog? log = _options.RunDirectory is null
            ? null
            : new RunLog(_options.RunDirectory, [.. RunColumns, .. _algorithm.Columns, .. EvaluationColumns], _options.TensorBoard, _resumeLog);
        if (_options.RunDirectory is not null)
        {
            File.WriteAllText(Path.Combine(_options.RunDirectory, "config.yaml"), ConfigYaml.Write(_algo, _configEntries(_config)));
        }

        StepContext Context() => new(_step, _episodes.Episodes, trainer);
        foreach (TrainingCallback callback in _options.Callbacks)
        {
            callback.OnTrainingStart(Context());
        }

        if (_threadNote is not null)
        {
            progress.Message(_threadNote);
        }

        foreach (string note in _resumeNotes)
        {
            progress.Message(note);
        }

        if (_envsNeedReset)
        {
            progress.Message("The environments could not be restored exactly (they cannot save their state); they restart from new episodes.");
        }

        long startStep = _step;
        var clock = Stopwatch.StartNew();
        long windowStep = _step;
        var window = Stopwatch.StartNew();

        // The throughput watch's own window leaves out evaluations and checkpoints, which are not training slowing down.
        var trainingWindow = Stopwatch.StartNew();
        var throughput = new ThroughputWatch(Environment.ProcessorCount, _learningThreads, ThroughputWatch.SystemLoadAverage);
        bool learnedOnce = false;
        bool stoppedEarly = false;
        bool interrupted = false;
        string? checkpointPath = null;
        try
        {
            // A checkpoint written when learning diverged may hold a full rollout: learn from it first.
            if (_algorithm.LearningDue)
            {
                Learn(Context);
            }

            while (_step < _config.TotalTimesteps || _algorithm.Collecting)
            {
                // 1. Act on the current observations, step every environment, and hand the step to the algorithm.
                _algorithm.Act(_step, _envs.Observations, _actions);
                VectorStep<TAction> transition = _envs.Step(_actions);
                _algorithm.Observe(_step, transition);
                _step += _config.NumEnvs;
                _episodes.Record(_step, transition.Rewards, transition.Terminations, transition.Truncations);

                // 2. Learn when the algorithm says it is due.
                bool learned = false;
                if (_algorithm.LearningDue)
                {
                    Learn(Context);
                    learned = true;
                    learnedOnce = true;
                }

                // 3. Log, evaluate, call back, checkpoint.
                if (_step >= _nextLog && (learned || !_algorithm.LogsAfterLearning))
                {
                    while (_nextLog <= _step)
                    {
                        _nextLog += _config.LogInterval;
                    }

                    double fps = (_step - windowStep) / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    // Windows before the first gradient step (learning_starts) run faster than any later one: not a reference.
                    if (learnedOnce && throughput.Observe((_step - windowStep) / Math.Max(trainingWindow.Elapsed.TotalSeconds, 1e-9)) is string slower)
                    {
                        progress.Message(slower);
                    }

                    windowStep = _step;
                    window.Restart();
                    trainingWindow.Restart();
                    log?.Record(_step, TrainingRow(fps, clock.Elapsed.TotalSeconds));
                    progress.Update(new TrainingProgress(_step, _config.TotalTimesteps, fps, NaNToNull(_episodes.RecentMeanReturn), _episodes.Episodes));
                }

                if (_step >= _nextEval)
                {
                    _nextEval += _config.EvalFreq;
                    trainingWindow.Stop();
                    EvaluationResult evaluation = Evaluate(progress);
                    trainingWindow.Start();
                    log?.Record(_step, EvaluationRow(evaluation));
                    if (!Notify(cb => cb.OnEvaluation(Context(), evaluation)) || _config.StopAtReturn is double threshold && evaluation.MeanReturn >= threshold)
                    {
                        stoppedEarly = true;
                    }
                }

                if (!Notify(cb => cb.OnStep(Context())))
                {
                    stoppedEarly = true;
                }

                if (_step >= _nextCheckpoint)
                {
                    _nextCheckpoint += _config.CheckpointFreq;
                    trainingWindow.Stop();
                    checkpointPath = SaveCheckpoint(log);
                    trainingWindow.Start();
                }

                if (stoppedEarly)
                {
                    break;
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    interrupted = true;
                    break;
                }
            }
        }
        catch (TrainingDivergedException e)
        {
            // A fault in what the environments gave leaves the learner good, but the environments must restart.
            _envsNeedReset |= e.FromEnvironments;
            throw DivergenceCheckpoint.Write(e, _checkpoints, progress, () => SaveCheckpoint(log, diverged: true), _algorithm.Networks);
        }
        catch (InvalidObservationException e)
        {
            // An environment produced an invalid observation (NaN or out of its space): the learner's state is still good.
            _envsNeedReset = true;
            var failure = new TrainingDivergedException(_step, _algorithm.Updates, "observation", double.NaN, e.Message) { FromEnvironments = true };
            throw DivergenceCheckpoint.Write(failure, _checkpoints, progress, () => SaveCheckpoint(log, diverged: true), _algorithm.Networks);
        }

        // The final checkpoint comes first, so that its log position excludes the final evaluation's row: a resumed
        // run logs as if it had never stopped.
        if (_checkpoints is not null)
        {
            checkpointPath = SaveCheckpoint(log);
        }

        EvaluationResult? final = null;
        if (!interrupted)
        {
            if (_evaluations.Count > 0 && _evaluations[^1].Step == _step)
            {
                final = _evaluations[^1];
            }
            else
            {
                final = Evaluate(progress);
                log?.Record(_step, EvaluationRow(final));
            }
        }

        if (_options.RunDirectory is not null)
        {
            _algorithm.Agent.Save(Path.Combine(_options.RunDirectory, "final_model.rlagent"));
        }

        foreach (TrainingCallback callback in _options.Callbacks)
        {
            callback.OnTrainingEnd(Context());
        }

        double seconds = clock.Elapsed.TotalSeconds;
        return new TrainingResult(
            _step, _episodes.Episodes, final, _bestMeanReturn, stoppedEarly, interrupted, seconds,
            (_step - startStep) / Math.Max(seconds, 1e-9), checkpointPath);
    }

    private void Learn(Func<StepContext> context)
    {
        foreach (TrainingCallback callback in _options.Callbacks)
        {
            callback.OnRolloutEnd(context());
        }

        _algorithm.Learn(_step, _envs.Observations);
    }

    private EvaluationResult Evaluate(IProgressSink progress)
    {
        EvaluationResult result = _evaluator.Run(_step, _evaluationActor);
        _evaluations.Add(result);
        progress.Message(string.Create(CultureInfo.InvariantCulture, $"eval at step {_step:N0}: mean return {result.MeanReturn:0.##} ± {result.StdReturn:0.##} over {result.Returns.Count} episodes (mean length {result.MeanLength:0.#})"));
        if (result.MeanReturn > _bestMeanReturn)
        {
            _bestMeanReturn = result.MeanReturn;
            if (_options.RunDirectory is not null)
            {
                _algorithm.Agent.Save(Path.Combine(_options.RunDirectory, "best_model.rlagent"));
            }
        }

        return result;
    }

    private bool Notify(Func<TrainingCallback, bool> call)
    {
        bool keepGoing = true;
        foreach (TrainingCallback callback in _options.Callbacks)
        {
            keepGoing &= call(callback);
        }

        return keepGoing;
    }

    private List<KeyValuePair<string, double>> TrainingRow(double fps, double elapsed)
    {
        List<KeyValuePair<string, double>> row =
        [
            new("time/total_timesteps", _step), new("time/episodes", _episodes.Episodes), new("time/fps", fps), new("time/time_elapsed", elapsed),
            new("rollout/ep_rew_mean", _episodes.RecentMeanReturn), new("rollout/ep_len_mean", _episodes.RecentMeanLength),
        ];
        _algorithm.AddLogValues(_step, row);
        return row;
    }

    private IEnumerable<KeyValuePair<string, double>> EvaluationRow(EvaluationResult e) =>
    [
        new("time/total_timesteps", _step), new("eval/mean_reward", e.MeanReturn), new("eval/std_reward", e.StdReturn), new("eval/mean_ep_length", e.MeanLength),
    ];

    private string? SaveCheckpoint(RunLog? log, bool diverged = false)
    {
        if (_checkpoints is null)
        {
            return null;
        }

        // The environments and the algorithm's per-environment state (recurrent states, a partial rollout) are saved
        // together: one without the other is no exact resume.
        bool exact = _envs.CanSaveState && !_envsNeedReset;
        var run = new RunState
        {
            Step = _step,
            NextEval = _nextEval,
            NextLog = _nextLog,
            NextCheckpoint = _nextCheckpoint,
            BestMeanReturn = double.IsFinite(_bestMeanReturn) ? _bestMeanReturn : null,
            Diverged = diverged,
            EnvsSaved = exact,
            Episodes = _episodes.GetState(),
            Evaluations = [.. _evaluations.Select(SavedEvaluation.From)],
            Log = log?.Position,
        };
        var state = new JsonObject
        {
            ["config"] = ConfigJson.Write(_configEntries(_config)),
            ["run"] = JsonSerializer.SerializeToNode(run, TrainingJsonContext.Default.RunState),
        };

        // The store writes the files first and the manifest (with this state) after them.
        string saved = _checkpoints.Save(_step, _algo, state, folder =>
        {
            state["algorithm"] = _algorithm.Save(folder, exact);
            if (exact)
            {
                using var stream = new FileStream(Path.Combine(folder, "envs.bin"), FileMode.CreateNew, FileAccess.Write);
                using var writer = new BinaryWriter(stream);
                _envs.SaveState(writer);
            }
        }, diverged);
        foreach (string warning in _checkpoints.TakeWarnings())
        {
            _progress.Message($"warning: {warning}");
        }

        return saved;
    }

    private LogPosition? Restore(Checkpoint checkpoint)
    {
        var reader = new CheckpointState(checkpoint);
        RunState run = reader.Value("run", TrainingJsonContext.Default.RunState, s => s.Problem(_config.TotalTimesteps));
        string envs = Path.Combine(checkpoint.Folder, "envs.bin");
        bool exact = run.EnvsSaved && File.Exists(envs) && _envs.CanSaveState;
        _algorithm.Restore(new AlgorithmCheckpoint(checkpoint.Folder, checkpoint.State["algorithm"], reader), exact);
        _step = run.Step;
        _nextEval = run.NextEval;
        _nextLog = run.NextLog;
        _nextCheckpoint = run.NextCheckpoint;
        _bestMeanReturn = run.BestMeanReturn ?? double.NegativeInfinity;
        _episodes.SetState(run.Episodes!);
        _evaluations.AddRange(run.Evaluations.Select(e => e.ToResult()));
        if (exact)
        {
            using var stream = new BinaryReader(File.OpenRead(envs));
            _envs.LoadState(stream);
        }
        else
        {
            // Not an exact resume: the environments start new episodes (seeded from the step, so still reproducible).
            _envs.Reset(seed: (int)((_config.Seed + _step) % int.MaxValue));
            _algorithm.EpisodesBegin(_envs.Observations, restart: true);
            _episodes.ResetEnvironments();
            _envsNeedReset = true;
        }

        return run.Log;
    }

    private static double? NaNToNull(double value) => double.IsNaN(value) ? null : value;

    /// <summary>Disposes the environments, the evaluation and the algorithm.</summary>
    public void Dispose()
    {
        _envs.Dispose();
        _evaluationActor?.Dispose();
        _evaluator?.Dispose();
        _algorithm?.Dispose();
    }
}

/// <summary>What <see cref="Trainer{TConfig, TAgent}"/> needs of a run, whatever its action type.</summary>
internal interface ITrainingRun : IDisposable
{
    /// <summary>What trains, for titles.</summary>
    string Title { get; }

    /// <summary>The algorithm.</summary>
    ITrainingAlgorithm Algorithm { get; }

    /// <summary>Environment steps taken so far.</summary>
    long Step { get; }

    /// <summary>Every evaluation so far.</summary>
    IReadOnlyList<EvaluationResult> Evaluations { get; }

    /// <summary>Every finished training episode: the step at which it ended and its return.</summary>
    IReadOnlyList<(long Step, double Return)> EpisodeReturns { get; }

    /// <summary>Trains (see <see cref="TrainingRun{TAction}.Learn(ITrainer, CancellationToken)"/>).</summary>
    TrainingResult Learn(ITrainer trainer, CancellationToken cancellationToken);
}

/// <summary>The threads of the run loop <see cref="TrainingRun{TAction}"/>.</summary>
internal static class TrainingRun
{
    /// <summary>
    /// The torch threads to use: <paramref name="requested"/>; 0 chooses <see cref="AutoThreads"/> from
    /// <paramref name="cores"/>; a request beyond the cores this process may use gets the cores (threads beyond them
    /// only wait for each other), with a note saying so.
    /// </summary>
    internal static int LearningThreads(int requested, int cores, out string? note)
    {
        note = null;
        if (requested == 0)
        {
            return AutoThreads(cores);
        }

        if (requested <= cores)
        {
            return requested;
        }

        note = $"torch_threads {requested} exceeds the {cores} core{(cores == 1 ? string.Empty : "s")} this process may use; using {cores} (more threads than cores only wait for each other).";
        return cores;
    }

    /// <summary>
    /// The default number of learning threads on a machine with <paramref name="cores"/> cores: half of them, at least 1
    /// and at most 4. Torch's bundled OpenMP threads spin between operations; on 2 cores a second one took DQN's
    /// throughput to about a third when another process kept one core busy (one thread kept about four fifths), and the
    /// small networks here gain little beyond 4 (docs/training.md, "Threads").
    /// </summary>
    public static int AutoThreads(int cores) => Math.Clamp(cores / 2, 1, 4);
}
