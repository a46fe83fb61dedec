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
public sealed class RescaleAction : Wrapper<float[]>
{
    private readonly Box _inner, _space;
    private readonly float[] _gradient, _intercept, _mapped;

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
        _inner = BoxOf(inner);
        int n = _inner.Size;
        if (minAction.Length != n || maxAction.Length != n)
        {
            throw new ArgumentException($"{inner.Name}: RescaleAction's bounds must have as many elements as {_inner} ({n}); got {minAction.Length} and {maxAction.Length}.");
        }

        _gradient = new float[n];
        _intercept = new float[n];
        _mapped = new float[n];
        ReadOnlySpan<float> low = _inner.Low, high = _inner.High;
        for (int i = 0; i < n; i++)
        {
            float min = minAction[i], max = maxAction[i];
            string where = $"{inner.Name}: RescaleAction to [{Box.Format(min)}, {Box.Format(max)}] at element {i} of {_inner}";
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

        _space = new Box(minAction, maxAction, [.. _inner.Shape]);
    }

    /// <inheritdoc />
    public override Space<float[]> ActionSpace => _space;

    /// <summary>The inner environment's action for <paramref name="action"/> (in the new bounds).</summary>
    /// <exception cref="ArgumentException">The action is not in <see cref="ActionSpace"/>.</exception>
    public float[] Map(float[] action)
    {
        var result = new float[_inner.Size];
        MapInto(action, result);
        return result;
    }

    /// <inheritdoc />
    public override StepResult Step(float[] action, Span<float> observation)
    {
        MapInto(action, _mapped);
        return Inner.Step(_mapped, observation);
    }

    private void MapInto(float[] action, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(action);
        string? why = _space.Explain(action);
        if (why is not null)
        {
            throw new ArgumentException($"{Name}: action {Box.FormatArray(action)} is not in the rescaled action space {_space}: {why}.", nameof(action));
        }

        ReadOnlySpan<float> low = _inner.Low, high = _inner.High;
        for (int i = 0; i < action.Length; i++)
        {
            destination[i] = Math.Clamp((action[i] - _intercept[i]) / _gradient[i], low[i], high[i]);
        }
    }

    private static Box BoxOf(IEnv<float[]> inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return inner.ActionSpace as Box
            ?? throw new ArgumentException($"{inner.Name}: RescaleAction needs a Box action space, got {inner.ActionSpace}.", nameof(inner));
    }

    private static float[] Filled(IEnv<float[]> inner, float value) => [.. Enumerable.Repeat(value, BoxOf(inner).Size)];
}
