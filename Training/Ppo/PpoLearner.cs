using RlMemory.Agents.ActorCritic;
using RlMemory.Memory;
using RlMemory.Training.Learning;
using static TorchSharp.torch;

namespace RlMemory.Training.Ppo;

/// <summary>
/// The learning half of PPO: <c>n_epochs</c> passes of minibatches over a rollout whose returns and advantages are
/// computed, each a clipped-surrogate step (value loss, optionally clipped; entropy bonus; gradient clipping; an
/// optional KL early stop). A recurrent network learns from whole sequences that start from the stored recurrent
/// state and reset it where episodes start inside them. Returns the phase's statistics.
/// </summary>
internal sealed class PpoLearner : IDisposable
{
    // On the device over a phase: the sums of the six loss terms and, over the first epoch's valid entries, the count,
    // Σ returns, Σ returns², Σ (returns − old values), Σ (returns − old values)² that explained variance needs.
    // On the host: the minibatches.
    private const int Terms = 6;
    private const int VarianceSums = 5;

    private readonly PpoConfig _config;
    private readonly ActorCriticNetwork _network;
    private readonly GradientStepper _optimizer;
    private readonly StatisticSums _sums;
    private readonly int _sequenceLength;
    private readonly int _sequencesPerBatch;

    public PpoLearner(PpoConfig config, ActorCriticNetwork network, Device device)
    {
        _config = config;
        _network = network;

        // SB3 builds PPO's Adam with eps = 1e-5.
        _optimizer = new GradientStepper(network.named_parameters(), config.LearningRate, config.MaxGradNorm, "actor-critic network", epsilon: 1e-5);
        _sums = new StatisticSums(Terms + VarianceSums, hostSums: 1, device, "PPO statistics");
        _sequenceLength = config.EffectiveSequenceLength;
        _sequencesPerBatch = Math.Max(1, config.BatchSize / _sequenceLength);
    }

    /// <summary>The gradient steps taken.</summary>
    public long Updates => _optimizer.Updates;

    /// <summary>
    /// One training phase on <paramref name="rollout"/> (its returns and advantages computed): <c>n_epochs</c> of
    /// minibatches, or fewer on a KL stop. <paramref name="remaining"/> is the fraction of the run left after the
    /// rollout, which the linear schedules of the learning rate and the clip range follow.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A minibatch's loss or gradient is not finite; the network was not updated with it.</exception>
    public PpoStatistics Learn(RolloutBuffer rollout, double remaining, long envStep)
    {
        double learningRate = _config.LearningRateSchedule == "linear" ? _config.LearningRate * remaining : _config.LearningRate;
        double clipRange = _config.ClipRangeSchedule == "linear" ? _config.ClipRange * remaining : _config.ClipRange;
        _optimizer.LearningRate = learningRate;
        _sums.Take();
        bool keepGoing = true;
        for (int epoch = 0; epoch < _config.NEpochs && keepGoing; epoch++)
        {
            IEnumerable<IDisposable> batches = _network.IsRecurrent
                ? rollout.SequenceMinibatches(_sequenceLength, _sequencesPerBatch)
                : rollout.Minibatches(_config.BatchSize);
            foreach (IDisposable batch in batches)
            {
                using (batch)
                {
                    keepGoing = batch is RolloutSequenceBatch sequences
                        ? TrainOnSequences(sequences, clipRange, epoch == 0, envStep)
                        : TrainOnBatch((RolloutBatch)batch, clipRange, epoch == 0, envStep);
                }

                _sums.Host[0]++;
                if (!keepGoing)
                {
                    break;
                }
            }
        }

        return PpoStatistics.From(_sums.Take(), learningRate, clipRange);
    }

    /// <summary>Adam's state as bytes.</summary>
    public byte[] OptimizerState() => _optimizer.GetState();

    /// <summary>Restores Adam's state and the update counter.</summary>
    public void RestoreOptimizer(byte[] state, long updates) => _optimizer.SetState(state, updates);

    private bool TrainOnBatch(RolloutBatch batch, double clipRange, bool firstEpoch, long envStep)
    {
        using var scope = NewDisposeScope();
        var (logits, values) = _network.Forward(batch.Observations.reshape(batch.Size, -1));
        PpoLossTerms terms = Loss(logits, batch.Actions, batch.OldLogProbs, batch.Advantages, values, batch.OldValues, batch.Returns, mask: null, clipRange);
        return Update(terms, firstEpoch ? (batch.Returns, batch.OldValues, null) : null, envStep);
    }

    private bool TrainOnSequences(RolloutSequenceBatch batch, double clipRange, bool firstEpoch, long envStep)
    {
        using var scope = NewDisposeScope();
        Tensor observations = batch.Observations.reshape(batch.Sequences, batch.Length, -1);
        var (logits, values) = _network.UnrollSequences(observations, batch.InitialState!, batch.EpisodeStarts);
        PpoLossTerms terms = Loss(logits, batch.Actions, batch.OldLogProbs, batch.Advantages, values, batch.OldValues, batch.Returns, batch.Mask, clipRange);
        return Update(terms, firstEpoch ? (batch.Returns, batch.OldValues, batch.Mask) : null, envStep);
    }

    /// <summary>PPO's loss for the network's action distribution (categorical logits, or a Gaussian's means and log std).</summary>
    private PpoLossTerms Loss(Tensor policy, Tensor actions, Tensor oldLogProbs, Tensor advantages, Tensor values, Tensor oldValues, Tensor returns, Tensor? mask, double clipRange) =>
        _network.Config.IsContinuous
            ? PpoLoss.ComputeGaussian(policy, actions, oldLogProbs, advantages, values, oldValues, returns, mask, clipRange, _config.ClipRangeVf, _config.EntCoef, _config.VfCoef)
            : PpoLoss.Compute(policy, actions, oldLogProbs, advantages, values, oldValues, returns, mask, clipRange, _config.ClipRangeVf, _config.EntCoef, _config.VfCoef);

    /// <summary>Records the statistics, applies the KL stop, and takes one gradient step. False stops the phase.</summary>
    private bool Update(PpoLossTerms terms, (Tensor Returns, Tensor OldValues, Tensor? Mask)? rollout, long envStep)
    {
        using (no_grad())
        {
            Tensor row = stack([terms.Loss.detach(), terms.PolicyGradientLoss, terms.ValueLoss, terms.EntropyLoss, terms.ApproxKl, terms.ClipFraction]).to(ScalarType.Float64);
            _sums.Device.narrow(0, 0, Terms).add_(row, HeldScalars.One);
            if (rollout is var (returns, oldValues, mask))
            {
                Tensor m = mask ?? ones_like(returns);
                Tensor r = returns.mul(m).to(ScalarType.Float64);
                Tensor d = returns.sub(oldValues).mul(m).to(ScalarType.Float64);
                _sums.Device.narrow(0, Terms, VarianceSums).add_(stack([m.sum().to(ScalarType.Float64), r.sum(), r.mul(r).sum(), d.sum(), d.mul(d).sum()]), HeldScalars.One);
            }
        }

        if (_config.TargetKl is double targetKl && terms.ApproxKl.item<float>() > 1.5 * targetKl)
        {
            return false;
        }

        _optimizer.Step(terms.Loss, terms.Loss.item<float>(), envStep, () => "the PPO loss of a minibatch is not finite");
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _sums.Dispose();
    }
}

/// <summary>What one PPO training phase did, as <c>progress.csv</c> logs it (SB3's <c>train/</c> keys).</summary>
/// <param name="Loss">The mean total loss over the minibatches.</param>
/// <param name="PolicyGradientLoss">The mean clipped-surrogate loss.</param>
/// <param name="ValueLoss">The mean value loss.</param>
/// <param name="EntropyLoss">The mean entropy loss (minus the entropy).</param>
/// <param name="ApproxKl">The mean approximate KL divergence between the old and new policies.</param>
/// <param name="ClipFraction">The mean fraction of clipped ratios.</param>
/// <param name="ExplainedVariance">1 − Var(returns − values) / Var(returns) over the rollout (NaN when the returns do not vary).</param>
/// <param name="LearningRate">The learning rate of the phase.</param>
/// <param name="ClipRange">The clip range of the phase.</param>
internal sealed record PpoStatistics(
    double Loss, double PolicyGradientLoss, double ValueLoss, double EntropyLoss, double ApproxKl, double ClipFraction,
    double ExplainedVariance, double LearningRate, double ClipRange)
{
    /// <summary>Before the first phase: every value NaN.</summary>
    public static PpoStatistics None { get; } = new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    /// <summary>The statistics from the phase's sums (six loss terms, five variance sums, the minibatch count).</summary>
    public static PpoStatistics From(double[] sums, double learningRate, double clipRange)
    {
        double minibatches = Math.Max(1, sums[11]);
        double n = sums[6];
        double returnVariance = n > 0 ? sums[8] / n - Math.Pow(sums[7] / n, 2) : double.NaN;
        double residualVariance = n > 0 ? sums[10] / n - Math.Pow(sums[9] / n, 2) : double.NaN;
        double explained = returnVariance > 0 ? 1 - residualVariance / returnVariance : double.NaN;
        return new(
            sums[0] / minibatches, sums[1] / minibatches, sums[2] / minibatches, sums[3] / minibatches, sums[4] / minibatches, sums[5] / minibatches,
            explained, learningRate, clipRange);
    }
}
