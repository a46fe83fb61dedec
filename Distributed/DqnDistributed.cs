using RlMemory.Agents;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// DQN as Ape-X lays it out: actors assemble n-step transitions and send them in batches; the shards hold transitions;
/// the learner trains the existing <see cref="DqnLearner"/> on k batches per round, the target network's part of the
/// TD targets computed for the round in one pass.
/// </summary>
internal sealed class DqnDistributed(DqnConfig config) : DistributedAlgorithm
{
    /// <inheritdoc />
    public override RunConfig Config => config;

    /// <inheritdoc />
    public override string Algo => DqnTrainer.Algo;

    /// <inheritdoc />
    public override string Title => "DQN";

    /// <inheritdoc />
    public override int BufferSize => config.BufferSize;

    /// <inheritdoc />
    public override int GradientStepsPerPhase => config.GradientStepsPerPhase;

    /// <inheritdoc />
    public override double Tau => config.Tau;

    /// <inheritdoc />
    public override IReadOnlyList<KeyValuePair<string, object?>> Entries() => DqnConfig.Schema.ToEntries(config);

    /// <inheritdoc />
    public override RunConfig Apply(IEnumerable<KeyValuePair<string, object?>> values, string source) => DqnConfig.Schema.Apply(new DqnConfig(), values, source);

    /// <inheritdoc />
    public override void Validate(int shards)
    {
        config.ValidateCombinations();
        if (config.OptimizeMemoryUsage)
        {
            throw new ConfigException("optimize_memory_usage: true is not offered by the distributed DQN yet (its shards keep both observations of a transition); set it to false or train in one process.");
        }

        RequireCpu();
        if (config.BatchSize < shards)
        {
            throw new ConfigException($"batch_size ({config.BatchSize}) must be at least the number of replay shards ({shards}): each learner batch takes a share from every shard.");
        }
    }

    /// <inheritdoc />
    public override SequenceShape? Sequences(int observationSize, int actionCount) => null;

    /// <inheritdoc />
    public override ShardPriorities? Priorities => config.Prioritized ? new ShardPriorities(config.PrioritizedAlpha, config.PrioritizedEps) : null;

    /// <inheritdoc />
    public override async Task<IShardSample?> Sample(IReplayShardGrain shard, RunIdentity run, int count, long envStep) =>
        config.Prioritized
            ? await shard.SamplePrioritized(run, count, _beta.ValueAt(envStep)).ConfigureAwait(false)
            : await shard.Sample(run, count).ConfigureAwait(false);

    /// <summary>β of the importance-sampling weights, annealed from <c>prioritized_beta0</c> to 1 over the run (as in one process).</summary>
    private readonly LinearSchedule _beta = new(config.PrioritizedBeta0, 1.0, config.TotalTimesteps);

    /// <inheritdoc />
    public override double BytesPerItem(int observationSize, int actionCount) => TransitionBatchMessage.BytesPerTransition(observationSize);

    /// <inheritdoc />
    public override DistributedLearner CreateLearner(int observationSize, int actionCount) => new Learner(config, Network(observationSize, actionCount));

    /// <inheritdoc />
    public override IActorPolicy CreateActor(VectorEnv<int> envs, int seed) =>
        new Actor(config, Network(envs.ObservationSize, ((RlMemory.Environments.Discrete)envs.SingleActionSpace).N), envs.NumEnvs, seed);

    private QNetworkConfig Network(int observationSize, int actionCount) =>
        new() { ObservationSize = observationSize, ActionCount = actionCount, HiddenSizes = config.NetArch, Dueling = config.Dueling };

    private sealed class Learner(DqnConfig config, QNetworkConfig network)
        : QDistributedLearner<QNetwork>(
            new DqnLearner(network, CPU, config.LearningRate, config.DoubleQ, config.Loss, config.MaxGradNorm),
            "DistributedDqnLearner",
            config.GradientStepsPerPhase * Math.Max(1, config.TargetUpdateInterval / (config.TrainFreq * config.NumEnvs)),
            config.Tau)
    {
        private DqnLearner Dqn => (DqnLearner)Learner;

        public override double[][]? TrainRound(IShardSample[] samples, int[] shares, int rounds, Func<long> envStep, Action afterUpdate)
        {
            // The k batches of the round as one set of tensors (made once per round), of which each update takes a slice;
            // the target network's part of the TD targets for the round's remaining batches in one forward pass (as the
            // single-process loop does for a training phase), again after each target update. With priorities, each
            // row's new |TD error| goes back to its shard's sample row (Ape-X: the round was drawn with the priorities
            // of its start, so later batches of a round see those, not the ones this round sets).
            int batchSize = config.BatchSize;
            SampledTransitions[] parts = [.. samples.Cast<SampledTransitions>()];
            TransitionBatch batches = Combine(parts, shares, rounds, network.ObservationSize);
            double[][]? priorities = config.Prioritized ? [.. parts.Select(p => new double[p.Count])] : null;
            Tensor? targets = null;
            int from = 0;
            for (int j = 0; j < rounds; j++)
            {
                if (targets is null)
                {
                    from = j;
                    targets = Dqn.Precompute(batches.Slice(j * batchSize, (rounds - j) * batchSize));
                }

                using (var scope = NewDisposeScope())
                {
                    TransitionBatch batch = batches.Slice(j * batchSize, batchSize);
                    Tensor? errors = Dqn.Step(batch, wantPriorities: priorities is not null, envStep(), targets.narrow(0, (j - from) * batchSize, batchSize));
                    if (priorities is not null)
                    {
                        // Batch j holds shard i's rows [j·share_i, (j + 1)·share_i), the shards in order.
                        float[] magnitudes = errors!.cpu().data<float>().ToArray();
                        for (int i = 0, row = 0; i < parts.Length; row += shares[i], i++)
                        {
                            for (int r = 0; r < shares[i]; r++)
                            {
                                priorities[i][(j * shares[i]) + r] = magnitudes[row + r];
                            }
                        }
                    }
                }

                if (UpdateTargetIfDue())
                {
                    targets = null;
                }

                afterUpdate();
            }

            return priorities;
        }

        public override EvaluationResult Evaluate(long step)
        {
            using var greedy = new BatchedActor(Learner.Online, config.EvalEpisodes, 0);
            using var evaluator = new Evaluator(() => TrainingEnvironments.MakeOne<int>(config), config.EvalEpisodes, Evaluator.SeedFor(config.Seed));
            return evaluator.Run(step, greedy.Greedy);
        }

        public override void SaveAgent(string path)
        {
            using var agent = new DqnAgent(Learner.Online, config.Env);
            agent.Save(path);
        }

        /// <summary>The k batches of a round as one set of tensors: batch j is rows [j·B, (j + 1)·B), shard i's share of it its rows [j·share_i, (j + 1)·share_i).</summary>
        private static TransitionBatch Combine(SampledTransitions[] parts, int[] shareOf, int k, int observationSize)
        {
            int batch = shareOf.Sum(), count = batch * k;
            var observations = new float[count * observationSize];
            var next = new float[count * observationSize];
            var actions = new long[count];
            var rewards = new float[count];
            var terminated = new float[count];
            var discounts = new float[count];
            float[]? weights = parts[0].Weights is null ? null : new float[count];
            int row = 0;
            for (int j = 0; j < k; j++)
            {
                for (int i = 0; i < parts.Length; i++)
                {
                    int share = shareOf[i], from = j * share;
                    parts[i].Observations.AsSpan(from * observationSize, share * observationSize).CopyTo(observations.AsSpan(row * observationSize));
                    parts[i].NextObservations.AsSpan(from * observationSize, share * observationSize).CopyTo(next.AsSpan(row * observationSize));
                    parts[i].Actions.AsSpan(from, share).CopyTo(actions.AsSpan(row));
                    parts[i].Rewards.AsSpan(from, share).CopyTo(rewards.AsSpan(row));
                    parts[i].Terminated.AsSpan(from, share).CopyTo(terminated.AsSpan(row));
                    parts[i].Discounts.AsSpan(from, share).CopyTo(discounts.AsSpan(row));
                    parts[i].Weights?.AsSpan(from, share).CopyTo(weights.AsSpan(row));
                    row += share;
                }
            }

            return new TransitionBatch(
                tensor(observations, [count, observationSize]),
                tensor(actions, [count]),
                tensor(rewards, [count]),
                tensor(next, [count, observationSize]),
                tensor(terminated, [count]),
                zeros([count], ScalarType.Float32),
                tensor(discounts, [count]),
                arange(count, ScalarType.Int64),
                weights: weights is null ? null : tensor(weights, [count]));
        }
    }

    /// <summary>
    /// Ape-X's initial priorities: each transition's |TD error| under the actor's copy of the network,
    /// <c>|r + γⁿ(1 − terminated)·max_a Q(s', a) − Q(s, a)|</c> (the discount γⁿ as the n-step assembler stored it).
    /// </summary>
    internal static double[] InitialPriorities(QNetwork network, TransitionBatchMessage batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int n = batch.Count, size = batch.Observations.Length / n;
        Tensor q = network.forward(tensor(batch.Observations, [n, size])).gather(1, tensor(batch.Actions.Select(a => (long)a).ToArray(), [n, 1])).squeeze(1);
        Tensor next = network.forward(tensor(batch.NextObservations, [n, size])).amax([1]);
        Tensor live = tensor(batch.Terminated.Select(t => t ? 0.0f : 1.0f).ToArray());
        Tensor target = tensor(batch.Rewards.Select(r => (float)r).ToArray()).add(tensor(batch.Discounts.Select(d => (float)d).ToArray()).mul(live).mul(next));
        return [.. target.sub(q).abs().to(ScalarType.Float64).data<double>()];
    }

    /// <summary>An ε-greedy copy of the Q-network and the n-step transitions it completed.</summary>
    private sealed class Actor : IActorPolicy
    {
        private readonly QNetwork _network;
        private readonly BatchedActor _actor;
        private readonly NStepAssembler _assembler;
        private readonly TransitionBatchSink _sink;
        private readonly bool _prioritized;

        public Actor(DqnConfig config, QNetworkConfig network, int environments, int seed)
        {
            _network = new QNetwork(network, CPU);
            _actor = new BatchedActor(_network, environments, (ulong)seed);
            _assembler = new NStepAssembler(config.NSteps, config.Gamma, environments, network.ObservationSize, ActionSpec.Discrete);
            _sink = new TransitionBatchSink(network.ObservationSize);
            _prioritized = config.Prioritized;
        }

        public nn.Module Network => _network;

        public int Pending => _sink.Count;

        public void Act(ReadOnlySpan<float> observations, Span<int> actions, double epsilon) => _actor.EpsilonGreedy(observations, actions, epsilon);

        public void Record(in VectorStep<int> step) => _assembler.AddStep(step, _sink);

        public Func<IReplayShardGrain, int, Task<InsertReply>>? Take(RunIdentity run, string actor, long sequence, int insertBatch, bool final)
        {
            int count = final ? _sink.Count : insertBatch;
            if (count == 0 || _sink.Count < count)
            {
                return null;
            }

            TransitionBatchMessage message = _sink.Take(run, actor, sequence, count);
            if (_prioritized)
            {
                message = message with { Priorities = InitialPriorities(_network, message) };
            }

            return (shard, waitMs) => shard.Insert(message, waitMs);
        }

        public void Dispose()
        {
            _actor.Dispose();
            _network.Dispose();
        }
    }
}

/// <summary>Collects what an <see cref="NStepAssembler"/> completes, until an insert takes it.</summary>
internal sealed class TransitionBatchSink(int observationSize) : ITransitionSink
{
    private readonly List<float> _observations = [], _next = [];
    private readonly List<int> _actions = [];
    private readonly List<double> _rewards = [], _discounts = [];
    private readonly List<bool> _terminated = [];

    public int Count => _actions.Count;

    public void AddTransitions<TAction>(in VectorStep<TAction> transitions, ReadOnlySpan<double> discounts)
        where TAction : unmanaged
    {
        if (typeof(TAction) != typeof(int))
        {
            throw new ArgumentException("The distributed DQN stores discrete (int) actions.");
        }

        foreach (float x in transitions.Observations)
        {
            _observations.Add(x);
        }

        foreach (float x in transitions.NextObservations)
        {
            _next.Add(x);
        }

        foreach (TAction a in transitions.Actions)
        {
            _actions.Add((int)(object)a);
        }

        foreach (double r in transitions.Rewards)
        {
            _rewards.Add(r);
        }

        foreach (bool t in transitions.Terminations)
        {
            _terminated.Add(t);
        }

        foreach (double d in discounts)
        {
            _discounts.Add(d);
        }
    }

    public TransitionBatchMessage Take(RunIdentity run, string actor, long sequence, int count)
    {
        var message = new TransitionBatchMessage(
            run, actor, sequence, count,
            [.. _observations.Take(count * observationSize)], [.. _actions.Take(count)], [.. _rewards.Take(count)],
            [.. _next.Take(count * observationSize)], [.. _terminated.Take(count)], [.. _discounts.Take(count)]);
        _observations.RemoveRange(0, count * observationSize);
        _next.RemoveRange(0, count * observationSize);
        _actions.RemoveRange(0, count);
        _rewards.RemoveRange(0, count);
        _terminated.RemoveRange(0, count);
        _discounts.RemoveRange(0, count);
        return message;
    }
}
