namespace RlMemory.Memory;

/// <summary>
/// How TD errors become stored priorities in proportional prioritized replay (Schaul et al. 2016):
/// <c>p_i = (|δ_i| + Epsilon)^Alpha</c>, sampled with probability <c>P(i) = p_i / Σ_k p_k</c>.
/// Values are checked when set; an invalid value throws naming the field, the value and the allowed range.
/// </summary>
public sealed record PriorityOptions
{
    /// <summary>
    /// How strongly priorities shape sampling: 0 samples uniformly, 1 fully in proportion to |δ| + ε.
    /// Finite and ≥ 0; default 0.6 (the paper's proportional variant; 0.4–0.7 are usual).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is NaN, infinite or negative.</exception>
    public double Alpha
    {
        get;
        init => field = double.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentOutOfRangeException(
                nameof(Alpha),
                value,
                $"{nameof(PriorityOptions)}.{nameof(Alpha)} must be finite and ≥ 0 (0 = uniform sampling; 0.4–0.7 are usual); got {PriorityArguments.Format(value)}.");
    } = 0.6;

    /// <summary>
    /// Added to every |δ| so that no stored item ever gets priority 0 (and is never sampled again).
    /// Finite and > 0; default 1e-6 (as in OpenAI Baselines).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is NaN, infinite, zero or negative.</exception>
    public double Epsilon
    {
        get;
        init => field = double.IsFinite(value) && value > 0
            ? value
            : throw new ArgumentOutOfRangeException(
                nameof(Epsilon),
                value,
                $"{nameof(PriorityOptions)}.{nameof(Epsilon)} must be finite and > 0 (e.g. 1e-6); got {PriorityArguments.Format(value)}.");
    } = 1e-6;
}
