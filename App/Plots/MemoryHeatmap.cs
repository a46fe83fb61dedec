using System.Globalization;
using RlMemory.Agents.Recurrent;
using RlMemory.App.Viewer;
using RlMemory.Environments.Rendering;
using RlMemory.Training;
using SkiaSharp;

namespace RlMemory.App.Plots;

/// <summary>How <see cref="MemoryHeatmap.Render"/> lays out a trace.</summary>
public sealed record MemoryHeatmapOptions
{
    /// <summary>Pixels per time step (the width of a cell). Allowed: [1, 64]; default 6.</summary>
    public int CellWidth { get; init; } = 6;

    /// <summary>Pixels per memory slot (the height of a cell). Allowed: [1, 64]; default 6.</summary>
    public int CellHeight { get; init; } = 6;

    /// <summary>Whether to draw panel names and the step axis (needs a system font); without, only the cells are drawn.</summary>
    public bool Labels { get; init; } = true;

    /// <summary>A step to mark with a red frame in every panel (e.g. the current frame in an episode viewer); null for none.</summary>
    public int? MarkStep { get; init; }

    /// <summary>Throws when a field is out of range, naming it and the value.</summary>
    public MemoryHeatmapOptions Validate()
    {
        if (CellWidth is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(CellWidth), CellWidth, $"MemoryHeatmapOptions.CellWidth must be in [1, 64], got {CellWidth}.");
        }

        if (CellHeight is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(CellHeight), CellHeight, $"MemoryHeatmapOptions.CellHeight must be in [1, 64], got {CellHeight}.");
        }

        return this;
    }
}

/// <summary>
/// Draws an external memory's weightings as heatmaps: time left to right, slots top to bottom (slot 0 on top), each
/// value coloured with one colour map, ScottPlot's viridis (dark purple 0, yellow 1), so a PNG, a GIF
/// and the browser viewer colour the same memory alike. Two layouts share the cell drawing:
/// <list type="bullet">
/// <item><b>A whole trace</b> (<see cref="Render"/>, <see cref="SavePng"/>): one panel for the write weighting, one per
/// read head, one for the usage, stacked, each cell <see cref="MemoryHeatmapOptions.CellWidth"/> ×
/// <see cref="MemoryHeatmapOptions.CellHeight"/> pixels, on the fixed range [0, 1] so that panels and episodes compare
/// directly; NaN is magenta.</item>
/// <item><b>A panel of fixed size</b> (an instance, <see cref="Draw(MemoryTraceWindow, RgbFrame)"/>): the last steps of a
/// <see cref="MemoryTraceWindow"/> (newest at the right edge), one heatmap per trace, each scaled by its largest value
/// in the window (shown in its label); steps not played yet are light grey. It can sit beside an environment's frames
/// in a video; with more slots or steps than pixels, each pixel shows the nearest.</item>
/// </list>
/// </summary>
/// <remarks>
/// Trace layout, in pixels: a margin of <see cref="Margin"/> around everything; with labels, a column of
/// <see cref="LabelWidth"/> on the left for the panel names and a row of <see cref="AxisHeight"/> below for the step
/// axis; panels of N·CellHeight, <see cref="Gap"/> apart. So the frame is <c>2·Margin + LabelWidth + T·CellWidth</c>
/// wide and <c>2·Margin + P·N·CellHeight + (P − 1)·Gap + AxisHeight</c> high, with P = R + 2 panels (<see cref="Size"/>).
/// Labels need a font (see <see cref="SkiaCanvas"/>). An instance is not thread-safe: one per thread.
/// </remarks>
public sealed class MemoryHeatmap : IDisposable
{
    /// <summary>Pixels around a trace's picture.</summary>
    public const int Margin = 4;

    /// <summary>Pixels between a trace's panels.</summary>
    public const int Gap = 4;

    /// <summary>Width of a trace's panel-name column (labels only).</summary>
    public const int LabelWidth = 52;

    /// <summary>Height of a trace's step axis below the panels (labels only).</summary>
    public const int AxisHeight = 16;

    /// <summary>The colour of cells with no step yet.</summary>
    public static readonly Rgb Empty = new(235, 235, 235);

    private const int MaxSide = 16384;
    private const int PanelMargin = 6;
    private const int PanelLabelHeight = 15;
    private const int PanelTitleHeight = 18;

    private static readonly Rgb Background = new(255, 255, 255);
    private static readonly Rgb Ink = new(40, 40, 40);
    private static readonly Rgb Mark = new(230, 30, 30);
    private static readonly Rgb NaNColor = new(255, 0, 255);
    private static readonly Rgb[] Viridis = BuildViridis();

    private readonly SkiaCanvas _canvas;

    /// <summary>Creates a heatmap panel of <paramref name="width"/> × <paramref name="height"/> pixels for <see cref="MemoryTraceWindow"/>s.</summary>
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

    /// <summary>The values of one time step's slots (empty: no step there yet).</summary>
    private delegate ReadOnlySpan<float> ColumnValues(int column);

    /// <summary>The panel width in pixels.</summary>
    public int Width { get; }

    /// <summary>The panel height in pixels.</summary>
    public int Height { get; }

    /// <summary>The viridis colour of <paramref name="value"/>, clamped to [0, 1]; NaN is magenta.</summary>
    public static Rgb ColorOf(double value) =>
        double.IsNaN(value) ? NaNColor : Viridis[(int)Math.Round(Math.Clamp(value, 0, 1) * (Viridis.Length - 1), MidpointRounding.AwayFromZero)];

    // ------------------------------------------------------------------ a whole trace

    /// <summary>The frame size for <paramref name="trace"/>: see the remarks.</summary>
    public static (int Width, int Height) Size(MemoryTrace trace, MemoryHeatmapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        options = (options ?? new MemoryHeatmapOptions()).Validate();
        long panels = trace.ReadHeads + 2;
        long width = (2L * Margin) + (options.Labels ? LabelWidth : 0) + ((long)trace.Count * options.CellWidth);
        long height = (2L * Margin) + (panels * trace.Slots * options.CellHeight) + ((panels - 1) * Gap) + (options.Labels ? AxisHeight : 0);
        if (width > MaxSide || height > MaxSide)
        {
            throw new ArgumentException(
                $"MemoryHeatmap: {trace.Count} steps × {trace.Slots} slots give a {width}×{height} picture; the largest is {MaxSide}×{MaxSide}. "
                + "Use smaller cells (MemoryHeatmapOptions.CellWidth / CellHeight) or a shorter trace.",
                nameof(trace));
        }

        return ((int)width, (int)height);
    }

    /// <summary>Draws the heatmaps of <paramref name="trace"/> into a new frame of <see cref="Size"/>.</summary>
    /// <exception cref="ArgumentException">The trace is empty or would give a picture larger than 16384 pixels a side; <see cref="MemoryHeatmapOptions.MarkStep"/> is outside the trace.</exception>
    public static RgbFrame Render(MemoryTrace trace, MemoryHeatmapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        options = (options ?? new MemoryHeatmapOptions()).Validate();
        if (trace.Count == 0)
        {
            throw new ArgumentException("MemoryHeatmap: the trace has no steps; turn MemoryCore.Trace on before stepping.", nameof(trace));
        }

        if (options.MarkStep is int mark && (mark < 0 || mark >= trace.Count))
        {
            throw new ArgumentException($"MemoryHeatmap: MarkStep {mark} is outside the trace's steps 0 to {trace.Count - 1}.", nameof(options));
        }

        var (width, height) = Size(trace, options);
        int left = Margin + (options.Labels ? LabelWidth : 0);
        int panelHeight = trace.Slots * options.CellHeight;
        int panels = trace.ReadHeads + 2;
        RgbFrame frame;
        using (var canvas = new SkiaCanvas(width, height))
        {
            canvas.Clear(Background);
            if (options.Labels)
            {
                for (int p = 0; p < panels; p++)
                {
                    int top = Margin + (p * (panelHeight + Gap));
                    string name = p == 0 ? "write" : p == panels - 1 ? "usage" : $"read {p}";
                    canvas.Text(name, Margin, top + Math.Max(0, (panelHeight - 11) / 2f), 10, Ink);
                }

                float axisTop = height - Margin - AxisHeight + 2;
                canvas.Text("t 0", left, axisTop, 10, Ink);
                string end = (trace.Count - 1).ToString(CultureInfo.InvariantCulture);
                float endX = left + (trace.Count * options.CellWidth) - (6 * end.Length) - 2;
                if (endX > left + 30)
                {
                    canvas.Text(end, endX, axisTop, 10, Ink);
                }
            }

            frame = canvas.ToFrame();
        }

        for (int p = 0; p < panels; p++)
        {
            int top = Margin + (p * (panelHeight + Gap));
            int panel = p;
            ColumnValues column = panel == 0 ? trace.WriteWeights : panel == panels - 1 ? trace.Usage : t => trace.ReadWeights(t, panel - 1);
            DrawCells(frame, (left, top, trace.Count * options.CellWidth, panelHeight), trace.Count, trace.Slots, column, scale: 1);
            if (options.MarkStep is int step)
            {
                int x = left + (step * options.CellWidth);
                Fill(frame, x, top, 1, panelHeight, Mark);
                Fill(frame, x + options.CellWidth - 1, top, 1, panelHeight, Mark);
            }
        }

        return frame;
    }

    /// <summary>Writes the heatmaps of <paramref name="trace"/> to a PNG at <paramref name="path"/> (written to a temporary file and renamed).</summary>
    public static void SavePng(MemoryTrace trace, string path, MemoryHeatmapOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = EncodePng(Render(trace, options));
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp.png");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(png);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Encodes <paramref name="frame"/> as a PNG (lossless, 8 bits per channel).</summary>
    public static byte[] EncodePng(RgbFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var bitmap = new SKBitmap(new SKImageInfo(frame.Width, frame.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Span<byte> rgba = bitmap.GetPixelSpan();
        ReadOnlySpan<byte> rgb = frame.Pixels;
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgba[i] = rgb[j];
            rgba[i + 1] = rgb[j + 1];
            rgba[i + 2] = rgb[j + 2];
            rgba[i + 3] = 255;
        }

        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    // ------------------------------------------------------------------ a panel of fixed size

    /// <summary>Where trace <paramref name="trace"/>'s cells lie in a panel of this size with <paramref name="traces"/> traces.</summary>
    /// <returns>The top-left corner and size of the cell area, in panel pixels.</returns>
    public (int X, int Y, int Width, int Height) CellArea(int trace, int traces)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(traces, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(trace);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(trace, traces);
        int available = Height - PanelTitleHeight - PanelMargin - traces * (PanelLabelHeight + PanelMargin);
        int each = Math.Max(1, available / traces);
        int y = PanelTitleHeight + trace * (PanelLabelHeight + each + PanelMargin) + PanelLabelHeight;
        return (PanelMargin, y, Width - 2 * PanelMargin, each);
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
            PanelMargin, 2, 12, Ink);
        for (int t = 0; t < traces; t++)
        {
            max[t] = window.Max(t);
            var (_, y, _, _) = CellArea(t, traces);
            _canvas.Text(string.Create(CultureInfo.InvariantCulture, $"{window.Names[t]}  (max {max[t]:0.###})"), PanelMargin, y - PanelLabelHeight + 1, 11, Ink);
        }

        _canvas.CopyTo(panel);
        for (int t = 0; t < traces; t++)
        {
            // Column c shows the step `age` steps ago; the right edge is the newest.
            int trace = t;
            DrawCells(panel, CellArea(t, traces), window.Capacity, window.Slots, column =>
            {
                int age = window.Capacity - 1 - column;
                return age < window.Count ? window.StepValues(age).Slice(trace * window.Slots, window.Slots) : default;
            }, max[t] > 0 ? 1 / max[t] : 0);
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

    // ------------------------------------------------------------------ cells

    /// <summary>
    /// Fills <paramref name="area"/> with a table of <paramref name="columns"/> time steps × <paramref name="rows"/>
    /// slots, each pixel the colour of the nearest cell's value times <paramref name="scale"/> (<see cref="Empty"/>
    /// where a column has no values).
    /// </summary>
    private static void DrawCells(RgbFrame frame, (int X, int Y, int Width, int Height) area, int columns, int rows, ColumnValues valuesAt, float scale)
    {
        byte[] pixels = frame.Pixels;
        for (int px = 0; px < area.Width; px++)
        {
            ReadOnlySpan<float> values = valuesAt((int)((long)px * columns / area.Width));
            for (int py = 0; py < area.Height; py++)
            {
                Rgb color = values.IsEmpty ? Empty : ColorOf(values[(int)((long)py * rows / area.Height)] * scale);
                int i = (((area.Y + py) * frame.Width) + area.X + px) * 3;
                pixels[i] = color.R;
                pixels[i + 1] = color.G;
                pixels[i + 2] = color.B;
            }
        }
    }

    private static void Fill(RgbFrame frame, int x, int y, int width, int height, Rgb color)
    {
        byte[] pixels = frame.Pixels;
        for (int row = y; row < y + height; row++)
        {
            int offset = ((row * frame.Width) + x) * 3;
            for (int col = 0; col < width; col++, offset += 3)
            {
                pixels[offset] = color.R;
                pixels[offset + 1] = color.G;
                pixels[offset + 2] = color.B;
            }
        }
    }

    /// <summary>ScottPlot's viridis at 256 evenly spaced values, as <see cref="Rgb"/>.</summary>
    private static Rgb[] BuildViridis()
    {
        var viridis = new ScottPlot.Colormaps.Viridis();
        var table = new Rgb[256];
        for (int i = 0; i < table.Length; i++)
        {
            ScottPlot.Color color = viridis.GetColor((double)i / (table.Length - 1));
            table[i] = new Rgb(color.R, color.G, color.B);
        }

        return table;
    }
}
