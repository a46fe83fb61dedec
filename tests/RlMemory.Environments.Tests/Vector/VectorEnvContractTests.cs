using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;

namespace RlMemory.Environments.Tests.Vector;

/// <summary>Construction, seeding, layout and refusals shared by both vector environments.</summary>
public sealed class VectorEnvContractTests
{
    public static TheoryData<VectorMode> Modes => [VectorMode.Sync, VectorMode.Parallel];

    private static VectorEnv<TAction> Build<TAction>(VectorMode mode, IReadOnlyList<IEnv<TAction>> envs) =>
        mode == VectorMode.Sync ? new SyncVectorEnv<TAction>(envs) : new ParallelVectorEnv<TAction>(envs, Math.Min(3, envs.Count));

    [Theory]
    [MemberData(nameof(Modes))]
    public void ResetWithASeed_SeedsEnvironmentIWithSeedPlusI_AndUnseededResetsContinueEachStream(VectorMode mode)
    {
        const int n = 5;
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("Acrobot-v1", n, mode);
        var individual = Enumerable.Range(0, n).Select(_ => EnvRegistry.Make("Acrobot-v1")).ToArray();
        vector.Reset(seed: 40);
        for (int i = 0; i < n; i++)
        {
            var (expected, _) = individual[i].Reset(seed: 40 + i);
            Trajectories.AssertIdentical(expected, vector.Observation(i), $"seeded reset env {i}");
        }

        vector.Reset();
        for (int i = 0; i < n; i++)
        {
            var (expected, _) = individual[i].Reset();
            Trajectories.AssertIdentical(expected, vector.Observation(i), $"unseeded reset env {i}");
            individual[i].Dispose();
        }
    }

    [Fact]
    public void Observations_AreOneContiguousRowMajorBuffer_OverwrittenInPlace()
    {
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("MountainCar-v0", 3);
        Assert.Equal(2, vector.ObservationSize);
        Assert.Equal(6, vector.Observations.Length);
        Assert.True(vector.SingleObservationSpace.SameAs(new Box([-1.2f, -0.07f], [0.6f, 0.07f])));
        Assert.Equal("Discrete(3)", vector.SingleActionSpace.ToString());
        float[] buffer = vector.Observations;
        vector.Reset(seed: 3);
        Assert.Same(buffer, vector.Observations);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(buffer.AsSpan(i * 2, 2).ToArray(), vector.Observation(i).ToArray());
            Assert.InRange(buffer[i * 2], -0.6f, -0.4f); // MountainCar's reset position
            Assert.Equal(0f, buffer[(i * 2) + 1]);       // and velocity
        }

        vector.Step([0, 1, 2]);
        Assert.Same(buffer, vector.Observations);
        Assert.True(buffer[1] < 0 && buffer[5] > buffer[1], "pushing left and right should show in the velocities");
    }

    [Fact]
    public void MismatchedObservationSpaces_AreRefused_NamingTheEnvIndex()
    {
        IEnv<int>[] envs = [EnvRegistry.Make<int>("CartPole-v1"), EnvRegistry.Make<int>("CartPole-v1"), EnvRegistry.Make<int>("MountainCar-v0")];
        var e = Assert.Throws<ArgumentException>("envs", () => new SyncVectorEnv<int>(envs));
        Assert.StartsWith("Environment 2 (MountainCar-v0) has observation space Box([-1.2, -0.07], [0.6, 0.07], (2,), float32), but environment 0 (CartPole-v1) has Box(", e.Message, StringComparison.Ordinal);
        Assert.Contains("must share their spaces", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MismatchedActionSpaces_AreRefused_NamingTheEnvIndex()
    {
        var e = Assert.Throws<ArgumentException>("envs", () => new ParallelVectorEnv<int>([new CountingEnv(actions: 2), new CountingEnv(actions: 3)]));
        Assert.StartsWith("Environment 1 (CountingEnv) has action space Discrete(3), but environment 0 (CountingEnv) has Discrete(2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ActionSpacesThatDifferBeyondWhatToStringShows_AreRefused()
    {
        // Box.ToString shows only the first 8 bounds; the spaces below differ in the 10th.
        float[] high = [.. Enumerable.Repeat(1f, 10)];
        float[] otherHigh = [.. high];
        otherHigh[9] = 2f;
        float[] low = [.. Enumerable.Range(0, 10).Select(i => -1f - i)];
        Assert.Equal(new Box(low, high).ToString(), new Box(low, otherHigh).ToString());

        IEnv<float[]>[] envs = [new RecordingContinuousEnv(new Box(low, high)), new RecordingContinuousEnv(new Box(low, otherHigh))];
        var e = Assert.Throws<ArgumentException>("envs", () => new SyncVectorEnv<float[]>(envs));
        Assert.StartsWith("Environment 1 (RecordingContinuousEnv) has action space Box(", e.Message, StringComparison.Ordinal);

        using var same = new SyncVectorEnv<float[]>([new RecordingContinuousEnv(new Box(low, high)), new RecordingContinuousEnv(new Box(low, high))]);
        Assert.Equal(2, same.NumEnvs);
    }

    [Fact]
    public void DiscreteActionSpacesWithAnotherStart_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>("envs", () => new SyncVectorEnv<int>([new StartEnv(0), new StartEnv(1)]));
        Assert.Contains("has action space Discrete(2, start=1), but environment 0 (StartEnv) has Discrete(2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyOrNullEnvironmentLists_AreRefused()
    {
        Assert.Throws<ArgumentNullException>("envs", () => new SyncVectorEnv<int>(null!));
        var empty = Assert.Throws<ArgumentException>("envs", () => new SyncVectorEnv<int>([]));
        Assert.StartsWith("A vector environment needs at least one environment.", empty.Message, StringComparison.Ordinal);
        var nullEnv = Assert.Throws<ArgumentException>("envs", () => new SyncVectorEnv<int>([new CountingEnv(), null!]));
        Assert.StartsWith("Environment 1 of the vector environment is null.", nullEnv.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void TheWrongNumberOfActions_IsRefused(VectorMode mode)
    {
        using VectorEnv<int> vector = Build<int>(mode, [new CountingEnv(), new CountingEnv(), new CountingEnv(), new CountingEnv()]);
        vector.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>("actions", () => vector.Step([0, 0, 0]));
        Assert.StartsWith("CountingEnv×4: Step needs one action per environment (4), got 3.", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("actions", () => vector.Step([0, 0, 0, 0, 0]));
        Assert.All(vector.Envs, env => Assert.Equal(0, env.Unwrapped<CountingEnv>().StepCount));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void StepBeforeReset_IsRefused(VectorMode mode)
    {
        using VectorEnv<int> vector = Build<int>(mode, [new CountingEnv(), new CountingEnv()]);
        var e = Assert.Throws<InvalidOperationException>(() => vector.Step([0, 0]));
        Assert.Equal("CountingEnv×2: Step was called before Reset; call Reset first.", e.Message);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void AnInvalidAction_IsRefused_NamingTheEnvIndexAndTheAction(VectorMode mode)
    {
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("CartPole-v1", 4, mode);
        vector.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>(() => vector.Step([0, 1, 5, 0]));
        Assert.StartsWith("CartPole-v1×4, environment 2: CartPole-v1: action 5 is not in the action space Discrete(2)", e.Message, StringComparison.Ordinal);
        Assert.IsType<ArgumentException>(e.InnerException);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void AFailingReset_IsReported_NamingTheEnvIndex(VectorMode mode)
    {
        var space = new Box(0f, 1f, 1);
        IEnv<int>[] envs = [new ScriptedEnv(space, _ => [0.5f]), new ScriptedEnv(space, _ => [0.5f]), new ScriptedEnv(space, _ => [float.NaN])];
        using VectorEnv<int> vector = Build(mode, envs);
        var e = Assert.Throws<InvalidObservationException>(() => vector.Reset(seed: 0));
        Assert.StartsWith("ScriptedEnv×3, environment 2: ScriptedEnv: Reset produced an observation outside its observation space", e.Message, StringComparison.Ordinal);

        using VectorEnv<int> cartPoles = EnvRegistry.MakeVector<int>("CartPole-v1", 2, mode);
        var badOption = Assert.Throws<ArgumentException>(() => cartPoles.Reset(options: new EnvOptions { { "lo", 0.1 } }));
        Assert.StartsWith("CartPole-v1×2, environment 0: CartPole-v1 reset does not accept option 'lo'.", badOption.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void Reset_RefusesSeedsWhoseSeedPlusIDoesNotFit(int seed)
    {
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("CartPole-v1", 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>("seed", () => vector.Reset(seed));
        Assert.Contains($"[0, {int.MaxValue - 1}]", e.Message, StringComparison.Ordinal);
        vector.Reset(int.MaxValue - 1); // the largest allowed
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Dispose_DisposesTheEnvironments_AndLaterCallsAreRefused(VectorMode mode)
    {
        var envs = new[] { new CountingEnv(), new CountingEnv(), new CountingEnv() };
        VectorEnv<int> vector = Build<int>(mode, envs);
        vector.Reset(seed: 0);
        vector.Dispose();
        Assert.All(envs, e => Assert.True(e.Disposed));
        Assert.Throws<ObjectDisposedException>(() => vector.Step([0, 0, 0]));
        Assert.Throws<ObjectDisposedException>(() => vector.Reset());
        vector.Dispose(); // twice is harmless
    }

    private sealed class StartEnv(int start) : Env<int>(new Box(0f, 1f, 1), new Discrete(2, start))
    {
        protected override Info ResetCore(Span<float> observation, EnvOptions? options) => Info.Empty;

        protected override StepResult StepCore(int action, Span<float> observation) => default;
    }
}
