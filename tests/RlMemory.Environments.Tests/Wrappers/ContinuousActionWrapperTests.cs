using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

/// <summary>
/// ClipAction and RescaleAction against Gymnasium 1.0.0's wrappers (the expected inner actions were printed by
/// Gymnasium's own <c>RescaleAction.action</c> and <c>ClipAction.action</c>, numpy 1.24, on Pendulum-v1 and
/// MountainCarContinuous-v0's [−1, 1]).
/// </summary>
public sealed class ContinuousActionWrapperTests
{
    [Theory]
    // Pendulum's [-2, 2] seen as [0, 1]: gradient 0.25, intercept 0.5.
    [InlineData(0f, 1f, 2f, 0f, -2f)]
    [InlineData(0f, 1f, 2f, 0.25f, -1f)]
    [InlineData(0f, 1f, 2f, 0.5f, 0f)]
    [InlineData(0f, 1f, 2f, 1f, 2f)]
    [InlineData(0f, 1f, 2f, 0.1f, -1.600000023841858f)]
    // [-1, 1] seen as [-0.3, 0.7] (float32 bounds, as Gymnasium given float32 arrays): 0.2 maps to 2^-25, not 0.
    [InlineData(-0.3f, 0.7f, 1f, -0.3f, -1f)]
    [InlineData(-0.3f, 0.7f, 1f, 0.2f, 2.9802322387695312e-08f)]
    [InlineData(-0.3f, 0.7f, 1f, 0.7f, 1f)]
    [InlineData(-0.3f, 0.7f, 1f, 0.1f, -0.19999997317790985f)]
    public void RescaleAction_MapsLikeGymnasium_BitForBit(float min, float max, float innerBound, float action, float expected)
    {
        using var env = new RescaleAction(new PendulumLike(innerBound), min, max);
        Assert.Equal(expected, env.InnerAction([action])[0]);
        Assert.Equal($"Box({Box.Format(min)}, {Box.Format(max)}, (1,), float32)", env.ActionSpace.ToString());
    }

    [Fact]
    public void RescaleAction_StepsThePendulumWithTheMappedTorque()
    {
        using var plain = new PendulumEnv();
        using var rescaled = new RescaleAction(new PendulumEnv(), -1f, 1f);
        plain.Reset(seed: 4);
        rescaled.Reset(seed: 4);
        foreach (float a in new[] { -1f, -0.5f, 0f, 0.75f, 1f })
        {
            var p = plain.Step([2 * a]);
            var r = rescaled.Step([a]);
            Assert.Equal(p.Observation, r.Observation);
            Assert.Equal(p.Reward, r.Reward);
        }

        Assert.Equal(2f, rescaled.Unwrapped<PendulumEnv>().LastTorque);
    }

    [Fact]
    public void RescaleAction_RefusesActionsOutsideItsBounds_AndBadBounds()
    {
        using var env = new RescaleAction(new PendulumEnv(), -1f, 1f);
        env.Reset(seed: 0);
        var outside = Assert.Throws<ArgumentException>(() => env.Step([1.5f]));
        Assert.StartsWith("PendulumEnv: action [1.5] is not in the rescaled action space Box(-1, 1, (1,), float32): element 0 is 1.5, outside [-1, 1].", outside.Message, StringComparison.Ordinal);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => env.Step([float.NaN])).Message, StringComparison.Ordinal);

        Assert.Contains("min <= max", Assert.Throws<ArgumentException>(() => new RescaleAction(new PendulumEnv(), 1f, -1f)).Message, StringComparison.Ordinal);
        Assert.Contains("nonzero width", Assert.Throws<ArgumentException>(() => new RescaleAction(new PendulumEnv(), 0.5f, 0.5f)).Message, StringComparison.Ordinal);
        Assert.Contains("infinite on both sides", Assert.Throws<ArgumentException>(() => new RescaleAction(new PendulumEnv(), float.NegativeInfinity, 1f)).Message, StringComparison.Ordinal);
        Assert.Contains("as many elements as Box(-2, 2, (1,), float32) (1); got 2 and 2", Assert.Throws<ArgumentException>(() => new RescaleAction(new PendulumEnv(), [0f, 0f], [1f, 1f])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClipAction_HasInfiniteBounds_AndClipsIntoTheInnerOnes()
    {
        using var env = new ClipAction(new PendulumEnv());
        Assert.Equal("Box(-inf, inf, (1,), float32)", env.ActionSpace.ToString());
        Assert.Equal([2f], env.InnerAction([5f]));
        Assert.Equal([-2f], env.InnerAction([float.NegativeInfinity]));
        Assert.Equal([0.25f], env.InnerAction([0.25f]));

        using var plain = new PendulumEnv();
        plain.Reset(seed: 1);
        env.Reset(seed: 1);
        var p = plain.Step([2f]);
        var c = env.Step([7.5f]);
        Assert.Equal(p.Observation, c.Observation);
        Assert.Equal(p.Reward, c.Reward);

        Assert.Equal("PendulumEnv: action [NaN] has NaN at element 0; ClipAction clips values, it cannot clip NaN. (Parameter 'action')",
            Assert.Throws<ArgumentException>(() => env.Step([float.NaN])).Message);
        Assert.Contains("has 2 elements", Assert.Throws<ArgumentException>(() => env.Step([0f, 0f])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BothWrappers_RefuseDiscreteActionSpacesThroughTheirType_AndNonBoxSpaces()
    {
        // A float[] environment whose action space is not a Box cannot be built here; the type system keeps Discrete
        // environments out (IEnv<int>). The message for a custom non-Box float[] space:
        Assert.Contains("needs a Box action space", Assert.Throws<ArgumentException>(() => new ClipAction(new NonBoxEnv())).Message, StringComparison.Ordinal);
        Assert.Contains("needs a Box action space", Assert.Throws<ArgumentException>(() => new RescaleAction(new NonBoxEnv(), -1f, 1f)).Message, StringComparison.Ordinal);
    }

    /// <summary>A one-dimensional continuous environment with actions in [−bound, bound].</summary>
    private sealed class PendulumLike(float bound) : Env<float[]>(new Box(-1f, 1f, 1), new Box(-bound, bound, 1))
    {
        protected override Info ResetCore(Span<float> observation, EnvOptions? options) => Info.Empty;

        protected override StepResult StepCore(float[] action, Span<float> observation) => new(action[0], false, false);
    }

    /// <summary>An environment whose float[] actions come from a space that is not a Box.</summary>
    private sealed class NonBoxEnv() : Env<float[]>(new Box(-1f, 1f, 1), new AnyVector())
    {
        protected override Info ResetCore(Span<float> observation, EnvOptions? options) => Info.Empty;

        protected override StepResult StepCore(float[] action, Span<float> observation) => new(0, false, false);
    }

    private sealed class AnyVector : Space<float[]>
    {
        public override IReadOnlyList<int> Shape => [1];

        public override bool Contains(float[] value) => value is { Length: 1 };

        public override float[] Sample(NumpyRandom rng) => [0f];

        public override string DescribeAllowed() => "any 1 float";

        public override string ToString() => "AnyVector(1)";
    }
}
