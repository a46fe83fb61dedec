using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using static TorchSharp.torch;

namespace RlMemory.Training.Ppo;

/// <summary>
/// PPO as the run loop drives it: one forward pass of the policy for every environment, actions drawn on the host,
/// each step stored with its value, log-probability and the recurrent state it was taken from; when the rollout of
/// <c>n_steps × n_envs</c> is full, GAE(λ) and a training phase of the <see cref="PpoLearner"/>. The two action types
/// differ only in how actions are drawn and stored: <see cref="PpoAlgorithm"/> (discrete) and
/// <see cref="ContinuousPpoAlgorithm"/> (Box).
/// </summary>
/// <typeparam name="TAction">The environments' action type.</typeparam>
internal abstract class PpoAlgorithm<TAction> : ITrainingAlgorithm<TAction>
{
    private const string NetworksKind = "PpoNetworks";

    /// <summary>The run's configuration.</summary>
    private protected readonly PpoConfig _config;

    /// <summary>The actor-critic network.</summary>
    private protected readonly ActorCriticNetwork _network;

    /// <summary>The policy's forward passes for the environments, with their recurrent states.</summary>
    private protected readonly ActorCriticActor _actor;

    /// <summary>The policy outputs of the last step, N × <see cref="ActorCriticNetwork.PolicyWidth"/>.</summary>
    private protected readonly float[] _policy;

    /// <summary>The values of the last step's observations.</summary>
    private protected readonly float[] _values;

    /// <summary>log π(a|s) of the last step's actions (the sampler writes them).</summary>
    private protected readonly float[] _logProbs;

    /// <summary>The rollout being collected.</summary>
    private protected RolloutBuffer _rollout;

    private readonly PpoLearner _learner;
    private readonly RolloutBufferOptions _bufferOptions;
    private readonly RunningMeanStd? _observationStatistics;
    private readonly RewardNormalization? _rewardNormalization;
    private PpoStatistics _last = PpoStatistics.None;
    private long _iterations;

    private protected PpoAlgorithm(PpoConfig config, AlgorithmContext<TAction> context, ActorCriticConfig architecture, ActionSpec action)
    {
        _config = config;
        int observationSize = context.Envs.ObservationSize;

        // Stored per step of a rollout: the observation, action, reward, flags, value, log-probability, advantage,
        // return, and the recurrent state it was taken from.
        long stepBytes = (observationSize * (long)sizeof(float)) + 48 + (action.IsDiscrete ? 0 : (action.Dimension - 1) * sizeof(float)) + (architecture.Core is null ? 0 : MemoryBudget.StateFloats(architecture.Core) * sizeof(float) * (config.Critic == "separate" ? 2 : 1));
        var memory = new MemoryEstimate(
        [
            MemoryBudget.Networks(MemoryBudget.Multiply(ArchitectureSize.Minimum(architecture), config.Critic == "separate" ? 2 : 1)),
            ("rollout", MemoryBudget.Multiply((long)config.NSteps * config.NumEnvs, stepBytes)),
        ]);
        const string lower = "n_steps, n_envs, hidden_size, encoder_sizes or net_arch";
        MemoryBudget.Require(memory, lower);
        try
        {
            _network = MemoryBudget.Allocate(() => new ActorCriticNetwork(architecture, context.Device), memory, lower);
        }
        catch (NotSupportedException e)
        {
            throw new ConfigException($"core = '{config.Core}': {e.Message} Use core: lstm or core: mlp.", e);
        }

        try
        {
            _learner = new PpoLearner(config, _network, context.Device);
            _bufferOptions = new RolloutBufferOptions
            {
                NumSteps = config.NSteps,
                NumEnvs = config.NumEnvs,
                ObservationShape = [.. context.Envs.SingleObservationSpace.Shape],
                Action = action,
                Gamma = config.Gamma,
                GaeLambda = config.GaeLambda,
                AdvantageNormalization = config.NormalizeAdvantage ? AdvantageNormalization.PerMinibatch : AdvantageNormalization.None,
                RecurrentState = _network.StateSpec,
                Device = context.Device,
                Seed = (ulong)config.Seed + 2,
            };
            _rollout = MemoryBudget.Allocate(() => new RolloutBuffer(_bufferOptions), memory, lower);
            _actor = new ActorCriticActor(_network, config.NumEnvs);
        }
        catch
        {
            _rollout?.Dispose();
            _learner?.Dispose();
            _network.Dispose();
            throw;
        }

        _observationStatistics = config.NormalizeObservations ? new RunningMeanStd(observationSize) : null;
        _rewardNormalization = config.NormalizeReward ? new RewardNormalization(config.NumEnvs, config.Gamma) : null;
        _policy = new float[config.NumEnvs * _network.PolicyWidth];
        _values = new float[config.NumEnvs];
        _logProbs = new float[config.NumEnvs];
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Columns { get; } =
    [
        "time/iterations", "train/loss", "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss", "train/approx_kl",
        "train/clip_fraction", "train/explained_variance", "train/n_updates", "train/learning_rate", "train/clip_range", "train/clip_range_vf",
    ];

    /// <inheritdoc />
    public long Updates => _learner.Updates;

    /// <inheritdoc />
    public abstract IAgent<TAction> Agent { get; }

    IAgent ITrainingAlgorithm.Agent => Agent;

    /// <summary>The actor-critic network.</summary>
    public ActorCriticNetwork Network => _network;

    /// <summary>The rollouts trained on so far.</summary>
    public long Iterations => _iterations;

    /// <inheritdoc />
    public IReadOnlyList<(string Name, nn.Module Module)> Networks => [("policy", _network)];

    /// <inheritdoc />
    public bool LearningDue => _rollout.IsFull;

    /// <inheritdoc />
    public bool Collecting => _rollout.Count > 0;

    /// <inheritdoc />
    public bool LogsAfterLearning => true;

    /// <inheritdoc />
    public void EpisodesBegin(ReadOnlySpan<float> observations, bool restart)
    {
        if (restart)
        {
            // The partial rollout is dropped (a full one, from a divergence, is still learned from) and every row of
            // the policy's state starts from zero.
            if (!_rollout.IsFull)
            {
                _rollout.Clear();
            }

            if (_rollout.Count == 0)
            {
                _rollout.BeginNewEpisodes();
            }

            _actor.ResetAll();
            _rewardNormalization?.Restart();
        }

        _observationStatistics?.Update(observations);
    }

    /// <inheritdoc />
    public void Act(long step, ReadOnlySpan<float> observations, Span<TAction> actions)
    {
        // A rollout normalizes its observations (and is learned from) with the statistics as they were at its start.
        if (_rollout.Count == 0 && _observationStatistics is not null)
        {
            _network.SetObservationStatistics(_observationStatistics.Mean, _observationStatistics.Variance);
        }

        // One forward pass for every environment, actions drawn from the policy on the host.
        _actor.Step(observations, _policy, _values);
        Sample(step, actions);
    }

    /// <summary>Draws the actions from <see cref="_policy"/>, writing their log-probabilities into <see cref="_logProbs"/>.</summary>
    private protected abstract void Sample(long step, Span<TAction> actions);

    /// <summary>The gradient steps taken so far (for divergence reports).</summary>
    private protected long LearnerUpdates => _learner.Updates;

    /// <summary>Stores <paramref name="transition"/> with <see cref="_values"/>, <see cref="_logProbs"/> and the state the actions were chosen from.</summary>
    private protected abstract void Store(in VectorStep<TAction> transition);

    /// <summary>The sampler's state for a checkpoint: its generator and, for gSDE, the exploration matrices.</summary>
    private protected abstract (byte[] Generator, float[]? Exploration) SamplerState();

    /// <summary>Restores what <see cref="SamplerState"/> gave.</summary>
    private protected abstract void RestoreSampler(byte[] generator, float[]? exploration);

    /// <inheritdoc />
    public void Observe(long step, in VectorStep<TAction> transition)
    {
        // Store the step with the state the actions were chosen from; then carry the state on, resetting the rows whose
        // next step begins an episode.
        try
        {
            // With normalize_reward, the rollout learns from the scaled rewards (a non-finite reward is stored as it is,
            // and refused, before it reaches the statistics).
            bool scale = _rewardNormalization is not null && AllFinite(transition.Rewards);
            VectorStep<TAction> stored = scale
                ? new VectorStep<TAction>(
                    transition.Observations, transition.Actions, _rewardNormalization!.Scale(transition.Rewards, transition.Terminations, transition.Truncations),
                    transition.Terminations, transition.Truncations, transition.NextObservations)
                : transition;
            Store(stored);
        }
        catch (ArgumentException e)
        {
            // A NaN or infinite reward, observation or policy output: the learner's state is still good.
            throw new TrainingDivergedException(step + _config.NumEnvs, _learner.Updates, "transition", double.NaN, e.Message) { FromEnvironments = true };
        }

        _actor.Advance(_rollout.NextStepBeginsEpisode);
        _observationStatistics?.Update(transition.NextObservations);
    }

    private static bool AllFinite(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
        {
            if (!double.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public void Learn(long step, ReadOnlySpan<float> observations)
    {
        // V of the observations after the last step, from the state the next step would start from.
        _actor.Peek(observations, _policy, _values);
        _rollout.ComputeReturnsAndAdvantages(_values);

        // Schedules see the progress remaining after the rollout, as SB3's (clamped at 0 for the rollout that overshoots).
        double remaining = Math.Max(0, 1 - (double)step / _config.TotalTimesteps);
        _last = _learner.Learn(_rollout, remaining, step);
        _rollout.Clear();
        _iterations++;
    }

    /// <inheritdoc />
    public void AddLogValues(long step, ICollection<KeyValuePair<string, double>> row)
    {
        row.Add(new("time/iterations", _iterations));
        row.Add(new("train/loss", _last.Loss));
        row.Add(new("train/policy_gradient_loss", _last.PolicyGradientLoss));
        row.Add(new("train/value_loss", _last.ValueLoss));
        row.Add(new("train/entropy_loss", _last.EntropyLoss));
        row.Add(new("train/approx_kl", _last.ApproxKl));
        row.Add(new("train/clip_fraction", _last.ClipFraction));
        row.Add(new("train/explained_variance", _last.ExplainedVariance));
        row.Add(new("train/n_updates", _learner.Updates));
        row.Add(new("train/learning_rate", _last.LearningRate));
        row.Add(new("train/clip_range", _last.ClipRange));
        row.Add(new("train/clip_range_vf", _config.ClipRangeVf ?? double.NaN));
    }

    /// <inheritdoc />
    public JsonNode Save(string folder, bool exact)
    {
        ModuleFile.Save(Path.Combine(folder, "networks.rlmb"), NetworksKind, 1, "{}", ("policy", _network));
        File.WriteAllBytes(Path.Combine(folder, "optimizer.bin"), _learner.OptimizerState());
        _rollout.Save(Path.Combine(folder, "rollout"));
        using (var stream = new FileStream(Path.Combine(folder, "actor.bin"), FileMode.CreateNew, FileAccess.Write))
        using (var writer = new BinaryWriter(stream))
        {
            _actor.WriteState(writer);
        }

        var (generator, exploration) = SamplerState();
        var state = new PpoState(_iterations, _learner.Updates, generator, _observationStatistics?.Export())
        {
            Exploration = exploration,
            RewardNormalization = _rewardNormalization?.Export(),
        };
        return JsonSerializer.SerializeToNode(state, TrainingJsonContext.Default.PpoState)!;
    }

    /// <inheritdoc />
    public void Restore(AlgorithmCheckpoint checkpoint, bool exact)
    {
        PpoState state = checkpoint.Value(TrainingJsonContext.Default.PpoState, s => s.Problem(_observationStatistics is not null, _rewardNormalization is not null));
        ModuleFile.Load(checkpoint.File("networks.rlmb"), NetworksKind, ("policy", _network));
        _learner.RestoreOptimizer(File.ReadAllBytes(checkpoint.File("optimizer.bin")), state.Updates);
        RolloutBuffer loaded = RolloutBuffer.Load(checkpoint.File("rollout"), _bufferOptions);
        _rollout.Dispose();
        _rollout = loaded;
        using (var reader = new BinaryReader(File.OpenRead(checkpoint.File("actor.bin"))))
        {
            _actor.ReadState(reader);
        }

        _iterations = state.Iterations;
        RestoreSampler(state.Sampler, state.Exploration);
        _observationStatistics?.Import(state.ObservationStatistics);
        _rewardNormalization?.Import(state.RewardNormalization);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _rollout.Dispose();
        _actor.Dispose();
        Agent.Dispose();
        _learner.Dispose();
        _network.Dispose();
    }
}

/// <summary>PPO for discrete actions: a categorical policy, actions drawn from its logits.</summary>
internal sealed class PpoAlgorithm : PpoAlgorithm<int>
{
    private readonly CategoricalSampler _sampler;
    private readonly int _actionCount;

    public PpoAlgorithm(PpoConfig config, AlgorithmContext<int> context)
        : base(config, context, config.Network(context.Envs.ObservationSize, context.ActionCount), ActionSpec.Discrete)
    {
        _actionCount = context.ActionCount;
        _sampler = new CategoricalSampler((ulong)config.Seed + 1);
        Agent = new PpoAgent(_network, config.Env);
    }

    /// <inheritdoc cref="ITrainingAlgorithm.Agent" />
    public override PpoAgent Agent { get; }

    private protected override void Sample(long step, Span<int> actions)
    {
        for (int e = 0; e < actions.Length; e++)
        {
            actions[e] = _sampler.Sample(_policy.AsSpan(e * _actionCount, _actionCount), out _logProbs[e]);
        }
    }

    private protected override void Store(in VectorStep<int> transition) => _rollout.Add(transition, _values, _logProbs, _actor.State);

    private protected override (byte[] Generator, float[]? Exploration) SamplerState() => (_sampler.ExportState(), null);

    private protected override void RestoreSampler(byte[] generator, float[]? exploration) => _sampler.ImportState(generator);
}

/// <summary>
/// PPO for continuous (Box) actions: a diagonal Gaussian policy with state-independent log standard deviations, or
/// gSDE (<c>use_sde</c>). As SB3, the actions drawn are stored and learned from as drawn, and the environments receive
/// them clipped to the Box's bounds.
/// </summary>
internal sealed class ContinuousPpoAlgorithm : PpoAlgorithm<float[]>
{
    private readonly GaussianSampler _sampler;
    private readonly float[] _low;
    private readonly float[] _high;
    private readonly int _actionSize;
    private readonly float[] _drawn;

    public ContinuousPpoAlgorithm(PpoConfig config, AlgorithmContext<float[]> context)
        : base(config, context, config.Network(context.Envs.ObservationSize, context.ActionBox.Size, continuous: true), ActionSpec.Continuous(context.ActionBox.Size))
    {
        Box box = context.ActionBox;
        _low = box.Low.ToArray();
        _high = box.High.ToArray();
        _actionSize = box.Size;
        _sampler = new GaussianSampler((ulong)config.Seed + 1, config.NumEnvs, _actionSize, config.UseSde ? _network.LatentWidth : 0);
        _drawn = new float[config.NumEnvs * _actionSize];
        Agent = new ContinuousPpoAgent(_network, _low, _high, config.Env);
    }

    /// <inheritdoc cref="ITrainingAlgorithm.Agent" />
    public override ContinuousPpoAgent Agent { get; }

    private protected override void Sample(long step, Span<float[]> actions)
    {
        if (Array.Exists(_policy, x => !float.IsFinite(x)))
        {
            throw new TrainingDivergedException(step, LearnerUpdates, "action", double.NaN, "the policy produced a NaN or infinite mean or standard deviation");
        }

        // gSDE draws its exploration matrices at each rollout's start and every sde_sample_freq steps of it (SB3's
        // collect_rollouts).
        if (_sampler.StateDependent && (_rollout.Count == 0 || (_config.SdeSampleFreq > 0 && _rollout.Count % _config.SdeSampleFreq == 0)))
        {
            _sampler.ResetNoise(_network.ExplorationStd());
        }

        _sampler.Sample(_policy, _drawn, _logProbs);
        for (int e = 0; e < actions.Length; e++)
        {
            float[] action = actions[e];
            for (int a = 0; a < _actionSize; a++)
            {
                float drawn = _drawn[(e * _actionSize) + a];
                action[a] = float.IsNaN(drawn) ? drawn : Math.Clamp(drawn, _low[a], _high[a]);
            }
        }
    }

    private protected override void Store(in VectorStep<float[]> transition)
    {
        var drawn = new VectorStep<float>(transition.Observations, _drawn, transition.Rewards, transition.Terminations, transition.Truncations, transition.NextObservations);
        _rollout.Add(drawn, _values, _logProbs, _actor.State);
    }

    private protected override (byte[] Generator, float[]? Exploration) SamplerState() =>
        (_sampler.ExportState(), _sampler.StateDependent ? _sampler.ExportExploration() : null);

    private protected override void RestoreSampler(byte[] generator, float[]? exploration) => _sampler.ImportState(generator, exploration);
}

/// <summary>The state of a <see cref="PpoAlgorithm{TAction}"/> in a checkpoint.</summary>
/// <param name="Iterations">Rollouts trained on.</param>
/// <param name="Updates">Gradient steps taken.</param>
/// <param name="Sampler">The action sampler's generator.</param>
/// <param name="ObservationStatistics">The running observation statistics (with <c>normalize_observations</c>).</param>
internal sealed record PpoState(long Iterations, long Updates, byte[] Sampler, byte[]? ObservationStatistics)
{
    /// <summary>gSDE's exploration matrices (continuous actions with <c>use_sde</c>).</summary>
    public float[]? Exploration { get; init; }

    /// <summary>The reward scaling's statistics and returns (with <c>normalize_reward</c>).</summary>
    public byte[]? RewardNormalization { get; init; }

    public string? Problem(bool normalizes, bool normalizesRewards) =>
        Iterations < 0 || Updates < 0 ? "has a negative counter"
        : Sampler is null ? "lacks the sampler's state"
        : normalizes && ObservationStatistics is null ? "lacks the observation statistics this run normalizes with"
        : normalizesRewards && RewardNormalization is null ? "lacks the reward statistics this run normalizes with"
        : null;
}
