using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Memory.Persistence;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Logging;
using RlMemory.Training.Viewer;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.R2d2;

/// <summary>
/// R2D2 (Kapturowski et al. 2019, "Recurrent Experience Replay in Distributed Reinforcement Learning") on one machine:
/// a recurrent Q-network acts ε-greedily in vector environments, carrying a recurrent state per environment; the steps
/// are cut into overlapping sequences stored with the actor's state at their start (<see cref="SequenceReplayBuffer"/>);
/// the learner samples sequences by priority, burns the state in without gradients, and learns on n-step Double-Q
/// targets through the invertible value rescaling, sending η-mixed sequence priorities back. Any recurrent core works
/// (<see cref="CoreConfig"/>). The loop's counting conventions are those of <see cref="DqnTrainer"/>.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new R2d2Trainer(R2d2Config.FromPreset("r2d2-tmaze", "seed=1"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("tmaze.rlagent");
/// </code>
/// </example>
public sealed class R2d2Trainer : ITrainer, IWatchableTrainer
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "r2d2";

    private const string NetworksKind = "R2d2Networks";
    private const string ActorStateKind = "R2d2ActorState";

    private static readonly string[] Columns =
    [
        "time/total_timesteps", "time/episodes", "time/fps", "time/time_elapsed",
        "rollout/ep_rew_mean", "rollout/ep_len_mean", "rollout/exploration_rate",
        "train/loss", "train/q_values", "train/n_updates", "train/learning_rate", "replay/sequences",
        "eval/mean_reward", "eval/std_reward", "eval/mean_ep_length",
    ];

    private readonly R2d2Config _config;
    private readonly TrainerOptions _options;
    private readonly Device _device;
    private readonly VectorEnv<int> _envs;
    private readonly SequenceReplayOptions _replayOptions;
    private readonly R2d2Learner _learner;
    private readonly RecurrentQActor _actor;
    private readonly Evaluator _evaluator;
    private readonly RecurrentQActor _evalActor;
    private readonly EpisodeTracker _episodes;
    private readonly LinearSchedule _exploration;
    private readonly float[] _observations;
    private readonly int[] _actions;
    private readonly int _targetEvery;
    private readonly CheckpointStore? _checkpoints;
    private readonly IReadOnlyList<string> _resumeNotes = [];
    private readonly List<EvaluationResult> _evaluations = [];
    private readonly LogPosition? _resumeLog;
    private SequenceReplayBuffer _replay;
    private long _step;
    private long _vectorSteps;
    private long _nextEval;
    private long _nextLog;
    private long _nextCheckpoint;
    private double _bestMeanReturn = double.NegativeInfinity;
    private bool _envsNeedReset;
    private IProgressSink? _progress;

    /// <summary>What to lower when the configuration does not fit in memory.</summary>
    private const string Lower = "buffer_size, sequence_length, hidden_size or encoder_sizes";

    /// <summary>Builds everything a run needs (and, with <see cref="TrainerOptions.ResumeFrom"/>, restores a checkpoint).</summary>
    /// <exception cref="ConfigException">The configuration is invalid or inconsistent.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume from is missing, corrupt or for another run shape.</exception>
    public R2d2Trainer(R2d2Config config, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _options = options ?? new TrainerOptions();
        Checkpoint? checkpoint = _options.ResumeFrom is null ? null : CheckpointStore.Open(_options.ResumeFrom, Algo);
        if (checkpoint is not null)
        {
            // The configuration of a resumed run is the checkpoint's; only the step budget may grow.
            R2d2Config saved = CheckpointState.Restore(checkpoint, () => R2d2Config.Schema.Apply(new R2d2Config(), new CheckpointState(checkpoint).Config(), $"checkpoint {checkpoint.Folder}"));
            config = saved with { TotalTimesteps = _options.KeepSavedBudget ? saved.TotalTimesteps : Math.Max(saved.TotalTimesteps, config.TotalTimesteps) };
        }

        _config = Validate(config);
        torch.set_num_threads(_config.TorchThreads);
        _device = TorchDevices.Parse(_config.Device);
        torch.manual_seed(_config.Seed);

        _envs = TrainingEnvironments.MakeVector(_config, _config.NumEnvs);
        MemoryEstimate memory;
        try
        {
            if (_envs.SingleActionSpace is not Discrete discrete || discrete.Start != 0)
            {
                throw new ConfigException($"{_config.Env}: R2D2 needs a Discrete action space starting at 0, got {_envs.SingleActionSpace}.");
            }

            var network = new RecurrentQNetworkConfig
            {
                ObservationSize = _envs.ObservationSize,
                ActionCount = discrete.N,
                Core = _config.CoreConfig,
                HeadSizes = _config.HeadSizes,
                Dueling = _config.Dueling,
            };
            // Stored per sequence: its steps (observation, action, reward, flags) and the recurrent state it starts from.
            long sequenceBytes = MemoryBudget.Multiply(_config.BurnIn + _config.SequenceLength, (_envs.ObservationSize * (long)sizeof(float)) + 32)
                + (MemoryBudget.StateFloats(_config.CoreConfig) * sizeof(float));
            memory = new MemoryEstimate([MemoryBudget.Networks(ArchitectureSize.Minimum(network), copies: 1), ("replay", MemoryBudget.Multiply(_config.BufferSize, sequenceBytes))]);
            MemoryBudget.Require(memory, Lower);
            try
            {
                _learner = MemoryBudget.Allocate(() => new R2d2Learner(network, _device, _config), memory, Lower);
            }
            catch (NotSupportedException e)
            {
                throw new ConfigException($"core = '{_config.Core}' cannot be built: {e.Message}", e);
            }

            _replayOptions = new SequenceReplayOptions
            {
                Capacity = _config.BufferSize,
                BurnIn = _config.BurnIn,
                LearningLength = _config.SequenceLength,
                Overlap = _config.Overlap,
                ObservationShape = [.. _envs.SingleObservationSpace.Shape],
                NumEnvs = _config.NumEnvs,
                StateSpec = _learner.Online.StateSpec,
                Device = _device,
                Seed = (ulong)_config.Seed + 2,
                Prioritized = _config.Prioritized,
                Priority = new PriorityOptions { Alpha = _config.PriorityExponent },
                Eta = _config.PriorityEta,

                // A sequence whose valid steps all lie in the burn-in gives the learner nothing: drop it.
                MinSequenceLength = _config.BurnIn + 1,
            };
        }
        catch
        {
            _learner?.Dispose();
            _envs.Dispose();
            throw;
        }

        try
        {
            _replay = MemoryBudget.Allocate(() => new SequenceReplayBuffer(_replayOptions), memory, Lower);
        }
        catch (ArgumentException e)
        {
            _learner.Dispose();
            _envs.Dispose();
            throw new ConfigException($"The sequence replay cannot be built from this configuration: {e.Message}", e);
        }
        catch
        {
            _learner.Dispose();
            _envs.Dispose();
            throw;
        }

        _actor = new RecurrentQActor(_learner.Online, _config.NumEnvs, seed: (ulong)_config.Seed + 1);
        _evaluator = new Evaluator(() => TrainingEnvironments.MakeOne(_config), _config.EvalEpisodes, seed: Evaluator.SeedFor(_config.Seed));
        _evalActor = new RecurrentQActor(_learner.Online, _config.EvalEpisodes);
        _episodes = new EpisodeTracker(_config.NumEnvs);
        _exploration = new LinearSchedule(_config.ExplorationInitialEps, _config.ExplorationFinalEps, (long)(_config.ExplorationFraction * _config.TotalTimesteps));
        _observations = new float[_config.NumEnvs * _envs.ObservationSize];
        _actions = new int[_config.NumEnvs];
        _targetEvery = Math.Max(_config.TargetUpdateInterval / _config.NumEnvs, 1);
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
    public R2d2Config Config => _config;

    /// <summary>Environment steps taken so far.</summary>
    public long Step => _step;

    /// <summary>The online recurrent Q-network (what the agent acts with).</summary>
    public RecurrentQNetwork Network => _learner.Online;

    /// <summary>The gradient steps taken so far.</summary>
    public long Updates => _learner.Updates;

    /// <summary>The sequences in replay.</summary>
    public int ReplayCount => _replay.Count;

    /// <summary>Every evaluation of the run so far.</summary>
    public IReadOnlyList<EvaluationResult> Evaluations => _evaluations;

    /// <summary>A greedy agent sharing the trained network (save it with <see cref="RecurrentDqnAgent.Save"/>).</summary>
    public RecurrentDqnAgent Agent => new(_learner.Online, _config.Env);

    /// <inheritdoc />
    IAgent IWatchableTrainer.CurrentAgent() => Agent;

    /// <summary>
    /// Trains until <see cref="R2d2Config.TotalTimesteps"/>, a stop from a callback or the return threshold, or
    /// cancellation (which checkpoints and returns with <see cref="TrainingResult.Interrupted"/> set). Ends with an
    /// evaluation, the final checkpoint, the final agent and the learning curve (when there is a run folder).
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss, gradient, recurrent state, reward or observation became NaN/infinite (a checkpoint of the last good state is written first).</exception>
    public TrainingResult Learn(CancellationToken cancellationToken = default)
    {
        // Signals go to other threads while this one runs torch kernels (see TorchThreadSignals).
        using IDisposable signals = TorchThreadSignals.Block();
        string title = $"R2D2 {_config.Env} seed {_config.Seed}";
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
            File.WriteAllText(Path.Combine(_options.RunDirectory, "config.yaml"), ConfigYaml.Write(Algo, R2d2Config.Schema.ToEntries(_config)));
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
                // 1. Act: one batched forward pass for every environment advances every row of the recurrent state
                //    (random actions until learning starts, then epsilon-greedy).
                double epsilon = _step < _config.LearningStarts ? 1.0 : _exploration.ValueAt(_step);
                _actor.EpsilonGreedy(_observations, _actions, epsilon);
                CheckActorState();

                // 2. Step every environment (an environment whose episode ended last step resets instead).
                _envs.Step(_actions);

                // 3. Remember: the buffer cuts sequences, skips the autoreset steps, and keeps the state the actor had
                //    before each sequence's first step. Rows whose next step begins an episode restart from zero.
                try
                {
                    _replay.AddStep(_observations, _actions, _envs.Rewards, _envs.Terminations, _envs.Truncations, _envs.Observations, _actor.PreviousState);
                }
                catch (ArgumentException e)
                {
                    // A NaN or infinite reward (or observation) from an environment: the learner's state is still good.
                    _envsNeedReset = true;
                    throw new TrainingDivergedException(_step + numEnvs, _learner.Updates, "transition", double.NaN, e.Message);
                }

                _actor.ResetRows(_replay.NextStepBeginsEpisode);
                _envs.Observations.CopyTo(_observations, 0);
                _step += numEnvs;
                _vectorSteps++;
                _episodes.Record(_step, _envs.Rewards, _envs.Terminations, _envs.Truncations);

                // 4. Target network: a hard copy every target_update_interval environment steps.
                if (_vectorSteps % _targetEvery == 0)
                {
                    _learner.UpdateTarget();
                }

                // 5. Learn: every train_freq vector steps once past learning_starts, gradient_steps updates on sampled sequences.
                if (_vectorSteps % _config.TrainFreq == 0 && _step > _config.LearningStarts && _replay.Count >= _config.BatchSize)
                {
                    foreach (var callback in _options.Callbacks)
                    {
                        callback.OnRolloutEnd(context());
                    }

                    for (int g = 0; g < _config.GradientSteps; g++)
                    {
                        TrainOnce();
                    }
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
                $"R2D2 ({_config.CoreConfig}) on {_config.Env} (seed {_config.Seed})",
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

    private void TrainOnce()
    {
        using var scope = NewDisposeScope();
        SequenceBatch batch = _replay.Sample(_config.BatchSize, _config.Prioritized ? _config.ImportanceSamplingExponent : 0);
        Tensor tdErrors = _learner.Step(batch, _step);
        if (_config.Prioritized)
        {
            _replay.UpdatePriorities(batch.Indices, tdErrors, batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength));
        }
    }

    /// <summary>Stops with a divergence naming the part when the actor's recurrent state is no longer finite.</summary>
    private void CheckActorState()
    {
        RecurrentState state = _actor.State;
        if (state.IsFinite())
        {
            return;
        }

        string part = "?";
        using (var scope = NewDisposeScope())
        {
            for (int i = 0; i < state.Tensors.Count; i++)
            {
                if (state.Tensors[i].is_floating_point() && !state.Tensors[i].isfinite().all().item<bool>())
                {
                    part = state.Spec.Parts[i].Name;
                    break;
                }
            }
        }

        // The state is bad, not the learner: the checkpoint leaves the environments and the actor's state out.
        _envsNeedReset = true;
        throw new TrainingDivergedException(
            _step, _learner.Updates, "recurrent state", double.NaN,
            $"the actor's recurrent state (part '{part}') contains NaN or infinity after acting on the observations at step {_step}");
    }

    private EvaluationResult Evaluate(IProgressSink progress)
    {
        EvaluationResult result = _evaluator.Run(_step, _evalActor);
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
        new("replay/sequences", _replay.Count),
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

        // The environments and the actor's recurrent states are saved together: one without the other is no exact resume.
        bool saveEnvs = _envs.CanSaveState && !_envsNeedReset;
        var state = new JsonObject
        {
            ["config"] = ConfigJson.Write(R2d2Config.Schema.ToEntries(_config)),
            ["step"] = _step,
            ["vector_steps"] = _vectorSteps,
            ["updates"] = _learner.Updates,
            ["next_eval"] = _nextEval,
            ["next_log"] = _nextLog,
            ["next_checkpoint"] = _nextCheckpoint,
            ["best_mean_return"] = double.IsFinite(_bestMeanReturn) ? _bestMeanReturn : null,
            ["diverged"] = diverged,
            ["envs_saved"] = saveEnvs,
            ["observations"] = Convert.ToBase64String(MemoryMarshal.AsBytes(_observations.AsSpan())),
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
                using (var stream = new FileStream(Path.Combine(folder, "envs.bin"), FileMode.CreateNew, FileAccess.Write))
                using (var writer = new BinaryWriter(stream))
                {
                    _envs.SaveState(writer);
                }

                SaveActorState(Path.Combine(folder, "actor-state.rlmb"));
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
        SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(Path.Combine(folder, "replay"), _replayOptions);
        _replay.Dispose();
        _replay = loaded;
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
        string actorState = Path.Combine(folder, "actor-state.rlmb");
        if (s.Bool("envs_saved") && File.Exists(envs) && File.Exists(actorState) && _envs.CanSaveState)
        {
            using (var reader = new BinaryReader(File.OpenRead(envs)))
            {
                _envs.LoadState(reader);
            }

            LoadActorState(actorState);
            MemoryMarshal.Cast<byte, float>(s.Bytes("observations", _observations.Length * sizeof(float))).CopyTo(_observations);
        }
        else
        {
            // Not an exact resume: the environments start new episodes (seeded from the step, so still reproducible),
            // the open sequences are flushed, and every row of the actor's state starts from zero.
            _envs.Reset(seed: (int)((_config.Seed + _step) % int.MaxValue));
            _envs.Observations.CopyTo(_observations, 0);
            _replay.BeginNewEpisodes();
            _actor.ResetAll();
            _episodes.ResetEnvironments();
            _envsNeedReset = true;
        }

        return s.OptionalValue("log", TrainingJsonContext.Default.LogPosition, p => p.Problem());
    }

    private void SaveActorState(string path)
    {
        RecurrentState state = _actor.State;
        using var writer = BufferFileWriter.Create(path, ActorStateKind, 1, "{}");
        for (int i = 0; i < state.Tensors.Count; i++)
        {
            using Tensor host = state.Tensors[i].detach().cpu().contiguous();
            writer.WriteSection(state.Spec.Parts[i].Name, host, host.shape[0]);
        }

        writer.Commit();
    }

    private void LoadActorState(string path)
    {
        using BufferFileReader reader = BufferFileReader.Open(path);
        if (reader.Kind != ActorStateKind)
        {
            throw new InvalidDataException($"{path} holds a {reader.Kind}, not an {ActorStateKind}.");
        }

        RecurrentStateSpec spec = _actor.State.Spec;
        using var scope = NewDisposeScope();
        var parts = new List<(string, Tensor)>(spec.Parts.Count);
        foreach (RecurrentStatePart part in spec.Parts)
        {
            reader.Expect(part.Name, part.DType, [_config.NumEnvs, .. part.Shape]);
            Tensor host = empty([_config.NumEnvs, .. part.Shape], part.DType, CPU);
            reader.ReadInto(part.Name, host);
            parts.Add((part.Name, host));
        }

        using var state = new RecurrentState(parts);
        _actor.SetState(state);
    }

    private static R2d2Config Validate(R2d2Config config)
    {
        R2d2Config.Schema.Validate(config);
        TrainingEnvironments.RequireRegistered(config.Env);

        int total = config.BurnIn + config.SequenceLength;
        if (total > SequenceReplayOptions.MaxSequenceLength)
        {
            throw new ConfigException($"burn_in + sequence_length = {config.BurnIn} + {config.SequenceLength} = {total} exceeds {SequenceReplayOptions.MaxSequenceLength}.");
        }

        if (config.Overlap >= total)
        {
            throw new ConfigException($"overlap = {config.Overlap} must be less than burn_in + sequence_length = {config.BurnIn} + {config.SequenceLength} = {total} (consecutive sequences must start at different steps); allowed: [0, {total - 1}].");
        }

        if (config.NSteps > config.SequenceLength)
        {
            throw new ConfigException($"n_steps = {config.NSteps} must be at most sequence_length = {config.SequenceLength}: an n-step return is cut at the end of the learning part.");
        }

        if (config.BufferSize < config.BatchSize)
        {
            throw new ConfigException($"buffer_size ({config.BufferSize} sequences) must be at least batch_size ({config.BatchSize} sequences).");
        }

        try
        {
            config.CoreConfig.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(e.Message, e);
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
