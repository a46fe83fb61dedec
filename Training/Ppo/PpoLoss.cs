using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Ppo;

/// <summary>The terms of PPO's loss on one minibatch (scalar tensors; the statistics are detached).</summary>
/// <param name="Loss">The total: policy-gradient loss + ent_coef · entropy loss + vf_coef · value loss.</param>
/// <param name="PolicyGradientLoss">−mean(min(A·r, A·clip(r, 1 − ε, 1 + ε))), r = π(a|s) / π_old(a|s).</param>
/// <param name="ValueLoss">mean((R − V_pred)²), V_pred clipped to V_old ± ε_vf when value clipping is on.</param>
/// <param name="EntropyLoss">−mean(entropy of π(·|s)).</param>
/// <param name="ApproxKl">mean((r − 1) − log r), an estimate of KL(π_old ‖ π) (Schulman's k3; SB3's <c>approx_kl</c>).</param>
/// <param name="ClipFraction">The fraction of entries with |r − 1| &gt; ε.</param>
public sealed record PpoLossTerms(Tensor Loss, Tensor PolicyGradientLoss, Tensor ValueLoss, Tensor EntropyLoss, Tensor ApproxKl, Tensor ClipFraction)
{
    /// <summary>Moves the six tensors out of the current dispose scope.</summary>
    internal PpoLossTerms MoveOut(DisposeScope scope)
    {
        scope.MoveToOuter(Loss, PolicyGradientLoss, ValueLoss, EntropyLoss, ApproxKl, ClipFraction);
        return this;
    }
}

/// <summary>
/// PPO's clipped surrogate objective with a value loss and an entropy bonus (Schulman et al. 2017), term for term as
/// Stable-Baselines3's <c>PPO.train</c>, for a categorical policy (<see cref="Compute"/>) or a diagonal Gaussian one
/// (<see cref="ComputeGaussian"/>). With a mask (recurrent minibatches), every mean is
/// over the positions where the mask is 1, as sb3-contrib's RecurrentPPO.
/// </summary>
public static class PpoLoss
{
    /// <summary>
    /// Computes the loss. Shapes: <paramref name="logits"/> [..., actions]; every other tensor has the leading shape
    /// [...] (e.g. [B] or [B, L]); <paramref name="actions"/> is int64.
    /// </summary>
    /// <param name="logits">The current policy's logits (with gradient).</param>
    /// <param name="actions">The actions taken.</param>
    /// <param name="oldLogProbs">log π_old(a|s) from the rollout.</param>
    /// <param name="advantages">The (normalized) advantages.</param>
    /// <param name="values">The current value predictions (with gradient).</param>
    /// <param name="oldValues">The rollout's value predictions.</param>
    /// <param name="returns">The value targets.</param>
    /// <param name="mask">1 where an entry counts, 0 elsewhere (null: every entry counts).</param>
    /// <param name="clipRange">ε of the ratio clip.</param>
    /// <param name="clipRangeVf">ε_vf of the value clip (null: no value clipping).</param>
    /// <param name="entCoef">The entropy coefficient.</param>
    /// <param name="vfCoef">The value-loss coefficient.</param>
    public static PpoLossTerms Compute(
        Tensor logits, Tensor actions, Tensor oldLogProbs, Tensor advantages, Tensor values, Tensor oldValues, Tensor returns, Tensor? mask,
        double clipRange, double? clipRangeVf, double entCoef, double vfCoef)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(actions);
        using var scope = NewDisposeScope();
        Tensor logProbsAll = nn.functional.log_softmax(logits, -1);
        Tensor logProbs = logProbsAll.gather(-1, actions.unsqueeze(-1)).squeeze(-1);
        Tensor entropy = logProbsAll.exp().mul(logProbsAll).sum(-1).neg();
        return Terms(logProbs, entropy, oldLogProbs, advantages, values, oldValues, returns, mask, clipRange, clipRangeVf, entCoef, vfCoef).MoveOut(scope);
    }

    /// <summary>
    /// Computes the loss for a diagonal Gaussian policy (continuous actions): <paramref name="policy"/> [..., 2d (+ gSDE's
    /// latent)] holds the means, then the log standard deviations (what <c>ActorCriticNetwork</c> gives for the
    /// <c>gaussian</c> and <c>gsde</c> distributions); <paramref name="actions"/> [..., d] float32 are the actions sampled
    /// (before any clipping to the bounds). log π(a|s) and the entropy sum over the d entries, as SB3's
    /// <c>DiagGaussianDistribution</c>. The other parameters are those of the categorical overload.
    /// </summary>
    public static PpoLossTerms ComputeGaussian(
        Tensor policy, Tensor actions, Tensor oldLogProbs, Tensor advantages, Tensor values, Tensor oldValues, Tensor returns, Tensor? mask,
        double clipRange, double? clipRangeVf, double entCoef, double vfCoef)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(actions);
        using var scope = NewDisposeScope();
        var (logProbs, entropy) = GaussianLogProbAndEntropy(policy, actions);
        return Terms(logProbs, entropy, oldLogProbs, advantages, values, oldValues, returns, mask, clipRange, clipRangeVf, entCoef, vfCoef).MoveOut(scope);
    }

    /// <summary>
    /// log N(a; μ, σ) summed over the action's d entries, and the Gaussian's entropy Σ (½ + ½ log 2π + log σ), from
    /// <paramref name="policy"/> [..., 2d (+ …)] (means, then log σ) and <paramref name="actions"/> [..., d].
    /// </summary>
    public static (Tensor LogProbs, Tensor Entropy) GaussianLogProbAndEntropy(Tensor policy, Tensor actions)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(actions);
        long d = actions.shape[^1];
        if (policy.shape[^1] < 2 * d)
        {
            throw new ArgumentException($"PpoLoss: a Gaussian policy output needs at least 2 × {d} entries (means, log std) per step; got {policy.shape[^1]}.", nameof(policy));
        }

        using var scope = NewDisposeScope();
        using Scalar half = 0.5.ToScalar(), logRoot = LogSqrtTwoPi.ToScalar(), entropyConstant = (0.5 + LogSqrtTwoPi).ToScalar();
        Tensor mean = policy.narrow(-1, 0, d);
        Tensor logStd = policy.narrow(-1, d, d);
        Tensor z = actions.sub(mean).mul(logStd.neg().exp());
        Tensor logProbs = z.mul(z).mul(half).add(logStd).add(logRoot).sum(-1).neg();
        Tensor entropy = logStd.add(entropyConstant).sum(-1);
        scope.MoveToOuter(logProbs, entropy);
        return (logProbs, entropy);
    }

    /// <summary>log √(2π).</summary>
    public const double LogSqrtTwoPi = 0.91893853320467274178;

    private static PpoLossTerms Terms(
        Tensor logProbs, Tensor entropy, Tensor oldLogProbs, Tensor advantages, Tensor values, Tensor oldValues, Tensor returns, Tensor? mask,
        double clipRange, double? clipRangeVf, double entCoef, double vfCoef)
    {
        ArgumentNullException.ThrowIfNull(oldLogProbs);
        ArgumentNullException.ThrowIfNull(advantages);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(oldValues);
        ArgumentNullException.ThrowIfNull(returns);
        using var scope = NewDisposeScope();

        // Numbers reach libtorch as Scalars held in locals until the method returns, never through an implicit conversion
        // or a hidden alpha (square, tensor + tensor): TorchSharp 0.107 keeps no reference to the Scalars it creates, and
        // one finalized during the native call crashes the run (RolloutBuffer's normalization and R2D2's targets did).
        using Scalar one = 1.ToScalar(), low = (1 - clipRange).ToScalar(), high = (1 + clipRange).ToScalar(), clip = clipRange.ToScalar();
        using Scalar entropyWeight = entCoef.ToScalar(), valueWeight = vfCoef.ToScalar();
        using Scalar vfLow = (-(clipRangeVf ?? 0)).ToScalar(), vfHigh = (clipRangeVf ?? 0).ToScalar();
        Tensor count = mask is null ? null! : mask.sum();
        Tensor Mean(Tensor x) => mask is null ? x.mean() : x.mul(mask).sum().div(count);

        Tensor logRatio = logProbs.sub(oldLogProbs);
        Tensor ratio = logRatio.exp();
        Tensor surrogate = advantages.mul(ratio);
        Tensor clipped = advantages.mul(ratio.clamp(low, high));
        Tensor policyLoss = Mean(minimum(surrogate, clipped)).neg();

        Tensor prediction = clipRangeVf is not null ? oldValues.add(values.sub(oldValues).clamp(vfLow, vfHigh), one) : values;
        Tensor error = returns.sub(prediction);
        Tensor valueLoss = Mean(error.mul(error));
        Tensor entropyLoss = Mean(entropy).neg();
        Tensor loss = policyLoss.add(entropyLoss.mul(entropyWeight), one).add(valueLoss.mul(valueWeight), one);

        Tensor approxKl, clipFraction;
        using (no_grad())
        {
            Tensor excess = ratio.sub(one);
            approxKl = Mean(excess.sub(logRatio));
            clipFraction = Mean(excess.abs().gt(clip).to(ratio.dtype));
        }

        return new PpoLossTerms(loss, policyLoss.detach(), valueLoss.detach(), entropyLoss.detach(), approxKl, clipFraction).MoveOut(scope);
    }
}
