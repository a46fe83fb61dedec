using System.Globalization;
using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.MemoryTasks;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments;

/// <summary>Registers the environments that ship with RlMemory.</summary>
internal static class BuiltInEnvironments
{
    public static void Register()
    {
        EnvRegistry.Register(
            "CartPole-v0",
            o => new CartPoleEnv(o.GetBool("sutton_barto_reward")),
            new EnvOptions { { "sutton_barto_reward", false } },
            maxEpisodeSteps: 200,
            rewardThreshold: 195.0,
            description: "Balance a pole on a cart (200-step episodes).");
        EnvRegistry.Register(
            "CartPole-v1",
            o => new CartPoleEnv(o.GetBool("sutton_barto_reward")),
            new EnvOptions { { "sutton_barto_reward", false } },
            maxEpisodeSteps: 500,
            rewardThreshold: 475.0,
            description: "Balance a pole on a cart (500-step episodes).");
        EnvRegistry.Register(
            "MountainCar-v0",
            o => new MountainCarEnv(o.GetDouble("goal_velocity")),
            new EnvOptions { { "goal_velocity", 0.0 } },
            maxEpisodeSteps: 200,
            rewardThreshold: -110.0,
            description: "Drive an under-powered car up a hill by rocking it.");
        EnvRegistry.Register(
            "Acrobot-v1",
            o => new AcrobotEnv(o.GetString("book_or_nips"), o.GetDouble("torque_noise_max")),
            new EnvOptions { { "book_or_nips", "book" }, { "torque_noise_max", 0.0 } },
            maxEpisodeSteps: 500,
            rewardThreshold: -100.0,
            description: "Swing a two-link robot's tip above a bar.");
        EnvRegistry.Register(
            "Pendulum-v1",
            o => new PendulumEnv(o.GetDouble("g")),
            new EnvOptions { { "g", 10.0 } },
            maxEpisodeSteps: 200,
            description: "Swing a pendulum up and hold it (continuous torque).");
        EnvRegistry.Register(
            "MountainCarContinuous-v0",
            o => new MountainCarContinuousEnv(o.GetDouble("goal_velocity")),
            new EnvOptions { { "goal_velocity", 0.0 } },
            maxEpisodeSteps: 999,
            rewardThreshold: 90.0,
            description: "Drive an under-powered car up a hill with a continuous engine (reward 100 at the flag, minus the fuel).");
        RegisterVelocityFree();
        RegisterMemoryTasks();
    }

    /// <summary>Classic control without the velocity entries: one observation no longer tells the state.</summary>
    private static void RegisterVelocityFree()
    {
        EnvRegistry.Register(
            "CartPoleNoVel-v1",
            o => new MaskObservation<int>(new CartPoleEnv(o.GetBool("sutton_barto_reward")), [0, 2]),
            new EnvOptions { { "sutton_barto_reward", false } },
            maxEpisodeSteps: 500,
            rewardThreshold: 475.0,
            description: "CartPole-v1 observing only [x, theta]: the velocities must be inferred from the past.");
        EnvRegistry.Register(
            "MountainCarNoVel-v0",
            o => new MaskObservation<int>(new MountainCarEnv(o.GetDouble("goal_velocity")), [0]),
            new EnvOptions { { "goal_velocity", 0.0 } },
            maxEpisodeSteps: 200,
            rewardThreshold: -110.0,
            description: "MountainCar-v0 observing only the position.");
        EnvRegistry.Register(
            "PendulumNoVel-v1",
            o => new MaskObservation<float[]>(new PendulumEnv(o.GetDouble("g")), [0, 1]),
            new EnvOptions { { "g", 10.0 } },
            maxEpisodeSteps: 200,
            description: "Pendulum-v1 observing only [cos theta, sin theta]: the angular velocity must be inferred from the past.");
        EnvRegistry.Register(
            "AcrobotNoVel-v1",
            o => new MaskObservation<int>(new AcrobotEnv(o.GetString("book_or_nips"), o.GetDouble("torque_noise_max")), [0, 1, 2, 3]),
            new EnvOptions { { "book_or_nips", "book" }, { "torque_noise_max", 0.0 } },
            maxEpisodeSteps: 500,
            rewardThreshold: -100.0,
            description: "Acrobot-v1 observing only [cos, sin] of both joint angles.");
    }

    /// <summary>
    /// Tasks that a memoryless agent provably cannot solve optimally. Their episodes end by themselves (the T-maze
    /// truncates at its own, length-dependent limit), so they register no fixed time limit.
    /// </summary>
    private static void RegisterMemoryTasks()
    {
        EnvRegistry.Register(
            "TMaze-v0",
            o => new TMazeEnv(
                IntInRange(o, "corridor_length", 1, TMazeEnv.MaxCorridorLength),
                DoubleInRange(o, "time_limit_factor", 1.0, TMazeEnv.MaxTimeLimitFactor),
                DoubleInRange(o, "west_penalty", 0.0, TMazeEnv.MaxWestPenalty)),
            new EnvOptions { { "corridor_length", TMazeEnv.DefaultCorridorLength }, { "time_limit_factor", TMazeEnv.DefaultTimeLimitFactor }, { "west_penalty", 0.0 } },
            description: "Bakker's T-maze: a sign at the start of a corridor says which arm of the junction pays (truncated at time_limit_factor x (corridor_length + 1) steps; west_penalty > 0 makes the corridor easy to walk).");
        EnvRegistry.Register(
            "RepeatFirst-v0",
            o => FlagFirstStep(new RepeatFirstEnv(Difficulty(o)), o),
            new EnvOptions { { "difficulty", "easy" }, { "first_step_flag", false } },
            description: "POPGym's RepeatFirst: name the suit of the first card at every step (52 x decks - 1 steps; first_step_flag appends POPGym's is-first-step flag).");
        EnvRegistry.Register(
            "RepeatPrevious-v0",
            o => FlagFirstStep(new RepeatPreviousEnv(Difficulty(o)), o),
            new EnvOptions { { "difficulty", "easy" }, { "first_step_flag", false } },
            description: "POPGym's RepeatPrevious: name the suit of the card dealt k cards ago (52 x decks - 1 steps; first_step_flag appends POPGym's is-first-step flag).");
        EnvRegistry.Register(
            "MemoryLength-v0",
            o => new MemoryLengthEnv(IntInRange(o, "memory_length", 1, MemoryLengthEnv.MaxMemoryLength), o.GetBool("noise")),
            new EnvOptions { { "memory_length", MemoryLengthEnv.DefaultMemoryLength }, { "noise", true } },
            description: "bsuite's memory_len: recall a +-1 context seen memory_length steps before the query (memory_length + 1 steps).");
        EnvRegistry.Register(
            "CopyTask-v0",
            o => new CopyTaskEnv(IntInRange(o, "sequence_length", 1, CopyTaskEnv.MaxSequenceLength)),
            new EnvOptions { { "sequence_length", CopyTaskEnv.DefaultSequenceLength } },
            description: "The NTM copy task: observe sequence_length random bits, then reproduce them (2 x sequence_length + 1 steps).");
    }

    private static int IntInRange(EnvOptions options, string key, int min, int max)
    {
        int value = options.GetInt(key);
        return value >= min && value <= max
            ? value
            : throw options.Invalid(key, options[key], $"an integer in [{Format(min)}, {Format(max)}]");
    }

    private static double DoubleInRange(EnvOptions options, string key, double min, double max)
    {
        double value = options.GetDouble(key);
        return value >= min && value <= max
            ? value
            : throw options.Invalid(key, options[key], $"a number in [{Format(min)}, {Format(max)}]");
    }

    /// <summary>The card task as is, or with POPGym's is-first-step flag appended (<c>first_step_flag: true</c>).</summary>
    private static IEnv<int> FlagFirstStep(IEnv<int> task, EnvOptions options) =>
        options.GetBool("first_step_flag") ? new FirstStepFlag<int>(task) : task;

    private static CardTaskDifficulty Difficulty(EnvOptions options)
    {
        object value = options["difficulty"];
        return value is string s && CardTaskDifficulties.TryParse(s, out CardTaskDifficulty difficulty)
            ? difficulty
            : throw options.Invalid("difficulty", value, "one of " + string.Join(", ", CardTaskDifficulties.Names.Select(n => $"'{n}'")));
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
