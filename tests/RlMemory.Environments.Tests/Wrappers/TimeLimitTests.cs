using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class TimeLimitTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(64)]
    public void Truncates_OnStepN_AndNotBefore(int limit)
    {
        using var env = new TimeLimit<int>(new CountingEnv(), limit);
        env.Reset(seed: 0);
        for (int t = 1; t <= limit; t++)
        {
            StepResult r = env.Step(0, new float[3]);
            Assert.Equal(t, env.ElapsedSteps);
            Assert.False(r.Terminated);
            Assert.True(r.Truncated == (t == limit), $"limit {limit}: truncated = {r.Truncated} on step {t}");
        }
    }

    [Fact]
    public void TerminationOnTheLimitStep_IsBothTerminatedAndTruncated()
    {
        using var env = new TimeLimit<int>(new CountingEnv(terminateAt: 5), 5);
        env.Reset(seed: 0);
        for (int t = 1; t < 5; t++)
        {
            Assert.False(env.Step(0, new float[3]).Done);
        }

        StepResult last = env.Step(0, new float[3]);
        Assert.True(last.Terminated);
        Assert.True(last.Truncated);
    }

    [Fact]
    public void TerminationBeforeTheLimit_IsNotTruncated_AndEndsTheEpisode()
    {
        using var env = new TimeLimit<int>(new CountingEnv(terminateAt: 3), 5);
        env.Reset(seed: 0);
        env.Step(0, new float[3]);
        env.Step(0, new float[3]);
        StepResult r = env.Step(0, new float[3]);
        Assert.True(r.Terminated);
        Assert.False(r.Truncated);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(0, new float[3]));
        Assert.StartsWith("CountingEnv: Step was called after the episode ended", e.Message, StringComparison.Ordinal);
        Assert.Contains("call Reset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StepAfterTruncation_IsRefusedUntilReset()
    {
        var inner = new CountingEnv();
        using var env = new TimeLimit<int>(inner, 3);
        env.Reset(seed: 0);
        for (int t = 0; t < 3; t++)
        {
            env.Step(0, new float[3]);
        }

        var e = Assert.Throws<InvalidOperationException>(() => env.Step(0, new float[3]));
        Assert.Equal("CountingEnv: Step was called after the episode was truncated by the time limit (3 steps); call Reset to start an episode.", e.Message);
        Assert.Equal(3, inner.StepCount); // The refused step never reached the environment.

        env.Reset();
        Assert.Equal(0, env.ElapsedSteps);
        Assert.False(env.Step(0, new float[3]).Truncated);
    }

    [Fact]
    public void StepBeforeReset_IsRefused()
    {
        using var env = new TimeLimit<int>(new CountingEnv(), 3);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(0, new float[3]));
        Assert.Contains("before the first Reset", e.Message, StringComparison.Ordinal);
        Assert.Contains("call Reset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResetMidEpisode_RestartsTheCount()
    {
        using var env = new TimeLimit<int>(new CountingEnv(), 4);
        env.Reset(seed: 0);
        env.Step(0, new float[3]);
        env.Step(0, new float[3]);
        env.Step(0, new float[3]);
        env.Reset();
        Assert.Equal(0, env.ElapsedSteps);
        for (int t = 1; t <= 4; t++)
        {
            Assert.Equal(t == 4, env.Step(0, new float[3]).Truncated);
        }
    }

    [Fact]
    public void SettingThePhysicalState_DoesNotRestartTheCount_ButResetDoes()
    {
        // The golden replay sets the state before every step and relies on the limit still counting.
        using IEnv<int> made = EnvRegistry.Make<int>("CartPole-v1", maxEpisodeSteps: 10);
        var env = Assert.IsType<TimeLimit<int>>(made);
        env.Reset(seed: 0);
        for (int t = 0; t < 3; t++)
        {
            env.Step(t % 2);
        }

        env.Unwrapped<CartPoleEnv>().State = [0, 0, 0, 0];
        Assert.Equal(3, env.ElapsedSteps);
        env.Step(0);
        Assert.Equal(4, env.ElapsedSteps);
        env.Reset(seed: 1);
        Assert.Equal(0, env.ElapsedSteps);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_RefusesANonPositiveLimit_NamingTheEnv(int limit)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("maxEpisodeSteps", () => new TimeLimit<int>(new CountingEnv(), limit));
        Assert.StartsWith("CountingEnv: the time limit must be at least 1 step.", e.Message, StringComparison.Ordinal);
    }
}
