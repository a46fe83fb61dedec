using RlMemory.Memory;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>Examples and edge cases of <see cref="SumTree"/>: sizes, prefix-sum boundaries, zero leaves, refusals, numerics.</summary>
public sealed class SumTreeTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(SumTree.MaxCapacity + 1)]
    public void Constructor_RefusesCapacityOutOfRange(int capacity)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new SumTree(capacity));
        Assert.Contains("SumTree", ex.Message);
        Assert.Contains(capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Fact]
    public void NewTree_IsAllZero()
    {
        var tree = new SumTree(5);

        Assert.Equal(5, tree.Capacity);
        Assert.Equal(0.0, tree.Total);
        Assert.All(Enumerable.Range(0, 5), i => Assert.Equal(0.0, tree[i]));
    }

    [Fact]
    public void CapacityOne_HoldsOneLeaf()
    {
        var tree = new SumTree(1);
        tree.Update(0, 2.5);

        Assert.Equal(2.5, tree.Total);
        Assert.Equal(0, tree.FindPrefixSum(0));
        Assert.Equal(0, tree.FindPrefixSum(2.4));
        Assert.Equal(0, tree.FindPrefixSum(2.5));
        Assert.Equal(0, tree.FindPrefixSum(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update(1, 1.0));
    }

    [Fact]
    public void NonPowerOfTwo_UsesEveryLeafAndNoPadding()
    {
        // Capacity 5 pads to 8 leaves; the padding must neither count nor be returned.
        var tree = new SumTree(5);
        double[] values = [1, 2, 3, 4, 5];
        for (int i = 0; i < values.Length; i++)
        {
            tree.Update(i, values[i]);
        }

        Assert.Equal(15.0, tree.Total);
        // Leaf i covers [prefix(i-1), prefix(i)): [0,1) [1,3) [3,6) [6,10) [10,15).
        Assert.Equal(0, tree.FindPrefixSum(0.0));
        Assert.Equal(0, tree.FindPrefixSum(0.999));
        Assert.Equal(1, tree.FindPrefixSum(1.0));
        Assert.Equal(2, tree.FindPrefixSum(3.0));
        Assert.Equal(3, tree.FindPrefixSum(9.5));
        Assert.Equal(4, tree.FindPrefixSum(10.0));
        Assert.Equal(4, tree.FindPrefixSum(14.999));
        Assert.Equal(4, tree.FindPrefixSum(15.0));
        Assert.Equal(4, tree.FindPrefixSum(1e9));
    }

    [Fact]
    public void FindPrefixSum_NeverReturnsZeroLeaves()
    {
        var tree = new SumTree(7);
        tree.Update(0, 0.0);
        tree.Update(1, 2.0);
        tree.Update(2, 0.0);
        tree.Update(3, 0.0);
        tree.Update(4, 1.0);
        tree.Update(5, 0.0);
        tree.Update(6, 0.0);

        // [0,2) → 1, [2,3) → 4; boundaries go to the next positive leaf; mass ≥ total → last positive leaf (4).
        Assert.Equal(1, tree.FindPrefixSum(0.0));
        Assert.Equal(1, tree.FindPrefixSum(1.999));
        Assert.Equal(4, tree.FindPrefixSum(2.0));
        Assert.Equal(4, tree.FindPrefixSum(2.999));
        Assert.Equal(4, tree.FindPrefixSum(3.0));
        Assert.Equal(4, tree.FindPrefixSum(double.PositiveInfinity));
        double[] masses = Enumerable.Range(0, 301).Select(k => k / 100.0).ToArray();
        int[] leaves = new int[masses.Length];
        tree.FindPrefixSums(masses, leaves);
        Assert.All(leaves, leaf => Assert.True(tree[leaf] > 0, $"leaf {leaf} holds 0"));
    }

    [Fact]
    public void FindPrefixSum_OnlyLastLeafPositive_ReturnsIt()
    {
        var tree = new SumTree(6);
        tree.Update(5, 1e-300);

        Assert.Equal(5, tree.FindPrefixSum(0));
        Assert.Equal(5, tree.FindPrefixSum(1.0));
    }

    [Fact]
    public void FindPrefixSum_WhenTotalIsZero_ThrowsInvalidOperation()
    {
        var tree = new SumTree(4);
        tree.Update(2, 0.0);

        var ex = Assert.Throws<InvalidOperationException>(() => tree.FindPrefixSum(0));
        Assert.Contains("SumTree.FindPrefixSum", ex.Message);
        Assert.Throws<InvalidOperationException>(() => tree.FindPrefixSums([0.0], new int[1]));
        tree.FindPrefixSums([], []); // an empty batch needs no mass
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-1e-12)]
    [InlineData(double.NegativeInfinity)]
    public void FindPrefixSum_RefusesNegativeOrNaNMass(double mass)
    {
        var tree = new SumTree(3);
        tree.Update(0, 1);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => tree.FindPrefixSum(mass));
        Assert.Contains("SumTree.FindPrefixSum", ex.Message);
        Assert.Contains(mass.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ex.Message);

        int[] leaves = [-7, -7];
        var batch = Assert.Throws<ArgumentOutOfRangeException>(() => tree.FindPrefixSums([0.5, mass], leaves));
        Assert.Contains("position 1", batch.Message);
        Assert.Equal([-7, -7], leaves); // nothing written
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-1.0)]
    [InlineData(-double.Epsilon)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Update_RefusesInvalidValue_NamingTreeAndValue_AndChangesNothing(double value)
    {
        var tree = new SumTree(4);
        tree.Update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0]);

        var single = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update(2, value));
        var batch = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update([0, 2], [9.0, value]));

        foreach (var ex in new[] { single, batch })
        {
            Assert.Contains("SumTree.Update", ex.Message);
            Assert.Contains(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ex.Message);
            Assert.Contains("Nothing was changed", ex.Message);
        }

        Assert.Contains("position 1", batch.Message);
        AssertLeaves(tree, 1, 2, 3, 4);
        Assert.Equal(10.0, tree.Total);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void Update_RefusesIndexOutOfRange_NamingTreeAndIndex_AndChangesNothing(int index)
    {
        var tree = new SumTree(4);
        tree.Update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0]);

        var single = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update(index, 1.0));
        var batch = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update([1, index], [7.0, 1.0]));

        foreach (var ex in new[] { single, batch })
        {
            Assert.Contains("SumTree.Update", ex.Message);
            Assert.Contains($"index {index.ToString(System.Globalization.CultureInfo.InvariantCulture)}", ex.Message);
            Assert.Contains("[0, 4)", ex.Message);
        }

        AssertLeaves(tree, 1, 2, 3, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree[index]);
    }

    [Fact]
    public void Update_Batch_RefusesMismatchedLengths()
    {
        var tree = new SumTree(4);

        var ex = Assert.Throws<ArgumentException>(() => tree.Update([0, 1], [1.0]));
        Assert.Contains("SumTree.Update", ex.Message);
        Assert.Equal(0.0, tree.Total);
    }

    [Fact]
    public void Update_Batch_RepeatedIndex_LastValueWins()
    {
        var tree = new SumTree(3);

        tree.Update([1, 1, 2, 1], [5.0, 6.0, 1.0, 7.0]);

        AssertLeaves(tree, 0, 7, 1);
        Assert.Equal(8.0, tree.Total);
    }

    [Fact]
    public void Update_TotalOverflow_IsRefusedAndChangesNothing()
    {
        var tree = new SumTree(3);
        tree.Update(0, double.MaxValue);
        tree.Update(1, 1.0);

        var single = Assert.Throws<ArgumentException>(() => tree.Update(2, double.MaxValue));
        var batch = Assert.Throws<ArgumentException>(() => tree.Update([1, 2, 2], [3.0, 1.0, double.MaxValue]));
        var all = Assert.Throws<ArgumentException>(() => tree.SetAll([double.MaxValue, double.MaxValue, 0]));

        Assert.Contains("overflow", single.Message);
        Assert.Contains("overflow", batch.Message);
        Assert.Contains("SumTree.SetAll", all.Message);
        AssertLeaves(tree, double.MaxValue, 1.0, 0.0);
        Assert.Equal(double.MaxValue, tree.Total);
    }

    [Fact]
    public void SetAll_RebuildsAndRefusesInvalidValuesWithoutChange()
    {
        var tree = new SumTree(3);
        tree.SetAll([1.0, 0.0, 2.0]);
        Assert.Equal(3.0, tree.Total);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => tree.SetAll([1.0, double.NaN, 0.0]));
        Assert.Contains("SumTree.SetAll", ex.Message);
        Assert.Throws<ArgumentException>(() => tree.SetAll([1.0]));
        AssertLeaves(tree, 1.0, 0.0, 2.0);

        double[] copy = new double[3];
        tree.CopyTo(copy);
        Assert.Equal([1.0, 0.0, 2.0], copy);
        tree.Clear();
        Assert.Equal(0.0, tree.Total);
    }

    [Fact]
    public void MillionsOfUpdates_LeaveNoDrift()
    {
        // Recomputing parents from children keeps every node equal to a fresh build: after 3 million random
        // updates (values spanning 12 orders of magnitude) the total is bit-identical to a tree built from the
        // final leaves, and matches a compensated sum of them to within the rounding of one pairwise summation.
        const int capacity = 1000;
        var tree = new SumTree(capacity);
        var random = new Random(12345);
        int[] indices = new int[100];
        double[] values = new double[100];
        for (int round = 0; round < 30_000; round++)
        {
            for (int i = 0; i < indices.Length; i++)
            {
                indices[i] = random.Next(capacity);
                values[i] = Math.Pow(10, (random.NextDouble() * 12) - 6);
            }

            tree.Update(indices, values);
        }

        double[] leaves = new double[capacity];
        tree.CopyTo(leaves);
        var rebuilt = new SumTree(capacity);
        rebuilt.SetAll(leaves);
        Assert.Equal(BitConverter.DoubleToInt64Bits(rebuilt.Total), BitConverter.DoubleToInt64Bits(tree.Total));
        double exact = KahanSum(leaves);
        double bound = (Math.Ceiling(Math.Log2(capacity)) + 2) * Math.ScaleB(1.0, -53) * exact; // pairwise summation: ≈ log2(N)·u·Σ
        Assert.True(Math.Abs(tree.Total - exact) <= bound, $"total {tree.Total:R} differs from {exact:R} by more than {bound:R}");

        // Setting everything back to 0 gives exactly 0, not a residue.
        for (int i = 0; i < capacity; i++)
        {
            tree.Update(i, 0.0);
        }

        Assert.Equal(0.0, tree.Total);
    }

    [Fact]
    public void FindPrefixSums_LargeBatch_MatchesSingleSearches()
    {
        // More than the stack-scratch limit, so the pooled scratch path runs too.
        var tree = new SumTree(10_007);
        var random = new Random(5);
        for (int i = 0; i < tree.Capacity; i++)
        {
            tree.Update(i, random.Next(4) == 0 ? 0.0 : random.NextDouble());
        }

        double[] masses = Enumerable.Range(0, 2000).Select(_ => random.NextDouble() * tree.Total * 1.01).ToArray();
        int[] leaves = new int[masses.Length];
        tree.FindPrefixSums(masses, leaves);

        for (int i = 0; i < masses.Length; i++)
        {
            Assert.Equal(tree.FindPrefixSum(masses[i]), leaves[i]);
        }
    }

    internal static double KahanSum(ReadOnlySpan<double> values)
    {
        double sum = 0, compensation = 0;
        foreach (double v in values)
        {
            double y = v - compensation;
            double t = sum + y;
            compensation = (t - sum) - y;
            sum = t;
        }

        return sum;
    }

    private static void AssertLeaves(SumTree tree, params double[] expected)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], tree[i]);
        }
    }
}
