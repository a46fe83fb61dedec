using FsCheck.Xunit;

namespace RlMemory.Environments.Tests.Spaces;

public sealed class BoxTests
{
    // ----- Contains ----------------------------------------------------------------------------------------

    [Fact]
    public void Contains_IncludesBothBoundsAndNothingBeyond()
    {
        var box = new Box(-1f, 1f, 3);
        Assert.True(box.Contains([-1f, 0f, 1f]));
        Assert.False(box.Contains([-1f, 0f, MathF.BitIncrement(1f)]));
        Assert.False(box.Contains([MathF.BitDecrement(-1f), 0f, 0f]));
    }

    [Fact]
    public void Contains_NeverAcceptsNaN_EvenInAnUnboundedBox()
    {
        var unbounded = new Box(float.NegativeInfinity, float.PositiveInfinity, 2);
        Assert.True(unbounded.Contains([0f, 1e30f]));
        Assert.False(unbounded.Contains([0f, float.NaN]));
        Assert.False(unbounded.Contains([float.NaN, 0f]));
        Assert.Equal(1, unbounded.IndexOfViolation([0f, float.NaN]));
    }

    [Fact]
    public void Contains_AcceptsAnInfinityOnlyOnAnUnboundedSide()
    {
        var halfBounded = new Box([float.NegativeInfinity, 0f], [5f, float.PositiveInfinity]);
        Assert.True(halfBounded.Contains([float.NegativeInfinity, float.PositiveInfinity]));
        Assert.False(halfBounded.Contains([float.PositiveInfinity, 1f]));
        Assert.False(halfBounded.Contains([0f, float.NegativeInfinity]));

        var bounded = new Box(-1f, 1f, 1);
        Assert.False(bounded.Contains([float.PositiveInfinity]));
        Assert.False(bounded.Contains([float.NegativeInfinity]));
    }

    [Fact]
    public void Contains_RefusesWrongLengthsAndNull()
    {
        var box = new Box(-1f, 1f, 3);
        Assert.False(box.Contains([0f, 0f]));
        Assert.False(box.Contains([0f, 0f, 0f, 0f]));
        Assert.False(box.Contains(ReadOnlySpan<float>.Empty));
        Assert.False(box.Contains((float[])null!));
    }

    [Fact]
    public void Contains_UsesEachElementsOwnBounds_RowMajor()
    {
        // Shape (2, 2): row 0 in [0, 1], row 1 in [10, 20].
        var box = new Box([0f, 0f, 10f, 10f], [1f, 1f, 20f, 20f], [2, 2]);
        Assert.True(box.Contains([0.5f, 1f, 10f, 20f]));
        Assert.False(box.Contains([10f, 10f, 0.5f, 0.5f]));
        Assert.Equal(2, box.IndexOfViolation([1f, 1f, 9.99f, 20.01f]));
    }

    [Fact]
    public void Explain_NamesTheFirstOffendingElementAndItsBounds()
    {
        var box = new Box([0f, -1f, -2f], [1f, 1f, 2f]);
        Assert.Null(box.Explain([0.5f, 0f, 0f]));
        Assert.Equal("element 1 is 1.5, outside [-1, 1]", box.Explain([0.5f, 1.5f, 7f]));
        Assert.Equal("element 2 is NaN, outside [-2, 2]", box.Explain([0f, 0f, float.NaN]));
        Assert.Equal("it has 2 elements but Box([0, -1, -2], [1, 1, 2], (3,), float32) has 3", box.Explain([0f, 0f]));
    }

    // ----- Construction ------------------------------------------------------------------------------------

    [Fact]
    public void Constructor_RejectsLowAboveHigh_NamingTheIndexAndBothBounds()
    {
        var e = Assert.Throws<ArgumentException>(() => new Box([0f, 2f], [1f, 1f]));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("low = 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("high = 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("low <= high", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN, 1f, "low = NaN")]
    [InlineData(0f, float.NaN, "high = NaN")]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity, "low = inf")]
    [InlineData(float.NegativeInfinity, float.NegativeInfinity, "high = -inf")]
    public void Constructor_RejectsNaNAndOutwardInfiniteBounds(float low, float high, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => new Box(low, high, 2));
        Assert.Contains("index 0", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 3, 0 }, "Box shape (3, 0) has a non-positive dimension.")]
    [InlineData(new[] { -2 }, "Box shape (-2,) has a non-positive dimension.")]
    public void Constructor_RejectsNonPositiveDimensions(int[] shape, string message)
    {
        var e = Assert.Throws<ArgumentException>("shape", () => new Box(0f, 1f, shape));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RejectsEmptyAndOversizedShapes()
    {
        var empty = Assert.Throws<ArgumentException>("shape", () => new Box(0f, 1f));
        Assert.Contains("at least one dimension", empty.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("shape", () => new Box([], []));

        var huge = Assert.Throws<ArgumentException>("shape", () => new Box(0f, 1f, 1 << 20, 1 << 20));
        Assert.Contains("too large", huge.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RejectsBoundsThatDoNotMatchTheShape()
    {
        var mismatch = Assert.Throws<ArgumentException>(() => new Box([0f, 0f], [1f, 1f, 1f]));
        Assert.Equal("Box bounds must have 2 elements for shape (2,); got low with 2 and high with 3.", mismatch.Message);
        var shaped = Assert.Throws<ArgumentException>(() => new Box([0f, 0f, 0f], [1f, 1f, 1f], [2, 2]));
        Assert.Equal("Box bounds must have 4 elements for shape (2, 2); got low with 3 and high with 3.", shaped.Message);
    }

    [Fact]
    public void Constructor_CopiesItsArguments()
    {
        float[] low = [0f, 0f];
        float[] high = [1f, 1f];
        int[] shape = [2];
        var box = new Box(low, high, shape);
        low[0] = -5f;
        high[1] = 5f;
        shape[0] = 7;
        Assert.Equal([0f, 0f], box.Low.ToArray());
        Assert.Equal([1f, 1f], box.High.ToArray());
        Assert.Equal([2], box.Shape);
    }

    [Fact]
    public void MultiDimensionalBox_HasRowMajorSizeShapeAndNotation()
    {
        var box = new Box(0f, 1f, 2, 3, 4);
        Assert.Equal(24, box.Size);
        Assert.Equal([2, 3, 4], box.Shape);
        Assert.Equal("Box(0, 1, (2, 3, 4), float32)", box.ToString());
        Assert.Equal(24, box.Sample(new NumpyRandom(0)).Length);
    }

    [Fact]
    public void ToStringAndDescribeAllowed_DistinguishUniformAndPerElementBounds()
    {
        Assert.Equal("Box(-1, 1, (3,), float32)", new Box(-1f, 1f, 3).ToString());
        Assert.Equal("3 floats, each in [-1, 1]", new Box(-1f, 1f, 3).DescribeAllowed());
        Assert.Equal("Box(-inf, inf, (2,), float32)", new Box(float.NegativeInfinity, float.PositiveInfinity, 2).ToString());

        var mixed = new Box([-1f, 0f], [1f, 10.5f]);
        Assert.Equal("Box([-1, 0], [1, 10.5], (2,), float32)", mixed.ToString());
        Assert.Equal("2 floats within low = [-1, 0], high = [1, 10.5]", mixed.DescribeAllowed());

        var wide = new Box(Enumerable.Range(0, 10).Select(i => (float)-i).ToArray(), new float[10]);
        Assert.Contains("… (10 in all)", wide.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void IsBounded_IsTrueOnlyWhenEveryBoundIsFinite()
    {
        Assert.True(new Box(-1f, 1f, 3).IsBounded);
        Assert.False(new Box([-1f, 0f], [1f, float.PositiveInfinity]).IsBounded);
        Assert.False(new Box([float.NegativeInfinity], [0f]).IsBounded);
    }

    [Fact]
    public void SameAs_ComparesShapeAndBoundsNotIdentity()
    {
        var a = new Box(-1f, 1f, 2, 3);
        Assert.True(a.SameAs(new Box(-1f, 1f, 2, 3)));
        Assert.False(a.SameAs(new Box(-1f, 1f, 6)));        // same size, other shape
        Assert.False(a.SameAs(new Box(-1f, 1f, 3, 2)));
        Assert.False(a.SameAs(new Box(-1f, 2f, 2, 3)));
        var highs = Enumerable.Repeat(1f, 6).ToArray();
        highs[5] = 1.5f;
        Assert.False(a.SameAs(new Box(Enumerable.Repeat(-1f, 6).ToArray(), highs, [2, 3])));
        Assert.Throws<ArgumentNullException>(() => a.SameAs(null!));
    }

    // ----- Sample ------------------------------------------------------------------------------------------

    [Fact]
    public void Sample_OfABoundedBox_IsNumpyUniformPerElementCastToFloat32()
    {
        // Gymnasium: np_random.uniform(low, high, shape).astype(float32) for a fully bounded box.
        var box = new Box([-2f, 0f, 5f], [2f, 1f, 5.5f]);
        var rng = new NumpyRandom(77);
        var reference = new NumpyRandom(77);
        for (int i = 0; i < 200; i++)
        {
            float[] sample = box.Sample(rng);
            float[] expected = [(float)reference.Uniform(-2, 2), (float)reference.Uniform(0, 1), (float)reference.Uniform(5, 5.5)];
            Assert.Equal(expected, sample);
        }
    }

    [Fact]
    public void Sample_OfABoundedBox_IsUniformWithinTheBounds_ChiSquare()
    {
        const int draws = 50_000, bins = 10;
        var box = new Box([-2f, 10f], [2f, 11f]);
        var rng = new NumpyRandom(31);
        var counts = new int[2, bins];
        var sample = new float[2];
        for (int i = 0; i < draws; i++)
        {
            box.Sample(rng, sample);
            Assert.True(box.Contains(sample));
            counts[0, Math.Min(bins - 1, (int)((sample[0] + 2f) / 4f * bins))]++;
            counts[1, Math.Min(bins - 1, (int)((sample[1] - 10f) * bins))]++;
        }

        for (int d = 0; d < 2; d++)
        {
            double expected = (double)draws / bins;
            double chiSquare = Enumerable.Range(0, bins).Sum(b => (counts[d, b] - expected) * (counts[d, b] - expected) / expected);
            Assert.True(chiSquare < 27.88, $"element {d}: chi-square {chiSquare:F2} (99.9% quantile for 9 dof is 27.88)");
        }
    }

    [Fact]
    public void Sample_OfADegenerateBox_ReturnsTheSinglePoint()
    {
        var box = new Box([3f, -1f], [3f, -1f]);
        Assert.Equal([3f, -1f], box.Sample(new NumpyRandom(0)));
    }

    [Fact]
    public void Sample_OfTheWidestFiniteBox_StaysFiniteAndInside()
    {
        var box = new Box(-float.MaxValue, float.MaxValue, 4);
        var rng = new NumpyRandom(3);
        for (int i = 0; i < 1000; i++)
        {
            float[] s = box.Sample(rng);
            Assert.True(box.Contains(s), string.Join(", ", s));
            Assert.All(s, x => Assert.True(float.IsFinite(x)));
        }
    }

    [Fact]
    public void Sample_OfHalfBoundedElements_IsAShiftedExponentialOnTheBoundedSide()
    {
        const int n = 50_000;
        var box = new Box([1f, float.NegativeInfinity], [float.PositiveInfinity, 5f]);
        var rng = new NumpyRandom(12);
        double sumLow = 0, sumHigh = 0;
        int beyond3Low = 0;
        for (int i = 0; i < n; i++)
        {
            float[] s = box.Sample(rng);
            Assert.True(s[0] >= 1f && s[1] <= 5f, $"sample [{s[0]}, {s[1]}] left its half-line");
            sumLow += s[0];
            sumHigh += s[1];
            if (s[0] > 4f)
            {
                beyond3Low++;
            }
        }

        Assert.InRange(sumLow / n, 1.98, 2.02); // 1 + mean of Exp(1); sd of the mean ~0.0045
        Assert.InRange(sumHigh / n, 3.98, 4.02);
        Assert.InRange(beyond3Low / (double)n, 0.0450, 0.0546); // e^-3 = 0.0498, sd ~0.001
    }

    [Fact]
    public void Sample_OfUnboundedElements_IsStandardNormal()
    {
        const int n = 50_000;
        var box = new Box(float.NegativeInfinity, float.PositiveInfinity, 2);
        var rng = new NumpyRandom(13);
        double sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++)
        {
            float[] s = box.Sample(rng);
            sum += s[0] + s[1];
            sumSq += (s[0] * (double)s[0]) + (s[1] * (double)s[1]);
        }

        double mean = sum / (2 * n);
        Assert.InRange(mean, -0.015, 0.015); // sd ~0.0032
        Assert.InRange((sumSq / (2 * n)) - (mean * mean), 0.975, 1.025); // sd ~0.0045
    }

    [Fact]
    public void Sample_IntoASpanOfTheWrongLength_IsRefused()
    {
        var box = new Box(0f, 1f, 3);
        var e = Assert.Throws<ArgumentException>("destination", () => box.Sample(new NumpyRandom(0), new float[2]));
        Assert.Contains("2 elements", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => box.Sample(null!));
    }

    [Property(MaxTest = 300)]
    public bool Sample_IsAlwaysContained(float a, float b, float c, ulong seed)
    {
        if (!float.IsFinite(a) || !float.IsFinite(b))
        {
            return true;
        }

        // Element 0 bounded [min, max]; element 1 half-bounded from c (when finite); element 2 unbounded.
        float lowBound = float.IsFinite(c) ? c : 0f;
        var box = new Box([Math.Min(a, b), lowBound, float.NegativeInfinity], [Math.Max(a, b), float.PositiveInfinity, float.PositiveInfinity]);
        var rng = new NumpyRandom(seed);
        for (int i = 0; i < 10; i++)
        {
            if (!box.Contains(box.Sample(rng)))
            {
                return false;
            }
        }

        return true;
    }
}
