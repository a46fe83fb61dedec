using System.Runtime.Intrinsics;
using RlMemory.Memory.External;

namespace RlMemory.Tests.Memory.External;

/// <summary>
/// The allocation's slot order by rank (vector comparisons and population counts) against a stable sort: the same
/// permutation for every length, with ties, signed zeros and values that differ in the last bit; NaN is left to the sort.
/// </summary>
public sealed class AllocationOrderTests
{
    public static TheoryData<int> Lengths => [.. new[] { 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100 }];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void OrderByRank_IsTheStableSortsOrder_InFloatAndDouble(int n)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            Assert.False(MemoryStepKernel<float>.StableOrderByRank(new float[n], new int[n])); // the kernel sorts instead
            return;
        }

        var random = new Random(n);
        for (int trial = 0; trial < 50; trial++)
        {
            // Few distinct values so ties are common, some -0 against 0, and neighbours one ulp apart.
            float[] pool = [0f, -0f, 1f, 0.5f, 0.25f, MathF.BitIncrement(0.5f), MathF.BitDecrement(0.25f), 0.9999999f, 1e-30f];
            float[] values = [.. Enumerable.Range(0, n).Select(_ => trial % 2 == 0 ? pool[random.Next(pool.Length)] : (float)random.NextDouble())];
            int[] expected = [.. Enumerable.Range(0, n).OrderBy(i => values[i])]; // LINQ's OrderBy is stable; -0 == 0 there too
            var order = new int[n];
            Assert.True(MemoryStepKernel<float>.StableOrderByRank(values, order));
            Assert.Equal(expected, order);

            double[] wide = [.. values.Select(v => (double)v)];
            var wideOrder = new int[n];
            Assert.True(MemoryStepKernel<double>.StableOrderByRank(wide, wideOrder));
            Assert.Equal(expected, wideOrder);
        }
    }

    [Fact]
    public void ANaN_IsLeftToTheSort()
    {
        Assert.False(MemoryStepKernel<float>.StableOrderByRank([0.5f, float.NaN, 0.1f], new int[3]));
    }
}
