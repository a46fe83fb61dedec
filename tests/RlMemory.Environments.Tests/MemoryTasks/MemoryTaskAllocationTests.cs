using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;

namespace RlMemory.Environments.Tests.MemoryTasks;

/// <summary>Every memory task steps through a vector environment, autoresets included, without allocating.</summary>
public sealed class MemoryTaskAllocationTests
{
    public static TheoryData<string, string?, object?> Tasks => new()
    {
        { "TMaze-v0", "corridor_length", 3 },
        { "TMaze-v0", "corridor_length", 1000 },
        { "RepeatFirst-v0", null, null },
        { "RepeatPrevious-v0", "difficulty", "hard" },
        { "MemoryLength-v0", "memory_length", 5 },
        { "MemoryLength-v0", "noise", false },
        { "CopyTask-v0", "sequence_length", 4 },
        { "CartPoleNoVel-v1", null, null },
        { "MountainCarNoVel-v0", null, null },
        { "AcrobotNoVel-v1", null, null },
    };

    [Theory]
    [MemberData(nameof(Tasks))]
    public void SyncVectorEnv_StepsWithAutoresets_AllocateNothing(string id, string? option, object? value)
    {
        EnvOptions? options = option is null ? null : new EnvOptions { { option, value! } };
        using VectorEnv<int> vector = EnvRegistry.MakeVector<int>(id, 8, options: options);
        int choices = ((Discrete)vector.SingleActionSpace).N;
        var actions = new int[8];
        var rng = new NumpyRandom(4);
        vector.Reset(seed: 0);
        // Warm-up: JIT, tiering, and at least two autoresets per environment, so that no path runs for the first
        // time while allocations are measured (a 1000-cell T-maze episode lasts up to 2002 steps).
        int warmEnds = 0;
        for (int round = 0; round < 40 && warmEnds < 2 * actions.Length; round++)
        {
            warmEnds += Run(vector, rng, actions, choices, 1_000);
        }

        int ends = 0;
        long allocated = AllocationProbe.MinimumBytes(() => ends += Run(vector, rng, actions, choices, 5_000));

        Assert.True(ends >= 8, $"{id}: only {ends} episodes ended: autoresets were not exercised");
        Assert.Equal(0, allocated);
    }

    private static int Run(VectorEnv<int> vector, NumpyRandom rng, int[] actions, int choices, int steps)
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
                ends += vector.Terminations[i] || vector.Truncations[i] ? 1 : 0;
            }
        }

        return ends;
    }
}
