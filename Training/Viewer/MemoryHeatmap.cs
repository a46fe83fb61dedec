using System.Globalization;
using RlMemory.Environments.Rendering;

namespace RlMemory.Training.Viewer;

/// <summary>
/// Draws a <see cref="MemoryTraceWindow"/> as heatmaps, one per trace, stacked top to bottom: time runs left to right
/// (the newest step at the right edge, <see cref="MemoryTraceWindow.Capacity"/> steps across), slots top to bottom (slot 0
/// at the top). Each trace is scaled by its largest value in the window (shown in its label) and coloured with the
/// viridis colour map: dark purple for 0, yellow for the maximum. Steps not played yet are light grey.
/// </summary>
/// <remarks>
/// The panel has a fixed size, so it can sit beside an environment's frames in a video. When there are more slots (or
/// steps) than pixels, each pixel shows the nearest slot (or step). Labels need a font (see <see cref="SkiaCanvas"/>).
/// Not thread-safe: one heatmap per thread.
/// </remarks>
public sealed class MemoryHeatmap : IDisposable
{
    /// <summary>The colour of cells with no step yet.</summary>
    public static readonly Rgb Empty = new(235, 235, 235);

    private const int Margin = 6;
    private const int LabelHeight = 15;
    private const int TitleHeight = 18;

    private static readonly (float At, Rgb Color)[] Viridis =
    [
        (0f, new Rgb(68, 1, 84)),
        (0.25f, new Rgb(59, 82, 139)),
        (0.5f, new Rgb(33, 145, 140)),
        (0.75f, new Rgb(94, 201, 98)),
        (1f, new Rgb(253, 231, 37)),
    ];

    private static readonly Rgb[] Lut = BuildLut();

    private readonly SkiaCanvas _canvas;

    /// <summary>Creates a heatmap panel of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The panel is smaller than 64 × 64 or larger than 4096 × 4096.</exception>
    public MemoryHeatmap(int width = 320, int height = 400)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, 4096);
        _canvas = new SkiaCanvas(width, height);
        Width = width;
        Height = height;
    }

    /// <summary>The panel width in pixels.</summary>
    public int Width { get; }

    /// <summary>The panel height in pixels.</summary>
    public int Height { get; }

    /// <summary>The viridis colour of <paramref name="value"/> in [0, 1] (clamped; NaN counts as 0).</summary>
    public static Rgb ColorOf(float value)
    {
        float v = float.IsNaN(value) ? 0 : Math.Clamp(value, 0, 1);
        return Lut[(int)MathF.Round(v * 255)];
    }

    /// <summary>Where trace <paramref name="trace"/>'s cells lie in a panel of this size with <paramref name="traces"/> traces.</summary>
    /// <returns>The top-left corner and size of the cell area, in panel pixels.</returns>
    public (int X, int Y, int Width, int Height) CellArea(int trace, int traces)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(traces, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(trace);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(trace, traces);
        int available = Height - TitleHeight - Margin - traces * (LabelHeight + Margin);
        int each = Math.Max(1, available / traces);
        int y = TitleHeight + trace * (LabelHeight + each + Margin) + LabelHeight;
        return (Margin, y, Width - 2 * Margin, each);
    }

    /// <summary>Draws <paramref name="window"/> into <paramref name="panel"/> (a frame of <see cref="Width"/> × <see cref="Height"/>).</summary>
    /// <exception cref="ArgumentException">The frame has another size.</exception>
    public void Draw(MemoryTraceWindow window, RgbFrame panel)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(panel);
        if (panel.Width != Width || panel.Height != Height)
        {
            throw new ArgumentException($"MemoryHeatmap: the panel is {Width}×{Height}; got a {panel.Width}×{panel.Height} frame.", nameof(panel));
        }

        int traces = window.Names.Count;
        var max = new float[traces];
        _canvas.Clear(Rgb.White);
        _canvas.Text(
            string.Create(CultureInfo.InvariantCulture, $"memory: {window.Slots} slots, last {window.Capacity} steps"),
            Margin, 2, 12, new Rgb(40, 40, 40));
        for (int t = 0; t < traces; t++)
        {
            max[t] = window.Max(t);
            var (_, y, _, _) = CellArea(t, traces);
            _canvas.Text(string.Create(CultureInfo.InvariantCulture, $"{window.Names[t]}  (max {max[t]:0.###})"), Margin, y - LabelHeight + 1, 11, new Rgb(40, 40, 40));
        }

        _canvas.CopyTo(panel);
        for (int t = 0; t < traces; t++)
        {
            DrawCells(window, t, max[t], CellArea(t, traces), panel);
        }
    }

    /// <summary>Draws <paramref name="window"/> into a new frame of the panel's size.</summary>
    public RgbFrame Draw(MemoryTraceWindow window)
    {
        var frame = new RgbFrame(Width, Height);
        Draw(window, frame);
        return frame;
    }

    /// <inheritdoc />
    public void Dispose() => _canvas.Dispose();

    private static void DrawCells(MemoryTraceWindow window, int trace, float max, (int X, int Y, int Width, int Height) area, RgbFrame panel)
    {
        byte[] pixels = panel.Pixels;
        float scale = max > 0 ? 1 / max : 0;
        for (int px = 0; px < area.Width; px++)
        {
            // Column px shows the step `age` steps ago; the right edge is the newest.
            int column = (int)((long)px * window.Capacity / area.Width);
            int age = window.Capacity - 1 - column;
            ReadOnlySpan<float> step = age < window.Count ? window.StepValues(age).Slice(trace * window.Slots, window.Slots) : default;
            for (int py = 0; py < area.Height; py++)
            {
                Rgb color = step.IsEmpty ? Empty : ColorOf(step[(int)((long)py * window.Slots / area.Height)] * scale);
                int i = (((area.Y + py) * panel.Width) + area.X + px) * 3;
                pixels[i] = color.R;
                pixels[i + 1] = color.G;
                pixels[i + 2] = color.B;
            }
        }
    }

    private static Rgb[] BuildLut()
    {
        var lut = new Rgb[256];
        for (int i = 0; i < 256; i++)
        {
            float v = i / 255f;
            int k = 0;
            while (k < Viridis.Length - 2 && v > Viridis[k + 1].At)
            {
                k++;
            }

            var (a, ca) = Viridis[k];
            var (b, cb) = Viridis[k + 1];
            float f = (v - a) / (b - a);
            lut[i] = new Rgb(Lerp(ca.R, cb.R, f), Lerp(ca.G, cb.G, f), Lerp(ca.B, cb.B, f));
        }

        return lut;
    }

    private static byte Lerp(byte a, byte b, float f) => (byte)MathF.Round(a + ((b - a) * f));
}
