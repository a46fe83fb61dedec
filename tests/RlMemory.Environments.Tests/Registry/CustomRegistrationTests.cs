using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Registry;

/// <summary>
/// Registering environments from outside the library. The registry is static and shared by tests running in
/// parallel, so every test uses its own unique id and unregisters it.
/// </summary>
public sealed class CustomRegistrationTests
{
    private static EnvSpec RegisterCounting(string id, int maxEpisodeSteps = 4, bool replace = false) =>
        EnvRegistry.Register<int>(
            id,
            o => new CountingEnv(terminateAt: o.GetInt("terminate_at"), actions: o.GetInt("actions")),
            new EnvOptions { { "terminate_at", 10 }, { "actions", 3 } },
            maxEpisodeSteps: maxEpisodeSteps,
            rewardThreshold: 12.5,
            description: "Counts steps.",
            replace: replace);

    [Fact]
    public void RegisteredEnvironment_IsMadeWithItsDefaultsTimeLimitAndSpec()
    {
        string id = UniqueId.Next();
        EnvSpec spec = RegisterCounting(id, maxEpisodeSteps: 4);
        try
        {
            Assert.Contains(id, EnvRegistry.Ids);
            Assert.Equal("Counting", spec.BaseName);
            Assert.Equal(0, spec.Version);
            Assert.StartsWith("tests", spec.Namespace, StringComparison.Ordinal);
            Assert.Equal("Counts steps.", spec.Description);
            Assert.Equal(typeof(int), spec.ActionType);

            using IEnv<int> env = EnvRegistry.Make<int>(id);
            Assert.Equal(id, env.Name);
            Assert.Same(spec, env.Spec);
            var counting = env.Unwrapped<CountingEnv>();
            Assert.Equal(10, counting.TerminateAt);
            Assert.Equal("Discrete(3)", env.ActionSpace.ToString());

            env.Reset(seed: 0);
            StepResult r = default;
            for (int t = 1; t <= 4; t++)
            {
                r = env.Step(0, new float[3]);
                Assert.Equal(t, r.Reward);
            }

            Assert.True(r.Truncated);
            Assert.False(r.Terminated);
        }
        finally
        {
            Assert.True(EnvRegistry.Unregister(id));
        }
    }

    [Fact]
    public void RegisteredEnvironment_TakesOptionOverrides_AndRefusesUnknownOnes()
    {
        string id = UniqueId.Next();
        RegisterCounting(id, maxEpisodeSteps: 100);
        try
        {
            using IEnv<int> env = EnvRegistry.Make<int>(id, new EnvOptions { { "terminate_at", "2" }, { "actions", 5 } });
            Assert.Equal(2, env.Unwrapped<CountingEnv>().TerminateAt);
            Assert.Equal("Discrete(5)", env.ActionSpace.ToString());
            env.Reset(seed: 0);
            Assert.False(env.Step(4).Terminated);
            Assert.True(env.Step(4).Terminated);

            var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make<int>(id, new EnvOptions { { "terminate", 3 } }));
            Assert.Equal($"{id} does not accept option 'terminate'. Did you mean 'terminate_at'? (valid options: actions, terminate_at).", e.Message);
            var wrongType = Assert.Throws<ArgumentException>(() => EnvRegistry.Make<int>(id, new EnvOptions { { "terminate_at", 2.5 } }));
            Assert.Equal($"{id}: option 'terminate_at' must be an integer; got 2.5 (Double).", wrongType.Message);
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }

    [Theory]
    [InlineData(VectorMode.Sync)]
    [InlineData(VectorMode.Parallel)]
    public void RegisteredEnvironment_RunsThroughAVectorEnv(VectorMode mode)
    {
        string id = UniqueId.Next();
        RegisterCounting(id, maxEpisodeSteps: 4);
        try
        {
            // terminate_at 3 < time limit 4: every episode terminates on its third step and autoresets on the next.
            using VectorEnv<int> vector = EnvRegistry.MakeVector<int>(id, 3, mode, new EnvOptions { { "terminate_at", 3 } });
            Assert.Equal(mode == VectorMode.Sync ? typeof(SyncVectorEnv<int>) : typeof(ParallelVectorEnv<int>), vector.GetType());
            vector.Reset(seed: 100);

            // Environment i is seeded with 100 + i; each (auto)reset draws the next number of its stream.
            var streams = Enumerable.Range(0, 3).Select(i => new NumpyRandom((ulong)(100 + i))).ToArray();
            float[] draws = [.. streams.Select(r => (float)r.Uniform(0, 1))];
            for (int i = 0; i < 3; i++)
            {
                Trajectories.AssertIdentical([0f, 0f, draws[i]], vector.Observation(i), $"{mode} reset env {i}");
            }

            int[] actions = [0, 1, 2];
            for (int step = 1; step <= 12; step++)
            {
                vector.Step(actions);
                int phase = (step - 1) % 4; // steps 1-3 of an episode, then the autoreset step
                for (int i = 0; i < 3; i++)
                {
                    if (phase == 3)
                    {
                        draws[i] = (float)streams[i].Uniform(0, 1);
                    }

                    float[] expected = [phase == 3 ? 0f : phase + 1, step / 4, draws[i]];
                    Trajectories.AssertIdentical(expected, vector.Observation(i), $"{mode} step {step} env {i}");
                    Assert.Equal(phase == 3 ? 0 : phase + 1, vector.Rewards[i]);
                    Assert.Equal(phase == 2, vector.Terminations[i]);
                    Assert.False(vector.Truncations[i]);
                    int? expectedResets = phase == 3 ? (step / 4) + 1 : null;
                    Assert.Equal(expectedResets, vector.Infos[i].TryGet("resets", out int resets) ? resets : null);
                }
            }

            for (int i = 0; i < 3; i++)
            {
                var counting = vector.Envs[i].Unwrapped<CountingEnv>();
                Assert.Equal(4, counting.Resets);
                Assert.Equal(Enumerable.Repeat(i, 9), counting.Actions); // The autoreset steps ignored their action.
            }
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }

    [Fact]
    public void Register_RefusesADuplicate_UnlessAskedToReplace()
    {
        string id = UniqueId.Next();
        RegisterCounting(id, maxEpisodeSteps: 4);
        try
        {
            var e = Assert.Throws<ArgumentException>("id", () => RegisterCounting(id, maxEpisodeSteps: 9));
            Assert.StartsWith($"An environment is already registered as '{id}'; pass replace: true to replace it.", e.Message, StringComparison.Ordinal);
            Assert.Equal(4, EnvRegistry.Spec(id).MaxEpisodeSteps);

            EnvSpec replaced = RegisterCounting(id, maxEpisodeSteps: 9, replace: true);
            Assert.Same(replaced, EnvRegistry.Spec(id));
            using IEnv env = EnvRegistry.Make(id);
            Assert.Equal(9, Assert.IsType<TimeLimit<int>>(env).MaxEpisodeSteps);
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }

    [Fact]
    public void Unregister_RemovesTheEnvironment()
    {
        string id = UniqueId.Next();
        RegisterCounting(id);
        Assert.True(EnvRegistry.IsRegistered(id));
        Assert.True(EnvRegistry.Unregister(id));
        Assert.False(EnvRegistry.IsRegistered(id));
        Assert.DoesNotContain(id, EnvRegistry.Ids);
        Assert.False(EnvRegistry.Unregister(id));
        var e = Assert.Throws<ArgumentException>("id", () => EnvRegistry.Make(id));
        Assert.StartsWith($"No environment is registered as '{id}'.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_CopiesTheDefaultOptions()
    {
        string id = UniqueId.Next();
        var defaults = new EnvOptions { { "terminate_at", 10 }, { "actions", 3 } };
        EnvRegistry.Register<int>(id, o => new CountingEnv(o.GetInt("terminate_at"), o.GetInt("actions")), defaults);
        try
        {
            defaults["terminate_at"] = 1;
            using IEnv env = EnvRegistry.Make(id);
            Assert.Equal(10, env.Unwrapped<CountingEnv>().TerminateAt);
            Assert.Equal(id, EnvRegistry.Spec(id).DefaultOptions.Owner);
            Assert.IsType<CountingEnv>(env); // No time limit registered: no TimeLimit wrapper.
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }

    [Fact]
    public void Register_WithoutOptions_RefusesAnyOptionAtMake()
    {
        string id = UniqueId.Next();
        EnvRegistry.Register<int>(id, _ => new CountingEnv());
        try
        {
            var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make(id, new EnvOptions { { "x", 1 } }));
            Assert.Equal($"{id} does not accept option 'x'. (it takes no options).", e.Message);
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }

    [Theory]
    [InlineData("Cart Pole-v0")]
    [InlineData("ns/sub/Env-v0")]
    [InlineData("/Env-v0")]
    [InlineData("Env-v0/")]
    [InlineData("Env-v0!")]
    [InlineData("Env(1)-v0")]
    [InlineData("Env-v0\n")]
    [InlineData("ns/Env-v0\n")]
    public void Register_RefusesMalformedIds(string id)
    {
        var e = Assert.Throws<ArgumentException>("id", () => EnvRegistry.Register<int>(id, _ => new CountingEnv()));
        Assert.Contains($"'{id}' is not a valid environment id", e.Message, StringComparison.Ordinal);
        Assert.False(EnvRegistry.IsRegistered(id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Register_RefusesBlankIds(string id)
    {
        Assert.Throws<ArgumentException>("id", () => EnvRegistry.Register<int>(id, _ => new CountingEnv()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(5)]
    public void Make_WhenTheFactoryReturnsNull_SaysSo(int? maxEpisodeSteps)
    {
        string id = UniqueId.Next();
        EnvRegistry.Register<int>(id, _ => null!, maxEpisodeSteps: maxEpisodeSteps);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => EnvRegistry.Make(id));
            Assert.Equal($"{id}: the registered factory returned null instead of an environment.", e.Message);
        }
        finally
        {
            EnvRegistry.Unregister(id);
        }
    }

    [Fact]
    public void Register_RefusesANonPositiveTimeLimitAndANullFactory()
    {
        string id = UniqueId.Next();
        Assert.Throws<ArgumentOutOfRangeException>("maxEpisodeSteps", () => EnvRegistry.Register<int>(id, _ => new CountingEnv(), maxEpisodeSteps: 0));
        Assert.Throws<ArgumentNullException>("factory", () => EnvRegistry.Register<int>(id, null!));
        Assert.False(EnvRegistry.IsRegistered(id));
    }
}
