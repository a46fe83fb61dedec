using System.Numerics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Geometry shared by the classic-control drawings, which follow Gymnasium 1.0's pygame code: Gymnasium draws with y
/// up and flips the surface vertically at the end; here each y-up coordinate is mapped to the screen as it lands after
/// that flip (<c>screenY = height − y</c>), so the frames match.
/// </summary>
internal static class GymnasiumScreen
{
    /// <summary>A y-up point as it lands on the screen (y down) after Gymnasium's vertical flip.</summary>
    public static Vector2 Flip(int height, double x, double y) => new((float)x, (float)(height - y));

    /// <summary>
    /// The centre, on the screen, of the pixel that pygame addresses as (<paramref name="px"/>, <paramref name="py"/>) on
    /// the y-up surface (pygame's circles and lines are centred on whole pixels).
    /// </summary>
    public static Vector2 PixelCentre(int height, int px, int py) => new(px + 0.5f, height - py - 0.5f);

    /// <summary>pygame's <c>Vector2(x, y).rotate_rad(angle)</c>: rotates counter-clockwise in y-up coordinates.</summary>
    public static (double X, double Y) Rotate(double x, double y, double angle)
    {
        double c = Math.Cos(angle), s = Math.Sin(angle);
        return (x * c - y * s, x * s + y * c);
    }

    /// <summary>
    /// The four corners <c>(l, b), (l, t), (r, t), (r, b)</c> rotated by <paramref name="angle"/>, shifted by
    /// (<paramref name="dx"/>, <paramref name="dy"/>) in y-up coordinates, and flipped onto the screen.
    /// </summary>
    public static void RotatedBox(
        Span<Vector2> corners, int height, double l, double r, double t, double b, double angle, double dx, double dy)
    {
        ReadOnlySpan<(double X, double Y)> box = [(l, b), (l, t), (r, t), (r, b)];
        for (int i = 0; i < 4; i++)
        {
            var (x, y) = Rotate(box[i].X, box[i].Y, angle);
            corners[i] = Flip(height, x + dx, y + dy);
        }
    }

    /// <summary>Throws unless the canvas has the picture size the environment draws.</summary>
    public static void CheckCanvas(ICanvas canvas, IRenderable env)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        if (canvas.Width != env.RenderWidth || canvas.Height != env.RenderHeight)
        {
            throw new ArgumentException(
                $"{env.GetType().Name} draws {env.RenderWidth}×{env.RenderHeight} pictures; the canvas is {canvas.Width}×{canvas.Height}.",
                nameof(canvas));
        }
    }
}
