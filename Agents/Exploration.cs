using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>The ε-greedy choice both Q-learning actors make once their network has given the greedy actions.</summary>
internal static class Exploration
{
    /// <summary>
    /// Writes into <paramref name="actions"/> a uniformly random action with probability <paramref name="epsilon"/>,
    /// otherwise <paramref name="greedy"/>'s. With ε &gt; 0 it draws, from <paramref name="generator"/>, N uniforms
    /// and then N actions (always both, so the generator advances the same way whatever is chosen).
    /// </summary>
    public static void EpsilonGreedy(Generator generator, int actionCount, double epsilon, ReadOnlySpan<long> greedy, Span<int> actions)
    {
        int n = actions.Length;
        if (epsilon > 0)
        {
            using Tensor explore = rand([n], ScalarType.Float64, generator: generator);
            using Tensor random = randint(0, actionCount, [n], ScalarType.Int64, generator: generator);
            ReadOnlySpan<double> u = MemoryMarshal.Cast<byte, double>(explore.bytes);
            ReadOnlySpan<long> r = MemoryMarshal.Cast<byte, long>(random.bytes);
            for (int i = 0; i < n; i++)
            {
                actions[i] = (int)(u[i] < epsilon ? r[i] : greedy[i]);
            }

            return;
        }

        for (int i = 0; i < n; i++)
        {
            actions[i] = (int)greedy[i];
        }
    }
}
