using RlMemory.Agents.Recurrent;
using RlMemory.App.Plots;
using RlMemory.Environments.Rendering;
using RlMemory.Memory.External;
using RlMemory.Training.Logging;
using SkiaSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

public sealed class MemoryHeatmapTests : IDisposable
{
    private const int Steps = 20, Slots = 5, Heads = 2;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-heatmap-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>
    /// Write weights one-hot on slot t mod 5; read head 1 uniform 0.2; read head 2 all 0.5; usage of slot s = s/4 · t/19.
    /// </summary>
    private static MemoryTrace HandMadeTrace()
    {
        var trace = new MemoryTrace(Slots, Heads);
        for (int t = 0; t < Steps; t++)
        {
            float[] write = new float[Slots];
            write[t % Slots] = 1;
            float[] reads = [.. Enumerable.Repeat(0.2f, Slots), .. Enumerable.Repeat(0.5f, Slots)];
            float[] usage = [.. Enumerable.Range(0, Slots).Select(s => s / 4f * t / 19f)];
            trace.Add(write, reads, usage);
        }

        return trace;
    }

    /// <summary>The centre pixel of the cell of step <paramref name="t"/>, slot <paramref name="slot"/> in panel <paramref name="panel"/> (default options).</summary>
    private static (int X, int Y) Cell(int panel, int t, int slot) =>
        (MemoryHeatmap.Margin + MemoryHeatmap.LabelWidth + (t * 6) + 3,
         MemoryHeatmap.Margin + (panel * ((Slots * 6) + MemoryHeatmap.Gap)) + (slot * 6) + 3);

    [Theory]
    [InlineData(0.0, 68, 1, 84)]
    [InlineData(0.25, 59, 82, 139)]
    [InlineData(0.5, 33, 145, 140)]
    [InlineData(0.75, 94, 201, 98)]
    [InlineData(1.0, 253, 231, 37)]
    public void ColorOf_IsViridis_WithinThreeOfItsPublishedFiveColourPalette(double value, int r, int g, int b)
    {
        // viridis at 0, 1/4, 1/2, 3/4, 1: #440154, #3b528b, #21918c, #5ec962, #fde725 (matplotlib, viridisLite).
        Rgb color = MemoryHeatmap.ColorOf(value);
        Assert.InRange(color.R, r - 3, r + 3);
        Assert.InRange(color.G, g - 3, g + 3);
        Assert.InRange(color.B, b - 3, b + 3);
    }

    [Fact]
    public void ColorOf_IsScottPlotsViridis_Clamped_WithMagentaForNaN()
    {
        // One colour map for every picture: ScottPlot's, the one its plots use.
        var viridis = new ScottPlot.Colormaps.Viridis();
        for (int i = 0; i <= 255; i++)
        {
            ScottPlot.Color expected = viridis.GetColor(i / 255.0);
            Assert.Equal(new Rgb(expected.R, expected.G, expected.B), MemoryHeatmap.ColorOf(i / 255.0));
        }

        Assert.Equal(MemoryHeatmap.ColorOf(0), MemoryHeatmap.ColorOf(-3));
        Assert.Equal(MemoryHeatmap.ColorOf(1), MemoryHeatmap.ColorOf(7));
        Assert.Equal(new Rgb(255, 0, 255), MemoryHeatmap.ColorOf(double.NaN));
    }

    [Fact]
    public void SavePng_WritesAPngOfTheDocumentedSize_WithEachCellInItsValuesColour()
    {
        MemoryTrace trace = HandMadeTrace();
        string path = Path.Combine(_dir, "memory.png");
        MemoryHeatmap.SavePng(trace, path);
        using SKBitmap bitmap = SKBitmap.Decode(path);

        // 2·4 + 52 + 20·6 wide; 2·4 + 4 panels · 5 slots · 6 + 3 gaps · 4 + 16 high.
        Assert.Equal((180, 156), (bitmap.Width, bitmap.Height));
        Assert.Equal((180, 156), MemoryHeatmap.Size(trace));
        Rgb At((int X, int Y) p)
        {
            SKColor c = bitmap.GetPixel(p.X, p.Y);
            return new Rgb(c.Red, c.Green, c.Blue);
        }

        for (int t = 0; t < Steps; t++)
        {
            for (int slot = 0; slot < Slots; slot++)
            {
                Assert.Equal(MemoryHeatmap.ColorOf(slot == t % Slots ? 1 : 0), At(Cell(0, t, slot)));
                Assert.Equal(MemoryHeatmap.ColorOf(0.2), At(Cell(1, t, slot)));
                Assert.Equal(MemoryHeatmap.ColorOf(0.5), At(Cell(2, t, slot)));
                Assert.Equal(MemoryHeatmap.ColorOf(slot / 4f * t / 19f), At(Cell(3, t, slot)));
            }
        }

        var colours = new HashSet<SKColor>();
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                colours.Add(bitmap.GetPixel(x, y));
            }
        }

        Assert.True(colours.Count > 20, $"only {colours.Count} colours");
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp.png"));

        // The PNG is lossless: it holds exactly the frame that Render returns.
        RgbFrame frame = MemoryHeatmap.Render(trace);
        using SKBitmap decoded = SKBitmap.Decode(MemoryHeatmap.EncodePng(frame));
        Assert.Equal((frame.Width, frame.Height), (decoded.Width, decoded.Height));
        Assert.Equal(frame[17, 60], new Rgb(decoded.GetPixel(17, 60).Red, decoded.GetPixel(17, 60).Green, decoded.GetPixel(17, 60).Blue));
    }

    [Fact]
    public void Labels_AreDrawnInTheirColumn_AndCanBeLeftOut()
    {
        MemoryTrace trace = HandMadeTrace();
        RgbFrame labelled = MemoryHeatmap.Render(trace);
        int ink = 0;
        for (int y = 0; y < labelled.Height; y++)
        {
            for (int x = 0; x < MemoryHeatmap.Margin + MemoryHeatmap.LabelWidth; x++)
            {
                ink += labelled[x, y].MaxChannelDifference(Rgb.White) > 100 ? 1 : 0;
            }
        }

        Assert.True(ink > 30, $"expected panel names in the label column, found {ink} dark pixels");

        RgbFrame bare = MemoryHeatmap.Render(trace, new MemoryHeatmapOptions { Labels = false, CellWidth = 2, CellHeight = 3 });
        // 2·4 + 20·2 wide; 2·4 + 4 · 5 · 3 + 3 · 4 high.
        Assert.Equal((48, 80), (bare.Width, bare.Height));
        Assert.Equal(MemoryHeatmap.ColorOf(1), bare[MemoryHeatmap.Margin + 1, MemoryHeatmap.Margin + 1]);
    }

    [Fact]
    public void MarkStep_FramesThatStepInEveryPanel()
    {
        MemoryTrace trace = HandMadeTrace();
        RgbFrame frame = MemoryHeatmap.Render(trace, new MemoryHeatmapOptions { MarkStep = 7 });
        var red = new Rgb(230, 30, 30);
        for (int panel = 0; panel < 4; panel++)
        {
            var (x, y) = Cell(panel, 7, 2);
            Assert.Equal(red, frame[x - 3, y]);
            Assert.Equal(red, frame[x + 2, y]);
            Assert.NotEqual(red, frame[x, y]);
        }

        Assert.Throws<ArgumentException>(() => MemoryHeatmap.Render(trace, new MemoryHeatmapOptions { MarkStep = 20 }));
    }

    [Fact]
    public void BadInput_IsRefusedWithAMessage()
    {
        var empty = Assert.Throws<ArgumentException>(() => MemoryHeatmap.Render(new MemoryTrace(4, 1)));
        Assert.Contains("MemoryHeatmap: the trace has no steps", empty.Message, StringComparison.Ordinal);
        var cells = Assert.ThrowsAny<ArgumentException>(() => MemoryHeatmap.Render(HandMadeTrace(), new MemoryHeatmapOptions { CellWidth = 0 }));
        Assert.Contains("MemoryHeatmapOptions.CellWidth must be in [1, 64], got 0", cells.Message, StringComparison.Ordinal);

        var trace = new MemoryTrace(2, 1);
        for (int t = 0; t < 3000; t++)
        {
            trace.Add([0.5f, 0.5f], [0.5f, 0.5f], [0, 0]);
        }

        var large = Assert.Throws<ArgumentException>(() => MemoryHeatmap.Render(trace));
        Assert.Contains("MemoryHeatmap: 3000 steps × 2 slots give a 18060×68 picture", large.Message, StringComparison.Ordinal);
        Assert.Equal((3008, 52), MemoryHeatmap.Size(trace, new MemoryHeatmapOptions { CellWidth = 1, Labels = false }));
        var size = Assert.Throws<ArgumentException>(() => trace.Add([1f], [1f, 1f], [1f, 1f]));
        Assert.Contains("MemoryTrace: a step has 2 write weights, 2 read weights and 2 usages; got 1, 2 and 2", size.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMemoryCoreEpisode_RendersWithWritesMovingAcrossSlots()
    {
        manual_seed(2);
        using var core = new MemoryCore(new MemoryCoreConfig
        {
            ObservationSize = 4,
            EncoderSizes = [16],
            HiddenSize = 16,
            Memory = new ExternalMemoryConfig { Slots = 8, Width = 4, ReadHeads = 2 },
        });
        core.Trace = new MemoryTrace(core.Config.Memory);
        using (var scope = NewDisposeScope())
        {
            core.Unroll(randn(1, 30, 4), core.InitialState(1));
        }

        MemoryTrace trace = core.Trace;
        RgbFrame frame = MemoryHeatmap.Render(trace, new MemoryHeatmapOptions { CellWidth = 4, CellHeight = 4 });
        Assert.Equal(MemoryHeatmap.Size(trace, new MemoryHeatmapOptions { CellWidth = 4, CellHeight = 4 }), (frame.Width, frame.Height));

        // Allocation spreads the writes: the most-written slot differs between steps, and usage grows.
        var peaks = Enumerable.Range(0, trace.Count).Select(t => trace.WriteWeights(t).ToArray().Index().MaxBy(p => p.Item).Index).Distinct().Count();
        Assert.True(peaks > 1, "every step wrote mostly to the same slot");
        Assert.True(trace.Usage(29).ToArray().Sum() > trace.Usage(0).ToArray().Sum());
        var panel = new HashSet<Rgb>();
        for (int t = 0; t < 30; t++)
        {
            for (int s = 0; s < 8; s++)
            {
                panel.Add(frame[MemoryHeatmap.Margin + MemoryHeatmap.LabelWidth + (t * 4) + 1, MemoryHeatmap.Margin + (s * 4) + 1]);
            }
        }

        Assert.True(panel.Count > 5, $"the write panel has {panel.Count} colours");
    }
}
