namespace RlMemory.Environments.Tests.Spaces;

public sealed class DiscreteTests
{
    [Fact]
    public void Contains_AcceptsExactlyStartThroughStartPlusNMinusOne()
    {
        var space = new Discrete(5, start: -2);
        for (int v = -2; v <= 2; v++)
        {
            Assert.True(space.Contains(v), $"{v} should be in {space}");
        }

        foreach (int v in new[] { -3, 3, int.MinValue, int.MaxValue, -2 + 5 })
        {
            Assert.False(space.Contains(v), $"{v} should not be in {space}");
        }
    }

    [Fact]
    public void Contains_HandlesTheLargestSpacesWithoutOverflow()
    {
        var upper = new Discrete(int.MaxValue, start: 1); // 1 .. int.MaxValue
        Assert.True(upper.Contains(int.MaxValue));
        Assert.True(upper.Contains(1));
        Assert.False(upper.Contains(0));
        Assert.False(upper.Contains(int.MinValue));

        var lower = new Discrete(3, start: int.MinValue);
        Assert.True(lower.Contains(int.MinValue + 2));
        Assert.False(lower.Contains(int.MinValue + 3));
        Assert.False(lower.Contains(int.MaxValue));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Constructor_RejectsNonPositiveN_NamingTheValue(int n)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("n", () => new Discrete(n));
        Assert.Contains($"n = {n}", e.Message, StringComparison.Ordinal);
        Assert.Contains("n >= 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RejectsAStartWhoseLastElementWouldExceedIntMaxValue()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("start", () => new Discrete(10, start: int.MaxValue - 5));
        Assert.Contains("int.MaxValue", e.Message, StringComparison.Ordinal);
        _ = new Discrete(6, start: int.MaxValue - 5); // The last element is exactly int.MaxValue: allowed.
    }

    [Fact]
    public void Sample_IsStartPlusNumpyIntegers_LikeGymnasium()
    {
        // Gymnasium: self.start + self.np_random.integers(self.n)
        var space = new Discrete(7, start: 3);
        var rng = new NumpyRandom(11);
        var reference = new NumpyRandom(11);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(3 + reference.Integers(0, 7), space.Sample(rng));
        }
    }

    [Fact]
    public void Sample_CoversTheRangeUniformly_ChiSquare()
    {
        const int draws = 60_000;
        var space = new Discrete(6, start: 10);
        var rng = new NumpyRandom(2024);
        var counts = new int[6];
        for (int i = 0; i < draws; i++)
        {
            int v = space.Sample(rng);
            Assert.InRange(v, 10, 15);
            counts[v - 10]++;
        }

        double expected = draws / 6.0;
        double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chiSquare < 20.52, $"chi-square {chiSquare:F2} (99.9% quantile for 5 dof is 20.52): {string.Join(", ", counts)}");
    }

    [Fact]
    public void Sample_OfASingleElementSpace_ReturnsStartAndDrawsNothing()
    {
        var space = new Discrete(1, start: -4);
        var rng = new NumpyRandom(5);
        NumpyRandomState before = rng.GetState();
        Assert.Equal(-4, space.Sample(rng));
        Assert.Equal(before, rng.GetState()); // numpy's integers(0, 1) draws nothing either.
    }

    [Fact]
    public void Sample_RequiresAGenerator()
    {
        Assert.Throws<ArgumentNullException>(() => new Discrete(2).Sample(null!));
    }

    [Theory]
    [InlineData(2, 0, "Discrete(2)", "an integer in [0, 1]")]
    [InlineData(3, -1, "Discrete(3, start=-1)", "an integer in [-1, 1]")]
    [InlineData(1, 5, "Discrete(1, start=5)", "an integer in [5, 5]")]
    public void ToStringAndDescribeAllowed_UseGymnasiumNotation(int n, int start, string text, string allowed)
    {
        var space = new Discrete(n, start);
        Assert.Equal(text, space.ToString());
        Assert.Equal(allowed, space.DescribeAllowed());
        Assert.Empty(space.Shape);
        Assert.Equal(n, space.N);
        Assert.Equal(start, space.Start);
    }
}
