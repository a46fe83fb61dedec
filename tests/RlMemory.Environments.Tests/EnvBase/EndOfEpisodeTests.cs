using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.EnvBase;

/// <summary>What ends an episode, and what the refusals that follow say.</summary>
public sealed class EndOfEpisodeTests
{
    [Fact]
    public void AnObservationOutsideTheSpace_EndsTheEpisode_SoTheNextStepNeedsAReset()
    {
        var space = new Box(0f, 1f, 1);
        using var env = new ScriptedEnv(space, t => [t == 2 ? 5f : 0.5f]);
        env.Reset();
        env.Step(0);
        var e = Assert.Throws<InvalidObservationException>(() => env.Step(0));
        Assert.Contains("element 0 is 5, outside [0, 1]", e.Message, StringComparison.Ordinal);
        var again = Assert.Throws<InvalidOperationException>(() => env.Step(0));
        Assert.Contains("call Reset", again.Message, StringComparison.Ordinal);
        env.Reset();
        env.Step(0);
    }

    [Fact]
    public void TimeLimit_SaysWhetherTheEpisodeNeverStarted_WasTruncated_OrEnded()
    {
        using var limited = new TimeLimit<int>(new ScriptedEnv(new Box(0f, 1f, 1), _ => [0f]), 2);
        var before = Assert.Throws<InvalidOperationException>(() => limited.Step(0));
        Assert.Contains("before the first Reset", before.Message, StringComparison.Ordinal);

        limited.Reset();
        limited.Step(0);
        Assert.True(limited.Step(0).Truncated);
        var after = Assert.Throws<InvalidOperationException>(() => limited.Step(0));
        Assert.Contains("truncated by the time limit (2 steps)", after.Message, StringComparison.Ordinal);

        using var cartPole = EnvRegistry.Make<int>("CartPole-v1");
        cartPole.Reset(seed: 0);
        bool done = false;
        while (!done)
        {
            done = cartPole.Step(1).Terminated;
        }

        var ended = Assert.Throws<InvalidOperationException>(() => cartPole.Step(1));
        Assert.Contains("after the episode ended", ended.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("time limit", ended.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangingAReturnedDefaultOptions_ChangesNothingRegistered()
    {
        EnvSpec spec = EnvRegistry.Spec("CartPole-v1");
        EnvOptions copy = spec.DefaultOptions;
        copy["sutton_barto_reward"] = true;
        Assert.Equal(false, EnvRegistry.Spec("CartPole-v1").DefaultOptions["sutton_barto_reward"]);
        using var env = EnvRegistry.Make<int>("CartPole-v1");
        env.Reset(seed: 0);
        Assert.Equal(1.0, env.Step(0).Reward);
    }
}
