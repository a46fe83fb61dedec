namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Applies a function to every reward (Gymnasium's <c>TransformReward</c>), e.g. scaling or clipping.
/// </summary>
public sealed class TransformReward<TAction> : Wrapper<TAction>
{
    private readonly Func<double, double> _transform;

    /// <summary>Wraps <paramref name="inner"/>, passing each reward through <paramref name="transform"/>.</summary>
    public TransformReward(IEnv<TAction> inner, Func<double, double> transform)
        : base(inner) => _transform = transform ?? throw new ArgumentNullException(nameof(transform));

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation)
    {
        StepResult result = Inner.Step(action, observation);
        double reward = _transform(result.Reward);
        if (double.IsNaN(reward))
        {
            throw new InvalidOperationException($"{Name}: the reward transform returned NaN for reward {result.Reward}.");
        }

        return result.WithReward(reward);
    }
}
