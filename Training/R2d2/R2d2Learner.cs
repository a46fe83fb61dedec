using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Training.Dqn;
using RlMemory.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.R2d2;

/// <summary>
/// The learning half of R2D2: the online and target recurrent Q-networks, Adam, and one gradient step on a batch of
/// sequences. Each sequence is unrolled from its stored recurrent state: over the burn-in without gradients (both
/// networks), then over the learning part and its bootstrap observation. Targets are n-step Double-Q returns, cut at
/// the sequence's end and at terminations, through the invertible value rescaling h; padded steps are masked out;
/// the loss is weighted by the importance weights. Statistics accumulate on the device and are read when logged.
/// </summary>
internal sealed class R2d2Learner : IDisposable
{
    private readonly FlatAdam _optimizer;
    private readonly bool _doubleQ;
    private readonly bool _huber;
    private readonly double _gamma;
    private readonly int _nSteps;
    private readonly double? _rescaling;
    private readonly double _maxGradNorm;
    private readonly Tensor _lossSum;
    private readonly Tensor _qSum;
    private int _statCount;

    public R2d2Learner(RecurrentQNetworkConfig network, Device device, R2d2Config config)
    {
        Online = new RecurrentQNetwork(network, device);
        Target = new RecurrentQNetwork(network, device);
        Target.load_state_dict(Online.state_dict());
        foreach (var p in Target.parameters())
        {
            p.requires_grad = false;
        }

        Target.eval();
        _optimizer = new FlatAdam(Online.parameters(), config.LearningRate);
        _doubleQ = config.DoubleQ;
        _huber = config.Loss == "huber";
        _gamma = config.Gamma;
        _nSteps = config.NSteps;
        _rescaling = config.ValueRescaling ? ValueRescaling.DefaultEpsilon : null;
        _maxGradNorm = config.MaxGradNorm;
        _lossSum = zeros(1, ScalarType.Float64, device).DetachFromDisposeScope();
        _qSum = zeros(1, ScalarType.Float64, device).DetachFromDisposeScope();
    }

    public RecurrentQNetwork Online { get; }

    public RecurrentQNetwork Target { get; }

    public long Updates { get; private set; }

    /// <summary>
    /// One gradient step on <paramref name="batch"/>. Returns the signed TD errors of the learning part, [B, L] (a
    /// device tensor in the caller's scope), for the sequence priorities.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is not finite; nothing was updated.</exception>
    public Tensor Step(SequenceBatch batch, long envStep)
    {
        using var scope = NewDisposeScope();
        LossTerms terms = Loss(batch.Observations, batch.InitialState, batch.Actions, batch.Rewards, batch.Terminated, batch.Mask, batch.Weights, batch.BurnIn, batch.LearningLength);
        double lossValue = terms.Loss.item<float>();
        if (!double.IsFinite(lossValue))
        {
            throw new TrainingDivergedException(envStep, Updates, "loss", lossValue, DescribeNonFinite(batch, terms));
        }

        _optimizer.ZeroGrad();
        terms.Loss.backward();
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
            _lossSum.add_(terms.Loss.detach().to(ScalarType.Float64));
            Tensor valid = terms.LearnMask.sum();
            _qSum.add_(((terms.Q.detach() * terms.LearnMask).sum() / valid.clamp_min(1)).to(ScalarType.Float64));
        }

        _statCount++;
        return terms.TdErrors.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The loss of a batch of sequences and its parts (tensors in the caller's scope). <paramref name="observations"/> is
    /// <c>[B, T + 1, ..obs]</c> with T = <paramref name="burnIn"/> + <paramref name="learningLength"/>; the other
    /// per-step tensors are <c>[B, T]</c>. Gradients reach the learning part only: the burn-in runs under no_grad.
    /// </summary>
    public LossTerms Loss(Tensor observations, RecurrentState initialState, Tensor actions, Tensor rewards, Tensor terminated, Tensor mask, Tensor? weights, int burnIn, int learningLength)
    {
        using var scope = NewDisposeScope();
        long batch = observations.shape[0];
        int observationSize = Online.Config.ObservationSize;
        Tensor obs = observations.reshape(batch, burnIn + learningLength + 1, observationSize);
        Tensor learnObservations = obs.narrow(1, burnIn, learningLength + 1);

        // Burn-in: both networks warm their state up from the stored one, without gradients (R2D2's "stored state +
        // burn-in"); the target network then evaluates the learning part and its bootstrap observation.
        RecurrentState onlineStart = initialState;
        Tensor targetQ;
        using (no_grad())
        {
            RecurrentState targetStart = initialState;
            if (burnIn > 0)
            {
                Tensor burn = obs.narrow(1, 0, burnIn);
                (_, onlineStart) = Online.Unroll(burn, initialState);
                (_, targetStart) = Target.Unroll(burn, initialState);
            }

            (targetQ, _) = Target.Unroll(learnObservations, targetStart);
        }

        // The learning part, with gradients: Q at steps 0..L (step L is the bootstrap observation of the last step).
        (Tensor onlineQ, _) = Online.Unroll(learnObservations, onlineStart);
        Tensor learnActions = actions.narrow(1, burnIn, learningLength);
        Tensor q = onlineQ.narrow(1, 0, learningLength).gather(2, learnActions.unsqueeze(2)).squeeze(2);
        Tensor learnMask = mask.narrow(1, burnIn, learningLength);
        Tensor targets;
        using (no_grad())
        {
            targets = NStepTargets(
                onlineQ.detach(), targetQ, rewards.narrow(1, burnIn, learningLength), terminated.narrow(1, burnIn, learningLength), learnMask,
                _gamma, _nSteps, _doubleQ, _rescaling);
        }

        Tensor elementwise = _huber
            ? functional.huber_loss(q, targets, delta: 1.0, reduction: Reduction.None)
            : functional.mse_loss(q, targets, reduction: Reduction.None);
        // Padded steps are dropped with where, not multiplied by 0, so that whatever they hold cannot poison the sum.
        Tensor perSequence = where(learnMask > 0, elementwise, zeros_like(elementwise)).sum(1) / learnMask.sum(1).clamp_min(1);
        Tensor loss = weights is null ? perSequence.mean() : (weights * perSequence).mean();
        Tensor td = (q - targets).detach();
        return new LossTerms(
            loss.MoveToOuterDisposeScope(), q.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope(), td.MoveToOuterDisposeScope(), learnMask.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// n-step targets for the L learning steps of a batch of sequences:
    /// <c>y_t = h(Σ_{k&lt;m} γ^k r_{t+k} + [not terminated] γ^m h⁻¹(Q_target(s_{t+m}, a*)))</c>, where m ≤ n is the number of
    /// valid steps from t on (cut at the end of the sequence, at padding and at a termination), a* is the online
    /// network's argmax (Double Q) or the target's own, and h is the value rescaling (identity when
    /// <paramref name="rescalingEpsilon"/> is null). Invalid steps get some finite value that the mask drops.
    /// </summary>
    /// <param name="onlineQ">Online Q-values of the learning part and its bootstrap observation, [B, L + 1, A].</param>
    /// <param name="targetQ">Target Q-values at the same steps, [B, L + 1, A].</param>
    /// <param name="rewards">Rewards of the learning steps, [B, L].</param>
    /// <param name="terminated">1 where a learning step terminated its episode, [B, L].</param>
    /// <param name="mask">1 for valid learning steps, [B, L] (valid steps first).</param>
    /// <param name="gamma">The discount.</param>
    /// <param name="nSteps">n.</param>
    /// <param name="doubleQ">Whether the online network chooses the bootstrap action.</param>
    /// <param name="rescalingEpsilon">ε of h, or null for no rescaling.</param>
    internal static Tensor NStepTargets(Tensor onlineQ, Tensor targetQ, Tensor rewards, Tensor terminated, Tensor mask, double gamma, int nSteps, bool doubleQ, double? rescalingEpsilon)
    {
        using var scope = NewDisposeScope();
        long length = rewards.shape[1];
        Tensor bootstrap = doubleQ
            ? targetQ.gather(2, onlineQ.argmax(2, keepdim: true)).squeeze(2)
            : targetQ.amax([2]);
        if (rescalingEpsilon is double eps)
        {
            bootstrap = ValueRescaling.Invert(bootstrap, eps);
        }

        // Shift windows over the learning part, padded with invalid (mask 0) steps beyond it.
        Tensor r = functional.pad(rewards, [0, nSteps]);
        Tensor d = functional.pad(terminated, [0, nSteps]);
        Tensor m = functional.pad(mask, [0, nSteps]);
        Tensor live = ones_like(rewards);
        Tensor sum = zeros_like(rewards);
        Tensor steps = zeros_like(rewards);
        Tensor ended = zeros_like(rewards);
        Tensor discount = ones_like(rewards);
        double gammaK = 1;
        for (int k = 0; k < nSteps; k++)
        {
            Tensor take = live * m.narrow(1, k, length);        // step t + k is part of the window
            Tensor done = d.narrow(1, k, length);
            sum = sum + (gammaK * take * r.narrow(1, k, length));
            steps = steps + take;
            ended = ended + (take * done);
            discount = discount * (1 + (take * (gamma - 1)));   // γ^(steps taken)
            live = take * (1 - done);
            gammaK *= gamma;
        }

        Tensor position = arange(length, ScalarType.Int64, rewards.device).unsqueeze(0) + steps.to(ScalarType.Int64);
        Tensor next = bootstrap.gather(1, position);
        Tensor targets = sum + (discount * (1 - ended) * next);
        if (rescalingEpsilon is double e)
        {
            targets = ValueRescaling.Apply(targets, e);
        }

        return targets.MoveToOuterDisposeScope();
    }

    /// <summary>Copies the online network's weights into the target network.</summary>
    public void UpdateTarget()
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (t, o) in Target.parameters().Zip(Online.parameters()))
            {
                t.copy_(o);
            }
        }
    }

    /// <summary>The statistics accumulated since the last <see cref="TakeStatistics"/> (for checkpoints): loss sum, Q sum, steps.</summary>
    public double[] StatisticsState() => [_lossSum.item<double>(), _qSum.item<double>(), _statCount];

    /// <summary>Restores statistics saved by <see cref="StatisticsState"/>, so that the next log row reads as in an uninterrupted run.</summary>
    /// <exception cref="InvalidDataException">The saved statistics are not three finite numbers with a non-negative count.</exception>
    public void RestoreStatistics(double[] state)
    {
        if (state.Length != 3 || !state.All(double.IsFinite) || state[2] < 0)
        {
            throw new InvalidDataException("The saved R2D2 statistics must be three finite numbers (loss sum, Q sum, steps) with a non-negative count.");
        }

        _lossSum.fill_(state[0]);
        _qSum.fill_(state[1]);
        _statCount = (int)state[2];
    }

    /// <summary>Mean loss and mean Q (over valid learning steps) since the last call (NaN when no step ran), then resets the sums.</summary>
    public (double Loss, double Q) TakeStatistics()
    {
        if (_statCount == 0)
        {
            return (double.NaN, double.NaN);
        }

        // zero_() returns a new wrapper of the same tensor: the scope disposes those wrappers, not the sums.
        using var scope = NewDisposeScope();
        double loss = _lossSum.item<double>() / _statCount;
        double q = _qSum.item<double>() / _statCount;
        _lossSum.zero_();
        _qSum.zero_();
        _statCount = 0;
        return (loss, q);
    }

    /// <summary>The optimizer's state (Adam moments and step count) as bytes.</summary>
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
        _lossSum.Dispose();
        _qSum.Dispose();
    }

    private static string DescribeNonFinite(SequenceBatch batch, LossTerms terms)
    {
        (string Name, Tensor Value)[] tensors =
        [
            ("observations", batch.Observations), ("rewards", batch.Rewards),
            .. batch.InitialState.Spec.Parts.Select((p, i) => ($"stored recurrent states (part '{p.Name}')", batch.InitialState.Tensors[i])),
            ("Q(s, a) of the online network", terms.Q), ("TD targets", terms.Targets),
        ];
        foreach (var (name, value) in tensors)
        {
            if (value.is_floating_point() && !value.isfinite().all().item<bool>())
            {
                return $"the sampled sequences' {name} contain NaN or infinity";
            }
        }

        return "the loss overflowed";
    }

    /// <summary>The loss and what it was computed from: Q(s, a) and targets of the learning steps, their TD errors and mask ([B, L] each).</summary>
    internal sealed record LossTerms(Tensor Loss, Tensor Q, Tensor Targets, Tensor TdErrors, Tensor LearnMask);
}
