using RlMemory.Environments.ClassicControl;

namespace RlMemory.Environments.Tests.ClassicControl;

/// <summary>
/// Per-reset options of classic control (Gymnasium's <c>reset(options=…)</c>): <c>low</c>/<c>high</c> for CartPole,
/// MountainCar and Acrobot, <c>x_init</c>/<c>y_init</c> for Pendulum.
/// </summary>
public sealed class ResetOptionsTests
{
    [Fact]
    public void CartPole_LowAndHigh_BoundTheInitialState()
    {
        using IEnv env = EnvRegistry.Make("CartPole-v1");
        env.Reset(seed: 0, options: new EnvOptions { { "low", -0.2 }, { "high", "0.3" } });
        var rng = new NumpyRandom(0);
        double[] expected = [.. Enumerable.Range(0, 4).Select(_ => rng.Uniform(-0.2, 0.3))];
        Assert.Equal(expected, env.Unwrapped<CartPoleEnv>().State);
    }

    [Fact]
    public void MountainCar_LowAndHigh_BoundTheInitialPosition()
    {
        using IEnv env = EnvRegistry.Make("MountainCar-v0");
        env.Reset(seed: 4, options: new EnvOptions { { "low", -1.0 }, { "high", -0.9 } });
        Assert.Equal([new NumpyRandom(4).Uniform(-1.0, -0.9), 0.0], env.Unwrapped<MountainCarEnv>().State);
    }

    [Fact]
    public void Pendulum_XInitAndYInit_BoundTheInitialState()
    {
        using IEnv env = EnvRegistry.Make("Pendulum-v1");
        env.Reset(seed: 6, options: new EnvOptions { { "x_init", 0.5 }, { "y_init", 0.25 } });
        var rng = new NumpyRandom(6);
        Assert.Equal([rng.Uniform(-0.5, 0.5), rng.Uniform(-0.25, 0.25)], env.Unwrapped<PendulumEnv>().State);
    }

    [Theory]
    [InlineData("CartPole-v1", "lo", "CartPole-v1 reset does not accept option 'lo'. Did you mean 'low'? (valid options: high, low).")]
    [InlineData("Pendulum-v1", "x", "Pendulum-v1 reset does not accept option 'x'.")]
    public void UnknownResetOptions_AreRefused(string id, string key, string message)
    {
        using IEnv env = EnvRegistry.Make(id);
        var e = Assert.Throws<ArgumentException>(() => env.Reset(seed: 0, options: new EnvOptions { { key, 0.1 } }));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReversedOrInfiniteBounds_AreRefused()
    {
        using IEnv env = EnvRegistry.Make("Acrobot-v1");
        var reversed = Assert.Throws<ArgumentException>(() => env.Reset(seed: 0, options: new EnvOptions { { "low", 0.5 }, { "high", 0.1 } }));
        Assert.Equal("Acrobot-v1 reset: need finite low <= high, got low = 0.5, high = 0.1.", reversed.Message);
        Assert.Throws<ArgumentException>(() => env.Reset(seed: 0, options: new EnvOptions { { "high", double.PositiveInfinity } }));
        using IEnv pendulum = EnvRegistry.Make("Pendulum-v1");
        Assert.Throws<ArgumentException>(() => pendulum.Reset(seed: 0, options: new EnvOptions { { "x_init", -1.0 } }));
    }
}
