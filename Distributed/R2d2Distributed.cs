using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.R2d2;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// R2D2 laid out as Kapturowski et al. ran it: each actor carries its recurrent state, cuts its own step streams into
/// overlapping sequences (<see cref="SequenceCollector"/>, the cut of <see cref="SequenceReplayBuffer"/>) and sends
/// them with the state it had before each sequence's first step; the shards hold sequences; the learner trains the
/// existing <see cref="R2d2Learner"/> (stored state, burn-in, n-step Double-Q, value rescaling) on them.
/// </summary>
/// <remarks>
/// The rate limiter weighs an inserted batch by the environment steps its actor took since its previous batch (at most
/// twice the insert batch), and counts the sequences sampled: the single-process loop samples
/// <c>batch_size · gradient_steps</c> sequences per <c>train_freq · n_envs</c> environment steps, and so does the
/// learner here, however many sequences the episodes yield (they overlap, and episodes shorter than
/// <c>burn_in + 1</c> steps give none). Uniform replay only: prioritized shards are not offered yet.
/// </remarks>
internal sealed class R2d2Distributed(R2d2Config config) : DistributedAlgorithm
{
    /// <inheritdoc />
    public override RunConfig Config => config;

    /// <inheritdoc />
    public override string Algo => R2d2Trainer.Algo;

    /// <inheritdoc />
    public override string Title => "R2D2";

    /// <inheritdoc />
    public override int BufferSize => config.BufferSize;

    /// <inheritdoc />
    public override int GradientStepsPerPhase => config.GradientSteps;

    /// <inheritdoc />
    public override double Tau => 1;

    /// <inheritdoc />
    public override IReadOnlyList<KeyValuePair<string, object?>> Entries() => R2d2Config.Schema.ToEntries(config);

    /// <inheritdoc />
    public override RunConfig Apply(IEnumerable<KeyValuePair<string, object?>> values, string source) => R2d2Config.Schema.Apply(new R2d2Config(), values, source);

    /// <inheritdoc />
    public override void Validate(int shards)
    {
        config.ValidateCombinations();
        RequireCpu();
        if (config.BatchSize < shards)
        {
            throw new ConfigException($"batch_size ({config.BatchSize} sequences) must be at least the number of replay shards ({shards}): each learner batch takes a share from every shard.");
        }
    }

    /// <inheritdoc />
    public override SequenceShape? Sequences(int observationSize, int actionCount)
    {
        RecurrentStateSpec spec = StateSpec(observationSize, actionCount);
        return new SequenceShape(
            config.BurnIn, config.SequenceLength, config.Overlap, MinLength,
            [.. spec.Parts.Select(p => p.Name)], [.. spec.Parts.Select(p => p.Shape.ToArray())]);
    }

    /// <inheritdoc />
    public override ShardPriorities? Priorities => config.Prioritized ? new ShardPriorities(config.PriorityExponent, new PriorityOptions().Epsilon) : null;

    /// <inheritdoc />
    public override async Task<IShardSample?> Sample(IReplayShardGrain shard, RunIdentity run, int count, long envStep) =>
        config.Prioritized
            ? await shard.SamplePrioritizedSequences(run, count, config.ImportanceSamplingExponent).ConfigureAwait(false)
            : await shard.SampleSequences(run, count).ConfigureAwait(false);

    /// <summary>
    /// R2D2's initial priorities of <paramref name="rows"/> (laid out as <paramref name="layout"/>) under one network
    /// (an actor's copy, standing for both the online and the target network): each sequence is unrolled from its
    /// stored state over its burn-in and then its learning part, as the learner does, and its priority is
    /// <c>η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c> over the valid learning steps, δ the n-step (Double-Q, value
    /// rescaled as configured) TD error.
    /// </summary>
    internal static double[] InitialPriorities(RecurrentQNetwork network, SequenceRows rows, SequenceReplayOptions layout, R2d2Config config)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using SequenceBatch batch = SequenceReplayBuffer.ToBatch(rows, layout);
        int b = batch.Size, burnIn = batch.BurnIn, length = batch.LearningLength;
        Tensor observations = batch.Observations.reshape(b, burnIn + length + 1, network.Config.ObservationSize);
        RecurrentState start = batch.InitialState;
        if (burnIn > 0)
        {
            (_, start) = network.Unroll(observations.narrow(1, 0, burnIn), start);
        }

        (Tensor q, _) = network.Unroll(observations.narrow(1, burnIn, length + 1), start);
        Tensor taken = q.narrow(1, 0, length).gather(2, batch.Actions.narrow(1, burnIn, length).unsqueeze(2)).squeeze(2);
        Tensor mask = batch.Mask.narrow(1, burnIn, length);
        Tensor targets = R2d2Learner.NStepTargets(
            q, q, batch.Rewards.narrow(1, burnIn, length), batch.Terminated.narrow(1, burnIn, length), mask,
            config.Gamma, config.NSteps, config.DoubleQ, config.ValueRescaling ? ValueRescaling.DefaultEpsilon : null);
        var priorities = new double[b];
        SequencePriorities.Compute("R2D2 actor's initial priorities", taken - targets, mask, config.PriorityEta, b, length, priorities);
        return priorities;
    }

    /// <inheritdoc />
    public override double BytesPerItem(int observationSize, int actionCount)
    {
        RecurrentStateSpec spec = StateSpec(observationSize, actionCount);
        int width = new SequenceLayout(Options(observationSize, spec, environments: 1)).Width;
        return sizeof(float) * (width + 1 + spec.Parts.Sum(p => p.RowSize)); // the row, its length, its state
    }

    /// <inheritdoc />
    public override DistributedLearner CreateLearner(int observationSize, int actionCount)
    {
        RecurrentQNetworkConfig network = Network(observationSize, actionCount);
        var learner = new R2d2Learner(network, CPU, config);
        try
        {
            return new Learner(config, learner, Options(observationSize, learner.Online.StateSpec, environments: 1));
        }
        catch
        {
            learner.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override IActorPolicy CreateActor(VectorEnv<int> envs, int seed)
    {
        RecurrentQNetworkConfig network = Network(envs.ObservationSize, ((RlMemory.Environments.Discrete)envs.SingleActionSpace).N);
        return new Actor(network, envs.NumEnvs, seed, this);
    }

    /// <summary>A sequence whose valid steps all lie in the burn-in gives the learner nothing (as in one process).</summary>
    private int MinLength => config.BurnIn + 1;

    private RecurrentQNetworkConfig Network(int observationSize, int actionCount) => new()
    {
        ObservationSize = observationSize,
        ActionCount = actionCount,
        Core = config.CoreConfig!,
        HeadSizes = config.HeadSizes,
        Dueling = config.Dueling,
    };

    private RecurrentStateSpec StateSpec(int observationSize, int actionCount)
    {
        using var network = new RecurrentQNetwork(Network(observationSize, actionCount), CPU);
        return network.StateSpec;
    }

    private SequenceReplayOptions Options(int observationSize, RecurrentStateSpec spec, int environments) => new()
    {
        Capacity = 1,
        BurnIn = config.BurnIn,
        LearningLength = config.SequenceLength,
        Overlap = config.Overlap,
        ObservationShape = [observationSize],
        NumEnvs = environments,
        StateSpec = spec,
        Device = CPU,
        MinSequenceLength = MinLength,
    };

    private sealed class Learner(R2d2Config config, R2d2Learner learner, SequenceReplayOptions layout)
        : QDistributedLearner<RecurrentQNetwork>(
            learner,
            "DistributedR2d2Learner",
            config.GradientSteps * Math.Max(1, config.TargetUpdateInterval / (config.TrainFreq * config.NumEnvs)),
            tau: 1)
    {
        public override double[][]? TrainRound(IShardSample[] samples, int[] shares, int rounds, Func<long> envStep, Action afterUpdate)
        {
            // With priorities, each trained sequence's new priority goes back to its shard's sample row (the round was
            // drawn with the priorities of its start, as Ape-X's learner does).
            SampledSequences[] parts = [.. samples.Cast<SampledSequences>()];
            double[][]? priorities = config.Prioritized ? [.. parts.Select(p => new double[p.Count])] : null;
            for (int j = 0; j < rounds; j++)
            {
                using (var scope = NewDisposeScope())
                {
                    float[]? weights = priorities is null ? null : Weights(parts, shares, j);
                    using SequenceBatch batch = SequenceReplayBuffer.ToBatch(Rows(parts, shares, j), layout, weights);
                    Tensor tdErrors = learner.Step(batch, envStep());
                    if (priorities is not null)
                    {
                        // Batch j holds shard i's rows [j·share_i, (j + 1)·share_i), the shards in order.
                        var values = new double[batch.Size];
                        SequencePriorities.Compute("R2D2 learner's priorities", tdErrors, batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength), config.PriorityEta, batch.Size, batch.LearningLength, values);
                        for (int i = 0, row = 0; i < parts.Length; row += shares[i], i++)
                        {
                            Array.Copy(values, row, priorities[i], j * shares[i], shares[i]);
                        }
                    }
                }

                UpdateTargetIfDue();
                afterUpdate();
            }

            return priorities;
        }

        public override EvaluationResult Evaluate(long step)
        {
            using var greedy = new RecurrentQActor(learner.Online, config.EvalEpisodes);
            using var evaluator = new Evaluator(() => TrainingEnvironments.MakeOne<int>(config), config.EvalEpisodes, Evaluator.SeedFor(config.Seed));
            return evaluator.Run(step, greedy);
        }

        public override void SaveAgent(string path)
        {
            using var agent = new RecurrentDqnAgent(learner.Online, config.Env);
            agent.Save(path);
        }

        /// <summary>The importance weights of <see cref="Rows"/>' rows.</summary>
        private static float[] Weights(SampledSequences[] parts, int[] shareOf, int j) =>
            [.. parts.SelectMany((p, i) => (p.Weights ?? throw new InvalidOperationException("A prioritized shard's sample came without importance weights.")).AsSpan(j * shareOf[i], shareOf[i]).ToArray())];

        /// <summary>Batch <paramref name="j"/> of a round: rows [j·share_i, (j + 1)·share_i) of each shard's sample, shard by shard.</summary>
        private static SequenceRows Rows(SampledSequences[] parts, int[] shareOf, int j) =>
            SequenceRows.Concat([.. parts.Select((p, i) => new SequenceRows(p.Count, p.Width, p.Table, p.Lengths, p.States).Slice(j * shareOf[i], shareOf[i]))]);
    }

    /// <summary>An ε-greedy copy of the recurrent Q-network, its state per environment and the sequences it cut.</summary>
    private sealed class Actor : IActorPolicy
    {
        private readonly RecurrentQNetwork _network;
        private readonly RecurrentQActor _actor;
        private readonly SequenceCollector _collector;
        private readonly int _environments;
        private readonly int _width;
        private readonly int _stateParts;
        private readonly R2d2Config? _prioritized;
        private long _steps;

        public Actor(RecurrentQNetworkConfig network, int environments, int seed, R2d2Distributed algorithm)
        {
            _prioritized = algorithm.Config is R2d2Config { Prioritized: true } c ? c : null;
            _network = new RecurrentQNetwork(network, CPU);
            _actor = new RecurrentQActor(_network, environments, (ulong)seed);
            _collector = new SequenceCollector(algorithm.Options(network.ObservationSize, _network.StateSpec, environments));
            _environments = environments;
            _width = new SequenceLayout(_collector.Options).Width;
            _stateParts = _network.StateSpec.Parts.Count;
        }

        public nn.Module Network => _network;

        public int Pending => _collector.Count;

        public void Act(ReadOnlySpan<float> observations, Span<int> actions, double epsilon) => _actor.EpsilonGreedy(observations, actions, epsilon);

        public void Record(in VectorStep<int> step)
        {
            // As the single-process loop: the state each step was acted from goes with the sequences that start there,
            // and rows whose next step begins an episode start again from the zero state.
            _collector.Add(step, _actor.PreviousState);
            _actor.ResetRows(_collector.NextStepBeginsEpisode);
            _steps += _environments;
        }

        public Func<IReplayShardGrain, int, Task<InsertReply>>? Take(RunIdentity run, string actor, long sequence, int insertBatch, bool final)
        {
            if ((_steps == 0 && _collector.Count == 0) || (!final && _steps < insertBatch))
            {
                return null;
            }

            // What the batch counts for in the rate limiters: the steps taken since the last batch, at most twice the
            // insert batch so that one batch always fits the limiter's error buffer (the rest goes with the next batch,
            // which may hold no sequence: the first 30 steps of an episode complete none). So every step is counted.
            SequenceRows? rows = _collector.Count == 0 ? null : _collector.Take(_collector.Count);
            int steps = (int)Math.Min(_steps, 2L * insertBatch);
            _steps -= steps;
            var message = rows is null
                ? new SequenceBatchMessage(run, actor, sequence, 0, _width, [], [], [.. Enumerable.Range(0, _stateParts).Select(_ => Array.Empty<float>())], steps)
                : new SequenceBatchMessage(run, actor, sequence, rows.Count, rows.Width, rows.Table, rows.Lengths, rows.States, steps,
                    _prioritized is null ? null : InitialPriorities(_network, rows, _collector.Options, _prioritized));
            return (shard, waitMs) => shard.InsertSequences(message, waitMs);
        }

        public void Dispose()
        {
            _collector.Dispose();
            _actor.Dispose();
            _network.Dispose();
        }
    }
}
