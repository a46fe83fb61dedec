namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Scales rewards so that a running discounted sum of them has roughly unit variance (Gymnasium 1.0's
/// <c>NormalizeReward</c>, Engstrom et al.'s reward scaling): the reward is divided by √(var + ε) of the running
/// statistics of <c>G ← γ·G·(1 − terminated) + r</c>, updated every step (mean 0 and variance 1 to start, with a count
/// of 10⁻⁴). The mean is not subtracted. Set <see cref="UpdateRunningMean"/> to false to freeze the statistics (for
/// evaluation).
/// </summary>
/// <remarks>
/// As in Gymnasium, the discounted sum is not cleared by a reset or a truncation, and at a terminal step it restarts
/// from that step's reward. The statistics and the sum are part of the saved state.
/// </remarks>
public sealed class NormalizeReward<TAction> : Wrapper<TAction>
{
    private double _mean, _variance = 1, _count = 1e-4, _discounted;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The environment.</param>
    /// <param name="gamma">The discount of the running return, in [0, 1].</param>
    /// <param name="epsilon">Added to the variance before the square root, &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gamma"/> or <paramref name="epsilon"/> is out of range.</exception>
    public NormalizeReward(IEnv<TAction> inner, double gamma = 0.99, double epsilon = 1e-8)
        : base(inner)
    {
        if (!(gamma >= 0 && gamma <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"{inner.Name}: NormalizeReward's gamma must be in [0, 1].");
        }

        if (!(epsilon > 0) || double.IsInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{inner.Name}: NormalizeReward's epsilon must be a finite number > 0.");
        }

        Gamma = gamma;
        Epsilon = epsilon;
    }

    /// <summary>The discount of the running return.</summary>
    public double Gamma { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }

    /// <summary>Whether each step updates the statistics (true); false freezes them.</summary>
    public bool UpdateRunningMean { get; set; } = true;

    /// <summary>The running mean of the discounted return.</summary>
    public double ReturnMean => _mean;

    /// <summary>The running variance of the discounted return.</summary>
    public double ReturnVariance => _variance;

    /// <summary>The number of values the statistics have seen (starting from 10⁻⁴).</summary>
    public double Count => _count;

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation)
    {
        StepResult result = Inner.Step(action, observation);
        _discounted = (_discounted * Gamma * (result.Terminated ? 0 : 1)) + result.Reward;
        if (UpdateRunningMean)
        {
            RunningMoments.Add(ref _mean, ref _variance, _count, _discounted);
            _count += 1;
        }

        return result.WithReward(result.Reward / Math.Sqrt(_variance + Epsilon));
    }

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(_mean);
        writer.Write(_variance);
        writer.Write(_count);
        writer.Write(_discounted);
        writer.Write(UpdateRunningMean);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        double mean = reader.ReadDouble(), variance = reader.ReadDouble(), count = reader.ReadDouble(), discounted = reader.ReadDouble();
        bool update = reader.ReadBoolean();
        if (!double.IsFinite(mean) || !(variance >= 0) || double.IsInfinity(variance) || !(count > 0) || double.IsInfinity(count) || !double.IsFinite(discounted))
        {
            throw new InvalidDataException($"{Name}: the saved NormalizeReward statistics are invalid (mean {mean}, variance {variance}, count {count}, return {discounted}).");
        }

        (_mean, _variance, _count, _discounted, UpdateRunningMean) = (mean, variance, count, discounted, update);
    }
}
