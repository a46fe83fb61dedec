using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class MaskObservationTests
{
    [Fact]
    public void KeepsTheChosenEntriesInTheGivenOrder_AtResetAndStep()
    {
        using IEnv<int> inner = EnvRegistry.Make<int>("CartPole-v1");
        using IEnv<int> reference = EnvRegistry.Make<int>("CartPole-v1");
        using var env = new MaskObservation<int>(inner, keep: [2, 0]);
        var (masked, _) = env.Reset(seed: 4);
        var (full, _) = reference.Reset(seed: 4);
        Assert.Equal([full[2], full[0]], masked);
        var actions = new NumpyRandom(1);
        bool done = false;
        for (int t = 0; !done; t++)
        {
            int action = (int)actions.Integers(0, 2);
            var (m, _, terminated, truncated, _) = env.Step(action);
            var (f, _, _, _, _) = reference.Step(action);
            Assert.Equal([f[2], f[0]], m);
            done = terminated || truncated;
        }

        Assert.Equal([2, 0], env.Kept);
    }

    [Fact]
    public void ObservationSpace_KeepsTheBoundsOfTheKeptEntries()
    {
        using var env = new MaskObservation<int>(EnvRegistry.Make<int>("CartPole-v1"), keep: [3, 0]);
        Box space = env.ObservationSpace;
        Assert.Equal([2], space.Shape);
        Assert.Equal([float.NegativeInfinity, -4.8f], space.Low.ToArray());
        Assert.Equal([float.PositiveInfinity, 4.8f], space.High.ToArray());
    }

    [Theory]
    [InlineData(new[] { 4 }, "MaskObservation index 4 is outside the observation (indices 0..3 of")]
    [InlineData(new[] { 0, -1 }, "MaskObservation index -1 is outside the observation")]
    [InlineData(new[] { 1, 2, 1 }, "MaskObservation index 1 is listed twice.")]
    [InlineData(new int[0], "MaskObservation must keep at least one entry.")]
    public void InvalidIndices_AreRefused_NamingTheEnvAndTheIndex(int[] keep, string message)
    {
        var e = Assert.Throws<ArgumentException>("keep", () => new MaskObservation<int>(EnvRegistry.Make<int>("CartPole-v1"), keep));
        Assert.StartsWith("CartPole-v1: " + message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWrongObservationBuffer_IsRefused()
    {
        using var env = new MaskObservation<int>(new CountingEnv(), keep: [0]);
        var e = Assert.Throws<ArgumentException>("observation", () => env.Reset(new float[3]));
        Assert.Contains("the observation buffer has 3 elements", e.Message, StringComparison.Ordinal);
    }
}
