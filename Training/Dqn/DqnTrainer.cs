using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Logging;
using RlMemory.Training.Viewer;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Dqn;

/// <summary>
/// Deep Q-learning (Mnih et al. 2015) with the usual switches: Double DQN, dueling heads, n-step returns,
/// prioritized replay, Huber or MSE loss, hard or Polyak target updates. Train-frequency, gradient-step and
/// target-interval semantics follow Stable-Baselines3's DQN, so rl-baselines3-zoo hyperparameters carry over.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new DqnTrainer(new DqnConfig { Env = "CartPole-v1", TotalTimesteps = 50_000 });
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("cartpole.rlagent");
/// </code>
/// </example>
public sealed class DqnTrainer : ITrainer, IWatchableTrainer
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "dqn";

    private const string NetworksKind = "DqnNetworks";

    /// <summary>
    /// Torch threads while acting and evaluating: one small forward pass per vector step, where handing work to a
    /// second thread costs more than it saves. Learning uses <see cref="DqnConfig.TorchThreads"/>.
    /// </summary>
    private const int ActingThreads = 1;

    private static readonly string[] Columns =
    [
        "time/total_timesteps", "time/episodes", "time/fps", "time/time_elapsed",
        "rollout/ep_rew_mean", "rollout/ep_len_mean", "rollout/exploration_rate",
        "train/loss", "train/q_values", "train/n_updates", "train/learning_rate",
        "eval/mean_reward", "eval/std_reward", "eval/mean_ep_length",
    ];

    private readonly DqnConfig _config;
    private readonly TrainerOptions _options;
    private readonly Device _device;
    private readonly VectorEnv<int> _envs;
    private readonly DqnReplay _replay;
    private readonly DqnLearner _learner;
    private readonly BatchedActor _actor;
    private readonly Evaluator _evaluator;
    private readonly BatchedActor _evalActor;
    private readonly EpisodeTracker _episodes;
    private readonly LinearSchedule _exploration;
    private readonly LinearSchedule _beta;
    private readonly float[] _observations;
    private readonly int[] _actions;
    private readonly int _targetEvery;
    private readonly int _gradientSteps;
    private readonly CheckpointStore? _checkpoints;
    private readonly IReadOnlyList<string> _resumeNotes = [];
    private readonly List<EvaluationResult> _evaluations = [];
    private readonly LogPosition? _resumeLog;
    private long _step;
    private long _vectorSteps;
    private long _nextEval;
    private long _nextLog;
    private long _nextCheckpoint;
    private double _bestMeanReturn = double.NegativeInfinity;
    private bool _envsNeedReset;
    private IProgressSink? _progress;

    /// <summary>Builds everything a run needs (and, with <see cref="TrainerOptions.ResumeFrom"/>, restores a checkpoint).</summary>
    /// <exception cref="ConfigException">The configuration is invalid or inconsistent.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume from is missing, corrupt or for another run shape.</exception>
    public DqnTrainer(DqnConfig config, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _options = options ?? new TrainerOptions();
        Checkpoint? checkpoint = _options.ResumeFrom is null ? null : CheckpointStore.Open(_options.ResumeFrom, Algo);
        if (checkpoint is not null)
        {
            // The configuration of a resumed run is the checkpoint's; only the step budget may grow.
            DqnConfig saved = CheckpointState.Restore(checkpoint, () => DqnConfig.Schema.Apply(new DqnConfig(), new CheckpointState(checkpoint).Config(), $"checkpoint {checkpoint.Folder}"));
            config = saved with { TotalTimesteps = _options.KeepSavedBudget ? saved.TotalTimesteps : Math.Max(saved.TotalTimesteps, config.TotalTimesteps) };
        }

        _config = Validate(config);
        torch.set_num_threads(ActingThreads);
        _device = TorchDevices.Parse(_config.Device);
        torch.manual_seed(_config.Seed);

        _envs = TrainingEnvironments.MakeVector(_config, _config.NumEnvs);
        if (_envs.SingleActionSpace is not Discrete discrete || discrete.Start != 0)
        {
            throw new ConfigException($"{_config.Env}: DQN needs a Discrete action space starting at 0, got {_envs.SingleActionSpace}.");
        }

        int observationSize = _envs.ObservationSize;
        var network = new QNetworkConfig
        {
            ObservationSize = observationSize,
            ActionCount = discrete.N,
            HiddenSizes = _config.NetArch,
            Dueling = _config.Dueling,
        };
        // Stored per transition: the observation (and the next one, unless memory-saving), the action, reward, flags.
        long transitionBytes = (observationSize * sizeof(float) * (_config.OptimizeMemoryUsage ? 1L : 2L)) + 32 + (_config.Prioritized ? 16 : 0);
        var memory = new MemoryEstimate([MemoryBudget.Networks(ArchitectureSize.Minimum(network), copies: 1), ("replay", MemoryBudget.Multiply(_config.BufferSize, transitionBytes))]);
        const string lower = "buffer_size or net_arch";
        try
        {
            MemoryBudget.Require(memory, lower);
            _learner = MemoryBudget.Allocate(() => new DqnLearner(network, _device, _config.LearningRate, _config.DoubleQ, _config.Loss, _config.MaxGradNorm), memory, lower);
            _replay = MemoryBudget.Allocate(() => new DqnReplay(_config, [.. _envs.SingleObservationSpace.Shape], _device), memory, lower);
        }
        catch (ArgumentException e)
        {
            _learner?.Dispose();
            _envs.Dispose();
            throw new ConfigException($"The replay memory cannot be built from this configuration: {e.Message}", e);
        }
        catch
        {
            _learner?.Dispose();
            _envs.Dispose();
            throw;
        }

        _actor = new BatchedActor(_learner.Online, _config.NumEnvs, seed: (ulong)_config.Seed + 1);
        _evaluator = new Evaluator(() => TrainingEnvironments.MakeOne(_config), _config.EvalEpisodes, seed: Evaluator.SeedFor(_config.Seed));
        _evalActor = new BatchedActor(_learner.Online, _config.EvalEpisodes, seed: 0);
        _episodes = new EpisodeTracker(_config.NumEnvs);
        _exploration = new LinearSchedule(_config.ExplorationInitialEps, _config.ExplorationFinalEps, (long)(_config.ExplorationFraction * _config.TotalTimesteps));
        _beta = new LinearSchedule(_config.PrioritizedBeta0, 1.0, _config.TotalTimesteps);
        _observations = new float[_config.NumEnvs * observationSize];
        _actions = new int[_config.NumEnvs];
        _targetEvery = Math.Max(_config.TargetUpdateInterval / _config.NumEnvs, 1);
        _gradientSteps = _config.GradientSteps == -1 ? _config.TrainFreq * _config.NumEnvs : _config.GradientSteps;
        _checkpoints = _options.RunDirectory is null ? null : new CheckpointStore(_options.RunDirectory, _options.KeepCheckpoints);

        if (checkpoint is null)
        {
            _envs.Reset(seed: _config.Seed);
            _envs.Observations.CopyTo(_observations, 0);
            _nextEval = _config.EvalFreq > 0 ? _config.EvalFreq : long.MaxValue;
            _nextLog = _config.LogInterval;
            _nextCheckpoint = _config.CheckpointFreq > 0 ? _config.CheckpointFreq : long.MaxValue;
        }
        else
        {
            try
            {
                _resumeLog = CheckpointState.Restore(checkpoint, () => Restore(checkpoint));
                _resumeNotes = checkpoint.Notes;
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    /// <inheritdoc />
    string ITrainer.Algo => Algo;

    /// <inheritdoc />
    public string EnvId => _config.Env;

    /// <inheritdoc />
    public long TotalTimesteps => _config.TotalTimesteps;

    /// <summary>The run's configuration (for a resumed run, the checkpoint's).</summary>
    public DqnConfig Config => _config;

    /// <summary>Environment steps taken so far.</summary>
    public long Step => _step;

    /// <summary>The online Q-network (what the agent acts with).</summary>
    public QNetwork Network => _learner.Online;

    /// <summary>The gradient steps taken so far.</summary>
    public long Updates => _learner.Updates;

    /// <summary>Every evaluation of the run so far.</summary>
    public IReadOnlyList<EvaluationResult> Evaluations => _evaluations;

    /// <summary>A greedy agent sharing the trained network (save it with <see cref="DqnAgent.Save"/>).</summary>
    public DqnAgent Agent => new(_learner.Online, _config.Env);

    /// <inheritdoc />
    IAgent IWatchableTrainer.CurrentAgent() => Agent;

    /// <summary>
    /// Trains until <see cref="DqnConfig.TotalTimesteps"/>, a stop from a callback or the return threshold, or
    /// cancellation (which checkpoints and returns with <see cref="TrainingResult.Interrupted"/> set). Ends with an
    /// evaluation, the final checkpoint, the final agent and the learning curve (when there is a run folder).
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss, gradient or observation became NaN/infinite (a checkpoint of the last good state is written first).</exception>
    public TrainingResult Learn(CancellationToken cancellationToken = default)
    {
        // Signals go to other threads while this one runs torch kernels (see TorchThreadSignals).
        using IDisposable signals = TorchThreadSignals.Block();
        string title = $"DQN {_config.Env} seed {_config.Seed}";
        if (_options.Quiet)
        {
            return Run(NullProgress.Instance, cancellationToken);
        }

        return ProgressDisplay.Run(title, _config.TotalTimesteps, sink => Run(sink, cancellationToken), _options.Output);
    }

    private TrainingResult Run(IProgressSink progress, CancellationToken cancellationToken)
    {
        _progress = progress;
        using RunLog? log = _options.RunDirectory is null ? null : new RunLog(_options.RunDirectory, Columns, _options.TensorBoard, _resumeLog);
        if (_options.RunDirectory is not null)
        {
            File.WriteAllText(Path.Combine(_options.RunDirectory, "config.yaml"), ConfigYaml.Write(Algo, DqnConfig.Schema.ToEntries(_config)));
        }

        var context = () => new StepContext(_step, _episodes.Episodes, this);
        foreach (var callback in _options.Callbacks)
        {
            callback.OnTrainingStart(context());
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
        bool stoppedEarly = false;
        bool interrupted = false;
        string? checkpointPath = null;
        int numEnvs = _config.NumEnvs;

        try
        {
            while (_step < _config.TotalTimesteps)
            {
                // 1. Act: uniformly random until learning starts, then epsilon-greedy with one batched forward pass.
                double epsilon = _step < _config.LearningStarts ? 1.0 : _exploration.ValueAt(_step);
                _actor.EpsilonGreedy(_observations, _actions, epsilon);

                // 2. Step every environment (an environment whose episode ended last step resets instead).
                _envs.Step(_actions);

                // 3. Remember: the buffer skips the autoreset steps and assembles n-step returns itself.
                try
                {
                    _replay.AddStep(_observations, _actions, _envs.Rewards, _envs.Terminations, _envs.Truncations, _envs.Observations);
                }
                catch (ArgumentException e)
                {
                    // A NaN or infinite reward (or observation) from an environment: the learner's state is still good.
                    _envsNeedReset = true;
                    throw new TrainingDivergedException(_step + numEnvs, _learner.Updates, "transition", double.NaN, e.Message);
                }
                _envs.Observations.CopyTo(_observations, 0);
                _step += numEnvs;
                _vectorSteps++;
                _episodes.Record(_step, _envs.Rewards, _envs.Terminations, _envs.Truncations);

                // 4. Target network: every target_update_interval environment steps, as SB3 counts them.
                if (_vectorSteps % _targetEvery == 0)
                {
                    _learner.UpdateTarget(_config.Tau);
                }

                // 5. Learn: every train_freq vector steps once past learning_starts, gradient_steps updates.
                if (_vectorSteps % _config.TrainFreq == 0 && _step > _config.LearningStarts && _replay.Count >= _config.BatchSize)
                {
                    foreach (var callback in _options.Callbacks)
                    {
                        callback.OnRolloutEnd(context());
                    }

                    torch.set_num_threads(_config.TorchThreads);
                    Train();
                    torch.set_num_threads(ActingThreads);
                }

                // 6. Evaluate, log, checkpoint, call back.
                if (_step >= _nextEval)
                {
                    _nextEval += _config.EvalFreq;
                    EvaluationResult evaluation = Evaluate(progress);
                    log?.Record(_step, EvaluationRow(evaluation));
                    if (!Notify(cb => cb.OnEvaluation(context(), evaluation)) || _config.StopAtReturn is double threshold && evaluation.MeanReturn >= threshold)
                    {
                        stoppedEarly = true;
                    }
                }

                if (_step >= _nextLog)
                {
                    _nextLog += _config.LogInterval;
                    double fps = (_step - windowStep) / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    windowStep = _step;
                    window.Restart();
                    var (loss, q) = _learner.TakeStatistics();
                    log?.Record(_step, TrainingRow(fps, clock.Elapsed.TotalSeconds, epsilon, loss, q));
                    progress.Update(new TrainingProgress(_step, _config.TotalTimesteps, fps, NaNToNull(_episodes.RecentMeanReturn), _episodes.Episodes));
                }

                if (!Notify(cb => cb.OnStep(context())))
                {
                    stoppedEarly = true;
                }

                if (_step >= _nextCheckpoint)
                {
                    _nextCheckpoint += _config.CheckpointFreq;
                    checkpointPath = SaveCheckpoint(log);
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
            throw DivergenceCheckpoint.Write(e, _checkpoints, progress, () => SaveCheckpoint(log, diverged: true), ("online", _learner.Online), ("target", _learner.Target));
        }
        catch (InvalidObservationException e)
        {
            // An environment produced an invalid observation (NaN or out of its space): the learner's state is still good.
            _envsNeedReset = true;
            throw DivergenceCheckpoint.Write(new TrainingDivergedException(_step, _learner.Updates, "observation", double.NaN, e.Message), _checkpoints, progress, () => SaveCheckpoint(log, diverged: true), ("online", _learner.Online), ("target", _learner.Target));
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
            Agent.Save(Path.Combine(_options.RunDirectory, "final_model.rlagent"));
            LearningCurve.Save(
                Path.Combine(_options.RunDirectory, "learning_curve.png"),
                $"DQN on {_config.Env} (seed {_config.Seed})",
                _episodes.History,
                [.. _evaluations.Select(e => (e.Step, e.MeanReturn, e.StdReturn))]);
        }

        foreach (var callback in _options.Callbacks)
        {
            callback.OnTrainingEnd(context());
        }

        double seconds = clock.Elapsed.TotalSeconds;
        return new TrainingResult(
            _step, _episodes.Episodes, final, _bestMeanReturn, stoppedEarly, interrupted, seconds,
            (_step - startStep) / Math.Max(seconds, 1e-9), checkpointPath);
    }

    /// <summary>
    /// The gradient steps of one training phase. Neither the replay contents nor the target network change during
    /// the phase (both change with environment steps), so with uniform replay the minibatches of all steps are drawn
    /// at once and the target network evaluates all their next observations in one large forward pass, which uses the
    /// cores far better than many small ones. Prioritized replay changes its priorities after every step, so it
    /// samples step by step.
    /// </summary>
    private void Train()
    {
        if (_replay.Prioritized || _gradientSteps == 1)
        {
            for (int g = 0; g < _gradientSteps; g++)
            {
                TrainOnce();
            }

            return;
        }

        using var scope = NewDisposeScope();
        int batchSize = _config.BatchSize;
        TransitionBatch all = _replay.SampleUniform(batchSize, _gradientSteps);
        Tensor precomputed = _learner.Precompute(all);
        for (int g = 0; g < _gradientSteps; g++)
        {
            using var stepScope = NewDisposeScope();
            _learner.Step(all.Slice(g * batchSize, batchSize), wantPriorities: false, _step, precomputed.narrow(0, g * batchSize, batchSize));
        }
    }

    private void TrainOnce()
    {
        using var scope = NewDisposeScope();
        double beta = _beta.ValueAt(_step);
        TransitionBatch batch = _replay.Sample(_config.BatchSize, beta);
        Tensor? priorities = _learner.Step(batch, _replay.Prioritized, _step);
        if (priorities is not null)
        {
            _replay.UpdatePriorities(batch.Indices, priorities);
        }
    }

    private EvaluationResult Evaluate(IProgressSink progress)
    {
        EvaluationResult result = _evaluator.Run(_step, (obs, actions) => _evalActor.Greedy(obs, actions));
        _evaluations.Add(result);
        progress.Message(string.Create(CultureInfo.InvariantCulture, $"eval at step {_step:N0}: mean return {result.MeanReturn:0.##} ± {result.StdReturn:0.##} over {result.Returns.Count} episodes (mean length {result.MeanLength:0.#})"));
        if (result.MeanReturn > _bestMeanReturn)
        {
            _bestMeanReturn = result.MeanReturn;
            if (_options.RunDirectory is not null)
            {
                Agent.Save(Path.Combine(_options.RunDirectory, "best_model.rlagent"));
            }
        }

        return result;
    }

    private bool Notify(Func<TrainingCallback, bool> call)
    {
        bool keepGoing = true;
        foreach (var callback in _options.Callbacks)
        {
            keepGoing &= call(callback);
        }

        return keepGoing;
    }

    private IEnumerable<KeyValuePair<string, double>> TrainingRow(double fps, double elapsed, double epsilon, double loss, double q) =>
    [
        new("time/total_timesteps", _step), new("time/episodes", _episodes.Episodes), new("time/fps", fps), new("time/time_elapsed", elapsed),
        new("rollout/ep_rew_mean", _episodes.RecentMeanReturn), new("rollout/ep_len_mean", _episodes.RecentMeanLength), new("rollout/exploration_rate", epsilon),
        new("train/loss", loss), new("train/q_values", q), new("train/n_updates", _learner.Updates), new("train/learning_rate", _config.LearningRate),
    ];

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

        bool saveEnvs = _envs.CanSaveState && !_envsNeedReset;
        var state = new JsonObject
        {
            ["config"] = ConfigJson.Write(DqnConfig.Schema.ToEntries(_config)),
            ["step"] = _step,
            ["vector_steps"] = _vectorSteps,
            ["updates"] = _learner.Updates,
            ["next_eval"] = _nextEval,
            ["next_log"] = _nextLog,
            ["next_checkpoint"] = _nextCheckpoint,
            ["best_mean_return"] = double.IsFinite(_bestMeanReturn) ? _bestMeanReturn : null,
            ["diverged"] = diverged,
            ["envs_saved"] = saveEnvs,
            ["observations"] = Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_observations.AsSpan())),
            ["actor_generator"] = Convert.ToBase64String(_actor.GetGeneratorState()),
            ["episodes"] = JsonSerializer.SerializeToNode(_episodes.GetState(), TrainingJsonContext.Default.EpisodeTrackerState),
            ["evaluations"] = CheckpointState.WriteEvaluations(_evaluations),
            ["statistics"] = JsonSerializer.SerializeToNode(_learner.StatisticsState(), TrainingJsonContext.Default.DoubleArray),
            ["log"] = log is null ? null : JsonSerializer.SerializeToNode(log.Position, TrainingJsonContext.Default.LogPosition),
        };

        string saved = _checkpoints.Save(_step, Algo, state, folder =>
        {
            ModuleFile.Save(Path.Combine(folder, "networks.rlmb"), NetworksKind, 1, "{}", ("online", _learner.Online), ("target", _learner.Target));
            File.WriteAllBytes(Path.Combine(folder, "optimizer.bin"), _learner.OptimizerState());
            _replay.Save(Path.Combine(folder, "replay"));
            if (saveEnvs)
            {
                using var stream = new FileStream(Path.Combine(folder, "envs.bin"), FileMode.CreateNew, FileAccess.Write);
                using (var writer = new BinaryWriter(stream))
                {
                    _envs.SaveState(writer);
                }
            }
        }, diverged);
        foreach (string warning in _checkpoints.TakeWarnings())
        {
            _progress?.Message($"warning: {warning}");
        }

        return saved;
    }

    private LogPosition? Restore(Checkpoint checkpoint)
    {
        var s = new CheckpointState(checkpoint);
        string folder = checkpoint.Folder;
        ModuleFile.Load(Path.Combine(folder, "networks.rlmb"), NetworksKind, ("online", _learner.Online), ("target", _learner.Target));
        _learner.RestoreOptimizer(File.ReadAllBytes(Path.Combine(folder, "optimizer.bin")), s.Long("updates"));
        _learner.RestoreStatistics(s.Value("statistics", TrainingJsonContext.Default.DoubleArray));
        _replay.Load(Path.Combine(folder, "replay"));
        _step = s.Long("step", 0, _config.TotalTimesteps);
        _vectorSteps = s.Long("vector_steps");
        _nextEval = s.Long("next_eval");
        _nextLog = s.Long("next_log");
        _nextCheckpoint = s.Long("next_checkpoint");
        _bestMeanReturn = s.OptionalDouble("best_mean_return") ?? double.NegativeInfinity;
        _actor.SetGeneratorState(s.Bytes("actor_generator"));
        _episodes.SetState(s.Value("episodes", TrainingJsonContext.Default.EpisodeTrackerState));
        _evaluations.AddRange(s.Evaluations("evaluations"));

        string envs = Path.Combine(folder, "envs.bin");
        if (s.Bool("envs_saved") && File.Exists(envs) && _envs.CanSaveState)
        {
            using var reader = new BinaryReader(File.OpenRead(envs));
            _envs.LoadState(reader);
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(s.Bytes("observations", _observations.Length * sizeof(float))).CopyTo(_observations);
        }
        else
        {
            // Not an exact resume: the environments start new episodes (seeded from the step, so still reproducible).
            _envs.Reset(seed: (int)((_config.Seed + _step) % int.MaxValue));
            _envs.Observations.CopyTo(_observations, 0);
            _replay.BeginNewEpisodes();
            _episodes.ResetEnvironments();
            _envsNeedReset = true;
        }

        return s.OptionalValue("log", TrainingJsonContext.Default.LogPosition, p => p.Problem());
    }

    private static DqnConfig Validate(DqnConfig config)
    {
        DqnConfig.Schema.Validate(config);
        TrainingEnvironments.RequireRegistered(config.Env);

        if (config.OptimizeMemoryUsage && config.NSteps > 1)
        {
            throw new ConfigException("optimize_memory_usage cannot be combined with n_steps > 1: n-step transitions need their own next observations.");
        }

        if (config.OptimizeMemoryUsage && config.Prioritized)
        {
            throw new ConfigException("optimize_memory_usage cannot be combined with prioritized replay yet; turn one of them off.");
        }

        if (config.BufferSize < config.BatchSize)
        {
            throw new ConfigException($"buffer_size ({config.BufferSize}) must be at least batch_size ({config.BatchSize}).");
        }

        if (config.Seed > int.MaxValue - 20_000)
        {
            throw new ConfigException($"seed = {config.Seed} is out of range: must be an integer in [0, {int.MaxValue - 20_000}].");
        }

        return config;
    }


    private static double? NaNToNull(double value) => double.IsNaN(value) ? null : value;

    /// <inheritdoc />
    public void Dispose()
    {
        _envs.Dispose();
        _replay.Dispose();
        _actor.Dispose();
        _evalActor.Dispose();
        _evaluator.Dispose();
        _learner.Dispose();
    }

    private sealed class NullProgress : IProgressSink
    {
        public static readonly NullProgress Instance = new();

        public void Update(TrainingProgress progress)
        {
        }

        public void Message(string line)
        {
        }
    }
}
