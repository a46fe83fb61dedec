namespace RlMemory.Environments.Tests.MemoryTasks;

/// <summary>
/// Yardsticks of the velocity-free classic-control tasks. Unlike the discrete memory tasks, their optimal and best
/// memoryless returns have no exact form: these tests measure the simple policies that docs/memory-tasks.md reports
/// (Monte-Carlo, mean within 4 standard errors plus the table's rounding), so the table's numbers stay true.
/// </summary>
public sealed class VelocityFreeYardstickTests
{
    [Fact]
    public void CartPoleNoVel_MemoryPolicyBalances500Steps_RandomAbout22_ReactiveLinearAbout45()
    {
        // With memory, finite differences recover the velocities exactly up to float rounding (Euler: x' = x + tau * x_dot).
        var memory = Simulate("CartPoleNoVel-v1", 20, (o, p) =>
        {
            double xDot = p is null ? 0 : (o[0] - p[0]) / 0.02, thetaDot = p is null ? 0 : (o[1] - p[1]) / 0.02;
            return 0.1 * o[0] + 0.5 * xDot + 10 * o[1] + 2 * thetaDot > 0 ? 1 : 0;
        });
        Assert.Equal(500.0, memory.Mean);
        Assert.True(memory.StandardError < 1e-9);

        var rng = new NumpyRandom(1);
        Simulate("CartPoleNoVel-v1", 4000, (_, _) => (int)rng.Integers(0, 2)).AssertWithin(22.1, 4, "CartPoleNoVel random", slack: 0.05);
        Simulate("CartPoleNoVel-v1", 2000, (o, _) => o[1] - 0.36 * o[0] - 0.01 > 0 ? 1 : 0)
            .AssertWithin(44.5, 4, "CartPoleNoVel reactive", slack: 0.05);
    }

    [Fact]
    public void MountainCarNoVel_MemoryPolicyAbout120_RandomMinus200_NoReactiveThresholdPolicyReachesTheFlag()
    {
        var memory = Simulate("MountainCarNoVel-v0", 500, (o, p) => p is null || o[0] - p[0] >= 0 ? 2 : 0);
        memory.AssertWithin(-119.8, 4, "MountainCarNoVel memory", slack: 0.05);

        var rng = new NumpyRandom(2);
        Assert.Equal(-200.0, Simulate("MountainCarNoVel-v0", 200, (_, _) => (int)rng.Integers(0, 3)).Mean);

        // Push a1 left of c and a2 right of it: 37 thresholds x 9 action pairs.
        for (int i = 0; i <= 36; i++)
        {
            float c = -1.2f + 0.05f * i;
            for (int a = 0; a < 9; a++)
            {
                var stats = Simulate("MountainCarNoVel-v0", 5, (o, _) => o[0] < c ? a / 3 : a % 3);
                Assert.True(stats.Mean == -200.0, $"threshold {c}, actions {a / 3}/{a % 3}: {stats.Mean}");
            }
        }
    }

    [Fact]
    public void AcrobotNoVel_MemoryPolicyAbout82_RandomAbout499_ReactiveAbout279()
    {
        var memory = Simulate("AcrobotNoVel-v1", 300, (o, p) =>
            p is null ? 1 : AngleStep(o[0], o[1], p[0], p[1]) - AngleStep(o[2], o[3], p[2], p[3]) > 0 ? 0 : 2);
        memory.AssertWithin(-81.8, 4, "AcrobotNoVel memory", slack: 0.05);

        var rng = new NumpyRandom(3);
        Simulate("AcrobotNoVel-v1", 300, (_, _) => (int)rng.Integers(0, 3)).AssertWithin(-498.5, 4, "AcrobotNoVel random", slack: 0.05);

        // The best of the 3^8 maps from the signs of (sin theta1, sin theta2, cos theta2) to an action (searched offline).
        int[] map = [2, 2, 0, 2, 2, 2, 0, 0];
        Simulate("AcrobotNoVel-v1", 500, (o, _) => map[(o[1] > 0 ? 1 : 0) + (o[3] > 0 ? 2 : 0) + (o[2] > 0 ? 4 : 0)])
            .AssertWithin(-278.9, 4, "AcrobotNoVel reactive", slack: 0.05);
    }

    [Fact]
    public void PendulumNoVel_MemoryPolicyAbout154_SinePolicyAbout1032_ZeroTorqueAbout1229()
    {
        // Pendulum integrates θ' = θ + θ̇' dt, so the angle's change over one step is the new velocity times dt: with
        // memory the state is known exactly. The memory policy pumps energy (E = θ̇²/2 + 15 cos θ, 15 at rest upright)
        // with full torque along or against the motion and holds the top with PD control. Without memory a torque u(θ)
        // is a conservative force (a potential in θ): it cannot add energy over a swing, so memoryless policies stay
        // near the bottom unless they start near the top. Figures from Gymnasium 1.0's Pendulum-v1 with the same
        // policies and seeds 0–199 (200 episodes each).
        var memory = SimulateContinuous("PendulumNoVel-v1", 200, (o, p) =>
        {
            double th = Math.Atan2(o[1], o[0]);
            double thDot = p is null ? 0 : AngleStep(o[0], o[1], p[0], p[1]) / 0.05;
            if (o[0] > 0.92)
            {
                return (float)Math.Clamp(-((10 * th) + (2 * thDot)), -2, 2);
            }

            double energy = (0.5 * thDot * thDot) + (15 * o[0]);
            float push = thDot >= 0 ? 2f : -2f;
            return energy < 15 ? push : -push;
        });
        memory.AssertWithin(-153.8, 4, "PendulumNoVel memory", slack: 0.05);
        SimulateContinuous("PendulumNoVel-v1", 200, (o, _) => Math.Clamp(-8 * o[1], -2f, 2f)).AssertWithin(-1032.0, 4, "PendulumNoVel -8 sin", slack: 0.05);
        SimulateContinuous("PendulumNoVel-v1", 200, (_, _) => 0f).AssertWithin(-1229.3, 4, "PendulumNoVel zero torque", slack: 0.05);
    }

    /// <summary>Like <see cref="Simulate"/> for a one-dimensional continuous action.</summary>
    private static RunningMean SimulateContinuous(string id, int episodes, Func<float[], float[]?, float> policy)
    {
        var action = new float[1];
        return Simulate<float[]>(id, episodes, (o, p) =>
        {
            action[0] = policy(o, p);
            return action;
        });
    }

    private static double AngleStep(float cos, float sin, float cosBefore, float sinBefore)
    {
        double d = Math.Atan2(sin, cos) - Math.Atan2(sinBefore, cosBefore);
        return d > Math.PI ? d - 2 * Math.PI : d < -Math.PI ? d + 2 * Math.PI : d;
    }

    /// <summary>Plays <paramref name="episodes"/> episodes seeded 0, 1, …; the policy sees the current and previous observation.</summary>
    private static RunningMean Simulate<TAction>(string id, int episodes, Func<float[], float[]?, TAction> policy)
    {
        using IEnv<TAction> env = EnvRegistry.Make<TAction>(id);
        var stats = new RunningMean();
        var obs = new float[env.ObservationSpace.Size];
        var previous = new float[obs.Length];
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(obs, seed: e);
            bool first = true;
            double ret = 0;
            StepResult r;
            do
            {
                TAction action = policy(obs, first ? null : previous);
                obs.CopyTo(previous, 0);
                first = false;
                r = env.Step(action, obs);
                ret += r.Reward;
            }
            while (!r.Done);
            stats.Add(ret);
        }

        return stats;
    }
}
