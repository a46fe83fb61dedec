using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

/// <summary>
/// NormalizeReward against Gymnasium 1.0.0's (numpy 1.24): the expected rewards and statistics were printed by
/// <c>gymnasium.wrappers.NormalizeReward(gymnasium.make(...))</c> with the same seeds and actions; RlMemory's Pendulum
/// and CartPole are Gymnasium's bit for bit (GoldenTrajectoryTests), so the wrapper alone explains any difference.
/// </summary>
public sealed class NormalizeRewardTests
{
    [Fact]
    public void OnPendulum_TheRewardsAreGymnasiums()
    {
        using var env = new NormalizeReward<float[]>(EnvRegistry.Make<float[]>("Pendulum-v1"), gamma: 0.9);
        env.Reset(seed: 3);
        double[] expected = [-98.94740479772595, -2.21260673784974, -1.4647833107433237, -1.1419785038021628, -0.9765802191848749, -0.8627212650851815];
        float[] actions = [0.5f, -1f, 2f, 0f, 1.5f, -2f];
        for (int i = 0; i < actions.Length; i++)
        {
            Assert.Equal(expected[i], env.Step([actions[i]]).Reward, 1e-12);
        }

        Assert.Equal(-22.19654351257529, env.ReturnMean, 1e-11);
        Assert.Equal(106.71435746097144, env.ReturnVariance, 1e-10);
        Assert.Equal(6.0001, env.Count, 1e-12);
    }

    [Fact]
    public void ATerminalStep_RestartsTheDiscountedReturn_AndResetsDoNot()
    {
        // CartPole-v1, seed 0, always push right: terminates at step 8; the 14 steps span the reset after it.
        using var env = new NormalizeReward<int>(EnvRegistry.Make<int>("CartPole-v1"), gamma: 0.95, epsilon: 1e-6);
        env.Reset(seed: 0);
        double[] expected =
        [
            70.53982524650831, 2.1045707470556367, 1.3219551118451267, 0.9899441512747384, 0.8023353306708145, 0.6810080145305905, 0.5959536013030644,
            0.5575603187894733, 0.5737036733513118, 0.603878465175418, 0.6296950066061997, 0.6386503571483381, 0.6260669782310745, 0.5959621567306622,
        ];
        for (int i = 0; i < expected.Length; i++)
        {
            var (_, reward, terminated, truncated, _) = env.Step(1);
            Assert.Equal(expected[i], reward, 1e-12);
            Assert.Equal(i == 7, terminated);
            if (terminated || truncated)
            {
                env.Reset();
            }
        }

        Assert.Equal(3.623998759383861, env.ReturnMean, 1e-12);
        Assert.Equal(2.8155450422186283, env.ReturnVariance, 1e-12);
        Assert.Equal(14.0001, env.Count, 1e-12);
    }

    [Fact]
    public void Frozen_TheStatisticsStay_AndTheScaleIsTheirs()
    {
        using var env = new NormalizeReward<int>(EnvRegistry.Make<int>("CartPole-v1"));
        env.Reset(seed: 2);
        env.Step(0);
        env.Step(1);
        env.UpdateRunningMean = false;
        (double mean, double variance, double count) = (env.ReturnMean, env.ReturnVariance, env.Count);
        Assert.Equal(1 / Math.Sqrt(variance + 1e-8), env.Step(0).Reward, 1e-15);
        Assert.Equal((mean, variance, count), (env.ReturnMean, env.ReturnVariance, env.Count));
    }

    [Fact]
    public void TheStatistics_AreSavedAndRestored_SoTheRewardsContinueIdentically()
    {
        using var env = new NormalizeReward<float[]>(EnvRegistry.Make<float[]>("Pendulum-v1"));
        env.Reset(seed: 5);
        for (int i = 0; i < 7; i++)
        {
            env.Step([0.3f * i - 1f]);
        }

        using var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            env.SaveState(writer);
        }

        double[] after = [.. Enumerable.Range(0, 5).Select(i => env.Step([0.5f - (0.2f * i)]).Reward)];
        using var restored = new NormalizeReward<float[]>(EnvRegistry.Make<float[]>("Pendulum-v1"));
        restored.Reset(seed: 99);
        saved.Position = 0;
        using (var reader = new BinaryReader(saved))
        {
            restored.LoadState(reader);
        }

        Assert.Equal(after, Enumerable.Range(0, 5).Select(i => restored.Step([0.5f - (0.2f * i)]).Reward));
    }

    [Theory]
    [InlineData(-0.1, 1e-8, "gamma")]
    [InlineData(1.5, 1e-8, "gamma")]
    [InlineData(double.NaN, 1e-8, "gamma")]
    [InlineData(0.99, 0.0, "epsilon")]
    [InlineData(0.99, double.PositiveInfinity, "epsilon")]
    public void BadParameters_AreRefusedByName(double gamma, double epsilon, string parameter)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(parameter, () => new NormalizeReward<float[]>(new PendulumEnv(), gamma, epsilon));
        Assert.Contains($"NormalizeReward's {parameter}", e.Message, StringComparison.Ordinal);
    }
}
