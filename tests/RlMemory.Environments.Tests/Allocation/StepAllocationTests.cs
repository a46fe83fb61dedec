using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Allocation;

/// <summary>
/// The hot paths allocate nothing once warmed up (design: "a vector environment writes N observations into one
/// contiguous float buffer per step, without allocating"). These measure bytes allocated on the calling thread, not time.
/// </summary>
public sealed class StepAllocationTests
{
    [Fact]
    public void SyncVectorEnv_CartPole_TenThousandStepsWithAutoresets_AllocateNothing()
    {
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("CartPole-v1", 16);
        vector.Reset(seed: 0);
        var rng = new NumpyRandom(1);
        var actions = new int[16];
        RunVector(vector, rng, actions, 1_000); // warm-up: JIT, tiering, first autoresets

        int ends = 0;
        long allocated = AllocationProbe.MinimumBytes(() => ends += RunVector(vector, rng, actions, 10_000));

        Assert.True(ends > 5_000, $"only {ends} episodes ended: autoresets were not exercised");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SyncVectorEnv_DiscretizedPendulum_StepsAllocateNothing()
    {
        IEnv<int>[] envs = [.. Enumerable.Range(0, 8).Select(_ => new DiscretizeAction(EnvRegistry.Make<float[]>("Pendulum-v1"), 5))];
        using var vector = new SyncVectorEnv<int>(envs);
        vector.Reset(seed: 0);
        var rng = new NumpyRandom(2);
        var actions = new int[8];
        RunVector(vector, rng, actions, 500, choices: 5);

        int ends = 0;
        long allocated = AllocationProbe.MinimumBytes(() => ends += RunVector(vector, rng, actions, 2_000, choices: 5));

        Assert.True(ends >= 8 * 9, $"only {ends} truncations");
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("MountainCar-v0")]
    [InlineData("Acrobot-v1")]
    public void SingleEnv_StepIntoASpan_WithResets_AllocatesNothing(string id)
    {
        using IEnv<int> env = EnvRegistry.Make<int>(id);
        var observation = new float[env.ObservationSpace.Size];
        var rng = new NumpyRandom(3);
        env.Reset(observation, seed: 0);
        RunSingle(env, observation, rng, 1_000);

        int ends = 0;
        long allocated = AllocationProbe.MinimumBytes(() => ends += RunSingle(env, observation, rng, 10_000));

        Assert.True(ends >= 10, $"{id}: only {ends} episodes ended");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SingleEnv_PendulumWithReusedActionArrays_AllocatesNothing()
    {
        using IEnv<float[]> env = EnvRegistry.Make<float[]>("Pendulum-v1");
        var observation = new float[3];
        float[][] torques = [[-2f], [-0.5f], [0f], [1.25f], [2f]];
        env.Reset(observation, seed: 0);
        int Run(int steps)
        {
            int ends = 0;
            for (int t = 0; t < steps; t++)
            {
                if (env.Step(torques[t % 5], observation).Done)
                {
                    env.Reset(observation);
                    ends++;
                }
            }

            return ends;
        }

        Run(1_000); // warm-up: JIT, tiering, the first resets
        int ends = 0;
        long allocated = AllocationProbe.MinimumBytes(() => ends += Run(10_000));

        // 200-step episodes: 50 per round of 10,000 steps, over the probe's rounds.
        Assert.Equal(0, ends % 50);
        Assert.True(ends >= 50, $"only {ends} episodes ended");
        Assert.Equal(0, allocated);
    }

    private static int RunVector(VectorEnv<int> vector, NumpyRandom rng, int[] actions, int steps, int choices = 2)
    {
        int ends = 0;
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < actions.Length; i++)
            {
                actions[i] = (int)rng.Integers(0, choices);
            }

            vector.Step(actions);
            for (int i = 0; i < actions.Length; i++)
            {
                if (vector.Terminations[i] || vector.Truncations[i])
                {
                    ends++;
                }
            }
        }

        return ends;
    }

    private static int RunSingle(IEnv<int> env, float[] observation, NumpyRandom rng, int steps)
    {
        int ends = 0;
        int choices = ((Discrete)env.ActionSpace).N;
        for (int t = 0; t < steps; t++)
        {
            if (env.Step((int)rng.Integers(0, choices), observation).Done)
            {
                env.Reset(observation);
                ends++;
            }
        }

        return ends;
    }
}
