using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RlMemory.Memory;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>
/// FsCheck properties of <see cref="SumTree"/> and <see cref="MinTree"/> over random capacities (1–70, powers of two
/// and not) and random update sequences (single and batched, zeros included), checked against plain arrays.
/// </summary>
public sealed class PriorityTreePropertyTests
{
    /// <summary>A capacity and a sequence of update batches (a batch of one is a single update).</summary>
    public sealed record Scenario(int Capacity, (int Index, double Value)[][] Batches)
    {
        /// <summary>The leaves after applying every batch in order to an array (the last of repeated indices wins).</summary>
        public double[] ExpectedLeaves(double empty)
        {
            double[] leaves = Enumerable.Repeat(empty, Capacity).ToArray();
            foreach ((int index, double value) in Batches.SelectMany(b => b))
            {
                leaves[index] = value;
            }

            return leaves;
        }

        public override string ToString() =>
            $"Capacity {Capacity}: " + string.Join(" | ", Batches.Select(b => string.Join(", ", b.Select(u => $"{u.Index}←{u.Value:R}"))));
    }

    /// <summary>Values whose sums are exact in double: multiples of 1/8 up to 20, with extra zeros.</summary>
    private static readonly Gen<double> DyadicValues = Gen.Frequency(
        (1, Gen.Constant(0.0)),
        (4, Gen.Choose(1, 160).Select(k => k / 8.0)));

    /// <summary>Arbitrary non-negative values spanning many orders of magnitude, with extra zeros.</summary>
    private static readonly Gen<double> WideValues = Gen.Frequency(
        (1, Gen.Constant(0.0)),
        (4, from mantissa in Gen.Choose(1, 1_000_000)
            from exponent in Gen.Choose(-30, 30)
            select mantissa * Math.Pow(10, exponent - 6)));

    private static Gen<Scenario> Scenarios(Gen<double> values) =>
        from capacity in Gen.Frequency(
            (2, Gen.Elements(1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64)),
            (3, Gen.Choose(1, 70)))
        from batches in Gen.ListOf(
            from size in Gen.Frequency((3, Gen.Constant(1)), (2, Gen.Choose(0, 12)))
            from batch in Gen.ArrayOf(
                from index in Gen.Choose(0, capacity - 1)
                from value in values
                select (index, value),
                size)
            select batch)
        select new Scenario(capacity, batches.ToArray());

    private static SumTree BuildSumTree(Scenario scenario)
    {
        var tree = new SumTree(scenario.Capacity);
        foreach ((int Index, double Value)[] batch in scenario.Batches)
        {
            if (batch.Length == 1)
            {
                tree.Update(batch[0].Index, batch[0].Value);
            }
            else
            {
                tree.Update(batch.Select(u => u.Index).ToArray(), batch.Select(u => u.Value).ToArray());
            }
        }

        return tree;
    }

    [Property(MaxTest = 300)]
    public Property SumTree_LeavesAndTotal_MatchArrayAfterAnyUpdates() =>
        Prop.ForAll(Arb.From(Scenarios(WideValues)), scenario =>
        {
            SumTree tree = BuildSumTree(scenario);
            double[] expected = scenario.ExpectedLeaves(0.0);
            double[] leaves = new double[scenario.Capacity];
            tree.CopyTo(leaves);

            // Leaves are exactly what was written; the total is bit-identical to a fresh build of those leaves and
            // within the rounding of a pairwise sum of an exact (compensated) sum.
            var rebuilt = new SumTree(scenario.Capacity);
            rebuilt.SetAll(expected);
            double exact = SumTreeTests.KahanSum(expected);
            double bound = (Math.Ceiling(Math.Log2(scenario.Capacity)) + 2) * Math.ScaleB(1.0, -53) * exact;
            return leaves.SequenceEqual(expected)
                && BitConverter.DoubleToInt64Bits(tree.Total) == BitConverter.DoubleToInt64Bits(rebuilt.Total)
                && Math.Abs(tree.Total - exact) <= bound;
        });

    [Property(MaxTest = 300)]
    public Property SumTree_TotalIsExactSum_ForDyadicValues() =>
        Prop.ForAll(Arb.From(Scenarios(DyadicValues)), scenario =>
            BuildSumTree(scenario).Total == scenario.ExpectedLeaves(0.0).Sum());

    [Property(MaxTest = 300)]
    public Property SumTree_FindPrefixSum_MatchesLinearScan() =>
        Prop.ForAll(Arb.From(Scenarios(DyadicValues)), scenario =>
        {
            SumTree tree = BuildSumTree(scenario);
            double[] leaves = scenario.ExpectedLeaves(0.0);
            if (tree.Total == 0)
            {
                Assert.Throws<InvalidOperationException>(() => tree.FindPrefixSum(0));
                return;
            }

            // Every boundary, every midpoint, 0, the total and beyond: all exact with dyadic values.
            var masses = new List<double> { 0.0, tree.Total, tree.Total + 1, double.PositiveInfinity };
            double prefix = 0;
            foreach (double leaf in leaves)
            {
                masses.Add(prefix);
                masses.Add(prefix + (leaf / 2));
                prefix += leaf;
                masses.Add(prefix);
            }

            int[] batched = new int[masses.Count];
            tree.FindPrefixSums(masses.ToArray(), batched);
            for (int k = 0; k < masses.Count; k++)
            {
                int expected = LinearScan(leaves, masses[k]);
                Assert.Equal(expected, tree.FindPrefixSum(masses[k]));
                Assert.Equal(expected, batched[k]);
            }
        });

    [Property(MaxTest = 200)]
    public Property SumTree_FindPrefixSum_ReturnsPositiveLeafCoveringMass_ForWideValues() =>
        Prop.ForAll(Arb.From(Scenarios(WideValues)), Arb.From(Gen.Choose(0, 1000)), (scenario, fraction) =>
        {
            SumTree tree = BuildSumTree(scenario);
            double[] leaves = scenario.ExpectedLeaves(0.0);
            if (tree.Total == 0)
            {
                return true;
            }

            // With rounding the boundaries may move by a few ulps of the total; the leaf is positive and its
            // interval [prefix(i−1), prefix(i)) contains the mass up to that tolerance.
            double mass = tree.Total * fraction / 1000.0;
            int leaf = tree.FindPrefixSum(mass);
            double before = SumTreeTests.KahanSum(leaves.AsSpan(0, leaf));
            double tolerance = 64 * Math.ScaleB(1.0, -52) * tree.Total;
            return leaves[leaf] > 0
                && before <= mass + tolerance
                && (mass < tree.Total ? mass < before + leaves[leaf] + tolerance : leaf == Array.FindLastIndex(leaves, v => v > 0));
        });

    [Property(MaxTest = 300)]
    public Property SumTree_BatchedUpdate_EqualsSequentialUpdates() =>
        Prop.ForAll(Arb.From(Scenarios(WideValues)), scenario =>
        {
            SumTree batched = BuildSumTree(scenario);
            var sequential = new SumTree(scenario.Capacity);
            foreach ((int index, double value) in scenario.Batches.SelectMany(b => b))
            {
                sequential.Update(index, value);
            }

            double[] a = new double[scenario.Capacity], b = new double[scenario.Capacity];
            batched.CopyTo(a);
            sequential.CopyTo(b);
            return a.SequenceEqual(b) && batched.Total.Equals(sequential.Total);
        });

    [Property(MaxTest = 300)]
    public Property MinTree_MinIsMinOfLeaves_AfterAnyUpdates() =>
        Prop.ForAll(Arb.From(Scenarios(WideValues)), scenario =>
        {
            var tree = new MinTree(scenario.Capacity);
            foreach ((int Index, double Value)[] batch in scenario.Batches)
            {
                if (batch.Length == 1)
                {
                    tree.Update(batch[0].Index, batch[0].Value);
                }
                else
                {
                    tree.Update(batch.Select(u => u.Index).ToArray(), batch.Select(u => u.Value).ToArray());
                }
            }

            double[] expected = scenario.ExpectedLeaves(double.PositiveInfinity);
            double[] leaves = new double[scenario.Capacity];
            tree.CopyTo(leaves);
            return leaves.SequenceEqual(expected) && tree.Min == expected.Min();
        });

    /// <summary>The reference: the leftmost leaf whose running sum exceeds the mass, else the last positive leaf.</summary>
    private static int LinearScan(double[] leaves, double mass)
    {
        double prefix = 0;
        for (int i = 0; i < leaves.Length; i++)
        {
            prefix += leaves[i];
            if (prefix > mass)
            {
                return i;
            }
        }

        return Array.FindLastIndex(leaves, v => v > 0);
    }
}
