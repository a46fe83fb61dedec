using System.Numerics;

namespace RlMemory.Environments.Rendering;

/// <summary>
/// A small 2D drawing surface that environments draw their pictures on (see <see cref="IRenderable"/>). The backend is
/// swappable: <see cref="SkiaCanvas"/> rasterizes into an <see cref="RgbFrame"/>, <see cref="RecordingCanvas"/> records
/// the calls for tests.
/// </summary>
/// <remarks>
/// Coordinates are in pixels of the picture's own size (<see cref="Width"/> × <see cref="Height"/>), with the origin at
/// the top-left corner and y growing downwards. Pixel (i, j) covers the square [i, i + 1) × [j, j + 1), so its centre is
/// (i + 0.5, j + 0.5). A backend may scale the whole picture (e.g. to record smaller videos); drawing code never sees
/// that. Shapes are drawn in call order, later ones over earlier ones; raster backends anti-alias edges.
/// </remarks>
public interface ICanvas
{
    /// <summary>The width of the picture, in the environment's pixels.</summary>
    int Width { get; }

    /// <summary>The height of the picture, in the environment's pixels.</summary>
    int Height { get; }

    /// <summary>Fills the whole picture with <paramref name="color"/>.</summary>
    void Clear(Rgb color);

    /// <summary>Fills the axis-aligned rectangle with top-left corner (<paramref name="x"/>, <paramref name="y"/>).</summary>
    void FillRect(float x, float y, float width, float height, Rgb color);

    /// <summary>Outlines the axis-aligned rectangle with top-left corner (<paramref name="x"/>, <paramref name="y"/>); the outline is centred on its edges.</summary>
    void StrokeRect(float x, float y, float width, float height, Rgb color, float lineWidth = 1);

    /// <summary>Fills the disc of radius <paramref name="radius"/> centred at (<paramref name="centerX"/>, <paramref name="centerY"/>).</summary>
    void FillCircle(float centerX, float centerY, float radius, Rgb color);

    /// <summary>Outlines the circle of radius <paramref name="radius"/> centred at (<paramref name="centerX"/>, <paramref name="centerY"/>).</summary>
    void StrokeCircle(float centerX, float centerY, float radius, Rgb color, float lineWidth = 1);

    /// <summary>Draws a straight line from (<paramref name="x0"/>, <paramref name="y0"/>) to (<paramref name="x1"/>, <paramref name="y1"/>) with butt ends.</summary>
    void Line(float x0, float y0, float x1, float y1, Rgb color, float width = 1);

    /// <summary>Draws connected line segments through <paramref name="points"/> (open: the last point is not joined to the first).</summary>
    void Polyline(ReadOnlySpan<Vector2> points, Rgb color, float width = 1);

    /// <summary>Fills the closed polygon through <paramref name="points"/> (at least 3).</summary>
    void FillPolygon(ReadOnlySpan<Vector2> points, Rgb color);

    /// <summary>Outlines the closed polygon through <paramref name="points"/> (at least 3).</summary>
    void StrokePolygon(ReadOnlySpan<Vector2> points, Rgb color, float lineWidth = 1);

    /// <summary>
    /// Writes one line of <paramref name="text"/> in a sans-serif font of size <paramref name="size"/> pixels (the em
    /// height, as CSS's <c>font-size</c>); (<paramref name="x"/>, <paramref name="y"/>) is the left end of the line's top
    /// (the baseline lies about 0.93 × <paramref name="size"/> lower).
    /// </summary>
    void Text(string text, float x, float y, float size, Rgb color);
}
