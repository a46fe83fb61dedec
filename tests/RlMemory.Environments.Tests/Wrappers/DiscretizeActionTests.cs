using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class DiscretizeActionTests
{
    [Fact]
    public void PendulumWithFiveBins_AppliesTorquesMinusTwoToTwo()
    {
        using var env = new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), bins: 5);
        Assert.Equal("Discrete(5)", env.ActionSpace.ToString());
        float[] torques = [-2f, -1f, 0f, 1f, 2f];
        env.Reset(seed: 0);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal([torques[i]], env.ContinuousAction(i));
            env.Step(i);
            Assert.Equal(torques[i], env.Unwrapped<PendulumEnv>().LastTorque);
        }
    }

    [Fact]
    public void DiscreteSteps_AreTheContinuousSteps()
    {
        using var env = new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), bins: 5);
        using IEnv<float[]> reference = EnvRegistry.Make<float[]>("Pendulum-v1");
        var (o, _) = env.Reset(seed: 8);
        var (r, _) = reference.Reset(seed: 8);
        Trajectories.AssertIdentical(r, o, "reset");
        var rng = new NumpyRandom(2);
        for (int t = 0; t < 200; t++)
        {
            int a = (int)rng.Integers(0, 5);
            var (obs, reward, _, truncated, _) = env.Step(a);
            var (refObs, refReward, _, refTruncated, _) = reference.Step([a - 2f]);
            Trajectories.AssertIdentical(refObs, obs, $"step {t}");
            Assert.Equal(refReward, reward);
            Assert.Equal(refTruncated, truncated);
        }
    }

    [Fact]
    public void TwoDimensionalGrid_VariesTheFirstDimensionSlowest()
    {
        var inner = new RecordingContinuousEnv(new Box([-1f, 0f], [1f, 10f]));
        using var env = new DiscretizeAction(inner, bins: 3);
        Assert.Equal("Discrete(9)", env.ActionSpace.ToString());
        float[][] expected =
        [
            [-1f, 0f], [-1f, 5f], [-1f, 10f],
            [0f, 0f], [0f, 5f], [0f, 10f],
            [1f, 0f], [1f, 5f], [1f, 10f],
        ];
        env.Reset(seed: 0);
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(expected[i], env.ContinuousAction(i));
            env.Step(i);
            Assert.Equal(expected[i], inner.Actions[^1]);
        }
    }

    [Fact]
    public void GridEndpoints_AreExactlyTheBounds()
    {
        var inner = new RecordingContinuousEnv(new Box([-0.3f], [0.7f]));
        using var env = new DiscretizeAction(inner, bins: 7);
        Assert.Equal(-0.3f, env.ContinuousAction(0)[0]);
        Assert.Equal(0.7f, env.ContinuousAction(6)[0]);
        for (int i = 1; i < 7; i++)
        {
            Assert.True(env.ContinuousAction(i)[0] > env.ContinuousAction(i - 1)[0]);
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(-1)]
    public void AnInvalidIndex_IsRefused_NamingTheEnvAndTheAllowedRange(int action)
    {
        using var env = new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), bins: 5);
        env.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>("action", () => env.Step(action));
        Assert.StartsWith($"Pendulum-v1: action {action} is not in the action space Discrete(5); allowed: an integer in [0, 4].", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(-1)]
    public void ContinuousActionOfAnInvalidIndex_IsRefused_NamingTheAllowedRange(int index)
    {
        using var env = new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), bins: 5);
        var e = Assert.Throws<ArgumentOutOfRangeException>("index", () => env.ContinuousAction(index));
        Assert.StartsWith($"Pendulum-v1: DiscretizeAction has no action {index}; allowed: an integer in [0, 4].", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnboundedActionSpace_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>("inner", () => new DiscretizeAction(
            new RecordingContinuousEnv(new Box([-1f, 0f], [1f, float.PositiveInfinity])), bins: 3));
        Assert.StartsWith("RecordingContinuousEnv: DiscretizeAction with bins needs a bounded action space", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FewerThanTwoBinsOrTooManyActions_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>("bins", () => new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), bins: 1));
        var e = Assert.Throws<ArgumentException>("bins", () => new DiscretizeAction(new RecordingContinuousEnv(new Box(-1f, 1f, 8)), bins: 10));
        Assert.Contains("10 bins in each of 8 dimensions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExplicitActionList_IsUsedInOrder_AndEachActionIsChecked()
    {
        var inner = new RecordingContinuousEnv(new Box(-1f, 1f, 2));
        float[] first = [0.5f, -0.5f];
        using var env = new DiscretizeAction(inner, [first, [1f, 1f]]);
        first[0] = 9f; // The wrapper copied the list.
        env.Reset(seed: 0);
        env.Step(0);
        env.Step(1);
        Assert.Equal([[0.5f, -0.5f], [1f, 1f]], inner.Actions);

        var e = Assert.Throws<ArgumentException>("actions", () => new DiscretizeAction(inner, [[0f, 0f], [0f, 2f]]));
        Assert.Contains("DiscretizeAction action 1 ([0, 2]) is not in the action space", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("actions", () => new DiscretizeAction(inner, Array.Empty<float[]>()));
    }
}
