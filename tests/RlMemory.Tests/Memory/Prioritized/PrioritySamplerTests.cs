using System.Globalization;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>
/// The <see cref="IPrioritySampler"/> contract, run unchanged against every implementation (<see cref="SamplerKind"/>):
/// sampling distribution, stratification, importance weights, max-priority tracking, refusals, reproducibility, state.
/// </summary>
public sealed class PrioritySamplerTests
{
    public static TheoryData<SamplerKind> Kinds => Samplers.Kinds();

    public static TheoryData<SamplerKind, int> KindsAndBatchSizes
    {
        get
        {
            var data = new TheoryData<SamplerKind, int>();
            foreach (SamplerKind kind in Samplers.Available())
            {
                data.Add(kind, 1);
                data.Add(kind, 64);
            }

            return data;
        }
    }

    // ---- distribution -------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(KindsAndBatchSizes))]
    public void SamplingFrequencies_AreProportionalToPriorityToTheAlpha_ChiSquare(SamplerKind kind, int batchSize)
    {
        // 11 filled slots with |δ| over two orders of magnitude (one |δ| = 0: only ε keeps it alive), slot 11 empty.
        var options = new PriorityOptions { Alpha = 0.6, Epsilon = 1e-3 };
        double[] magnitudes = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 0.0, 2.0, 1.0];
        const int draws = 38_400;
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 12, options, seed: 2024);
        sampler.Fill(magnitudes);

        long[] counts = new long[12];
        for (int round = 0; round < draws / batchSize; round++)
        {
            foreach (long slot in sampler.SampleToHost(batchSize, beta: 0.5).Indices)
            {
                counts[slot]++;
            }
        }

        Assert.Equal(0, counts[11]); // the empty slot is never drawn
        double[] expected = Probabilities(magnitudes, options.Alpha, options.Epsilon);
        double chiSquare = ChiSquare(counts.AsSpan(0, 11), expected, draws);
        // χ² with 10 degrees of freedom: P(χ² > 29.588) = 0.001. (Stratified draws have less variance than
        // independent ones, so for batch 64 the test is conservative.)
        Assert.True(chiSquare < 29.588, $"χ² = {chiSquare:F2} ≥ 29.588; counts {string.Join(", ", counts)}");

        // The test has power: the same counts clearly reject sampling ∝ |δ| + ε (α = 1) and uniform sampling.
        Assert.True(ChiSquare(counts.AsSpan(0, 11), Probabilities(magnitudes, 1.0, options.Epsilon), draws) > 29.588);
        Assert.True(ChiSquare(counts.AsSpan(0, 11), Probabilities(magnitudes, 0.0, options.Epsilon), draws) > 29.588);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AlphaZero_SamplesUniformly(SamplerKind kind)
    {
        var options = new PriorityOptions { Alpha = 0.0 };
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 5, options, seed: 3);
        sampler.Fill(0.0, 1.0, 100.0, 1e6, 5.0);

        long[] counts = new long[5];
        for (int round = 0; round < 100; round++)
        {
            foreach (long slot in sampler.SampleToHost(100, beta: 1.0).Indices)
            {
                counts[slot]++;
            }
        }

        // Stratified over equal masses: exactly 20 of every 100 draws fall on each slot.
        Assert.All(counts, c => Assert.Equal(2000, c));
    }

    // ---- stratification -----------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EqualPriorities_OneSamplePerSegment_GivesEachSlotOnceInOrder(SamplerKind kind)
    {
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 8, new PriorityOptions(), seed: 11);
        sampler.AddAtMaxPriority([0, 1, 2, 3, 4, 5, 6, 7]);

        for (int round = 0; round < 20; round++)
        {
            // Segment k of the mass is exactly slot k's interval.
            Assert.Equal([0L, 1, 2, 3, 4, 5, 6, 7], sampler.SampleToHost(8, beta: 0.4).Indices);
            // With 4 segments, segment k covers slots 2k and 2k + 1.
            long[] four = sampler.SampleToHost(4, beta: 0.4).Indices;
            Assert.All(Enumerable.Range(0, 4), k => Assert.InRange(four[k], 2 * k, (2 * k) + 1));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EachSample_FallsInItsOwnMassSegment(SamplerKind kind)
    {
        var random = new Random(8);
        double[] magnitudes = Enumerable.Range(0, 50).Select(_ => random.NextDouble() * random.Next(1, 100)).ToArray();
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 50, new PriorityOptions(), seed: 12);
        sampler.Fill(magnitudes);
        double[] priorities = sampler.ExportState().Priorities;
        double total = priorities.Sum();
        double tolerance = 1e-6 * total;

        for (int round = 0; round < 50; round++)
        {
            const int batchSize = 16;
            long[] slots = sampler.SampleToHost(batchSize, beta: 0.4).Indices;
            for (int k = 0; k < batchSize; k++)
            {
                // Slot i covers [before, before + p_i); it must meet segment [k, k + 1) · total / B.
                double before = priorities.Take((int)slots[k]).Sum();
                double after = before + priorities[slots[k]];
                Assert.True(
                    before < ((k + 1) * total / batchSize) + tolerance && after > (k * total / batchSize) - tolerance,
                    $"sample {k} (slot {slots[k]}, mass [{before}, {after})) lies outside segment {k}");
            }
        }
    }

    // ---- importance weights -------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Weights_MatchHandComputedValues(SamplerKind kind)
    {
        // α = 1, ε = 0.5: |δ| = 0.5, 1.5, 3.5, 7.5 give p = 1, 2, 4, 8; Σp = 15, N = 4.
        var options = new PriorityOptions { Alpha = 1.0, Epsilon = 0.5 };
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 6, options, seed: 5);
        sampler.Fill(0.5, 1.5, 3.5, 7.5);
        double[] p = [1, 2, 4, 8];

        foreach (double beta in new[] { 0.0, 0.4, 1.0 })
        {
            // w_i = (N·P(i))^−β / max_j w_j, with the max at the smallest priority (p = 1).
            double maxWeight = Math.Pow(4 * (1 / 15.0), -beta);
            double[] expected = p.Select(pi => Math.Pow(4 * (pi / 15.0), -beta) / maxWeight).ToArray();
            // By hand for β = 0.4: 1, 2^−0.4 = 0.757858, 4^−0.4 = 0.574349, 8^−0.4 = 0.435275.
            if (beta == 0.4)
            {
                Assert.Equal([1.0, 0.757858, 0.574349, 0.435275], expected.Select(w => Math.Round(w, 6)));
            }

            for (int round = 0; round < 20; round++)
            {
                (long[] slots, float[] weights) = sampler.SampleToHost(8, beta);
                for (int k = 0; k < slots.Length; k++)
                {
                    Assert.Equal(expected[slots[k]], weights[k], 1e-6);
                }
            }
        }
    }

    // ---- max priority and new items -----------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NewItems_GetTheMaxPrioritySeenSoFar(SamplerKind kind)
    {
        var options = new PriorityOptions { Alpha = 0.5, Epsilon = 0.01 };
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 6, options, seed: 1);
        double tol = Samplers.Tolerance(kind);
        Assert.Equal(1.0, sampler.MaxPriority);
        Assert.Equal(0, sampler.Count);

        sampler.AddAtMaxPriority([0]);
        Assert.Equal(1.0, Priority(sampler, 0), tol); // initial max priority 1: 1^α = 1
        sampler.UpdatePriorities([0], [3.0]);
        Assert.Equal(3.01, sampler.MaxPriority, tol);
        sampler.AddAtMaxPriority([1, 2]);
        Assert.Equal(Math.Sqrt(3.01), Priority(sampler, 1), tol);
        Assert.Equal(Math.Sqrt(3.01), Priority(sampler, 2), tol);

        // Lower TD errors do not lower the max (it only grows, as in the paper and OpenAI Baselines).
        sampler.UpdatePriorities([0, 1], [0.1, 0.2]);
        Assert.Equal(3.01, sampler.MaxPriority, tol);
        Assert.Equal(Math.Sqrt(0.11), Priority(sampler, 0), tol);
        sampler.AddAtMaxPriority([3]);
        Assert.Equal(Math.Sqrt(3.01), Priority(sampler, 3), tol);

        // Overwriting a filled slot (ring buffer) resets it to the max priority and does not change the count.
        sampler.AddAtMaxPriority([0, 0]);
        Assert.Equal(Math.Sqrt(3.01), Priority(sampler, 0), tol);
        Assert.Equal(4, sampler.Count);

        sampler.Clear();
        Assert.Equal(0, sampler.Count);
        Assert.Equal(1.0, sampler.MaxPriority);
        Assert.All(sampler.ExportState().Priorities, p => Assert.Equal(0.0, p));
        Assert.Throws<InvalidOperationException>(() => sampler.Sample(1, 0.5));
    }

    // ---- refusals -----------------------------------------------------------------------------------------------

    public static TheoryData<SamplerKind, double> KindsAndBadMagnitudes
    {
        get
        {
            var data = new TheoryData<SamplerKind, double>();
            foreach (SamplerKind kind in Samplers.Available())
            {
                foreach (double m in new[] { double.NaN, -1.0, -1e-300, double.PositiveInfinity, double.NegativeInfinity })
                {
                    data.Add(kind, m);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KindsAndBadMagnitudes))]
    public void UpdatePriorities_RefusesBadMagnitude_NamingSamplerAndValue_AndChangesNothing(SamplerKind kind, double magnitude)
    {
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 5, new PriorityOptions(), seed: 1);
        sampler.Fill(1.0, 2.0, 3.0);
        PrioritySamplerState before = sampler.ExportState();

        var span = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities([0, 2], [4.0, magnitude]));
        ArgumentOutOfRangeException tensorEx;
        using (DisposeScope scope = NewDisposeScope())
        {
            tensorEx = Assert.Throws<ArgumentOutOfRangeException>(() =>
                sampler.UpdatePriorities(tensor(new long[] { 0, 2 }), tensor(new[] { 4.0, magnitude })));
        }

        foreach (var ex in new[] { span, tensorEx })
        {
            Assert.Contains(Samplers.ClassName(kind) + ".UpdatePriorities", ex.Message);
            Assert.Contains(magnitude.ToString("R", CultureInfo.InvariantCulture), ex.Message);
            Assert.Contains("slot 2", ex.Message);
            Assert.Contains("Nothing was changed", ex.Message);
        }

        AssertSameState(before, sampler.ExportState());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void UpdatePriorities_RefusesSlotsOutOfRangeOrEmpty_AndChangesNothing(SamplerKind kind)
    {
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 5, new PriorityOptions(), seed: 1);
        sampler.Fill(1.0, 2.0, 3.0);
        PrioritySamplerState before = sampler.ExportState();
        string name = Samplers.ClassName(kind) + ".UpdatePriorities";

        foreach (int slot in new[] { -1, 5, int.MaxValue })
        {
            var span = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities([1, slot], [1.0, 1.0]));
            Assert.Contains(name, span.Message);
            Assert.Contains($"index {slot.ToString(CultureInfo.InvariantCulture)}", span.Message);
            Assert.Contains("[0, 5)", span.Message);
        }

        foreach (long slot in new[] { -1L, 5L, 1L << 40 })
        {
            using DisposeScope scope = NewDisposeScope();
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
                sampler.UpdatePriorities(tensor(new[] { 1L, slot }), tensor(new[] { 1f, 1f })));
            Assert.Contains(name, ex.Message);
            Assert.Contains($"index {slot.ToString(CultureInfo.InvariantCulture)}", ex.Message);
        }

        // Slot 4 is in range but was never written: updating it would make an empty slot sampleable.
        var empty = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities([4], [1.0]));
        Assert.Contains("slot 4", empty.Message);
        Assert.Contains("holds no item", empty.Message);
        using (DisposeScope scope = NewDisposeScope())
        {
            var emptyTensor = Assert.Throws<ArgumentOutOfRangeException>(() =>
                sampler.UpdatePriorities(tensor(new[] { 4L }), tensor(new[] { 1f })));
            Assert.Contains("holds no item", emptyTensor.Message);
        }

        AssertSameState(before, sampler.ExportState());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void UpdatePriorities_RefusesOverflowingPriority_AndMismatchedInputs(SamplerKind kind)
    {
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 3, new PriorityOptions { Alpha = 2.0 }, seed: 1);
        sampler.Fill(1.0, 2.0);
        PrioritySamplerState before = sampler.ExportState();

        // (1e200)^2 overflows double (and float32).
        var overflow = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities([0, 1], [1.0, 1e200]));
        Assert.Contains("cannot be stored", overflow.Message);
        using (DisposeScope scope = NewDisposeScope())
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => sampler.UpdatePriorities(tensor(new[] { 0L, 1L }), tensor(new[] { 1.0, 1e200 })));
            Assert.Throws<ArgumentException>(() => sampler.UpdatePriorities(tensor(new[] { 0L, 1L }), tensor(new[] { 1.0 })));
            Assert.Throws<ArgumentException>(() => sampler.UpdatePriorities(tensor(new[] { 0f, 1f }), tensor(new[] { 1.0, 1.0 })));
            Assert.Throws<ArgumentException>(() => sampler.UpdatePriorities(tensor(new[] { 0L, 1L }), tensor(new[] { 1L, 1L })));
            Assert.Throws<ArgumentException>(() => sampler.UpdatePriorities(tensor(new[] { 0L, 1L }, [1, 2]), tensor(new[] { 1.0, 1.0 }, [1, 2])));
        }

        Assert.Throws<ArgumentException>(() => sampler.UpdatePriorities([0, 1], [1.0]));
        AssertSameState(before, sampler.ExportState());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AddAtMaxPriority_RefusesSlotOutOfRange_AndChangesNothing(SamplerKind kind)
    {
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 3, new PriorityOptions(), seed: 1);
        sampler.Fill(1.0);
        PrioritySamplerState before = sampler.ExportState();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.AddAtMaxPriority([1, 3]));

        Assert.Contains(Samplers.ClassName(kind) + ".AddAtMaxPriority", ex.Message);
        Assert.Contains("index 3", ex.Message);
        Assert.Equal(1, sampler.Count);
        AssertSameState(before, sampler.ExportState());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Sample_RefusesBadArguments_AndAnEmptySampler(SamplerKind kind)
    {
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 3, new PriorityOptions(), seed: 1);
        var empty = Assert.Throws<InvalidOperationException>(() => sampler.Sample(4, 0.5));
        Assert.Contains("AddAtMaxPriority", empty.Message);
        sampler.Fill(1.0);

        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample(0, 0.5));
        foreach (double beta in new[] { -0.1, 1.1, double.NaN })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample(4, beta));
            Assert.Contains("beta", ex.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void UpdatePriorities_TensorOverload_AcceptsInt32SlotsFloat32MagnitudesAndStridedViews(SamplerKind kind)
    {
        var options = new PriorityOptions { Alpha = 1.0, Epsilon = 0.5 };
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 4, options, seed: 1);
        sampler.AddAtMaxPriority([0, 1, 2, 3]);

        using (DisposeScope scope = NewDisposeScope())
        {
            // Every other element of [3, 9, 1, 9]: slots 3 and 1; magnitudes from a strided float32 view.
            Tensor slots = tensor(new[] { 3, 9, 1, 9 }).slice(0, 0, 4, 2);
            Tensor magnitudes = tensor(new[] { 1.5f, -7f, 3.5f, -7f }).slice(0, 0, 4, 2);
            sampler.UpdatePriorities(slots, magnitudes);
        }

        Assert.Equal([1.0, 4.0, 1.0, 2.0], sampler.ExportState().Priorities);
        Assert.Equal(4.0, sampler.MaxPriority);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void UpdatePriorities_TensorOverload_LeavesTheCallersTensorsUnchanged(SamplerKind kind)
    {
        // Regression: Tensor.to() returns an alias when nothing converts, so an in-place op on it would write into
        // the caller's float64 magnitudes.
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 3, new PriorityOptions(), seed: 1);
        sampler.Fill(1.0, 1.0, 1.0);
        using DisposeScope scope = NewDisposeScope();
        Tensor slots = tensor(new[] { 0L, 2L }, device: sampler.Device);
        Tensor magnitudes = tensor(new[] { 0.25, 4.0 }, device: sampler.Device);

        sampler.UpdatePriorities(slots, magnitudes);

        Assert.Equal([0L, 2L], slots.cpu().data<long>().ToArray());
        Assert.Equal([0.25, 4.0], magnitudes.cpu().data<double>().ToArray());
    }

    // ---- reproducibility and state ------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SameSeed_SameSamples_DifferentSeed_DifferentSamples(SamplerKind kind)
    {
        List<long[]> Run(ulong seed)
        {
            using IPrioritySampler sampler = Samplers.Create(kind, capacity: 100, new PriorityOptions(), seed);
            sampler.Fill(Enumerable.Range(0, 100).Select(i => (double)(i % 7)).ToArray());
            var result = new List<long[]>();
            for (int round = 0; round < 5; round++)
            {
                (long[] slots, _) = sampler.SampleToHost(32, 0.5);
                result.Add(slots);
                sampler.UpdatePriorities(slots.Select(s => (int)s).ToArray(), slots.Select(s => s % 3 + 0.5).ToArray());
            }

            return result;
        }

        List<long[]> a = Run(42), b = Run(42), c = Run(43);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ExportImport_RoundTrip_ContinuesTheSameSampleStream(SamplerKind kind)
    {
        var options = new PriorityOptions { Alpha = 0.7 };
        using IPrioritySampler original = Samplers.Create(kind, capacity: 40, options, seed: 9);
        original.Fill(Enumerable.Range(0, 30).Select(i => i * 0.25).ToArray());
        original.SampleToHost(16, 0.5);
        PrioritySamplerState state = original.ExportState();
        Assert.Equal(30, state.Priorities.Count(p => p > 0));
        Assert.Equal(7.25 + 1e-6, state.MaxPriority, 1e-9);
        Assert.Equal(0.7, state.Alpha);

        List<Array> Continue(IPrioritySampler sampler)
        {
            var result = new List<Array>();
            for (int round = 0; round < 3; round++)
            {
                (long[] slots, float[] weights) = sampler.SampleToHost(16, 0.5);
                result.Add(slots);
                result.Add(weights);
                sampler.UpdatePriorities(slots.Select(s => (int)s).ToArray(), Enumerable.Repeat(2.0, slots.Length).ToArray());
                sampler.AddAtMaxPriority([30 + round]);
            }

            return result;
        }

        var expected = Continue(original);

        // A fresh sampler with a different seed continues identically after importing the state...
        using IPrioritySampler restored = Samplers.Create(kind, capacity: 40, options, seed: 12345);
        restored.ImportState(state);
        Assert.Equal(30, restored.Count);
        Assert.Equal(state.MaxPriority, restored.MaxPriority, 1e-12);
        Assert.Equal(expected, Continue(restored));

        // ...and so does the original after importing its own earlier state.
        original.ImportState(state);
        Assert.Equal(expected, Continue(original));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ImportState_RefusesStatesThatDoNotFit_AndChangesNothing(SamplerKind kind)
    {
        var options = new PriorityOptions { Alpha = 0.6 };
        using IPrioritySampler sampler = Samplers.Create(kind, capacity: 4, options, seed: 9);
        sampler.Fill(1.0, 2.0);
        PrioritySamplerState good = sampler.ExportState();
        sampler.UpdatePriorities([0], [5.0]);
        PrioritySamplerState before = sampler.ExportState();
        string name = Samplers.ClassName(kind) + ".ImportState";

        PrioritySamplerState[] bad =
        [
            good with { Priorities = new double[5] },
            good with { Alpha = 0.5 },
            good with { RandomAlgorithm = "something else" },
            good with { RandomState = new byte[3] },
            good with { MaxPriority = double.NaN },
            good with { MaxPriority = 0 },
            good with { Priorities = [1.0, double.NaN, 0, 0] },
            good with { Priorities = [1.0, -2.0, 0, 0] },
            good with { Priorities = [1.0, double.PositiveInfinity, 0, 0] },
        ];
        foreach (PrioritySamplerState state in bad)
        {
            var ex = Assert.Throws<ArgumentException>(() => sampler.ImportState(state));
            Assert.Contains(name, ex.Message);
            AssertSameState(before, sampler.ExportState());
        }

        Assert.Equal(2, sampler.Count);
    }

    [Fact]
    public void ImportState_RefusesAnotherKindsGeneratorState()
    {
        using IPrioritySampler managed = Samplers.Create(SamplerKind.Managed, capacity: 4, new PriorityOptions(), seed: 1);
        using IPrioritySampler device = Samplers.Create(SamplerKind.DeviceFloat64, capacity: 4, new PriorityOptions(), seed: 1);
        managed.Fill(1.0);

        var ex = Assert.Throws<ArgumentException>(() => device.ImportState(managed.ExportState()));

        Assert.Contains("xoshiro256**", ex.Message);
        Assert.Contains("torch.Generator(CPU)", ex.Message);
        Assert.Equal(0, device.Count);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static double Priority(IPrioritySampler sampler, int slot) => sampler.ExportState().Priorities[slot];

    private static void AssertSameState(PrioritySamplerState expected, PrioritySamplerState actual)
    {
        Assert.Equal(expected.Priorities, actual.Priorities);
        Assert.Equal(expected.MaxPriority, actual.MaxPriority);
        Assert.Equal(expected.Alpha, actual.Alpha);
        Assert.Equal(expected.RandomAlgorithm, actual.RandomAlgorithm);
        Assert.Equal(expected.RandomState, actual.RandomState);
    }

    /// <summary>P(i) = (m_i + ε)^α / Σ_k (m_k + ε)^α.</summary>
    private static double[] Probabilities(double[] magnitudes, double alpha, double epsilon)
    {
        double[] p = magnitudes.Select(m => Math.Pow(m + epsilon, alpha)).ToArray();
        double total = p.Sum();
        return p.Select(x => x / total).ToArray();
    }

    private static double ChiSquare(ReadOnlySpan<long> counts, double[] probabilities, int draws)
    {
        double chiSquare = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            double expected = draws * probabilities[i];
            chiSquare += (counts[i] - expected) * (counts[i] - expected) / expected;
        }

        return chiSquare;
    }
}
