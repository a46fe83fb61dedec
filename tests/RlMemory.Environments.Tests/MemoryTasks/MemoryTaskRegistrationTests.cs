using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.MemoryTasks;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.MemoryTasks;

public sealed class MemoryTaskRegistrationTests
{
    public static TheoryData<string, Type, int, int> MemoryTasks => new()
    {
        // id, environment type, observation size, actions
        { "TMaze-v0", typeof(TMazeEnv), 3, 4 },
        { "RepeatFirst-v0", typeof(RepeatFirstEnv), 4, 4 },
        { "RepeatPrevious-v0", typeof(RepeatPreviousEnv), 4, 4 },
        { "MemoryLength-v0", typeof(MemoryLengthEnv), 3, 2 },
        { "CopyTask-v0", typeof(CopyTaskEnv), 4, 2 },
    };

    [Theory]
    [MemberData(nameof(MemoryTasks))]
    public void Make_BuildsTheTask_WithoutAFixedTimeLimit_SinceEpisodesEndByThemselves(string id, Type type, int size, int actions)
    {
        using IEnv<int> env = EnvRegistry.Make<int>(id);
        Assert.IsType(type, env);
        Assert.Equal(id, env.Name);
        Assert.Equal([size], env.ObservationSpace.Shape);
        Assert.Equal(actions, Assert.IsType<Discrete>(env.ActionSpace).N);
        EnvSpec spec = EnvRegistry.Spec(id);
        Assert.Null(spec.MaxEpisodeSteps);
        Assert.Equal(typeof(int), spec.ActionType);
        Assert.False(string.IsNullOrWhiteSpace(spec.Description));
        Assert.Contains(id, EnvRegistry.Ids);
    }

    [Fact]
    public void DefaultOptions_AreListed()
    {
        Assert.Equal(
            [new("corridor_length", 10), new("time_limit_factor", 2.0), new("west_penalty", 0.0)],
            EnvRegistry.Spec("TMaze-v0").DefaultOptions.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList<KeyValuePair<string, object>>());
        Assert.Equal(
            [new("difficulty", "easy"), new("first_step_flag", false)],
            EnvRegistry.Spec("RepeatFirst-v0").DefaultOptions.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList<KeyValuePair<string, object>>());
        Assert.Equal(
            [new("difficulty", "easy"), new("first_step_flag", false)],
            EnvRegistry.Spec("RepeatPrevious-v0").DefaultOptions.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList<KeyValuePair<string, object>>());
        Assert.Equal(
            [new("memory_length", 10), new("noise", true)],
            EnvRegistry.Spec("MemoryLength-v0").DefaultOptions.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList<KeyValuePair<string, object>>());
        Assert.Equal([new("sequence_length", 10)], EnvRegistry.Spec("CopyTask-v0").DefaultOptions.ToList<KeyValuePair<string, object>>());
    }

    [Fact]
    public void Options_AreApplied_IncludingNumbersWrittenAsStrings()
    {
        using IEnv maze = EnvRegistry.Make("TMaze-v0", new EnvOptions { { "corridor_length", "1000" }, { "time_limit_factor", 3 } });
        Assert.Equal(1000, maze.Unwrapped<TMazeEnv>().CorridorLength);
        Assert.Equal(3003, maze.Unwrapped<TMazeEnv>().MaxSteps);

        using IEnv first = EnvRegistry.Make("RepeatFirst-v0", new EnvOptions { { "difficulty", "Hard" } });
        Assert.Equal(CardTaskDifficulty.Hard, first.Unwrapped<RepeatFirstEnv>().Difficulty);
        Assert.Equal(831, first.Unwrapped<RepeatFirstEnv>().EpisodeLength);

        using IEnv previous = EnvRegistry.Make("RepeatPrevious-v0", new EnvOptions { { "difficulty", "medium" } });
        Assert.Equal(32, previous.Unwrapped<RepeatPreviousEnv>().K);

        using IEnv memory = EnvRegistry.Make("MemoryLength-v0", new EnvOptions { { "memory_length", 100L }, { "noise", "false" } });
        Assert.Equal(100, memory.Unwrapped<MemoryLengthEnv>().MemoryLength);
        Assert.False(memory.Unwrapped<MemoryLengthEnv>().Noise);

        using IEnv copy = EnvRegistry.Make("CopyTask-v0", new EnvOptions { { "sequence_length", 25.0 } });
        Assert.Equal(51, copy.Unwrapped<CopyTaskEnv>().EpisodeLength);
    }

    // ----- Bad input ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData("TMaze-v0", "corridor_length", -1, "TMaze-v0: option 'corridor_length' must be an integer in [1, 1000000]; got -1 (Int32).")]
    [InlineData("TMaze-v0", "corridor_length", 0, "TMaze-v0: option 'corridor_length' must be an integer in [1, 1000000]; got 0 (Int32).")]
    [InlineData("TMaze-v0", "corridor_length", 1_000_001, "TMaze-v0: option 'corridor_length' must be an integer in [1, 1000000]; got 1000001 (Int32).")]
    [InlineData("TMaze-v0", "corridor_length", 2.5, "TMaze-v0: option 'corridor_length' must be an integer; got 2.5 (Double).")]
    [InlineData("TMaze-v0", "time_limit_factor", 0.5, "TMaze-v0: option 'time_limit_factor' must be a number in [1, 1000]; got 0.5 (Double).")]
    [InlineData("TMaze-v0", "time_limit_factor", double.PositiveInfinity, "TMaze-v0: option 'time_limit_factor' must be a number in [1, 1000]; got Infinity (Double).")]
    [InlineData("MemoryLength-v0", "memory_length", 0, "MemoryLength-v0: option 'memory_length' must be an integer in [1, 1000000]; got 0 (Int32).")]
    [InlineData("MemoryLength-v0", "memory_length", -10, "MemoryLength-v0: option 'memory_length' must be an integer in [1, 1000000]; got -10 (Int32).")]
    [InlineData("MemoryLength-v0", "noise", 1, "MemoryLength-v0: option 'noise' must be true or false; got 1 (Int32).")]
    [InlineData("CopyTask-v0", "sequence_length", 0, "CopyTask-v0: option 'sequence_length' must be an integer in [1, 100000]; got 0 (Int32).")]
    [InlineData("CopyTask-v0", "sequence_length", "ten", "CopyTask-v0: option 'sequence_length' must be an integer; got 'ten' (string).")]
    [InlineData("RepeatFirst-v0", "difficulty", "extreme", "RepeatFirst-v0: option 'difficulty' must be one of 'easy', 'medium', 'hard'; got 'extreme' (string).")]
    [InlineData("RepeatPrevious-v0", "difficulty", 2, "RepeatPrevious-v0: option 'difficulty' must be one of 'easy', 'medium', 'hard'; got 2 (Int32).")]
    [InlineData("RepeatFirst-v0", "first_step_flag", "yes", "RepeatFirst-v0: option 'first_step_flag' must be true or false; got 'yes' (string).")]
    public void InvalidOptions_AreRefused_NamingTheIdTheOptionTheValueAndTheAllowedRange(string id, string option, object value, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make(id, new EnvOptions { { option, value } }));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void AMisspelledOption_IsRefused_WithTheCloseMatch()
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("TMaze-v0", new EnvOptions { { "corridor_len", 5 } }));
        Assert.Equal(
            "TMaze-v0 does not accept option 'corridor_len'. Did you mean 'corridor_length'? (valid options: corridor_length, time_limit_factor, west_penalty).",
            e.Message);
    }

    [Fact]
    public void Constructors_RefuseInvalidParameters_NamingTheParameterAndTheRange()
    {
        var maze = Assert.Throws<ArgumentOutOfRangeException>("corridorLength", () => new TMazeEnv(-3));
        Assert.StartsWith("TMazeEnv: the corridor length must be an integer in [1, 1000000].", maze.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>("timeLimitFactor", () => new TMazeEnv(10, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>("timeLimitFactor", () => new TMazeEnv(10, 0.99));
        Assert.Throws<ArgumentOutOfRangeException>("corridorLength", () => TMazeEnv.TimeLimit(0));
        Assert.Equal(1_000_001_000, TMazeEnv.TimeLimit(TMazeEnv.MaxCorridorLength, TMazeEnv.MaxTimeLimitFactor));
        Assert.Throws<ArgumentOutOfRangeException>("memoryLength", () => new MemoryLengthEnv(0));
        var copy = Assert.Throws<ArgumentOutOfRangeException>("sequenceLength", () => new CopyTaskEnv(0));
        Assert.StartsWith("CopyTaskEnv: the sequence length must be an integer in [1, 100000].", copy.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>("difficulty", () => new RepeatFirstEnv((CardTaskDifficulty)7));
        Assert.Throws<ArgumentOutOfRangeException>("difficulty", () => new RepeatPreviousEnv((CardTaskDifficulty)(-1)));
    }

    [Fact]
    public void ActionsOutsideTheSpace_AreRefused()
    {
        using IEnv<int> env = EnvRegistry.Make<int>("CopyTask-v0");
        env.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>(() => env.Step(2));
        Assert.Equal("CopyTask-v0: action 2 is not in the action space Discrete(2); allowed: an integer in [0, 1]. (Parameter 'action')", e.Message);
    }

    // ----- Velocity-free classic control ---------------------------------------------------------------------

    public static TheoryData<string, string, int[], int, double> VelocityFree => new()
    {
        { "CartPoleNoVel-v1", "CartPole-v1", [0, 2], 500, 475.0 },
        { "MountainCarNoVel-v0", "MountainCar-v0", [0], 200, -110.0 },
        { "AcrobotNoVel-v1", "Acrobot-v1", [0, 1, 2, 3], 500, -100.0 },
    };

    [Theory]
    [MemberData(nameof(VelocityFree))]
    public void NoVel_MasksTheVelocities_AndKeepsTheBasesLimitsAndDynamics(string id, string baseId, int[] keep, int limit, double threshold)
    {
        EnvSpec spec = EnvRegistry.Spec(id);
        EnvSpec baseSpec = EnvRegistry.Spec(baseId);
        Assert.Equal(limit, spec.MaxEpisodeSteps);
        Assert.Equal(baseSpec.MaxEpisodeSteps, spec.MaxEpisodeSteps);
        Assert.Equal(threshold, spec.RewardThreshold);
        Assert.Equal(baseSpec.DefaultOptions, spec.DefaultOptions);

        using IEnv<int> env = EnvRegistry.Make<int>(id);
        using IEnv<int> full = EnvRegistry.Make<int>(baseId);
        Assert.Equal(limit, Assert.IsType<TimeLimit<int>>(env).MaxEpisodeSteps);
        Assert.Equal(keep, Assert.IsType<MaskObservation<int>>(((TimeLimit<int>)env).Inner).Kept);
        Assert.Equal(id, env.Unwrapped.Name);
        for (int i = 0; i < keep.Length; i++)
        {
            Assert.Equal(full.ObservationSpace.Low[keep[i]], env.ObservationSpace.Low[i]);
            Assert.Equal(full.ObservationSpace.High[keep[i]], env.ObservationSpace.High[i]);
        }

        var (masked, _) = env.Reset(seed: 6);
        var (observed, _) = full.Reset(seed: 6);
        Assert.Equal(keep.Select(k => observed[k]), masked);
        var actions = new NumpyRandom(2);
        int steps = 0;
        bool done = false;
        while (!done)
        {
            int a = (int)actions.Integers(0, ((Discrete)env.ActionSpace).N);
            var m = env.Step(a);
            var f = full.Step(a);
            Assert.Equal(keep.Select(k => f.Observation[k]), m.Observation);
            Assert.Equal(f.Reward, m.Reward);
            Assert.Equal(f.Terminated, m.Terminated);
            Assert.Equal(f.Truncated, m.Truncated);
            done = m.Terminated || m.Truncated;
            steps++;
        }

        Assert.True(steps <= limit);
    }

    [Fact]
    public void PendulumNoVel_ObservesCosAndSin_AndKeepsPendulumsLimitDynamicsAndOptions()
    {
        EnvSpec spec = EnvRegistry.Spec("PendulumNoVel-v1");
        Assert.Equal(200, spec.MaxEpisodeSteps);
        Assert.Equal(EnvRegistry.Spec("Pendulum-v1").DefaultOptions, spec.DefaultOptions);
        using IEnv<float[]> env = EnvRegistry.Make<float[]>("PendulumNoVel-v1");
        using IEnv<float[]> full = EnvRegistry.Make<float[]>("Pendulum-v1");
        Assert.Equal([0, 1], Assert.IsType<MaskObservation<float[]>>(((TimeLimit<float[]>)env).Inner).Kept);
        Assert.Equal("Box(-1, 1, (2,), float32)", env.ObservationSpace.ToString());
        Assert.Equal(full.ActionSpace.ToString(), env.ActionSpace.ToString());
        var (masked, _) = env.Reset(seed: 8);
        var (observed, _) = full.Reset(seed: 8);
        Assert.Equal(observed[..2], masked);
        var torques = new NumpyRandom(3);
        int steps = 0;
        bool done = false;
        while (!done)
        {
            float[] a = [(float)torques.Uniform(-2, 2)];
            var m = env.Step(a);
            var f = full.Step(a);
            Assert.Equal(f.Observation[..2], m.Observation);
            Assert.Equal(f.Reward, m.Reward);
            Assert.Equal(f.Truncated, m.Truncated);
            done = m.Terminated || m.Truncated;
            steps++;
        }

        Assert.Equal(200, steps);
        using IEnv moon = EnvRegistry.Make("PendulumNoVel-v1", new EnvOptions { { "g", 1.62 } });
        Assert.Equal(1.62, moon.Unwrapped<PendulumEnv>().G);
    }

    [Fact]
    public void NoVel_PassesItsOptionsToTheBase()
    {
        using IEnv car = EnvRegistry.Make("MountainCarNoVel-v0", new EnvOptions { { "goal_velocity", 0.02 } });
        Assert.Equal(0.02, car.Unwrapped<MountainCarEnv>().GoalVelocity);
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("CartPoleNoVel-v1", new EnvOptions { { "sutton_barto_reward", 3 } }));
        Assert.Equal("CartPoleNoVel-v1: option 'sutton_barto_reward' must be true or false; got 3 (Int32).", e.Message);
    }
}
