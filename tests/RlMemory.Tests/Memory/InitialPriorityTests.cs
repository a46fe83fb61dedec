using RlMemory.Environments.Vector;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>Transitions stored with priorities their producer computed (Ape-X's actors) instead of the maximal one.</summary>
public sealed class InitialPriorityTests
{
    private static ReplayBufferOptions Options(int capacity) => new() { Capacity = capacity, ObservationShape = [1], NumEnvs = 1, Seed = 3 };

    /// <summary>Transition i: observation i, action 0, reward 0.</summary>
    private static VectorStep<int> Transitions(int first, int count) => new(
        Enumerable.Range(first, count).Select(i => (float)i).ToArray(), new int[count], new double[count], new bool[count], new bool[count],
        Enumerable.Range(first, count).Select(i => i + 0.5f).ToArray());

    [Fact]
    public void GivenPriorities_SetTheSamplingProbabilities_AndRaiseTheMaximum()
    {
        // α = 1, ε = 1e-6: P(i) ∝ |δ_i| + ε, so |δ| = (1, 3, 0, 12) gives P = (1, 3, ~0, 12) / 16.
        using var buffer = new ReplayBuffer(Options(8), new PriorityOptions { Alpha = 1, Epsilon = 1e-6 });
        buffer.AddTransitions(Transitions(0, 4), [1, 1, 1, 1], [1.0, 3.0, 0.0, 12.0]);
        Assert.Equal(12 + 1e-6, buffer.PrioritySampler!.MaxPriority, 9);

        var counts = new int[4];
        for (int draw = 0; draw < 1600; draw++)
        {
            using TransitionBatch batch = buffer.Sample(4, beta: 1); // at most the transitions held
            foreach (float o in batch.Observations.data<float>())
            {
                counts[(int)o]++;
            }
        }

        double total = counts.Sum();
        Assert.InRange(counts[0] / total, 1 / 16.0 - 0.01, 1 / 16.0 + 0.01);
        Assert.InRange(counts[1] / total, 3 / 16.0 - 0.015, 3 / 16.0 + 0.015);
        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[3] / total, 12 / 16.0 - 0.02, 12 / 16.0 + 0.02);

        // Later transitions without given priorities enter at the raised maximum.
        buffer.AddTransitions(Transitions(4, 1), [1]);
        int fourth = 0;
        for (int draw = 0; draw < 400; draw++)
        {
            using TransitionBatch batch = buffer.Sample(5, beta: 1);
            fourth += batch.Observations.data<float>().Count(o => o == 4);
        }

        double share = fourth / 2000.0;
        Assert.InRange(share, (12 / 28.0) - 0.05, (12 / 28.0) + 0.05);
    }

    [Fact]
    public void MoreTransitionsThanTheCapacity_KeepThePrioritiesOfTheOnesKept()
    {
        // Five transitions into three slots: the last three are kept, with their own priorities (2, 0, 6).
        using var buffer = new ReplayBuffer(Options(3), new PriorityOptions { Alpha = 1, Epsilon = 1e-9 });
        buffer.AddTransitions(Transitions(0, 5), [1, 1, 1, 1, 1], [100.0, 100.0, 2.0, 0.0, 6.0]);
        var seen = new List<float>();
        for (int draw = 0; draw < 700; draw++)
        {
            using TransitionBatch batch = buffer.Sample(3, beta: 1);
            seen.AddRange(batch.Observations.data<float>());
        }

        Assert.DoesNotContain(0f, seen);
        Assert.DoesNotContain(3f, seen);
        Assert.InRange(seen.Count(o => o == 2) / 2100.0, 0.2, 0.3); // 2 / 8
    }

    [Fact]
    public void BadPriorities_AreRefused_AndNothingIsStored()
    {
        using var buffer = new ReplayBuffer(Options(8), new PriorityOptions());
        var e = Assert.Throws<ArgumentException>(() => buffer.AddTransitions(Transitions(0, 2), [1, 1], [1.0]));
        Assert.Contains("1 initial priorities for 2 transitions", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => buffer.AddTransitions(Transitions(0, 2), [1, 1], [1.0, double.NaN]));
        Assert.Contains("tdErrorMagnitudes[1] is NaN; initial priorities are |TD errors|: finite and ≥ 0", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => buffer.AddTransitions(Transitions(0, 2), [1, 1], [-1.0, 1.0]));
        Assert.Contains("tdErrorMagnitudes[0] is -1", e.Message, StringComparison.Ordinal);
        Assert.Equal(0L, buffer.Count);

        // A uniform buffer stores the transitions and has no priorities to set.
        using var uniform = new ReplayBuffer(Options(8));
        uniform.AddTransitions(Transitions(0, 2), [1, 1], [1.0, 2.0]);
        Assert.Equal(2L, uniform.Count);
    }
}
