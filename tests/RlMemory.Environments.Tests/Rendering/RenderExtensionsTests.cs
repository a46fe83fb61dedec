using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Rendering;
using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Rendering;

public sealed class RenderExtensionsTests
{
    public static TheoryData<string, int, int> BuiltIns => new()
    {
        { "CartPole-v1", 600, 400 },
        { "MountainCar-v0", 600, 400 },
        { "Acrobot-v1", 500, 500 },
        { "Pendulum-v1", 500, 500 },
    };

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void RenderFrame_DrawsTheInnermostEnvironmentThroughWrappers(string id, int width, int height)
    {
        using IEnv env = id == "Pendulum-v1"
            ? new DiscretizeAction(EnvRegistry.Make<float[]>(id), 5)
            : new NormalizeObservation<int>(new RecordEpisodeStatistics<int>(EnvRegistry.Make<int>(id)));
        env.Reset(seed: 3);
        Assert.True(env.CanRender());
        RgbFrame frame = env.RenderFrame();
        Assert.Equal((width, height), (frame.Width, frame.Height));
        Assert.True(frame.SamePixels(SkiaCanvas.Render((IRenderable)env.Unwrapped)));

        RgbFrame half = env.RenderFrame(scale: 0.5);
        Assert.Equal((width / 2, height / 2), (half.Width, half.Height));
    }

    [Fact]
    public void RenderFrame_BeforeTheFirstReset_SaysToCallReset()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        var ex = Assert.Throws<InvalidOperationException>(() => env.RenderFrame());
        Assert.Equal("CartPole-v1: Render was called before the first Reset; call Reset first, there is no state to draw yet.", ex.Message);
    }

    [Fact]
    public void RenderFrame_OfAnEnvironmentThatCannotDraw_SaysItDoesNotImplementIRenderable()
    {
        using var env = new TimeLimit<int>(new CountingEnv(), 10);
        env.Reset(seed: 0);
        Assert.False(env.CanRender());
        var ex = Assert.Throws<InvalidOperationException>(() => env.RenderFrame());
        Assert.StartsWith("CountingEnv cannot render: its innermost environment, a CountingEnv, does not implement IRenderable", ex.Message);
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("MountainCar-v0")]
    [InlineData("Acrobot-v1")]
    public void Rendering_ChangesNeitherTheStateNorTheRandomGenerator(string id)
    {
        using var rendered = EnvRegistry.Make<int>(id);
        using var plain = EnvRegistry.Make<int>(id);
        var rng = new NumpyRandom(5);
        var a = new float[rendered.ObservationSpace.Size];
        var b = new float[plain.ObservationSpace.Size];
        rendered.Reset(a, seed: 11);
        plain.Reset(b, seed: 11);
        for (int t = 0; t < 40; t++)
        {
            rendered.RenderFrame();
            int action = rendered.ActionSpace.Sample(rng);
            StepResult ra = rendered.Step(action, a);
            StepResult rb = plain.Step(action, b);
            Assert.Equal(b, a);
            Assert.Equal(rb.Reward, ra.Reward);
            if (ra.Done)
            {
                break;
            }
        }

        rendered.RenderFrame();
        rendered.Reset(a); // continues each generator's stream: identical only if rendering drew nothing from it
        plain.Reset(b);
        Assert.Equal(b, a);
        Assert.Equal(((IPhysicalState)plain.Unwrapped).State, ((IPhysicalState)rendered.Unwrapped).State);
    }

    [Fact]
    public void ConsecutiveFrames_DifferWhenTheStateChanges_AndMatchWhenItDoesNot()
    {
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        env.Reset(seed: 0);
        RgbFrame first = env.RenderFrame();
        Assert.True(first.SamePixels(env.RenderFrame()));
        env.Step(1, new float[4]);
        Assert.False(first.SamePixels(env.RenderFrame()));
    }
}
