using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Vector;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Registry;

public sealed class BuiltInRegistrationTests
{
    public static TheoryData<string, int, Type, Type> BuiltIns => new()
    {
        { "CartPole-v0", 200, typeof(int), typeof(CartPoleEnv) },
        { "CartPole-v1", 500, typeof(int), typeof(CartPoleEnv) },
        { "MountainCar-v0", 200, typeof(int), typeof(MountainCarEnv) },
        { "Acrobot-v1", 500, typeof(int), typeof(AcrobotEnv) },
        { "Pendulum-v1", 200, typeof(float[]), typeof(PendulumEnv) },
    };

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Make_AppliesGymnasiumsTimeLimit_AndAttachesTheSpec(string id, int maxSteps, Type actionType, Type envType)
    {
        using IEnv env = EnvRegistry.Make(id);
        Assert.IsType(envType, env.Unwrapped);
        Assert.Equal(id, env.Name);
        Assert.Equal(id, env.Unwrapped.Name);
        EnvSpec spec = Assert.IsType<EnvSpec>(env.Spec);
        Assert.Same(spec, env.Unwrapped.Spec);
        Assert.Equal(maxSteps, spec.MaxEpisodeSteps);
        Assert.Equal(actionType, spec.ActionType);
        int limit = env switch
        {
            TimeLimit<int> t => t.MaxEpisodeSteps,
            TimeLimit<float[]> t => t.MaxEpisodeSteps,
            _ => -1,
        };
        Assert.Equal(maxSteps, limit);
    }

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Make_TruncatesOnExactlyTheRegisteredStep(string id, int maxSteps, Type actionType, Type envType)
    {
        _ = actionType;
        _ = envType;
        using IEnv env = EnvRegistry.Make(id);
        var physical = (IPhysicalState)env.Unwrapped;
        env.Reset(seed: 0);
        double[] calm = physical.State; // The initial state: far from any terminal condition.
        var observation = new float[env.ObservationSpace.Size];
        for (int t = 1; t <= maxSteps; t++)
        {
            physical.State = calm; // Keeps the episode alive; does not restart the time limit.
            StepResult r = env switch
            {
                IEnv<int> d => d.Step(1, observation),
                IEnv<float[]> c => c.Step([0f], observation),
                _ => throw new InvalidOperationException(),
            };
            Assert.False(r.Terminated, $"{id} terminated at step {t}");
            Assert.True(r.Truncated == (t == maxSteps), $"{id}: truncated = {r.Truncated} at step {t} of {maxSteps}");
        }
    }

    [Fact]
    public void Ids_ListsEveryBuiltInEnvironment_Sorted()
    {
        IReadOnlyList<string> ids = EnvRegistry.Ids;
        foreach (string id in new[] { "Acrobot-v1", "CartPole-v0", "CartPole-v1", "MountainCar-v0", "Pendulum-v1" })
        {
            Assert.Contains(id, ids);
            Assert.True(EnvRegistry.IsRegistered(id));
        }

        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(ids, EnvRegistry.All.Select(s => s.Id));
    }

    [Fact]
    public void Spec_DescribesTheRegistration()
    {
        EnvSpec spec = EnvRegistry.Spec("CartPole-v1");
        Assert.Equal("CartPole", spec.BaseName);
        Assert.Equal(1, spec.Version);
        Assert.Null(spec.Namespace);
        Assert.Equal(475.0, spec.RewardThreshold);
        Assert.Equal([new KeyValuePair<string, object>("sutton_barto_reward", false)], spec.DefaultOptions);
        Assert.Null(EnvRegistry.Spec("Pendulum-v1").RewardThreshold);
    }

    // ----- Unknown ids -------------------------------------------------------------------------------------

    [Theory]
    [InlineData("CartPol-v1")]
    [InlineData("cartpole-v1")]
    [InlineData("CartPole_v1")]
    public void Make_OfAnUnknownId_SuggestsTheCloseMatches(string id)
    {
        var e = Assert.Throws<ArgumentException>("id", () => EnvRegistry.Make(id));
        Assert.StartsWith($"No environment is registered as '{id}'. Did you mean 'CartPole-v1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Registered: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("Pendulum-v1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Make_OfAnUnrelatedId_SuggestsNothingButListsTheRegistered()
    {
        var e = Assert.Throws<ArgumentException>("id", () => EnvRegistry.Make("Zebra-v3"));
        Assert.DoesNotContain("Did you mean", e.Message, StringComparison.Ordinal);
        Assert.Contains("Acrobot-v1, AcrobotNoVel-v1, CartPole-v0, CartPole-v1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Make_WithoutAVersion_SaysWhichVersionsExist()
    {
        var e = Assert.Throws<ArgumentException>("id", () => EnvRegistry.Make("CartPole"));
        Assert.Equal("'CartPole' needs a version: registered are CartPole-v0, CartPole-v1. (Parameter 'id')", e.Message);
    }

    [Fact]
    public void Make_OfAMissingVersion_ListsTheVersionsThatExist()
    {
        var e = Assert.Throws<ArgumentException>("id", () => EnvRegistry.Make("CartPole-v7"));
        Assert.Equal("'CartPole-v7' is not registered, but other versions of CartPole are: CartPole-v0, CartPole-v1. (Parameter 'id')", e.Message);
    }

    [Fact]
    public void Make_WithTheWrongActionType_SaysWhichTypeToUse()
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make<float[]>("CartPole-v1"));
        Assert.StartsWith("CartPole-v1 takes actions of type int, not float[]: call Make<int>(\"CartPole-v1\").", e.Message, StringComparison.Ordinal);
        var other = Assert.Throws<ArgumentException>(() => EnvRegistry.Make<int>("Pendulum-v1"));
        Assert.StartsWith("Pendulum-v1 takes actions of type float[], not int", other.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EnvRegistry.Make<double>("Pendulum-v1"));
    }

    // ----- Options -----------------------------------------------------------------------------------------

    [Fact]
    public void Make_RefusesAnUnknownOption_NamingItAndTheValidOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("CartPole-v1", new EnvOptions { { "sutton_barto", true } }));
        Assert.Equal(
            "CartPole-v1 does not accept option 'sutton_barto'. Did you mean 'sutton_barto_reward'? (valid options: sutton_barto_reward).",
            e.Message);

        var acrobot = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("Acrobot-v1", new EnvOptions { { "gravity", 9.8 } }));
        Assert.Contains("'gravity'", acrobot.Message, StringComparison.Ordinal);
        Assert.Contains("valid options: book_or_nips, torque_noise_max", acrobot.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Make_RefusesAnOptionOfTheWrongType_NamingOwnerKeyAndValue()
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("CartPole-v1", new EnvOptions { { "sutton_barto_reward", 3 } }));
        Assert.Equal("CartPole-v1: option 'sutton_barto_reward' must be true or false; got 3 (Int32).", e.Message);
        var g = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("Pendulum-v1", new EnvOptions { { "g", "strong" } }));
        Assert.Equal("Pendulum-v1: option 'g' must be a number; got 'strong' (string).", g.Message);
    }

    [Fact]
    public void Make_AppliesOptions_IncludingNumbersWrittenAsStrings()
    {
        using IEnv pendulum = EnvRegistry.Make("Pendulum-v1", new EnvOptions { { "g", "9.81" } });
        Assert.Equal(9.81, pendulum.Unwrapped<PendulumEnv>().G);

        using IEnv car = EnvRegistry.Make("MountainCar-v0", new EnvOptions { { "goal_velocity", 0.01f } });
        Assert.Equal((double)0.01f, car.Unwrapped<MountainCarEnv>().GoalVelocity);

        // Sutton and Barto's reward: 0 per step, -1 on the terminating step.
        using IEnv<int> cartPole = EnvRegistry.Make<int>("CartPole-v1", new EnvOptions { { "sutton_barto_reward", "true" } });
        cartPole.Reset(seed: 0);
        var rewards = new List<double>();
        bool terminated = false;
        while (!terminated)
        {
            var (_, reward, term, _, _) = cartPole.Step(1);
            rewards.Add(reward);
            terminated = term;
        }

        Assert.All(rewards.SkipLast(1), r => Assert.Equal(0.0, r));
        Assert.Equal(-1.0, rewards[^1]);
    }

    [Fact]
    public void Make_WithMaxEpisodeSteps_OverridesTheRegisteredLimit()
    {
        using IEnv<float[]> env = EnvRegistry.Make<float[]>("Pendulum-v1", maxEpisodeSteps: 7);
        Assert.Equal(7, Assert.IsType<TimeLimit<float[]>>(env).MaxEpisodeSteps);
        Assert.Equal(200, env.Spec!.MaxEpisodeSteps); // The spec keeps the registered limit.
        env.Reset(seed: 0);
        for (int t = 1; t <= 7; t++)
        {
            Assert.Equal(t == 7, env.Step([0f]).Truncated);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Make_RefusesANonPositiveMaxEpisodeSteps(int steps)
    {
        Assert.Throws<ArgumentOutOfRangeException>("maxEpisodeSteps", () => EnvRegistry.Make("CartPole-v1", maxEpisodeSteps: steps));
    }

    [Fact]
    public void MakeVector_BuildsTheRequestedKind_AndRefusesZeroEnvironments()
    {
        using (var sync = EnvRegistry.MakeVector<int>("CartPole-v1", 3))
        {
            Assert.IsType<SyncVectorEnv<int>>(sync);
            Assert.Equal(3, sync.NumEnvs);
            Assert.Equal("CartPole-v1×3", sync.Name);
        }

        using (var parallel = EnvRegistry.MakeVector<int>("CartPole-v1", 2, VectorMode.Parallel, maxEpisodeSteps: 5))
        {
            Assert.IsType<ParallelVectorEnv<int>>(parallel);
            Assert.All(parallel.Envs, e => Assert.Equal(5, Assert.IsType<TimeLimit<int>>(e).MaxEpisodeSteps));
        }

        Assert.Throws<ArgumentOutOfRangeException>("numEnvs", () => EnvRegistry.MakeVector<int>("CartPole-v1", 0));
        Assert.Throws<ArgumentException>(() => EnvRegistry.MakeVector<int>("Pendulum-v1", 2));
    }
}
