using System.Numerics;
using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.MemoryTasks;

/// <summary>Shapes shared by the memory tasks' pictures: suits, cards, right/wrong marks and ± signs, all without fonts.</summary>
internal static class MemoryTaskDrawing
{
    /// <summary>The width of a large card.</summary>
    public const float CardWidth = 80;

    /// <summary>The height of a large card.</summary>
    public const float CardHeight = 112;

    /// <summary>The half-height of the suit symbol on a large card.</summary>
    public const float CardSymbol = 26;

    /// <summary>Throws unless the canvas has the environment's picture size.</summary>
    public static void CheckCanvas(ICanvas canvas, IRenderable env) => GymnasiumScreen.CheckCanvas(canvas, env);

    /// <summary>
    /// A suit symbol of half-height <paramref name="size"/> centred at (<paramref name="cx"/>, <paramref name="cy"/>),
    /// in the suit's colour. The centre point is inside every symbol, so the pixel there has the suit's colour.
    /// </summary>
    public static void Suit(ICanvas canvas, int suit, float cx, float cy, float size)
    {
        Rgb color = MemoryTaskPalette.Suit(suit);
        float s = size;
        Span<Vector2> p = stackalloc Vector2[4];
        switch (suit)
        {
            case 0: // spades: an upside-down heart on a stem
                canvas.FillCircle(cx - 0.48f * s, cy + 0.2f * s, 0.48f * s, color);
                canvas.FillCircle(cx + 0.48f * s, cy + 0.2f * s, 0.48f * s, color);
                p[0] = new Vector2(cx, cy - s);
                p[1] = new Vector2(cx + 0.96f * s, cy + 0.28f * s);
                p[2] = new Vector2(cx - 0.96f * s, cy + 0.28f * s);
                canvas.FillPolygon(p[..3], color);
                Stem(canvas, p, cx, cy + 0.2f * s, cy + s, s, color);
                break;
            case 1: // diamonds
                p[0] = new Vector2(cx, cy - s);
                p[1] = new Vector2(cx + 0.75f * s, cy);
                p[2] = new Vector2(cx, cy + s);
                p[3] = new Vector2(cx - 0.75f * s, cy);
                canvas.FillPolygon(p, color);
                break;
            case 2: // clubs: three lobes on a stem
                canvas.FillCircle(cx, cy - 0.5f * s, 0.4f * s, color);
                canvas.FillCircle(cx - 0.5f * s, cy + 0.15f * s, 0.4f * s, color);
                canvas.FillCircle(cx + 0.5f * s, cy + 0.15f * s, 0.4f * s, color);
                canvas.FillCircle(cx, cy, 0.3f * s, color);
                Stem(canvas, p, cx, cy, cy + s, s, color);
                break;
            case 3: // hearts
                canvas.FillCircle(cx - 0.48f * s, cy - 0.3f * s, 0.5f * s, color);
                canvas.FillCircle(cx + 0.48f * s, cy - 0.3f * s, 0.5f * s, color);
                p[0] = new Vector2(cx - 0.97f * s, cy - 0.18f * s);
                p[1] = new Vector2(cx + 0.97f * s, cy - 0.18f * s);
                p[2] = new Vector2(cx, cy + s);
                canvas.FillPolygon(p[..3], color);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(suit), suit, "A suit is 0 to 3.");
        }
    }

    /// <summary>
    /// A card with its top-left corner at (<paramref name="x"/>, <paramref name="y"/>): white with the suit symbol in the
    /// middle, or a grey placeholder when <paramref name="suit"/> is negative; a thick gold border when highlighted.
    /// </summary>
    public static void Card(ICanvas canvas, float x, float y, float width, float height, int suit, bool highlighted)
    {
        canvas.FillRect(x, y, width, height, suit >= 0 ? Rgb.White : MemoryTaskPalette.Empty);
        if (highlighted)
        {
            canvas.StrokeRect(x + 2, y + 2, width - 4, height - 4, MemoryTaskPalette.Highlight, 4);
        }
        else
        {
            canvas.StrokeRect(x + 0.5f, y + 0.5f, width - 1, height - 1, MemoryTaskPalette.Border, 1);
        }

        if (suit >= 0)
        {
            Suit(canvas, suit, x + width / 2, y + height / 2, Math.Min(width, height) * (CardSymbol / CardWidth));
        }
    }

    /// <summary>
    /// A right (green disc with a white tick) or wrong (red disc with a white cross) mark of radius
    /// <paramref name="radius"/>. The point 0.6 × radius above the centre is always the disc's colour.
    /// </summary>
    public static void Mark(ICanvas canvas, bool right, float cx, float cy, float radius)
    {
        canvas.FillCircle(cx, cy, radius, right ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong);
        float r = radius, w = Math.Max(1.5f, radius / 5);
        if (right)
        {
            Span<Vector2> tick = [new(cx - 0.5f * r, cy), new(cx - 0.15f * r, cy + 0.35f * r), new(cx + 0.5f * r, cy - 0.35f * r)];
            canvas.Polyline(tick, Rgb.White, w);
        }
        else
        {
            canvas.Line(cx - 0.4f * r, cy - 0.4f * r, cx + 0.4f * r, cy + 0.4f * r, Rgb.White, w);
            canvas.Line(cx - 0.4f * r, cy + 0.4f * r, cx + 0.4f * r, cy - 0.4f * r, Rgb.White, w);
        }
    }

    /// <summary>A white plus (positive) or minus sign of half-width <paramref name="half"/>, drawn as bars.</summary>
    public static void Sign(ICanvas canvas, bool positive, float cx, float cy, float half)
    {
        float bar = Math.Max(2, half / 3);
        canvas.FillRect(cx - half, cy - bar / 2, 2 * half, bar, Rgb.White);
        if (positive)
        {
            canvas.FillRect(cx - bar / 2, cy - half, bar, 2 * half, Rgb.White);
        }
    }

    /// <summary>A triangle pointing down (<paramref name="down"/>) or up with its tip at (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public static void Pointer(ICanvas canvas, float x, float y, float size, bool down, Rgb color)
    {
        float dy = down ? -size : size;
        Span<Vector2> p = [new(x, y), new(x - size * 0.7f, y + dy), new(x + size * 0.7f, y + dy)];
        canvas.FillPolygon(p, color);
    }

    /// <summary>A stem: a triangle from (cx, top) down to a base of width 0.7 s at <paramref name="bottom"/>.</summary>
    private static void Stem(ICanvas canvas, Span<Vector2> p, float cx, float top, float bottom, float s, Rgb color)
    {
        p[0] = new Vector2(cx, top);
        p[1] = new Vector2(cx + 0.35f * s, bottom);
        p[2] = new Vector2(cx - 0.35f * s, bottom);
        canvas.FillPolygon(p[..3], color);
    }
}
