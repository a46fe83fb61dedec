using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class FrameStackTests
{
    /// <summary>CountingEnv's observation at step <paramref name="t"/> of an episode: [t, episode, draw].</summary>
    private static float[] Frame(int t, int episode, float draw) => [t, episode, draw];

    private static float[] Stack(params float[][] frames) => [.. frames.SelectMany(f => f)];

    [Fact]
    public void ObservationSpace_HasShapeStackSizeByInnerShape()
    {
        using var flat = new FrameStack<int>(new CountingEnv(), 4);
        Assert.Equal([4, 3], flat.ObservationSpace.Shape);
        Assert.Equal(12, flat.ObservationSpace.Size);
        Assert.Equal(4, flat.StackSize);

        using var shaped = new FrameStack<int>(new ScriptedEnv(new Box(0f, 100f, 2, 3), t => [.. Enumerable.Range(0, 6).Select(i => (float)(t + i))]), 5);
        Assert.Equal([5, 2, 3], shaped.ObservationSpace.Shape);
        var (observation, _) = shaped.Reset();
        Assert.Equal(30, observation.Length);
    }

    [Fact]
    public void ResetPadding_RepeatsTheFirstObservation_ThenShiftsOldestFirst()
    {
        var inner = new CountingEnv();
        using var env = new FrameStack<int>(inner, 3);
        var (o0, _) = env.Reset(seed: 1);
        float u = inner.ResetDraw;
        Assert.Equal(Stack(Frame(0, 0, u), Frame(0, 0, u), Frame(0, 0, u)), o0);
        Assert.Equal(Stack(Frame(0, 0, u), Frame(0, 0, u), Frame(1, 0, u)), env.Step(0).Observation);
        Assert.Equal(Stack(Frame(0, 0, u), Frame(1, 0, u), Frame(2, 0, u)), env.Step(0).Observation);
        Assert.Equal(Stack(Frame(1, 0, u), Frame(2, 0, u), Frame(3, 0, u)), env.Step(0).Observation);
        Assert.Equal(Stack(Frame(2, 0, u), Frame(3, 0, u), Frame(4, 0, u)), env.Step(0).Observation);
    }

    [Fact]
    public void ZeroPadding_FillsWithZeros_ThenShiftsOldestFirst()
    {
        var inner = new CountingEnv();
        using var env = new FrameStack<int>(inner, 3, FramePadding.Zero);
        var (o0, _) = env.Reset(seed: 1);
        float u = inner.ResetDraw;
        float[] zero = [0f, 0f, 0f];
        Assert.Equal(Stack(zero, zero, Frame(0, 0, u)), o0);
        Assert.Equal(Stack(zero, Frame(0, 0, u), Frame(1, 0, u)), env.Step(0).Observation);
        Assert.Equal(Stack(Frame(0, 0, u), Frame(1, 0, u), Frame(2, 0, u)), env.Step(0).Observation);
    }

    [Theory]
    [InlineData(FramePadding.Reset)]
    [InlineData(FramePadding.Zero)]
    public void TheRing_StaysInOrderAcrossManyWraps_AndEpisodesDoNotLeak(FramePadding padding)
    {
        const int k = 4;
        var inner = new CountingEnv();
        using var env = new FrameStack<int>(inner, k, padding);
        var observation = new float[k * 3];
        for (int episode = 0; episode < 3; episode++)
        {
            env.Reset(observation, seed: episode == 0 ? 0 : null);
            float u = inner.ResetDraw;
            for (int t = 0; t <= 1000; t++)
            {
                if (t > 0)
                {
                    env.Step(0, observation);
                }

                float[] expected = Stack([.. Enumerable.Range(t - k + 1, k).Select(tau =>
                    tau >= 0 ? Frame(tau, episode, u) : padding == FramePadding.Reset ? Frame(0, episode, u) : [0f, 0f, 0f])]);
                if (!Trajectories.Identical(expected, observation))
                {
                    Trajectories.AssertIdentical(expected, observation, $"{padding} episode {episode} step {t}");
                }
            }
        }
    }

    [Fact]
    public void StackSizeOne_IsTheInnerObservation()
    {
        var inner = new CountingEnv();
        using var env = new FrameStack<int>(inner, 1);
        env.Reset(seed: 0);
        Assert.Equal(Frame(1, 0, inner.ResetDraw), env.Step(0).Observation);
        Assert.Equal([1, 3], env.ObservationSpace.Shape);
    }

    [Fact]
    public void ZeroPadding_WidensTheBoundsOfTheOlderFramesOnly()
    {
        var positive = new Box(1f, 5f, 2);
        using var zero = new FrameStack<int>(new ScriptedEnv(positive, _ => [1f, 2f]), 2, FramePadding.Zero);
        Assert.Equal([0f, 0f, 1f, 1f], zero.ObservationSpace.Low.ToArray());
        Assert.Equal([5f, 5f, 5f, 5f], zero.ObservationSpace.High.ToArray());
        var (observation, _) = zero.Reset();
        Assert.True(zero.ObservationSpace.Contains(observation));

        using var repeat = new FrameStack<int>(new ScriptedEnv(positive, _ => [1f, 2f]), 2);
        Assert.Equal([1f, 1f, 1f, 1f], repeat.ObservationSpace.Low.ToArray());
    }

    [Fact]
    public void Constructor_RefusesAStackSizeBelowOneAndAnUnknownPadding()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("stackSize", () => new FrameStack<int>(new CountingEnv(), 0));
        Assert.StartsWith("CountingEnv: FrameStack needs stackSize >= 1.", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>("padding", () => new FrameStack<int>(new CountingEnv(), 2, (FramePadding)7));
    }

    [Fact]
    public void AWrongObservationBuffer_IsRefused()
    {
        using var env = new FrameStack<int>(new CountingEnv(), 2);
        Assert.Throws<ArgumentException>("observation", () => env.Reset(new float[3]));
        env.Reset(new float[6], seed: 0);
        Assert.Throws<ArgumentException>("observation", () => env.Step(0, new float[3]));
    }
}
