using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Tests.Support;

namespace RlMemory.Environments.Tests.EnvBase;

/// <summary>What <see cref="Env{TAction}"/> refuses, and how it says so.</summary>
public sealed class StepContractTests
{
    // ----- Episode lifecycle -------------------------------------------------------------------------------

    [Fact]
    public void StepBeforeReset_IsRefused_NamingTheEnvAndSayingToCallReset()
    {
        using var env = new CartPoleEnv();
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(0, new float[4]));
        Assert.Equal("CartPoleEnv: Step was called before the first Reset; call Reset to start an episode.", e.Message);
        Assert.False(env.IsRunning);

        using IEnv<int> made = EnvRegistry.Make<int>("CartPole-v1");
        var wrapped = Assert.Throws<InvalidOperationException>(() => made.Step(0));
        Assert.StartsWith("CartPole-v1: ", wrapped.Message, StringComparison.Ordinal);
        Assert.Contains("call Reset", wrapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StepAfterTermination_IsRefusedUntilReset()
    {
        using var env = new CartPoleEnv();
        env.Reset(seed: 0);
        var observation = new float[4];
        int steps = 0;
        StepResult r;
        do
        {
            r = env.Step(1, observation);
            steps++;
        }
        while (!r.Done && steps < 100);

        Assert.True(r.Terminated, "pushing right for 100 steps should topple the pole");
        Assert.False(env.IsRunning);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(1, observation));
        Assert.Equal("CartPoleEnv: Step was called after the episode ended; call Reset to start an episode.", e.Message);

        env.Reset();
        Assert.True(env.IsRunning);
        Assert.False(env.Step(1, observation).Done);
    }

    [Fact]
    public void StepAfterTermination_ThroughMake_IsRefusedNamingTheId()
    {
        using IEnv<int> env = EnvRegistry.Make<int>("CartPole-v1");
        env.Reset(seed: 0);
        bool done = false;
        for (int t = 0; t < 100 && !done; t++)
        {
            done = env.Step(1).Terminated;
        }

        Assert.True(done);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(1));
        Assert.StartsWith("CartPole-v1: Step was called after the episode ended", e.Message, StringComparison.Ordinal);
        Assert.Contains("call Reset", e.Message, StringComparison.Ordinal);
    }

    // ----- Invalid actions ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(2)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void OutOfRangeDiscreteAction_IsRefused_NamingEnvValueAndAllowedRange(int action)
    {
        using IEnv<int> env = EnvRegistry.Make<int>("CartPole-v1");
        env.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>("action", () => env.Step(action));
        Assert.StartsWith($"CartPole-v1: action {action} is not in the action space Discrete(2); allowed: an integer in [0, 1].", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<float[]?, string> BadPendulumActions => new()
    {
        { [float.NaN], "action [NaN]" },
        { [2.5f], "action [2.5]" },
        { [-2.0001f], "action [-2.0001]" },
        { [float.PositiveInfinity], "action [inf]" },
        { [0f, 0f], "action [0, 0]" },
        { [], "action []" },
        { null, "action null" },
    };

    [Theory]
    [MemberData(nameof(BadPendulumActions))]
    public void InvalidContinuousAction_IsRefused_NamingEnvValueAndAllowedRange(float[]? action, string shown)
    {
        using IEnv<float[]> env = EnvRegistry.Make<float[]>("Pendulum-v1");
        env.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>("action", () => env.Step(action!));
        Assert.StartsWith($"Pendulum-v1: {shown} is not in the action space Box(-2, 2, (1,), float32)", e.Message, StringComparison.Ordinal);
        Assert.Contains("allowed: 1 float, each in [-2, 2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusedAction_LeavesTheEpisodeAndTheBufferUntouched()
    {
        using IEnv<float[]> env = EnvRegistry.Make<float[]>("Pendulum-v1");
        using IEnv<float[]> reference = EnvRegistry.Make<float[]>("Pendulum-v1");
        env.Reset(seed: 5);
        reference.Reset(seed: 5);
        var buffer = new float[] { 7f, 7f, 7f };
        Assert.Throws<ArgumentException>(() => env.Step([3f], buffer));
        Assert.Equal([7f, 7f, 7f], buffer);
        Assert.Null(env.Unwrapped<PendulumEnv>().LastTorque);

        for (int t = 0; t < 20; t++)
        {
            float[] action = [(t % 5) - 2f];
            var (expected, expectedReward, _, _, _) = reference.Step(action);
            StepResult r = env.Step(action, buffer);
            Trajectories.AssertIdentical(expected, buffer, $"step {t}");
            Assert.Equal(expectedReward, r.Reward);
        }
    }

    [Fact]
    public void BoundaryTorques_AreAccepted()
    {
        using IEnv<float[]> env = EnvRegistry.Make<float[]>("Pendulum-v1");
        env.Reset(seed: 0);
        env.Step([2f]);
        Assert.Equal(2f, env.Unwrapped<PendulumEnv>().LastTorque);
        env.Step([-2f]);
        Assert.Equal(-2f, env.Unwrapped<PendulumEnv>().LastTorque);
    }

    // ----- Observation buffers -----------------------------------------------------------------------------

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(0)]
    public void ObservationBufferOfTheWrongLength_IsRefusedByResetAndStep(int length)
    {
        using var env = new CartPoleEnv();
        var reset = Assert.Throws<ArgumentException>("observation", () => env.Reset(new float[length]));
        Assert.Contains($"CartPoleEnv: the observation buffer has {length} elements", reset.Message, StringComparison.Ordinal);
        Assert.Contains("needs 4", reset.Message, StringComparison.Ordinal);

        env.Reset(new float[4], seed: 0);
        var step = Assert.Throws<ArgumentException>("observation", () => env.Step(0, new float[length]));
        Assert.Contains($"the observation buffer has {length} elements", step.Message, StringComparison.Ordinal);
        Assert.True(env.IsRunning, "a refused buffer must not end the episode");
    }

    // ----- Observations outside the observation space ------------------------------------------------------

    [Fact]
    public void ObservationOutsideTheSpaceAtStep_IsReported_NamingTheEnvAndTheElement()
    {
        using var env = new ScriptedEnv(new Box(0f, 1f, 3), t => t < 2 ? [0f, 0.5f, 1f] : [0f, 0.5f, 1.5f]);
        env.Reset(new float[3]);
        env.Step(0, new float[3]);
        var e = Assert.Throws<InvalidObservationException>(() => env.Step(0, new float[3]));
        Assert.StartsWith("ScriptedEnv: Step produced an observation outside its observation space Box(0, 1, (3,), float32)", e.Message, StringComparison.Ordinal);
        Assert.Contains("element 2 is 1.5, outside [0, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NaNObservationAtReset_IsReported_AndTheEpisodeDoesNotStart()
    {
        using var env = new ScriptedEnv(new Box(float.NegativeInfinity, float.PositiveInfinity, 2), _ => [float.NaN, 0f]);
        var e = Assert.Throws<InvalidObservationException>(() => env.Reset(new float[2]));
        Assert.StartsWith("ScriptedEnv: Reset produced an observation", e.Message, StringComparison.Ordinal);
        Assert.Contains("element 0 is NaN", e.Message, StringComparison.Ordinal);
        Assert.False(env.IsRunning);
        Assert.Throws<InvalidOperationException>(() => env.Step(0, new float[2]));
    }

    [Fact]
    public void ObservationOutsideTheSpace_OfARegisteredEnv_IsReportedUnderItsId()
    {
        string id = UniqueId.Next("Scripted");
        EnvRegistry.Register<int>(id, _ => new ScriptedEnv(new Box(-1f, 1f, 1), t => [t * 0.6f]));
        try
        {
            using IEnv<int> env = EnvRegistry.Make<int>(id);
            env.Reset(seed: 0);
            env.Step(0);
            var e = Assert.Throws<InvalidObservationException>(() => env.Step(0));
            Assert.StartsWith($"{id}: Step produced", e.Message, StringComparison.Ordinal);
            Assert.Contains("element 0 is 1.2", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }
}
