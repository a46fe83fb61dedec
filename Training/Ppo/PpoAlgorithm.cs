using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using static TorchSharp.torch;

namespace RlMemory.Training.Ppo;

/// <summary>
/// PPO as the run loop drives it: one forward pass of the policy for every environment, actions drawn on the host,
/// each step stored with its value, log-probability and the recurrent state it was taken from; when the rollout of
/// <c>n_steps × n_envs</c> is full, GAE(λ) and a training phase of the <see cref="PpoLearner"/>.
/// </summary>
internal sealed class PpoAlgorithm : ITrainingAlgorithm<int>
{
    private const string NetworksKind = "PpoNetworks";

    private readonly PpoConfig _config;
    private readonly ActorCriticNetwork _network;
    private readonly PpoLearner _learner;
    private readonly RolloutBufferOptions _bufferOptions;
    private readonly ActorCriticActor _actor;
    private readonly CategoricalSampler _sampler;
    private readonly RunningMeanStd? _observationStatistics;
    private readonly int _actionCount;
    private readonly float[] _logits;
    private readonly float[] _values;
    private readonly float[] _logProbs;
    private RolloutBuffer _rollout;
    private PpoStatistics _last = PpoStatistics.None;
    private long _iterations;

    public PpoAlgorithm(PpoConfig config, AlgorithmContext<int> context)
    {
        _config = config;
        _actionCount = context.ActionCount;
        int observationSize = context.Envs.ObservationSize;

        // Stored per step of a rollout: the observation, action, reward, flags, value, log-probability, advantage,
        // return, and the recurrent state it was taken from.
        ActorCriticConfig architecture = config.Network(observationSize, _actionCount);
        long stepBytes = (observationSize * (long)sizeof(float)) + 48 + (architecture.Core is null ? 0 : MemoryBudget.StateFloats(architecture.Core) * sizeof(float) * (config.Critic == "separate" ? 2 : 1));
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

        _sampler = new CategoricalSampler((ulong)config.Seed + 1);
        _observationStatistics = config.NormalizeObservations ? new RunningMeanStd(observationSize) : null;
        _logits = new float[config.NumEnvs * _actionCount];
        _values = new float[config.NumEnvs];
        _logProbs = new float[config.NumEnvs];
        Agent = new PpoAgent(_network, config.Env);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Columns { get; } =
    [
        "time/iterations", "train/loss", "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss", "train/approx_kl",
        "train/clip_fraction", "train/explained_variance", "train/n_updates", "train/learning_rate", "train/clip_range", "train/clip_range_vf",
    ];

    /// <inheritdoc />
    public long Updates => _learner.Updates;

    /// <inheritdoc cref="ITrainingAlgorithm.Agent" />
    public PpoAgent Agent { get; }

    IAgent<int> ITrainingAlgorithm<int>.Agent => Agent;

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
        }

        _observationStatistics?.Update(observations);
    }

    /// <inheritdoc />
    public void Act(long step, ReadOnlySpan<float> observations, Span<int> actions)
    {
        // A rollout normalizes its observations (and is learned from) with the statistics as they were at its start.
        if (_rollout.Count == 0 && _observationStatistics is not null)
        {
            _network.SetObservationStatistics(_observationStatistics.Mean, _observationStatistics.Variance);
        }

        // One forward pass for every environment, actions drawn from the policy on the host.
        _actor.Step(observations, _logits, _values);
        for (int e = 0; e < actions.Length; e++)
        {
            actions[e] = _sampler.Sample(_logits.AsSpan(e * _actionCount, _actionCount), out _logProbs[e]);
        }
    }

    /// <inheritdoc />
    public void Observe(long step, in VectorStep<int> transition)
    {
        // Store the step with the state the actions were chosen from; then carry the state on, resetting the rows whose
        // next step begins an episode.
        try
        {
            _rollout.Add(transition, _values, _logProbs, _actor.State);
        }
        catch (ArgumentException e)
        {
            // A NaN or infinite reward, observation or policy output: the learner's state is still good.
            throw new TrainingDivergedException(step + _config.NumEnvs, _learner.Updates, "transition", double.NaN, e.Message) { FromEnvironments = true };
        }

        _actor.Advance(_rollout.NextStepBeginsEpisode);
        _observationStatistics?.Update(transition.NextObservations);
    }

    /// <inheritdoc />
    public void Learn(long step, ReadOnlySpan<float> observations)
    {
        // V of the observations after the last step, from the state the next step would start from.
        _actor.Peek(observations, _logits, _values);
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

        var state = new PpoState(_iterations, _learner.Updates, _sampler.ExportState(), _observationStatistics?.Export());
        return JsonSerializer.SerializeToNode(state, TrainingJsonContext.Default.PpoState)!;
    }

    /// <inheritdoc />
    public void Restore(AlgorithmCheckpoint checkpoint, bool exact)
    {
        PpoState state = checkpoint.Value(TrainingJsonContext.Default.PpoState, s => s.Problem(_observationStatistics is not null));
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
        _sampler.ImportState(state.Sampler);
        _observationStatistics?.Import(state.ObservationStatistics);
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

/// <summary>The state of a <see cref="PpoAlgorithm"/> in a checkpoint.</summary>
/// <param name="Iterations">Rollouts trained on.</param>
/// <param name="Updates">Gradient steps taken.</param>
/// <param name="Sampler">The action sampler's generator.</param>
/// <param name="ObservationStatistics">The running observation statistics (with <c>normalize_observations</c>).</param>
internal sealed record PpoState(long Iterations, long Updates, byte[] Sampler, byte[]? ObservationStatistics)
{
    public string? Problem(bool normalizes) =>
        Iterations < 0 || Updates < 0 ? "has a negative counter"
        : Sampler is null ? "lacks the sampler's state"
        : normalizes && ObservationStatistics is null ? "lacks the observation statistics this run normalizes with"
        : null;
}
