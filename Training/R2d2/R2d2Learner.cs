using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Training.Learning;
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
internal sealed class R2d2Learner : QLearner<RecurrentQNetwork>
{
    private readonly bool _doubleQ;
    private readonly bool _huber;
    private readonly double _gamma;
    private readonly int _nSteps;
    private readonly double? _rescaling;

    public R2d2Learner(RecurrentQNetworkConfig network, Device device, R2d2Config config)
        : base(() => new RecurrentQNetwork(network, device), device, config.LearningRate, config.MaxGradNorm, "R2D2")
    {
        _doubleQ = config.DoubleQ;
        _huber = config.Loss == "huber";
        _gamma = config.Gamma;
        _nSteps = config.NSteps;
        _rescaling = config.ValueRescaling ? ValueRescaling.DefaultEpsilon : null;
    }

    /// <summary>
    /// One gradient step on <paramref name="batch"/>. Returns the signed TD errors of the learning part, [B, L] (a
    /// device tensor in the caller's scope), for the sequence priorities.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is not finite; nothing was updated.</exception>
    public Tensor Step(SequenceBatch batch, long envStep)
    {
        using var scope = NewDisposeScope();
        LossTerms terms = Loss(batch.Observations, batch.InitialState, batch.Actions, batch.Rewards, batch.Terminated, batch.Mask, batch.Weights, batch.BurnIn, batch.LearningLength);
        Tensor meanQ;
        using (no_grad())
        {
            meanQ = (terms.Q.detach() * terms.LearnMask).sum() / terms.LearnMask.sum().clamp_min(HeldScalars.One);
        }

        Apply(terms.Loss, meanQ, envStep, () => GradientStepper.FirstNonFinite("sequences' ",
        [
            ("observations", batch.Observations), ("rewards", batch.Rewards),
            .. batch.InitialState.Spec.Parts.Select((p, i) => ($"stored recurrent states (part '{p.Name}')", batch.InitialState.Tensors[i])),
            ("Q(s, a) of the online network", terms.Q), ("TD targets", terms.Targets),
        ]));
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
        // burn-in"). The target network runs its burn-in, the learning part and its bootstrap observation as one
        // unroll (the same recurrence as two, in one call), and keeps the Q-values from the learning part on.
        RecurrentState onlineStart = initialState;
        Tensor targetQ;
        using (no_grad())
        {
            if (burnIn > 0)
            {
                (_, onlineStart) = Online.Unroll(obs.narrow(1, 0, burnIn), initialState);
            }

            (Tensor targetAll, _) = Target.Unroll(obs, initialState);
            targetQ = targetAll.narrow(1, burnIn, learningLength + 1);
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
        Tensor perSequence = where(learnMask.gt(HeldScalars.Zero), elementwise, zeros_like(elementwise)).sum(1) / learnMask.sum(1).clamp_min(HeldScalars.One);
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

        // Every number reaches libtorch as a Scalar held in a local until the method ends (no implicit conversions, no
        // tensor + tensor with its hidden alpha): TorchSharp 0.107 keeps no reference to a Scalar it creates, and one
        // finalized during the native call crashed a run here ("Expected false to be true" in Scalar::toFloat).
        using Scalar one = 1.ToScalar(), gammaMinusOne = (gamma - 1).ToScalar();
        double gammaK = 1;
        for (int k = 0; k < nSteps; k++)
        {
            using Scalar weight = gammaK.ToScalar();
            Tensor take = live.mul(m.narrow(1, k, length));        // step t + k is part of the window
            Tensor done = d.narrow(1, k, length);
            sum = sum.add(take.mul(weight).mul(r.narrow(1, k, length)), one);
            steps = steps.add(take, one);
            ended = ended.add(take.mul(done), one);
            discount = discount.mul(take.mul(gammaMinusOne).add(one, one));   // γ^(steps taken)
            live = take.mul(done.neg().add(one, one));
            gammaK *= gamma;
        }

        Tensor position = arange(length, ScalarType.Int64, rewards.device).unsqueeze(0).add(steps.to(ScalarType.Int64), one);
        Tensor next = bootstrap.gather(1, position);
        Tensor targets = sum.add(discount.mul(ended.neg().add(one, one)).mul(next), one);
        if (rescalingEpsilon is double e)
        {
            targets = ValueRescaling.Apply(targets, e);
        }

        return targets.MoveToOuterDisposeScope();
    }

    /// <summary>The loss and what it was computed from: Q(s, a) and targets of the learning steps, their TD errors and mask ([B, L] each).</summary>
    internal sealed record LossTerms(Tensor Loss, Tensor Q, Tensor Targets, Tensor TdErrors, Tensor LearnMask);
}
