using RlMemory.Agents;
using RlMemory.Memory;
using RlMemory.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Dqn;

/// <summary>
/// The learning half of DQN: the online and target Q-networks, Adam, and one gradient step on a batch
/// (vanilla or Double DQN targets, Huber or MSE loss, importance weights for prioritized replay, gradient clipping).
/// Statistics (loss, mean Q) accumulate on the device and are read only when logged.
/// </summary>
internal sealed class DqnLearner : IDisposable
{
    private readonly FlatAdam _optimizer;
    private readonly bool _doubleQ;
    private readonly bool _huber;
    private readonly double _maxGradNorm;
    private readonly Tensor _qSum;
    private double _lossTotal;
    private long _qCount;
    private int _statCount;

    public DqnLearner(QNetworkConfig network, Device device, double learningRate, bool doubleQ, string loss, double maxGradNorm)
    {
        Online = new QNetwork(network, device);
        Target = new QNetwork(network, device);
        Target.load_state_dict(Online.state_dict());
        foreach (var p in Target.parameters())
        {
            p.requires_grad = false;
        }

        Target.eval();
        _optimizer = new FlatAdam(Online.parameters(), learningRate);
        _doubleQ = doubleQ;
        _huber = loss == "huber";
        _maxGradNorm = maxGradNorm;
        _qSum = zeros(1, ScalarType.Float64, device).DetachFromDisposeScope();
    }

    public QNetwork Online { get; }

    public QNetwork Target { get; }

    public long Updates { get; private set; }

    /// <summary>
    /// One gradient step on <paramref name="batch"/>. Returns the new priorities |δ| (a device tensor the caller
    /// disposes) when <paramref name="wantPriorities"/>, else null. <paramref name="precomputed"/> is the batch's rows of
    /// <see cref="Precompute"/> over a larger sample, when the caller drew one for several steps.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is not finite; nothing was updated.</exception>
    public Tensor? Step(TransitionBatch batch, bool wantPriorities, long envStep, Tensor? precomputed = null)
    {
        using var scope = NewDisposeScope();
        Tensor target;
        if (precomputed is not null && !_doubleQ)
        {
            target = precomputed;
        }
        else
        {
            using (no_grad())
            {
                Tensor nextTarget = precomputed ?? Target.forward(batch.NextObservations);
                Tensor nextQ = _doubleQ
                    ? nextTarget.gather(1, Online.forward(batch.NextObservations).argmax(1, keepdim: true)).squeeze(1)
                    : nextTarget.max(1).values;
                target = TdTargets(batch, nextQ);
            }
        }

        Tensor q = Online.forward(batch.Observations).gather(1, batch.Actions.unsqueeze(1)).squeeze(1);
        Tensor loss;
        if (batch.Weights is null)
        {
            loss = _huber ? functional.huber_loss(q, target, delta: 1.0) : functional.mse_loss(q, target);
        }
        else
        {
            Tensor elementwise = _huber
                ? functional.huber_loss(q, target, delta: 1.0, reduction: Reduction.None)
                : functional.mse_loss(q, target, reduction: Reduction.None);
            loss = (batch.Weights * elementwise).mean();
        }

        double lossValue = loss.item<float>();
        if (!double.IsFinite(lossValue))
        {
            throw new TrainingDivergedException(envStep, Updates, "loss", lossValue, DescribeNonFinite(batch, q, target));
        }

        _optimizer.ZeroGrad();
        loss.backward();
        double norm = _optimizer.ClipGradNorm(_maxGradNorm);
        if (!double.IsFinite(norm))
        {
            _optimizer.ZeroGrad();
            throw new TrainingDivergedException(envStep, Updates, "gradient norm", norm, "a gradient of the online network is not finite");
        }

        _optimizer.Step();
        Updates++;
        using (no_grad())
        {
            _qSum.add_(q.sum());
        }

        _lossTotal += lossValue;
        _qCount += q.shape[0];
        _statCount++;
        if (!wantPriorities)
        {
            return null;
        }

        return (q - target).abs().detach().MoveToOuterDisposeScope();
    }

    /// <summary>Moves the target network towards the online one: θ' ← τθ + (1 − τ)θ' (τ = 1: copy).</summary>
    /// <summary>
    /// What the target network contributes to a batch, for a phase of steps in which the target network does not
    /// change: the TD targets y = r + γⁿ(1 − terminated)·max Q'(s', ·) for DQN, the target network's Q-values of the
    /// next observations for Double DQN (which picks the action with the online network at each step).
    /// </summary>
    public Tensor Precompute(TransitionBatch batch)
    {
        using (no_grad())
        {
            Tensor nextTarget = Target.forward(batch.NextObservations);
            return _doubleQ ? nextTarget : TdTargets(batch, nextTarget.max(1).values);
        }
    }

    private static Tensor TdTargets(TransitionBatch batch, Tensor nextQ) =>
        batch.Rewards + (batch.Discounts * (1 - batch.Terminated) * nextQ);

    public void UpdateTarget(double tau)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (t, o) in Target.parameters().Zip(Online.parameters()))
            {
                if (tau >= 1)
                {
                    t.copy_(o);
                }
                else
                {
                    t.mul_(1 - tau).add_(o, alpha: tau);
                }
            }
        }
    }

    /// <summary>Mean loss and mean Q since the last call (NaN when no step ran), then resets the sums.</summary>
    public (double Loss, double Q) TakeStatistics()
    {
        if (_statCount == 0)
        {
            return (double.NaN, double.NaN);
        }

        double loss = _lossTotal / _statCount;
        double q = _qSum.item<double>() / _qCount;
        _lossTotal = 0;
        _qSum.zero_();
        _qCount = 0;
        _statCount = 0;
        return (loss, q);
    }

    /// <summary>The statistics accumulated since the last <see cref="TakeStatistics"/> (for checkpoints): loss total, Q sum, Q count, steps.</summary>
    public double[] StatisticsState() => [_lossTotal, _qSum.item<double>(), _qCount, _statCount];

    /// <summary>Restores statistics saved by <see cref="StatisticsState"/>, so that the next log row reads as in an uninterrupted run.</summary>
    /// <exception cref="InvalidDataException">The saved statistics are not four finite numbers with non-negative counts.</exception>
    public void RestoreStatistics(double[] state)
    {
        if (state.Length != 4 || !state.All(double.IsFinite) || state[2] < 0 || state[3] < 0)
        {
            throw new InvalidDataException("The saved DQN statistics must be four finite numbers (loss total, Q sum, Q count, steps) with non-negative counts.");
        }

        _lossTotal = state[0];
        _qSum.fill_(state[1]);
        _qCount = (long)state[2];
        _statCount = (int)state[3];
    }

    /// <summary>The optimizer's state (Adam moments and step counts) as bytes.</summary>
    public byte[] OptimizerState() => _optimizer.GetState();

    /// <summary>Restores the optimizer's state and the update counter.</summary>
    public void RestoreOptimizer(byte[] state, long updates)
    {
        _optimizer.SetState(state);
        Updates = updates;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        Online.Dispose();
        Target.Dispose();
        _qSum.Dispose();
    }

    private static string DescribeNonFinite(TransitionBatch batch, Tensor q, Tensor target)
    {
        (string Name, Tensor Value)[] tensors =
        [
            ("observations", batch.Observations), ("next observations", batch.NextObservations), ("rewards", batch.Rewards),
            ("Q(s, a) of the online network", q), ("TD targets", target),
        ];
        foreach (var (name, value) in tensors)
        {
            if (!value.isfinite().all().item<bool>())
            {
                return $"the sampled {name} contain NaN or infinity";
            }
        }

        return "the loss overflowed";
    }
}

/// <summary>
/// Training stopped because a quantity became NaN or infinite. The message names the environment step, the
/// gradient step and the quantity; the networks were not updated with it, and a checkpoint of that last good state
/// is written before this is raised out of the trainer.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(long step, long update, string quantity, double value, string detail)
        : base(Describe(step, update, quantity, value, detail, checkpoint: null))
    {
        Step = step;
        Update = update;
        Quantity = quantity;
        Value = value;
        Detail = detail;
    }

    private TrainingDivergedException(TrainingDivergedException original, string? checkpoint, string? note)
        : base(Describe(original.Step, original.Update, original.Quantity, original.Value, original.Detail, checkpoint) + (note is null ? string.Empty : " " + note), original)
    {
        Step = original.Step;
        Update = original.Update;
        Quantity = original.Quantity;
        Value = original.Value;
        Detail = original.Detail;
        CheckpointPath = checkpoint;
    }

    /// <summary>The environment step.</summary>
    public long Step { get; }

    /// <summary>The gradient step.</summary>
    public long Update { get; }

    /// <summary>What became non-finite: <c>loss</c>, <c>gradient norm</c>, <c>observation</c> or <c>transition</c>.</summary>
    public string Quantity { get; }

    /// <summary>The offending value (NaN when it is not a single number).</summary>
    public double Value { get; }

    /// <summary>Which tensor or environment value was at fault.</summary>
    public string Detail { get; }

    /// <summary>Where the last good state was saved, when it was.</summary>
    public string? CheckpointPath { get; }

    /// <summary>The same failure, noting where the last good state was saved (and, optionally, why none was).</summary>
    public TrainingDivergedException WithCheckpoint(string? checkpoint, string? note = null) => new(this, checkpoint, note);

    private static string Describe(long step, long update, string quantity, double value, string detail, string? checkpoint) =>
        $"Training stopped at environment step {step} (gradient step {update}): the {quantity} is not finite{(double.IsNaN(value) ? string.Empty : $" ({value})")}; {detail}. "
        + (checkpoint is null ? string.Empty : $"The last good state is saved in {checkpoint}. ")
        + "Lower the learning rate, scale or clip the rewards, or check the environment's observations and rewards.";
}
