using System.Numerics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Tests.Rendering;

public sealed class CanvasTests
{
    private static readonly Rgb Red = new(255, 0, 0);
    private static readonly Rgb Blue = new(0, 0, 255);

    [Fact]
    public void RgbFrame_IsRowMajorWithThreeBytesPerPixel()
    {
        var frame = new RgbFrame(4, 3);
        frame[2, 1] = new Rgb(10, 20, 30);
        Assert.Equal(4 * 3 * 3, frame.Pixels.Length);
        int offset = ((1 * 4) + 2) * 3;
        Assert.Equal([10, 20, 30], frame.Pixels[offset..(offset + 3)]);
        Assert.Equal(new Rgb(10, 20, 30), frame[2, 1]);
        Assert.Equal(Rgb.Black, frame[3, 2]);
    }

    [Fact]
    public void RgbFrame_RefusesOutOfRangePixelsAndWrongBufferSizes()
    {
        var frame = new RgbFrame(4, 3);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => frame[4, 0]);
        Assert.Contains("Column 4 is outside the 4×3 frame", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => frame[0, -1]);
        var size = Assert.Throws<ArgumentException>(() => new RgbFrame(4, 3, new byte[35]));
        Assert.Contains("needs 36 bytes", size.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RgbFrame(0, 3));
    }

    [Fact]
    public void SkiaCanvas_FillsRectanglesOnWholePixels_AndLaterShapesCoverEarlierOnes()
    {
        using var canvas = new SkiaCanvas(20, 10);
        canvas.Clear(Rgb.White);
        canvas.FillRect(2, 3, 5, 4, Red); // columns 2..6, rows 3..6
        canvas.FillRect(6, 3, 2, 2, Blue);
        RgbFrame frame = canvas.ToFrame();

        Assert.Equal((20, 10), (frame.Width, frame.Height));
        Assert.Equal(Red, frame[2, 3]);
        Assert.Equal(Red, frame[5, 6]);
        Assert.Equal(Blue, frame[6, 3]);
        Assert.Equal(Blue, frame[7, 4]);
        Assert.Equal(Red, frame[6, 5]);
        Assert.Equal(Rgb.White, frame[1, 3]);
        Assert.Equal(Rgb.White, frame[2, 7]);
        Assert.Equal(Rgb.White, frame[8, 3]);
    }

    [Fact]
    public void SkiaCanvas_DrawsCirclesPolygonsAndLinesWhereTheyAre()
    {
        using var canvas = new SkiaCanvas(100, 100);
        canvas.Clear(Rgb.White);
        canvas.FillCircle(30, 30, 10, Red);
        canvas.FillPolygon([new Vector2(60, 60), new Vector2(90, 60), new Vector2(60, 90)], Blue);
        canvas.Line(0, 95.5f, 100, 95.5f, Rgb.Black);
        canvas.StrokeCircle(80, 20, 10, Rgb.Black, 2);
        RgbFrame frame = canvas.ToFrame();

        Assert.Equal(Red, frame[30, 30]);
        Assert.Equal(Red, frame[22, 30]);
        Assert.Equal(Rgb.White, frame[18, 30]);
        Assert.Equal(Rgb.White, frame[38, 38]); // outside the disc, inside its bounding box
        Assert.Equal(Blue, frame[65, 65]);
        Assert.Equal(Rgb.White, frame[85, 85]); // beyond the hypotenuse
        Assert.Equal(Rgb.Black, frame[50, 95]);
        Assert.Equal(Rgb.White, frame[50, 93]);
        Assert.Equal(Rgb.White, frame[80, 20]); // an outline leaves the centre empty
        Assert.True(frame[90, 20].R < 100, $"the outline passes through (90, 20), got {frame[90, 20]}");
    }

    [Fact]
    public void SkiaCanvas_ScaleDrawsTheSamePictureAtAnotherSize()
    {
        using var canvas = new SkiaCanvas(100, 50, scale: 0.5);
        Assert.Equal((100, 50), (canvas.Width, canvas.Height));
        Assert.Equal((50, 25), (canvas.FrameWidth, canvas.FrameHeight));
        canvas.Clear(Rgb.White);
        canvas.FillRect(20, 10, 40, 20, Red); // frame pixels 10..29 x 5..14
        RgbFrame frame = canvas.ToFrame();
        Assert.Equal((50, 25), (frame.Width, frame.Height));
        Assert.Equal(Red, frame[10, 5]);
        Assert.Equal(Red, frame[29, 14]);
        Assert.Equal(Rgb.White, frame[9, 5]);
        Assert.Equal(Rgb.White, frame[30, 14]);
        Assert.Equal(151, SkiaCanvas.ScaledSize(301, 0.5)); // round half away from zero
    }

    [Fact]
    public void SkiaCanvas_TextPutsDarkPixelsInsideItsLineBox()
    {
        using var canvas = new SkiaCanvas(200, 60);
        canvas.Clear(Rgb.White);
        canvas.Text("Cue 3", 10, 20, 20, Rgb.Black);
        RgbFrame frame = canvas.ToFrame();

        int dark = 0, outside = 0;
        for (int y = 0; y < frame.Height; y++)
        {
            for (int x = 0; x < frame.Width; x++)
            {
                if (frame[x, y].R < 128)
                {
                    bool inBox = x >= 10 && x < 100 && y >= 20 && y < 20 + 24;
                    if (inBox)
                    {
                        dark++;
                    }
                    else
                    {
                        outside++;
                    }
                }
            }
        }

        Assert.True(dark > 50, $"only {dark} dark pixels in the text's box");
        Assert.Equal(0, outside);
    }

    [Fact]
    public void SkiaCanvas_RefusesBadArguments_WithMessagesThatSayWhatIsAllowed()
    {
        Assert.Contains("scale must be in (0, 16]", Assert.Throws<ArgumentOutOfRangeException>(() => new SkiaCanvas(10, 10, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SkiaCanvas(0, 10));
        using var canvas = new SkiaCanvas(10, 10);
        Assert.Contains("at least 3 points", Assert.Throws<ArgumentException>(() => canvas.FillPolygon([Vector2.Zero, Vector2.One], Red)).Message);
        Assert.Contains("line width", Assert.Throws<ArgumentOutOfRangeException>(() => canvas.Line(0, 0, 5, 5, Red, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => canvas.FillCircle(5, 5, float.NaN, Red));
        Assert.Throws<ArgumentException>(() => canvas.CopyTo(new RgbFrame(5, 5)));
        canvas.Dispose();
        Assert.Throws<ObjectDisposedException>(() => canvas.FillRect(0, 0, 1, 1, Red));
    }

    [Fact]
    public void RecordingCanvas_RecordsEveryCallInOrder_WithCopiesOfThePoints()
    {
        var canvas = new RecordingCanvas(50, 40);
        Vector2[] points = [new(1, 2), new(3, 4), new(5, 6)];
        canvas.Clear(Rgb.White);
        canvas.FillRect(1, 2, 3, 4, Red);
        canvas.StrokeRect(1, 2, 3, 4, Red, 2);
        canvas.FillCircle(5, 6, 7, Blue);
        canvas.StrokeCircle(5, 6, 7, Blue, 3);
        canvas.Line(0, 1, 2, 3, Rgb.Black, 4);
        canvas.Polyline(points, Rgb.Black);
        canvas.FillPolygon(points, Red);
        canvas.StrokePolygon(points, Blue, 5);
        canvas.Text("hi", 7, 8, 12, Rgb.Black);
        points[0] = new Vector2(100, 100);

        Assert.Equal(
            [
                new ClearCall(Rgb.White),
                new FillRectCall(1, 2, 3, 4, Red),
                new StrokeRectCall(1, 2, 3, 4, Red, 2),
                new FillCircleCall(5, 6, 7, Blue),
                new StrokeCircleCall(5, 6, 7, Blue, 3),
                new LineCall(0, 1, 2, 3, Rgb.Black, 4),
            ],
            canvas.Calls.Take(6));
        Assert.Equal([new Vector2(1, 2), new Vector2(3, 4), new Vector2(5, 6)], Assert.IsType<PolylineCall>(canvas.Calls[6]).Points);
        Assert.Equal(Red, Assert.IsType<FillPolygonCall>(canvas.Calls[7]).Color);
        Assert.Equal(5, Assert.IsType<StrokePolygonCall>(canvas.Calls[8]).LineWidth);
        Assert.Equal(new TextCall("hi", 7, 8, 12, Rgb.Black), canvas.Calls[9]);
        Assert.Single(canvas.CallsOf<TextCall>());
        canvas.Reset();
        Assert.Empty(canvas.Calls);
    }
}
