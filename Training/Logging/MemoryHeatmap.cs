using System.Globalization;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments.Rendering;
using SkiaSharp;

namespace RlMemory.Training.Logging;

/// <summary>How a <see cref="MemoryHeatmap"/> is laid out.</summary>
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
/// Draws a <see cref="MemoryTrace"/> as heatmaps, time left to right and slots top to bottom (slot 0 on top): one panel
/// for the write weighting, one per read head, one for the usage, stacked in that order. Cells are coloured by value
/// with a viridis map on the fixed range [0, 1] (dark purple 0, yellow 1), so panels and episodes compare directly;
/// NaN is magenta. <see cref="Render"/> returns an <see cref="RgbFrame"/> (to show beside an episode's frames);
/// <see cref="SavePng"/> writes a PNG.
/// </summary>
/// <remarks>
/// Layout, in pixels: a margin of <see cref="Margin"/> around everything; with labels, a column of
/// <see cref="LabelWidth"/> on the left for the panel names and a row of <see cref="AxisHeight"/> below for the step
/// axis; panels of N·CellHeight, <see cref="Gap"/> apart. So the frame is
/// <c>2·Margin + LabelWidth + T·CellWidth</c> wide and <c>2·Margin + P·N·CellHeight + (P − 1)·Gap + AxisHeight</c> high,
/// with P = R + 2 panels (<see cref="Size"/>).
/// </remarks>
public static class MemoryHeatmap
{
    /// <summary>Pixels around the picture.</summary>
    public const int Margin = 4;

    /// <summary>Pixels between panels.</summary>
    public const int Gap = 4;

    /// <summary>Width of the panel-name column (labels only).</summary>
    public const int LabelWidth = 52;

    /// <summary>Height of the step axis below the panels (labels only).</summary>
    public const int AxisHeight = 16;

    private const int MaxSide = 16384;

    private static readonly Rgb Background = new(255, 255, 255);
    private static readonly Rgb Ink = new(40, 40, 40);
    private static readonly Rgb Mark = new(230, 30, 30);
    private static readonly Rgb NaNColor = new(255, 0, 255);

    // Viridis (matplotlib) at 0, 1/8, …, 1.
    private static readonly (byte R, byte G, byte B)[] Viridis =
    [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ];

    /// <summary>The frame size for <paramref name="trace"/>: see the remarks on <see cref="MemoryHeatmap"/>.</summary>
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

    /// <summary>The viridis colour of <paramref name="value"/>, clamped to [0, 1]; NaN is magenta.</summary>
    public static Rgb ColorOf(double value)
    {
        if (double.IsNaN(value))
        {
            return NaNColor;
        }

        double x = Math.Clamp(value, 0, 1) * (Viridis.Length - 1);
        int i = Math.Min((int)x, Viridis.Length - 2);
        double f = x - i;
        var (r0, g0, b0) = Viridis[i];
        var (r1, g1, b1) = Viridis[i + 1];
        return new Rgb(Lerp(r0, r1, f), Lerp(g0, g1, f), Lerp(b0, b1, f));
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
            for (int t = 0; t < trace.Count; t++)
            {
                ReadOnlySpan<float> values = p == 0 ? trace.WriteWeights(t) : p == panels - 1 ? trace.Usage(t) : trace.ReadWeights(t, p - 1);
                for (int slot = 0; slot < values.Length; slot++)
                {
                    Fill(frame, left + (t * options.CellWidth), top + (slot * options.CellHeight), options.CellWidth, options.CellHeight, ColorOf(values[slot]));
                }
            }

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

    private static byte Lerp(byte a, byte b, double f) => (byte)Math.Round(a + ((b - a) * f), MidpointRounding.AwayFromZero);

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
}
