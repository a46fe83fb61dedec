using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class TransformRewardTests
{
    [Fact]
    public void AppliesTheFunctionToEveryReward_AndKeepsTheRest()
    {
        using var env = new TransformReward<int>(new CountingEnv(terminateAt: 4), r => (-r / 2) + 1);
        env.Reset(seed: 0);
        for (int t = 1; t <= 4; t++)
        {
            var (observation, reward, terminated, truncated, _) = env.Step(0);
            Assert.Equal((-t / 2.0) + 1, reward);
            Assert.Equal(t, observation[0]);
            Assert.Equal(t == 4, terminated);
            Assert.False(truncated);
        }
    }

    [Fact]
    public void ANaNFromTheFunction_IsRefused_NamingTheEnvAndTheReward()
    {
        using var env = new TransformReward<int>(new CountingEnv(), r => r == 2 ? double.NaN : r);
        env.Reset(seed: 0);
        env.Step(0);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(0));
        Assert.Equal("CountingEnv: the reward transform returned NaN for reward 2.", e.Message);
    }

    [Fact]
    public void ANullFunction_IsRefused()
    {
        Assert.Throws<ArgumentNullException>("transform", () => new TransformReward<int>(new CountingEnv(), null!));
    }
}
