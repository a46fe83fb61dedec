using RlMemory.Memory.External;

namespace RlMemory.Tests.Memory.External;

public class SmallSpansTests
{
    [Theory]
    [InlineData(16, 16)]  // the T-maze presets' memory: two blocks of 8 slots
    [InlineData(32, 16)]  // CartPoleNoVel's
    [InlineData(13, 8)]   // a block of 8 and 5 slots one at a time
    [InlineData(7, 24)]   // fewer than 8 slots
    [InlineData(9, 5)]    // a width that is not a multiple of 8
    [InlineData(1, 1)]
    public void RowDots_GiveEachSlotsDotProductAndSquares(int rows, int width)
    {
        var random = new Random(rows * 100 + width);

        // Integer values: every sum is exact, so the slot-blocked horizontal sums must equal the naive ones exactly.
        float[] key = [.. Enumerable.Range(0, width).Select(_ => (float)random.Next(-9, 10))];
        float[] memory = [.. Enumerable.Range(0, rows * width).Select(_ => (float)random.Next(-9, 10))];
        var dots = new float[rows];
        var squares = new float[rows];
        SmallSpans.RowDots<float>(key, memory, rows, dots, squares);
        var dotsOnly = new float[rows];
        SmallSpans.RowDots<float>(key, memory, rows, dotsOnly, default);
        for (int i = 0; i < rows; i++)
        {
            float dot = 0, square = 0;
            for (int j = 0; j < width; j++)
            {
                dot += key[j] * memory[(i * width) + j];
                square += memory[(i * width) + j] * memory[(i * width) + j];
            }

            Assert.Equal(dot, dots[i]);
            Assert.Equal(square, squares[i]);
            Assert.Equal(dot, dotsOnly[i]);
        }

        // Real values: within float rounding of a double computation, and the same bits on a second call.
        float[] realKey = [.. Enumerable.Range(0, width).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] realMemory = [.. Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() - 0.5))];
        SmallSpans.RowDots<float>(realKey, realMemory, rows, dots, squares);
        var again = new float[rows];
        SmallSpans.RowDots<float>(realKey, realMemory, rows, again, default);
        Assert.Equal(dots, again);
        double[] doubles = new double[rows], doubleSquares = new double[rows];
        SmallSpans.RowDots<double>([.. realKey.Select(v => (double)v)], [.. realMemory.Select(v => (double)v)], rows, doubles, doubleSquares);
        for (int i = 0; i < rows; i++)
        {
            Assert.Equal(doubles[i], dots[i], 1e-5);
            Assert.Equal(doubleSquares[i], squares[i], 1e-5);
        }
    }

    [Fact]
    public void RowDots_RefusesSpansTooShortForTheirRows()
    {
        Assert.ThrowsAny<ArgumentException>(() => SmallSpans.RowDots<float>(new float[16], new float[16 * 7], 8, new float[8], default));
        Assert.ThrowsAny<ArgumentException>(() => SmallSpans.RowDots<float>(new float[16], new float[16 * 8], 8, new float[7], default));
        Assert.ThrowsAny<ArgumentException>(() => SmallSpans.RowDots<float>(new float[16], new float[16 * 8], 8, new float[8], new float[3]));
    }
}
