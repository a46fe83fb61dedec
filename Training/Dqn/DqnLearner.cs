using RlMemory.Agents;
using RlMemory.Memory;
using RlMemory.Training.Learning;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Dqn;

/// <summary>
/// The learning half of DQN: one gradient step on a batch of transitions (vanilla or Double DQN targets, Huber or MSE
/// loss, importance weights for prioritized replay), over the online and target Q-networks of <see cref="QLearner{TNetwork}"/>.
/// </summary>
internal sealed class DqnLearner(QNetworkConfig network, Device device, double learningRate, bool doubleQ, string loss, double maxGradNorm)
    : QLearner<QNetwork>(() => new QNetwork(network, device), device, learningRate, maxGradNorm, "DQN")
{
    private readonly bool _huber = loss == "huber";

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
        if (precomputed is not null && !doubleQ)
        {
            target = precomputed;
        }
        else
        {
            using (no_grad())
            {
                Tensor nextTarget = precomputed ?? Target.forward(batch.NextObservations);
                Tensor nextQ = doubleQ
                    ? nextTarget.gather(1, Online.forward(batch.NextObservations).argmax(1, keepdim: true)).squeeze(1)
                    : nextTarget.max(1).values;
                target = TdTargets(batch, nextQ);
            }
        }

        Tensor q = Online.forward(batch.Observations).gather(1, batch.Actions.unsqueeze(1)).squeeze(1);
        Tensor lossValue;
        if (batch.Weights is null)
        {
            lossValue = _huber ? functional.huber_loss(q, target, delta: 1.0) : functional.mse_loss(q, target);
        }
        else
        {
            Tensor elementwise = _huber
                ? functional.huber_loss(q, target, delta: 1.0, reduction: Reduction.None)
                : functional.mse_loss(q, target, reduction: Reduction.None);
            lossValue = (batch.Weights * elementwise).mean();
        }

        Apply(lossValue, q.mean(), envStep, () => GradientStepper.FirstNonFinite(string.Empty,
        [
            ("observations", batch.Observations), ("next observations", batch.NextObservations), ("rewards", batch.Rewards),
            ("Q(s, a) of the online network", q), ("TD targets", target),
        ]));
        return wantPriorities ? (q - target).abs().detach().MoveToOuterDisposeScope() : null;
    }

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
            return doubleQ ? nextTarget : TdTargets(batch, nextTarget.max(1).values);
        }
    }

    private static Tensor TdTargets(TransitionBatch batch, Tensor nextQ)
    {
        // r + γ^n (1 − terminated) Q': the 1 is a Scalar held until the method returns (see R2d2Learner.NStepTargets).
        using Scalar one = 1.ToScalar();
        return batch.Rewards.add(batch.Discounts.mul(batch.Terminated.neg().add(one, one)).mul(nextQ), one);
    }
}
