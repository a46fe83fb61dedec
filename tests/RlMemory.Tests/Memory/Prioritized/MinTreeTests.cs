using RlMemory.Memory;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary>Examples and edge cases of <see cref="MinTree"/>.</summary>
public sealed class MinTreeTests
{
    [Fact]
    public void NewTree_IsEmpty_MinIsPositiveInfinity()
    {
        var tree = new MinTree(3);

        Assert.Equal(double.PositiveInfinity, tree.Min);
        Assert.Equal(double.PositiveInfinity, tree[2]);
    }

    [Fact]
    public void CapacityOne_And_NonPowerOfTwo()
    {
        var one = new MinTree(1);
        one.Update(0, 3.0);
        Assert.Equal(3.0, one.Min);

        var five = new MinTree(5);
        five.Update([0, 1, 2, 3, 4], [5.0, 4.0, 3.0, 2.0, 7.0]);
        Assert.Equal(2.0, five.Min);
        five.Update(3, 9.0);
        Assert.Equal(3.0, five.Min); // raising the minimum finds the next smallest
        five.Update(4, 0.0);
        Assert.Equal(0.0, five.Min); // zero is a valid value
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-0.5)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Update_RefusesInvalidValue_NamingTreeAndValue_AndChangesNothing(double value)
    {
        var tree = new MinTree(3);
        tree.Update([0, 1, 2], [3.0, 2.0, 4.0]);

        var single = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update(1, value));
        var batch = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update([1, 0], [0.5, value]));

        foreach (var ex in new[] { single, batch })
        {
            Assert.Contains("MinTree.Update", ex.Message);
            Assert.Contains(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ex.Message);
        }

        Assert.Equal([3.0, 2.0, 4.0], new[] { tree[0], tree[1], tree[2] });
        Assert.Equal(2.0, tree.Min);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void Update_RefusesIndexOutOfRange_AndChangesNothing(int index)
    {
        var tree = new MinTree(3);
        tree.Update([0, 1, 2], [3.0, 2.0, 4.0]);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update([0, index], [0.1, 0.1]));

        Assert.Contains("MinTree.Update", ex.Message);
        Assert.Contains($"index {index}", ex.Message);
        Assert.Equal(2.0, tree.Min);
        Assert.Equal(3.0, tree[0]);
    }

    [Fact]
    public void SetAll_AcceptsPositiveInfinityAsEmpty_AndClearEmpties()
    {
        var tree = new MinTree(4);
        tree.SetAll([double.PositiveInfinity, 2.0, double.PositiveInfinity, 1.5]);
        Assert.Equal(1.5, tree.Min);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.SetAll([1.0, double.NaN, 1.0, 1.0]));
        Assert.Equal(1.5, tree.Min);

        tree.Clear();
        Assert.Equal(double.PositiveInfinity, tree.Min);
    }
}
