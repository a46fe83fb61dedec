using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Logging;
using RlMemory.Training.Viewer;
using RlMemory.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Proximal Policy Optimization (Schulman et al. 2017) for discrete actions, feed-forward or recurrent: rollouts of
/// n_steps × n_envs in a <see cref="RolloutBuffer"/>, GAE(λ), n_epochs of minibatches with the clipped surrogate, a
/// (optionally clipped) value loss and an entropy bonus, gradient clipping and an optional KL early stop. Keys and
/// semantics follow Stable-Baselines3's PPO and sb3-contrib's RecurrentPPO, so rl-baselines3-zoo hyperparameters
/// carry over. A recurrent policy (any <see cref="Agents.Recurrent.RecurrentCore"/>) learns from whole sequences that
/// start from the stored recurrent state and reset it where episodes start inside them.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new PpoTrainer(PpoConfig.FromPreset("ppo-cartpole-novel"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("novel.rlagent");
/// </code>
/// </example>
public sealed class PpoTrainer : ITrainer, IWatchableTrainer
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "ppo";

    private const string NetworksKind = "PpoNetworks";

    private static readonly string[] Columns =
    [
        "time/total_timesteps", "time/episodes", "time/iterations", "time/fps", "time/time_elapsed",
        "rollout/ep_rew_mean", "rollout/ep_len_mean",
        "train/loss", "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss", "train/approx_kl", "train/clip_fraction",
        "train/explained_variance", "train/n_updates", "train/learning_rate", "train/clip_range", "train/clip_range_vf",
        "eval/mean_reward", "eval/std_reward", "eval/mean_ep_length",
    ];

    // Statistics accumulated on the device over a training phase: sums of the loss terms and, over the first epoch's
    // valid entries, the sums explained variance needs.
    private const int StatLoss = 0, StatPolicy = 1, StatValue = 2, StatEntropy = 3, StatKl = 4, StatClip = 5;
    private const int StatCount = 6, StatReturn = 7, StatReturnSquared = 8, StatResidual = 9, StatResidualSquared = 10, StatWidth = 11;

    private readonly PpoConfig _config;
    private readonly TrainerOptions _options;
    private readonly Device _device;
    private readonly VectorEnv<int> _envs;
    private readonly ActorCriticNetwork _network;
    private readonly FlatAdam _optimizer;
    private readonly RolloutBufferOptions _bufferOptions;
    private RolloutBuffer _buffer;
    private readonly ActorCriticActor _actor;
    private readonly CategoricalSampler _sampler;
    private readonly RunningMeanStd? _observationStatistics;
    private readonly Evaluator _evaluator;
    private readonly IEpisodeActor _evalActor;
    private readonly EpisodeTracker _episodes;
    private readonly float[] _observations;
    private readonly int[] _actions;
    private readonly float[] _logits;
    private readonly float[] _values;
    private readonly float[] _logProbs;
    private readonly int _actionCount;
    private readonly int _sequenceLength;
    private readonly int _sequencesPerBatch;
    private readonly CheckpointStore? _checkpoints;
    private readonly IReadOnlyList<string> _resumeNotes = [];
    private readonly List<EvaluationResult> _evaluations = [];
    private readonly LogPosition? _resumeLog;
    private readonly Tensor _stats;
    private long _step;
    private long _iterations;
    private long _updates;
    private long _nextEval;
    private long _nextLog;
    private long _nextCheckpoint;
    private double _bestMeanReturn = double.NegativeInfinity;
    private bool _envsNeedReset;
    private double[] _lastStats = new double[StatWidth];
    private double _lastLearningRate;
    private double _lastClipRange;
    private IProgressSink? _progress;

    /// <summary>Builds everything a run needs (and, with <see cref="TrainerOptions.ResumeFrom"/>, restores a checkpoint).</summary>
    /// <exception cref="ConfigException">The configuration is invalid or inconsistent, or names a core this version cannot build.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume from is missing, corrupt or for another run shape.</exception>
    public PpoTrainer(PpoConfig config, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _options = options ?? new TrainerOptions();
        Checkpoint? checkpoint = _options.ResumeFrom is null ? null : CheckpointStore.Open(_options.ResumeFrom, Algo);
        if (checkpoint is not null)
        {
            // The configuration of a resumed run is the checkpoint's; only the step budget may grow.
            PpoConfig saved = CheckpointState.Restore(checkpoint, () => PpoConfig.Schema.Apply(new PpoConfig(), new CheckpointState(checkpoint).Config(), $"checkpoint {checkpoint.Folder}"));
            config = saved with { TotalTimesteps = _options.KeepSavedBudget ? saved.TotalTimesteps : Math.Max(saved.TotalTimesteps, config.TotalTimesteps) };
        }

        _config = Validate(config);
        torch.set_num_threads(_config.TorchThreads);
        _device = TorchDevices.Parse(_config.Device);
        torch.manual_seed(_config.Seed);

        _envs = TrainingEnvironments.MakeVector(_config, _config.NumEnvs);
        try
        {
            if (_envs.SingleActionSpace is not Discrete discrete || discrete.Start != 0)
            {
                throw new ConfigException($"{_config.Env}: PPO here needs a Discrete action space starting at 0, got {_envs.SingleActionSpace}.");
            }

            _actionCount = discrete.N;
            // Stored per step of a rollout: the observation, action, reward, flags, value, log-probability, advantage,
            // return, and the recurrent state it was taken from.
            ActorCriticConfig architecture = _config.Network(_envs.ObservationSize, _actionCount);
            long stepBytes = (_envs.ObservationSize * (long)sizeof(float)) + 48 + (architecture.Core is null ? 0 : MemoryBudget.StateFloats(architecture.Core) * sizeof(float) * (_config.Critic == "separate" ? 2 : 1));
            var memory = new MemoryEstimate(
            [
                MemoryBudget.Networks(MemoryBudget.Multiply(ArchitectureSize.Minimum(architecture), _config.Critic == "separate" ? 2 : 1)),
                ("rollout", MemoryBudget.Multiply((long)_config.NSteps * _config.NumEnvs, stepBytes)),
            ]);
            const string lower = "n_steps, n_envs, hidden_size, encoder_sizes or net_arch";
            MemoryBudget.Require(memory, lower);
            try
            {
                _network = MemoryBudget.Allocate(() => new ActorCriticNetwork(architecture, _device), memory, lower);
            }
            catch (NotSupportedException e)
            {
                throw new ConfigException($"core = '{_config.Core}': {e.Message} Use core: lstm or core: mlp.", e);
            }

            // SB3 builds PPO's Adam with eps = 1e-5.
            _optimizer = new FlatAdam(_network.parameters(), _config.LearningRate, epsilon: 1e-5);
            _bufferOptions = new RolloutBufferOptions
            {
                NumSteps = _config.NSteps,
                NumEnvs = _config.NumEnvs,
                ObservationShape = [.. _envs.SingleObservationSpace.Shape],
                Gamma = _config.Gamma,
                GaeLambda = _config.GaeLambda,
                AdvantageNormalization = _config.NormalizeAdvantage ? AdvantageNormalization.PerMinibatch : AdvantageNormalization.None,
                RecurrentState = _network.StateSpec,
                Device = _device,
                Seed = (ulong)_config.Seed + 2,
            };
            _buffer = MemoryBudget.Allocate(() => new RolloutBuffer(_bufferOptions), memory, lower);
            _actor = new ActorCriticActor(_network, _config.NumEnvs);
            _sampler = new CategoricalSampler((ulong)_config.Seed + 1);
            _observationStatistics = _config.NormalizeObservations ? new RunningMeanStd(_envs.ObservationSize) : null;
            _evaluator = new Evaluator(() => TrainingEnvironments.MakeOne(_config), _config.EvalEpisodes, seed: Evaluator.SeedFor(_config.Seed));
            _evalActor = Agent.Begin(_config.EvalEpisodes);
            _episodes = new EpisodeTracker(_config.NumEnvs);
            _observations = new float[_config.NumEnvs * _envs.ObservationSize];
            _actions = new int[_config.NumEnvs];
            _logits = new float[_config.NumEnvs * _actionCount];
            _values = new float[_config.NumEnvs];
            _logProbs = new float[_config.NumEnvs];
            _sequenceLength = _config.EffectiveSequenceLength;
            _sequencesPerBatch = Math.Max(1, _config.BatchSize / _sequenceLength);
            _stats = zeros([StatWidth], ScalarType.Float64, _device).DetachFromDisposeScope();
            _checkpoints = _options.RunDirectory is null ? null : new CheckpointStore(_options.RunDirectory, _options.KeepCheckpoints);
        }
        catch
        {
            _envs.Dispose();
            throw;
        }

        if (checkpoint is null)
        {
            _envs.Reset(seed: _config.Seed);
            _envs.Observations.CopyTo(_observations, 0);
            _observationStatistics?.Update(_observations);
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
    public PpoConfig Config => _config;

    /// <summary>Environment steps taken so far.</summary>
    public long Step => _step;

    /// <summary>The actor-critic network (what the agent acts with).</summary>
    public ActorCriticNetwork Network => _network;

    /// <summary>The gradient steps taken so far.</summary>
    public long Updates => _updates;

    /// <summary>The rollouts trained on so far.</summary>
    public long Iterations => _iterations;

    /// <summary>Every evaluation of the run so far.</summary>
    public IReadOnlyList<EvaluationResult> Evaluations => _evaluations;

    /// <summary>A greedy agent sharing the trained network (save it with <see cref="PpoAgent.Save"/>).</summary>
    public PpoAgent Agent => new(_network, _config.Env);

    /// <inheritdoc />
    IAgent IWatchableTrainer.CurrentAgent() => Agent;

    /// <summary>
    /// Trains until <see cref="PpoConfig.TotalTimesteps"/> (finishing the rollout that reaches it), a stop from a
    /// callback or the return threshold, or cancellation (which checkpoints and returns with
    /// <see cref="TrainingResult.Interrupted"/> set). Ends with an evaluation, the final checkpoint, the final agent and
    /// the learning curve (when there is a run folder).
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss, gradient, observation or reward became NaN/infinite (a checkpoint of the last good state is written first).</exception>
    public TrainingResult Learn(CancellationToken cancellationToken = default)
    {
        // Signals go to other threads while this one runs torch kernels (see TorchThreadSignals).
        using IDisposable signals = TorchThreadSignals.Block();
        string title = $"PPO {_config.Env} seed {_config.Seed}";
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
            File.WriteAllText(Path.Combine(_options.RunDirectory, "config.yaml"), ConfigYaml.Write(Algo, PpoConfig.Schema.ToEntries(_config)));
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
            // A checkpoint written when training diverged holds a full rollout: train on it first.
            if (_buffer.IsFull)
            {
                Train();
            }

            while (_step < _config.TotalTimesteps || _buffer.Count > 0)
            {
                // 0. A rollout normalizes its observations (and is learned from) with the statistics as they were at its start.
                if (_buffer.Count == 0 && _observationStatistics is not null)
                {
                    _network.SetObservationStatistics(_observationStatistics.Mean, _observationStatistics.Variance);
                }

                // 1. Act: one forward pass for every environment, actions drawn from the policy on the host.
                _actor.Step(_observations, _logits, _values);
                for (int e = 0; e < numEnvs; e++)
                {
                    _actions[e] = _sampler.Sample(_logits.AsSpan(e * _actionCount, _actionCount), out _logProbs[e]);
                }

                // 2. Step every environment (an environment whose episode ended last step resets instead).
                _envs.Step(_actions);

                // 3. Store the step with the state the actions were chosen from; then carry the state on, resetting the
                //    environments whose next step begins an episode.
                try
                {
                    _buffer.Add(_observations, _actions, _envs.Rewards, _envs.Terminations, _envs.Truncations, _values, _logProbs, _actor.State);
                }
                catch (ArgumentException e)
                {
                    // A NaN or infinite reward, observation or policy output: the learner's state is still good.
                    _envsNeedReset = true;
                    throw new TrainingDivergedException(_step + numEnvs, _updates, "transition", double.NaN, e.Message);
                }

                _actor.Advance(_buffer.NextStepBeginsEpisode);
                _envs.Observations.CopyTo(_observations, 0);
                _observationStatistics?.Update(_observations);
                _step += numEnvs;
                _episodes.Record(_step, _envs.Rewards, _envs.Terminations, _envs.Truncations);

                // 4. Learn from each full rollout.
                if (_buffer.IsFull)
                {
                    foreach (var callback in _options.Callbacks)
                    {
                        callback.OnRolloutEnd(context());
                    }

                    Train();
                    if (_step >= _nextLog)
                    {
                        while (_nextLog <= _step)
                        {
                            _nextLog += _config.LogInterval;
                        }

                        double fps = (_step - windowStep) / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                        windowStep = _step;
                        window.Restart();
                        log?.Record(_step, TrainingRow(fps, clock.Elapsed.TotalSeconds));
                        progress.Update(new TrainingProgress(_step, _config.TotalTimesteps, fps, NaNToNull(_episodes.RecentMeanReturn), _episodes.Episodes));
                    }
                }

                // 5. Evaluate, call back, checkpoint.
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
            throw DivergenceCheckpoint.Write(e, _checkpoints, progress, () => SaveCheckpoint(log, diverged: true), ("policy", _network));
        }
        catch (InvalidObservationException e)
        {
            // An environment produced an invalid observation (NaN or out of its space): the learner's state is still good.
            _envsNeedReset = true;
            throw DivergenceCheckpoint.Write(new TrainingDivergedException(_step, _updates, "observation", double.NaN, e.Message), _checkpoints, progress, () => SaveCheckpoint(log, diverged: true), ("policy", _network));
        }

        // The final checkpoint comes first, so that its log position excludes the final evaluation's row.
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
                $"PPO on {_config.Env} (seed {_config.Seed})",
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

    /// <summary>One training phase on the full rollout: GAE, then n_epochs of minibatches (or fewer, on a KL stop).</summary>
    private void Train()
    {
        // Schedules see the progress remaining after the rollout, as SB3's (clamped at 0 for the rollout that overshoots).
        double remaining = Math.Max(0, 1 - (double)_step / _config.TotalTimesteps);
        double learningRate = _config.LearningRateSchedule == "linear" ? _config.LearningRate * remaining : _config.LearningRate;
        double clipRange = _config.ClipRangeSchedule == "linear" ? _config.ClipRange * remaining : _config.ClipRange;
        _optimizer.LearningRate = learningRate;
        _lastLearningRate = learningRate;
        _lastClipRange = clipRange;

        // V of the observations after the last step, from the state the next step would start from.
        _actor.Peek(_observations, _logits, _values);
        _buffer.ComputeReturnsAndAdvantages(_values);

        _stats.zero_();
        int minibatches = 0;
        bool keepGoing = true;
        for (int epoch = 0; epoch < _config.NEpochs && keepGoing; epoch++)
        {
            if (_network.IsRecurrent)
            {
                foreach (RolloutSequenceBatch batch in _buffer.SequenceMinibatches(_sequenceLength, _sequencesPerBatch))
                {
                    using (batch)
                    {
                        keepGoing = TrainOnSequences(batch, clipRange, epoch == 0);
                    }

                    minibatches++;
                    if (!keepGoing)
                    {
                        break;
                    }
                }
            }
            else
            {
                foreach (RolloutBatch batch in _buffer.Minibatches(_config.BatchSize))
                {
                    using (batch)
                    {
                        keepGoing = TrainOnBatch(batch, clipRange, epoch == 0);
                    }

                    minibatches++;
                    if (!keepGoing)
                    {
                        break;
                    }
                }
            }
        }

        _lastStats = MemoryMarshal.Cast<byte, double>(_stats.cpu().bytes).ToArray();
        for (int i = 0; i < StatCount; i++)
        {
            _lastStats[i] /= Math.Max(1, minibatches);
        }

        _buffer.Clear();
        _iterations++;
    }

    private bool TrainOnBatch(RolloutBatch batch, double clipRange, bool firstEpoch)
    {
        using var scope = NewDisposeScope();
        var (logits, values) = _network.Forward(batch.Observations.reshape(batch.Size, -1));
        PpoLossTerms terms = PpoLoss.Compute(
            logits, batch.Actions, batch.OldLogProbs, batch.Advantages, values, batch.OldValues, batch.Returns, mask: null,
            clipRange, _config.ClipRangeVf, _config.EntCoef, _config.VfCoef);
        return Update(terms, firstEpoch ? (batch.Returns, batch.OldValues, null) : null);
    }

    private bool TrainOnSequences(RolloutSequenceBatch batch, double clipRange, bool firstEpoch)
    {
        using var scope = NewDisposeScope();
        Tensor observations = batch.Observations.reshape(batch.Sequences, batch.Length, -1);
        var (logits, values) = _network.UnrollSequences(observations, batch.InitialState!, batch.EpisodeStarts);
        PpoLossTerms terms = PpoLoss.Compute(
            logits, batch.Actions, batch.OldLogProbs, batch.Advantages, values, batch.OldValues, batch.Returns, batch.Mask,
            clipRange, _config.ClipRangeVf, _config.EntCoef, _config.VfCoef);
        return Update(terms, firstEpoch ? (batch.Returns, batch.OldValues, batch.Mask) : null);
    }

    /// <summary>Records the statistics, applies the KL stop, and takes one gradient step. False stops the phase.</summary>
    private bool Update(PpoLossTerms terms, (Tensor Returns, Tensor OldValues, Tensor? Mask)? rollout)
    {
        using (no_grad())
        {
            Tensor row = stack([terms.Loss.detach(), terms.PolicyGradientLoss, terms.ValueLoss, terms.EntropyLoss, terms.ApproxKl, terms.ClipFraction]).to(ScalarType.Float64);
            _stats.narrow(0, 0, StatCount).add_(row);
            if (rollout is var (returns, oldValues, mask))
            {
                Tensor m = mask ?? ones_like(returns);
                Tensor r = returns.mul(m).to(ScalarType.Float64);
                Tensor d = returns.sub(oldValues).mul(m).to(ScalarType.Float64);
                _stats.narrow(0, StatCount, 5).add_(stack([m.sum().to(ScalarType.Float64), r.sum(), r.square().sum(), d.sum(), d.square().sum()]));
            }
        }

        if (_config.TargetKl is double targetKl && terms.ApproxKl.item<float>() > 1.5 * targetKl)
        {
            return false;
        }

        double loss = terms.Loss.item<float>();
        if (!double.IsFinite(loss))
        {
            throw new TrainingDivergedException(_step, _updates, "loss", loss, "the PPO loss of a minibatch is not finite");
        }

        _optimizer.ZeroGrad();
        terms.Loss.backward();
        double norm = _optimizer.ClipGradNorm(_config.MaxGradNorm);
        if (!double.IsFinite(norm))
        {
            _optimizer.ZeroGrad();
            throw new TrainingDivergedException(_step, _updates, "gradient norm", norm, "a gradient of the actor-critic network is not finite");
        }

        _optimizer.Step();
        _updates++;
        return true;
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

    private IEnumerable<KeyValuePair<string, double>> TrainingRow(double fps, double elapsed)
    {
        double[] s = _lastStats;
        double n = s[StatCount];
        double returnVariance = n > 0 ? s[StatReturnSquared] / n - Math.Pow(s[StatReturn] / n, 2) : double.NaN;
        double residualVariance = n > 0 ? s[StatResidualSquared] / n - Math.Pow(s[StatResidual] / n, 2) : double.NaN;
        double explained = returnVariance > 0 ? 1 - residualVariance / returnVariance : double.NaN;
        return
        [
            new("time/total_timesteps", _step), new("time/episodes", _episodes.Episodes), new("time/iterations", _iterations),
            new("time/fps", fps), new("time/time_elapsed", elapsed),
            new("rollout/ep_rew_mean", _episodes.RecentMeanReturn), new("rollout/ep_len_mean", _episodes.RecentMeanLength),
            new("train/loss", s[StatLoss]), new("train/policy_gradient_loss", s[StatPolicy]), new("train/value_loss", s[StatValue]),
            new("train/entropy_loss", s[StatEntropy]), new("train/approx_kl", s[StatKl]), new("train/clip_fraction", s[StatClip]),
            new("train/explained_variance", explained), new("train/n_updates", _updates), new("train/learning_rate", _lastLearningRate),
            new("train/clip_range", _lastClipRange), new("train/clip_range_vf", _config.ClipRangeVf ?? double.NaN),
        ];
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

        bool saveEnvs = _envs.CanSaveState && !_envsNeedReset;
        var state = new JsonObject
        {
            ["config"] = ConfigJson.Write(PpoConfig.Schema.ToEntries(_config)),
            ["step"] = _step,
            ["iterations"] = _iterations,
            ["updates"] = _updates,
            ["next_eval"] = _nextEval,
            ["next_log"] = _nextLog,
            ["next_checkpoint"] = _nextCheckpoint,
            ["best_mean_return"] = double.IsFinite(_bestMeanReturn) ? _bestMeanReturn : null,
            ["diverged"] = diverged,
            ["envs_saved"] = saveEnvs,
            ["observations"] = Convert.ToBase64String(MemoryMarshal.AsBytes(_observations.AsSpan())),
            ["sampler"] = Convert.ToBase64String(_sampler.ExportState()),
            ["observation_statistics"] = _observationStatistics is null ? null : Convert.ToBase64String(_observationStatistics.Export()),
            ["episodes"] = JsonSerializer.SerializeToNode(_episodes.GetState(), TrainingJsonContext.Default.EpisodeTrackerState),
            ["evaluations"] = CheckpointState.WriteEvaluations(_evaluations),
            ["statistics"] = JsonSerializer.SerializeToNode(_lastStats, TrainingJsonContext.Default.DoubleArray),
            ["log"] = log is null ? null : JsonSerializer.SerializeToNode(log.Position, TrainingJsonContext.Default.LogPosition),
        };

        string saved = _checkpoints.Save(_step, Algo, state, folder =>
        {
            ModuleFile.Save(Path.Combine(folder, "networks.rlmb"), NetworksKind, 1, "{}", ("policy", _network));
            File.WriteAllBytes(Path.Combine(folder, "optimizer.bin"), _optimizer.GetState());
            _buffer.Save(Path.Combine(folder, "rollout"));
            using (var stream = new FileStream(Path.Combine(folder, "actor.bin"), FileMode.CreateNew, FileAccess.Write))
            using (var writer = new BinaryWriter(stream))
            {
                _actor.WriteState(writer);
            }

            if (saveEnvs)
            {
                using var stream = new FileStream(Path.Combine(folder, "envs.bin"), FileMode.CreateNew, FileAccess.Write);
                using var writer = new BinaryWriter(stream);
                _envs.SaveState(writer);
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
        ModuleFile.Load(Path.Combine(folder, "networks.rlmb"), NetworksKind, ("policy", _network));
        _optimizer.SetState(File.ReadAllBytes(Path.Combine(folder, "optimizer.bin")));
        RolloutBuffer loaded = RolloutBuffer.Load(Path.Combine(folder, "rollout"), _bufferOptions);
        _buffer.Dispose();
        _buffer = loaded;
        using (var reader = new BinaryReader(File.OpenRead(Path.Combine(folder, "actor.bin"))))
        {
            _actor.ReadState(reader);
        }

        _step = s.Long("step", 0, _config.TotalTimesteps);
        _iterations = s.Long("iterations");
        _updates = s.Long("updates");
        _lastStats = s.Value("statistics", TrainingJsonContext.Default.DoubleArray, v => v.Length == StatWidth ? null : $"must hold {StatWidth} numbers");
        _nextEval = s.Long("next_eval");
        _nextLog = s.Long("next_log");
        _nextCheckpoint = s.Long("next_checkpoint");
        _bestMeanReturn = s.OptionalDouble("best_mean_return") ?? double.NegativeInfinity;
        _sampler.ImportState(s.Bytes("sampler"));
        if (_observationStatistics is not null)
        {
            _observationStatistics.Import(s.Bytes("observation_statistics"));
        }
        _episodes.SetState(s.Value("episodes", TrainingJsonContext.Default.EpisodeTrackerState));
        _evaluations.AddRange(s.Evaluations("evaluations"));

        string envs = Path.Combine(folder, "envs.bin");
        if (s.Bool("envs_saved") && File.Exists(envs) && _envs.CanSaveState)
        {
            using var reader = new BinaryReader(File.OpenRead(envs));
            _envs.LoadState(reader);
            MemoryMarshal.Cast<byte, float>(s.Bytes("observations", _observations.Length * sizeof(float))).CopyTo(_observations);
        }
        else
        {
            // Not an exact resume: the partial rollout is dropped and the environments start new episodes (seeded from
            // the step, so still reproducible).
            if (!_buffer.IsFull)
            {
                _buffer.Clear();
            }

            _envs.Reset(seed: (int)((_config.Seed + _step) % int.MaxValue));
            _envs.Observations.CopyTo(_observations, 0);
            _observationStatistics?.Update(_observations);
            if (_buffer.Count == 0)
            {
                _buffer.BeginNewEpisodes();
            }

            _actor.ResetAll();
            _episodes.ResetEnvironments();
            _envsNeedReset = true;
        }

        return s.OptionalValue("log", TrainingJsonContext.Default.LogPosition, p => p.Problem());
    }

    private static PpoConfig Validate(PpoConfig config)
    {
        PpoConfig.Schema.Validate(config);
        TrainingEnvironments.RequireRegistered(config.Env);

        if (config.IsRecurrent && config.SequenceLength > config.NSteps)
        {
            throw new ConfigException($"sequence_length = {config.SequenceLength} is out of range: must be in [1, n_steps = {config.NSteps}] (or 0 for n_steps).");
        }

        if (config.NormalizeAdvantage && config.BatchSize < 2)
        {
            throw new ConfigException("batch_size = 1 cannot be combined with normalize_advantage: a minibatch of one entry has no spread; raise batch_size or set normalize_advantage: false.");
        }

        if ((long)config.NSteps * config.NumEnvs > RolloutBufferOptions.MaxEntries)
        {
            throw new ConfigException($"n_steps × n_envs = {(long)config.NSteps * config.NumEnvs} is too large: at most {RolloutBufferOptions.MaxEntries} entries per rollout.");
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
        _buffer.Dispose();
        _actor.Dispose();
        _evalActor.Dispose();
        _evaluator.Dispose();
        _optimizer.Dispose();
        _network.Dispose();
        _stats.Dispose();
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
