namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Rescales a continuous action space affinely to <c>[minAction, maxAction]</c> (Gymnasium 1.0's
/// <c>RescaleAction</c>): the policy acts in the new bounds, e.g. [−1, 1] as squashed policies (SAC, TD3) produce, and
/// the wrapper maps each action to the inner environment's bounds, <c>(a − intercept) / gradient</c> in float32 with
/// Gymnasium's gradient and intercept, so the inner actions are Gymnasium's bit for bit.
/// </summary>
/// <remarks>
/// Where a bound is infinite the other box's bound must be the same infinity (Gymnasium's rule). Unlike Gymnasium, an
/// action outside the new bounds is refused, as every RlMemory environment refuses one outside its space; and a mapped
/// action that float rounding puts a last bit past the inner bounds is brought back onto them.
/// </remarks>
public sealed class RescaleAction : ActionWrapper
{
    private readonly Box _space;
    private readonly float[] _gradient, _intercept;

    /// <summary>Rescales every dimension to <c>[minAction, maxAction]</c>.</summary>
    public RescaleAction(IEnv<float[]> inner, float minAction, float maxAction)
        : this(inner, Filled(inner, minAction), Filled(inner, maxAction))
    {
    }

    /// <summary>Rescales dimension <c>i</c> to <c>[minAction[i], maxAction[i]]</c>.</summary>
    /// <exception cref="ArgumentException">
    /// The inner action space is not a <see cref="Box"/>; the bounds have the wrong length, are NaN, have min &gt; max,
    /// or are infinite where the inner bound is not (or the reverse); or a finite dimension has zero width on either side.
    /// </exception>
    public RescaleAction(IEnv<float[]> inner, float[] minAction, float[] maxAction)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(minAction);
        ArgumentNullException.ThrowIfNull(maxAction);
        Box innerSpace = InnerSpace;
        int n = innerSpace.Size;
        if (minAction.Length != n || maxAction.Length != n)
        {
            throw new ArgumentException($"{inner.Name}: RescaleAction's bounds must have as many elements as {innerSpace} ({n}); got {minAction.Length} and {maxAction.Length}.");
        }

        _gradient = new float[n];
        _intercept = new float[n];
        ReadOnlySpan<float> low = innerSpace.Low, high = innerSpace.High;
        for (int i = 0; i < n; i++)
        {
            float min = minAction[i], max = maxAction[i];
            string where = $"{inner.Name}: RescaleAction to [{Box.Format(min)}, {Box.Format(max)}] at element {i} of {innerSpace}";
            if (float.IsNaN(min) || float.IsNaN(max) || min > max)
            {
                throw new ArgumentException($"{where}: the bounds must be numbers with min <= max.");
            }

            if ((float.IsInfinity(min) || float.IsInfinity(low[i])) && min != low[i])
            {
                throw new ArgumentException($"{where}: an infinite lower bound must be infinite on both sides (the inner one is {Box.Format(low[i])}).");
            }

            if ((float.IsInfinity(max) || float.IsInfinity(high[i])) && max != high[i])
            {
                throw new ArgumentException($"{where}: an infinite upper bound must be infinite on both sides (the inner one is {Box.Format(high[i])}).");
            }

            bool minFinite = float.IsFinite(min), maxFinite = float.IsFinite(max);
            if (minFinite && maxFinite && (min == max || low[i] == high[i]))
            {
                throw new ArgumentException($"{where}: both ranges need a nonzero width to map one onto the other.");
            }

            // Gymnasium's rescale_box: gradient (new width / old width) in float32, 1 where a bound is infinite; the intercept
            // from the lower bounds where they are finite, else from the upper ones.
            float gradient = minFinite && maxFinite ? (float)(((double)max - min) / ((double)high[i] - low[i])) : 1f;
            float intercept = minFinite ? (float)((double)(gradient * -low[i]) + min) : maxFinite ? (float)((double)max - high[i]) : 0f;
            _gradient[i] = gradient;
            _intercept[i] = intercept;
        }

        _space = new Box(minAction, maxAction, [.. innerSpace.Shape]);
    }

    /// <inheritdoc />
    public override Space<float[]> ActionSpace => _space;

    /// <summary><c>(a − intercept) / gradient</c> per element, onto the inner bounds; an action outside <see cref="ActionSpace"/> is refused.</summary>
    protected override void Transform(float[] action, Span<float> innerAction)
    {
        string? why = _space.Explain(action);
        if (why is not null)
        {
            throw new ArgumentException($"{Name}: action {Box.FormatArray(action)} is not in the rescaled action space {_space}: {why}.", nameof(action));
        }

        ReadOnlySpan<float> low = InnerSpace.Low, high = InnerSpace.High;
        for (int i = 0; i < action.Length; i++)
        {
            innerAction[i] = Math.Clamp((action[i] - _intercept[i]) / _gradient[i], low[i], high[i]);
        }
    }

    // Sized by the inner Box when there is one; otherwise the base constructor refuses the environment.
    private static float[] Filled(IEnv<float[]> inner, float value) => [.. Enumerable.Repeat(value, (inner?.ActionSpace as Box)?.Size ?? 1)];
}
