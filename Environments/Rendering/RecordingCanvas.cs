using System.Collections.ObjectModel;
using System.Numerics;

namespace RlMemory.Environments.Rendering;

/// <summary>
/// A backend of <see cref="ICanvas"/> that draws nothing and records each call as a <see cref="DrawCall"/>, so tests can
/// check what an environment draws (which shapes, where, in which colours, in which order) without looking at pixels.
/// </summary>
public sealed class RecordingCanvas : ICanvas
{
    private readonly List<DrawCall> _calls = [];

    /// <summary>Creates a recording canvas for pictures of <paramref name="width"/> × <paramref name="height"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public RecordingCanvas(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        Calls = new ReadOnlyCollection<DrawCall>(_calls);
    }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <summary>The calls made so far, in order.</summary>
    public IReadOnlyList<DrawCall> Calls { get; }

    /// <summary>Lets <paramref name="renderable"/> draw on a new recording canvas of its size and returns the canvas.</summary>
    public static RecordingCanvas Record(IRenderable renderable)
    {
        ArgumentNullException.ThrowIfNull(renderable);
        var canvas = new RecordingCanvas(renderable.RenderWidth, renderable.RenderHeight);
        renderable.Render(canvas);
        return canvas;
    }

    /// <summary>The recorded calls of type <typeparamref name="T"/>, in order.</summary>
    public IReadOnlyList<T> CallsOf<T>() where T : DrawCall => [.. _calls.OfType<T>()];

    /// <summary>Forgets the recorded calls.</summary>
    public void Reset() => _calls.Clear();

    /// <inheritdoc />
    public void Clear(Rgb color) => _calls.Add(new ClearCall(color));

    /// <inheritdoc />
    public void FillRect(float x, float y, float width, float height, Rgb color) => _calls.Add(new FillRectCall(x, y, width, height, color));

    /// <inheritdoc />
    public void StrokeRect(float x, float y, float width, float height, Rgb color, float lineWidth = 1) =>
        _calls.Add(new StrokeRectCall(x, y, width, height, color, lineWidth));

    /// <inheritdoc />
    public void FillCircle(float centerX, float centerY, float radius, Rgb color) => _calls.Add(new FillCircleCall(centerX, centerY, radius, color));

    /// <inheritdoc />
    public void StrokeCircle(float centerX, float centerY, float radius, Rgb color, float lineWidth = 1) =>
        _calls.Add(new StrokeCircleCall(centerX, centerY, radius, color, lineWidth));

    /// <inheritdoc />
    public void Line(float x0, float y0, float x1, float y1, Rgb color, float width = 1) => _calls.Add(new LineCall(x0, y0, x1, y1, color, width));

    /// <inheritdoc />
    public void Polyline(ReadOnlySpan<Vector2> points, Rgb color, float width = 1) =>
        _calls.Add(new PolylineCall(Copy(points, 2, nameof(Polyline)), color, width));

    /// <inheritdoc />
    public void FillPolygon(ReadOnlySpan<Vector2> points, Rgb color) =>
        _calls.Add(new FillPolygonCall(Copy(points, 3, nameof(FillPolygon)), color));

    /// <inheritdoc />
    public void StrokePolygon(ReadOnlySpan<Vector2> points, Rgb color, float lineWidth = 1) =>
        _calls.Add(new StrokePolygonCall(Copy(points, 3, nameof(StrokePolygon)), color, lineWidth));

    /// <inheritdoc />
    public void Text(string text, float x, float y, float size, Rgb color)
    {
        ArgumentNullException.ThrowIfNull(text);
        _calls.Add(new TextCall(text, x, y, size, color));
    }

    private static IReadOnlyList<Vector2> Copy(ReadOnlySpan<Vector2> points, int minimum, string call)
    {
        if (points.Length < minimum)
        {
            throw new ArgumentException($"RecordingCanvas.{call} needs at least {minimum} points, got {points.Length}.", nameof(points));
        }

        return Array.AsReadOnly(points.ToArray());
    }
}

/// <summary>One call recorded by a <see cref="RecordingCanvas"/>.</summary>
/// <param name="Color">The colour the call drew with.</param>
public abstract record DrawCall(Rgb Color);

/// <summary>A recorded <see cref="ICanvas.Clear"/>.</summary>
public sealed record ClearCall(Rgb Color) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.FillRect"/>.</summary>
public sealed record FillRectCall(float X, float Y, float Width, float Height, Rgb Color) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.StrokeRect"/>.</summary>
public sealed record StrokeRectCall(float X, float Y, float Width, float Height, Rgb Color, float LineWidth) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.FillCircle"/>.</summary>
public sealed record FillCircleCall(float CenterX, float CenterY, float Radius, Rgb Color) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.StrokeCircle"/>.</summary>
public sealed record StrokeCircleCall(float CenterX, float CenterY, float Radius, Rgb Color, float LineWidth) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.Line"/>.</summary>
public sealed record LineCall(float X0, float Y0, float X1, float Y1, Rgb Color, float Width) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.Polyline"/> (the points are a copy).</summary>
public sealed record PolylineCall(IReadOnlyList<Vector2> Points, Rgb Color, float Width) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.FillPolygon"/> (the points are a copy).</summary>
public sealed record FillPolygonCall(IReadOnlyList<Vector2> Points, Rgb Color) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.StrokePolygon"/> (the points are a copy).</summary>
public sealed record StrokePolygonCall(IReadOnlyList<Vector2> Points, Rgb Color, float LineWidth) : DrawCall(Color);

/// <summary>A recorded <see cref="ICanvas.Text"/>.</summary>
public sealed record TextCall(string Text, float X, float Y, float Size, Rgb Color) : DrawCall(Color);
