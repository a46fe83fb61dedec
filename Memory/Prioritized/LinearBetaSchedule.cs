namespace RlMemory.Memory;

/// <summary>
/// The importance-sampling exponent β annealed linearly from <see cref="InitialBeta"/> at step 0 to
/// <see cref="FinalBeta"/> at step <see cref="AnnealingSteps"/>, and constant after that (Schaul et al. 2016 anneal
/// β₀ = 0.4 to 1 over training). The trainer asks for <see cref="ValueAt"/> its current step and passes the value to
/// <see cref="IPrioritySampler.Sample(int, double)"/>; the schedule holds no state, so it needs no checkpointing.
/// </summary>
public sealed record LinearBetaSchedule
{
    /// <summary>β at step 0, in [0, 1]; default 0.4 (the paper's proportional variant).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1] or NaN.</exception>
    public double InitialBeta
    {
        get;
        init => field = CheckBeta(nameof(InitialBeta), value);
    } = 0.4;

    /// <summary>β from step <see cref="AnnealingSteps"/> on, in [0, 1]; default 1 (fully corrects the sampling bias).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1] or NaN.</exception>
    public double FinalBeta
    {
        get;
        init => field = CheckBeta(nameof(FinalBeta), value);
    } = 1.0;

    /// <summary>The number of steps over which β moves from <see cref="InitialBeta"/> to <see cref="FinalBeta"/>; ≥ 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public required long AnnealingSteps
    {
        get;
        init => field = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(
                nameof(AnnealingSteps),
                value,
                $"{nameof(LinearBetaSchedule)}.{nameof(AnnealingSteps)} must be ≥ 1; got {PriorityArguments.Format(value)}.");
    }

    /// <summary>
    /// β at <paramref name="step"/>: <c>InitialBeta + (FinalBeta − InitialBeta) · min(step, AnnealingSteps) / AnnealingSteps</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public double ValueAt(long step)
    {
        if (step < 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(step),
                step,
                $"{nameof(LinearBetaSchedule)}.{nameof(ValueAt)}: step must be ≥ 0; got {PriorityArguments.Format(step)}.");
        }

        if (step >= AnnealingSteps)
        {
            return FinalBeta;
        }

        return InitialBeta + ((FinalBeta - InitialBeta) * ((double)step / AnnealingSteps));
    }

    private static double CheckBeta(string name, double value) =>
        value is >= 0 and <= 1
            ? value
            : throw new ArgumentOutOfRangeException(
                name,
                value,
                $"{nameof(LinearBetaSchedule)}.{name} must be in [0, 1]; got {PriorityArguments.Format(value)}.");
}
