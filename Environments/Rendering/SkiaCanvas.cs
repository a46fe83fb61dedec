using System.Numerics;
using SkiaSharp;

namespace RlMemory.Environments.Rendering;

/// <summary>
/// The raster backend of <see cref="ICanvas"/>: draws with SkiaSharp (anti-aliased) into a bitmap and returns it as an
/// <see cref="RgbFrame"/>. One canvas can draw many pictures in turn; <see cref="Draw"/> clears it first.
/// </summary>
/// <remarks>
/// With a <c>scale</c> other than 1, the picture is drawn in the environment's coordinates and scaled by Skia, so the
/// frame is <c>round(width × scale)</c> × <c>round(height × scale)</c> pixels with crisp edges. Text uses the first
/// sans-serif font found among the system's fonts (DejaVu Sans on Debian, package <c>fonts-dejavu-core</c>).
/// Not thread-safe: use one canvas per thread.
/// </remarks>
public sealed class SkiaCanvas : ICanvas, IDisposable
{
    /// <summary>The font families tried for <see cref="Text"/>, in order, before the system's default.</summary>
    private static readonly string[] FontFamilies = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans", "FreeSans"];

    private static readonly Lazy<SKTypeface?> LazyTypeface = new(FindTypeface);

    private readonly SKBitmap _bitmap;
    private readonly SKCanvas _canvas;
    private readonly SKPaint _fill = new() { IsAntialias = true, Style = SKPaintStyle.Fill };
    private readonly SKPaint _stroke = new() { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Butt, StrokeJoin = SKStrokeJoin.Miter };
    private readonly SKPath _path = new();
    private bool _disposed;

    /// <summary>Creates a canvas for pictures of <paramref name="width"/> × <paramref name="height"/>, rasterized at <paramref name="scale"/>.</summary>
    /// <param name="width">The picture's width in drawing coordinates (the environment's <see cref="IRenderable.RenderWidth"/>).</param>
    /// <param name="height">The picture's height in drawing coordinates.</param>
    /// <param name="scale">The ratio of frame pixels to drawing pixels, in (0, 16]; the frame is <c>round(width × scale)</c> wide (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the scale is not in (0, 16].</exception>
    public SkiaCanvas(int width, int height, double scale = 1.0)
    {
        if (width <= 0 || width > 16384)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, "SkiaCanvas: width must be in [1, 16384].");
        }

        if (height <= 0 || height > 16384)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, "SkiaCanvas: height must be in [1, 16384].");
        }

        if (!(scale > 0 && scale <= 16))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "SkiaCanvas: scale must be in (0, 16].");
        }

        Width = width;
        Height = height;
        FrameWidth = ScaledSize(width, scale);
        FrameHeight = ScaledSize(height, scale);
        _bitmap = new SKBitmap(new SKImageInfo(FrameWidth, FrameHeight, SKColorType.Rgba8888, SKAlphaType.Premul));
        _canvas = new SKCanvas(_bitmap);
        _canvas.Scale(FrameWidth / (float)width, FrameHeight / (float)height);
        _canvas.Clear(SKColors.White);
    }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <summary>The width of the frames this canvas produces, in pixels.</summary>
    public int FrameWidth { get; }

    /// <summary>The height of the frames this canvas produces, in pixels.</summary>
    public int FrameHeight { get; }

    /// <summary>The frame size for a picture of <paramref name="size"/> pixels drawn at <paramref name="scale"/>: <c>max(1, round(size × scale))</c>.</summary>
    public static int ScaledSize(int size, double scale) => Math.Max(1, (int)Math.Round(size * scale, MidpointRounding.AwayFromZero));

    /// <summary>Draws <paramref name="renderable"/>'s current picture on a new canvas and returns the frame.</summary>
    /// <exception cref="ArgumentException">The renderable reports a size that is not positive.</exception>
    public static RgbFrame Render(IRenderable renderable, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(renderable);
        using var canvas = new SkiaCanvas(renderable.RenderWidth, renderable.RenderHeight, scale);
        canvas.Draw(renderable);
        return canvas.ToFrame();
    }

    /// <summary>Clears the canvas to white and lets <paramref name="renderable"/> draw on it.</summary>
    /// <exception cref="ArgumentException">The renderable's size differs from this canvas's.</exception>
    public void Draw(IRenderable renderable)
    {
        ArgumentNullException.ThrowIfNull(renderable);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (renderable.RenderWidth != Width || renderable.RenderHeight != Height)
        {
            throw new ArgumentException(
                $"SkiaCanvas: {renderable.GetType().Name} draws {renderable.RenderWidth}×{renderable.RenderHeight} pictures; this canvas is {Width}×{Height}.",
                nameof(renderable));
        }

        _canvas.Clear(SKColors.White);
        renderable.Render(this);
        _canvas.Flush();
    }

    /// <summary>A new frame with the canvas's current pixels (<see cref="FrameWidth"/> × <see cref="FrameHeight"/>).</summary>
    public RgbFrame ToFrame()
    {
        var frame = new RgbFrame(FrameWidth, FrameHeight);
        CopyTo(frame);
        return frame;
    }

    /// <summary>Copies the canvas's current pixels into <paramref name="frame"/>, which must be <see cref="FrameWidth"/> × <see cref="FrameHeight"/>.</summary>
    /// <exception cref="ArgumentException">The frame has another size.</exception>
    public void CopyTo(RgbFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (frame.Width != FrameWidth || frame.Height != FrameHeight)
        {
            throw new ArgumentException(
                $"SkiaCanvas: the frame is {frame.Width}×{frame.Height}; this canvas produces {FrameWidth}×{FrameHeight} frames.", nameof(frame));
        }

        _canvas.Flush();
        ReadOnlySpan<byte> rgba = _bitmap.GetPixelSpan();
        Span<byte> rgb = frame.Pixels;
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
    }

    /// <inheritdoc />
    public void Clear(Rgb color)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _canvas.Clear(ToSk(color));
    }

    /// <inheritdoc />
    public void FillRect(float x, float y, float width, float height, Rgb color) =>
        _canvas.DrawRect(x, y, width, height, Fill(color));

    /// <inheritdoc />
    public void StrokeRect(float x, float y, float width, float height, Rgb color, float lineWidth = 1) =>
        _canvas.DrawRect(x, y, width, height, Stroke(color, lineWidth));

    /// <inheritdoc />
    public void FillCircle(float centerX, float centerY, float radius, Rgb color) =>
        _canvas.DrawCircle(centerX, centerY, CheckRadius(radius), Fill(color));

    /// <inheritdoc />
    public void StrokeCircle(float centerX, float centerY, float radius, Rgb color, float lineWidth = 1) =>
        _canvas.DrawCircle(centerX, centerY, CheckRadius(radius), Stroke(color, lineWidth));

    /// <inheritdoc />
    public void Line(float x0, float y0, float x1, float y1, Rgb color, float width = 1) =>
        _canvas.DrawLine(x0, y0, x1, y1, Stroke(color, width));

    /// <inheritdoc />
    public void Polyline(ReadOnlySpan<Vector2> points, Rgb color, float width = 1)
    {
        CheckPoints(points, 2, nameof(Polyline));
        _canvas.DrawPath(BuildPath(points, close: false), Stroke(color, width));
    }

    /// <inheritdoc />
    public void FillPolygon(ReadOnlySpan<Vector2> points, Rgb color)
    {
        CheckPoints(points, 3, nameof(FillPolygon));
        _canvas.DrawPath(BuildPath(points, close: true), Fill(color));
    }

    /// <inheritdoc />
    public void StrokePolygon(ReadOnlySpan<Vector2> points, Rgb color, float lineWidth = 1)
    {
        CheckPoints(points, 3, nameof(StrokePolygon));
        _canvas.DrawPath(BuildPath(points, close: true), Stroke(color, lineWidth));
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No font with glyphs was found on this system.</exception>
    public void Text(string text, float x, float y, float size, Rgb color)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!(size > 0) || float.IsInfinity(size))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "SkiaCanvas.Text: size must be a positive number of pixels.");
        }

        SKTypeface typeface = LazyTypeface.Value ?? throw new InvalidOperationException(
            "SkiaCanvas.Text: no font was found on this system (SkiaSharp looks in /usr/share/fonts). Install one, "
            + "e.g. on Debian or Ubuntu: apt-get install fonts-dejavu-core.");
        using var font = new SKFont(typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true };
        // Top of the line = baseline + ascent (ascent is negative in Skia's metrics).
        float baseline = y - font.Metrics.Ascent;
        _canvas.DrawText(text, x, baseline, SKTextAlign.Left, font, Fill(color));
    }

    /// <summary>Releases the bitmap and the drawing objects.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _path.Dispose();
        _fill.Dispose();
        _stroke.Dispose();
        _canvas.Dispose();
        _bitmap.Dispose();
    }

    private static SKTypeface? FindTypeface()
    {
        SKFontManager manager = SKFontManager.Default;
        foreach (string family in FontFamilies)
        {
            SKTypeface? candidate = manager.MatchFamily(family);
            if (candidate is not null && candidate.GlyphCount > 0)
            {
                return candidate;
            }

            candidate?.Dispose();
        }

        SKTypeface? any = manager.MatchCharacter('A');
        if (any is not null && any.GlyphCount > 0)
        {
            return any;
        }

        SKTypeface fallback = SKTypeface.Default;
        return fallback.GlyphCount > 0 ? fallback : null;
    }

    private SKPaint Fill(Rgb color)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _fill.Color = ToSk(color);
        return _fill;
    }

    private SKPaint Stroke(Rgb color, float width)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!(width > 0) || float.IsInfinity(width))
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, "SkiaCanvas: a line width must be a positive number of pixels.");
        }

        _stroke.Color = ToSk(color);
        _stroke.StrokeWidth = width;
        return _stroke;
    }

    private SKPath BuildPath(ReadOnlySpan<Vector2> points, bool close)
    {
        _path.Reset();
        _path.MoveTo(points[0].X, points[0].Y);
        for (int i = 1; i < points.Length; i++)
        {
            _path.LineTo(points[i].X, points[i].Y);
        }

        if (close)
        {
            _path.Close();
        }

        return _path;
    }

    private static float CheckRadius(float radius) =>
        radius >= 0 && !float.IsInfinity(radius)
            ? radius
            : throw new ArgumentOutOfRangeException(nameof(radius), radius, "SkiaCanvas: a radius must be a finite number >= 0.");

    private static void CheckPoints(ReadOnlySpan<Vector2> points, int minimum, string call)
    {
        if (points.Length < minimum)
        {
            throw new ArgumentException($"SkiaCanvas.{call} needs at least {minimum} points, got {points.Length}.", nameof(points));
        }
    }

    private static SKColor ToSk(Rgb color) => new(color.R, color.G, color.B);
}
