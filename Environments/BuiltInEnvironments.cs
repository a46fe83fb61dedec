using RlMemory.Environments.ClassicControl;

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
    }
}
