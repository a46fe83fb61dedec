using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class WrapperForwardingTests
{
    [Fact]
    public void AStackOfWrappers_ForwardsSpecNameAndUnwrapped()
    {
        IEnv<int> made = EnvRegistry.Make<int>("CartPole-v1");
        using var env = new FrameStack<int>(new NormalizeObservation<int>(new RecordEpisodeStatistics<int>(made)), 2);
        Assert.Same(EnvRegistry.Spec("CartPole-v1"), env.Spec);
        Assert.Equal("CartPole-v1", env.Name);
        Assert.IsType<CartPoleEnv>(env.Unwrapped);
        Assert.Same(made.Unwrapped, env.Unwrapped);
        Assert.Same(made.Unwrapped, env.Unwrapped<CartPoleEnv>());
        Assert.Equal("FrameStack<NormalizeObservation<RecordEpisodeStatistics<TimeLimit<CartPoleEnv<CartPole-v1>>>>>", env.ToString());
        Assert.Same(made.ActionSpace, env.ActionSpace);
    }

    [Fact]
    public void ActionChangingWrappers_ForwardToo()
    {
        using var env = new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), 3);
        Assert.Equal("Pendulum-v1", env.Name);
        Assert.Same(EnvRegistry.Spec("Pendulum-v1"), env.Spec);
        Assert.IsType<PendulumEnv>(env.Unwrapped);
    }

    [Fact]
    public void AWrappedUnregisteredEnv_IsNamedByItsType()
    {
        using var env = new TimeLimit<int>(new CountingEnv(), 3);
        Assert.Null(env.Spec);
        Assert.Equal("CountingEnv", env.Name);
    }

    [Fact]
    public void UnwrappedOfTheWrongType_SaysWhatItIs()
    {
        using IEnv env = EnvRegistry.Make("CartPole-v1");
        var e = Assert.Throws<InvalidOperationException>(() => env.Unwrapped<PendulumEnv>());
        Assert.Equal("CartPole-v1: the innermost environment is a CartPoleEnv, not a PendulumEnv.", e.Message);
    }

    [Fact]
    public void DisposingAWrapper_DisposesTheWrappedEnvironment()
    {
        var inner = new CountingEnv();
        var env = new RecordEpisodeStatistics<int>(new TimeLimit<int>(inner, 5));
        env.Dispose();
        Assert.True(inner.Disposed);
    }

    [Fact]
    public void AWrapperAroundNull_IsRefused()
    {
        Assert.Throws<ArgumentNullException>("inner", () => new TimeLimit<int>(null!, 3));
    }
}
