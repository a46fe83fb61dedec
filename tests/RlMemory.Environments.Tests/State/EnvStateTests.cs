using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.State;

/// <summary>Saving and restoring an environment's complete state continues it bit for bit.</summary>
public sealed class EnvStateTests
{
    public static TheoryData<string> ClassicIds =>
    [
        "CartPole-v1", "MountainCar-v0", "Acrobot-v1", "Pendulum-v1", "CartPoleNoVel-v1",
        "TMaze-v0", "RepeatFirst-v0", "RepeatPrevious-v0", "MemoryLength-v0", "CopyTask-v0",
    ];

    [Theory]
    [MemberData(nameof(ClassicIds))]
    public void ARestoredVectorEnv_ContinuesLikeTheOriginal_ThroughAutoresets(string id)
    {
        if (EnvRegistry.Spec(id).ActionType == typeof(int))
        {
            Check<int>(id);
        }
        else
        {
            Check<float[]>(id);
        }
    }

    [Fact]
    public void WrapperState_IsPartOfTheSnapshot()
    {
        static IEnv<int> Make() =>
            new NormalizeObservation<int>(new FrameStack<int>(new RecordEpisodeStatistics<int>(EnvRegistry.Make<int>("CartPole-v1")), 3));

        using IEnv<int> original = Make();
        original.Reset(seed: 4);
        var rng = new NumpyRandom(9);
        for (int t = 0; t < 30; t++)
        {
            var step = original.Step(rng.Integers(0, 2) == 1 ? 1 : 0);
            if (step.Terminated || step.Truncated)
            {
                original.Reset();
            }
        }

        byte[] snapshot = Save(original);
        using IEnv<int> restored = Make();
        Load(restored, snapshot);
        for (int t = 0; t < 200; t++)
        {
            int action = (int)rng.Integers(0, 2);
            var a = original.Step(action);
            var b = restored.Step(action);
            Assert.Equal(a.Observation, b.Observation);
            Assert.Equal((a.Reward, a.Terminated, a.Truncated), (b.Reward, b.Terminated, b.Truncated));
            Assert.Equal(a.Info.Episode?.Length, b.Info.Episode?.Length);
            if (a.Terminated || a.Truncated)
            {
                Assert.Equal(original.Reset().Observation, restored.Reset().Observation);
            }
        }
    }

    [Fact]
    public void AStateIsRefused_ByAnotherKindOfEnvironment()
    {
        using IEnv<int> cartPole = EnvRegistry.Make<int>("CartPole-v1");
        cartPole.Reset(seed: 0);
        byte[] snapshot = Save(cartPole);
        using IEnv<int> mountainCar = EnvRegistry.Make<int>("MountainCar-v0");
        var e = Assert.Throws<InvalidDataException>(() => Load(mountainCar, snapshot));
        Assert.Contains("MountainCar-v0", e.Message, StringComparison.Ordinal);

        using IEnv<int> bare = new RlMemory.Environments.ClassicControl.MountainCarEnv();
        var inner = Assert.Throws<InvalidDataException>(() => Load(bare, snapshot));
        Assert.Contains("belongs to a RlMemory.Environments.Wrappers.TimeLimit`1", inner.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATruncatedState_IsRefusedWithAClearError()
    {
        using IEnv<int> env = EnvRegistry.Make<int>("CartPole-v1");
        env.Reset(seed: 0);
        byte[] snapshot = Save(env);
        using IEnv<int> other = EnvRegistry.Make<int>("CartPole-v1");
        Assert.ThrowsAny<Exception>(() => Load(other, snapshot[..10]));
    }

    [Fact]
    public void CustomEnvironments_WithoutStateSupport_SaySo()
    {
        using var env = new CountingEnv();
        Assert.False(((IEnv)env).CanSaveState);
        var e = Assert.Throws<NotSupportedException>(() => Save(env));
        Assert.Contains("override CanSaveState, WriteStateCore and ReadStateCore", e.Message, StringComparison.Ordinal);
        using var vector = new SyncVectorEnv<int>([new CountingEnv(), new CountingEnv()]);
        Assert.False(vector.CanSaveState);
    }

    private static void Check<TAction>(string id)
    {
        const int numEnvs = 4;
        using VectorEnv<TAction> original = EnvRegistry.MakeVector<TAction>(id, numEnvs);
        original.Reset(seed: 11);
        var rng = new NumpyRandom(3);
        var actions = new TAction[numEnvs];
        void Draw()
        {
            for (int i = 0; i < numEnvs; i++)
            {
                actions[i] = original.SingleActionSpace.Sample(rng);
            }
        }

        for (int t = 0; t < 237; t++)
        {
            Draw();
            original.Step(actions);
        }

        Assert.True(original.CanSaveState);
        var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            original.SaveState(writer);
        }

        using VectorEnv<TAction> restored = EnvRegistry.MakeVector<TAction>(id, numEnvs, VectorMode.Parallel);
        buffer.Position = 0;
        using (var reader = new BinaryReader(buffer))
        {
            restored.LoadState(reader);
        }

        Assert.Equal(original.Observations, restored.Observations);
        int ends = 0;
        for (int t = 0; t < 600; t++)
        {
            Draw();
            original.Step(actions);
            restored.Step(actions);
            Assert.Equal(original.Observations, restored.Observations);
            Assert.Equal(original.Rewards, restored.Rewards);
            Assert.Equal(original.Terminations, restored.Terminations);
            Assert.Equal(original.Truncations, restored.Truncations);
            ends += original.Terminations.Count(x => x) + original.Truncations.Count(x => x);
        }

        Assert.True(ends > 0, $"{id}: no episode ended after the restore, so autoreset was not exercised");
    }

    private static byte[] Save(IEnv env)
    {
        var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            env.SaveState(writer);
        }

        return buffer.ToArray();
    }

    private static void Load(IEnv env, byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        env.LoadState(reader);
    }
}
