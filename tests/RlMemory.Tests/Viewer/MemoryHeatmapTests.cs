using RlMemory.Agents;
using RlMemory.App.Plots;
using RlMemory.App.Viewer;
using RlMemory.Environments.Rendering;

namespace RlMemory.Tests.Viewer;

public sealed class MemoryHeatmapTests
{
    private static readonly string[] Names = [MemoryTraceNames.Write, MemoryTraceNames.Read(0), MemoryTraceNames.Usage];

    [Fact]
    public void TraceWindow_KeepsTheLastStepsInOrder_AndForgetsOnClear()
    {
        var window = new MemoryTraceWindow(Names, slots: 2, capacity: 3);
        for (int t = 1; t <= 5; t++)
        {
            window.Add([t, 0, 10 * t, 0, 100 * t, 0]);
        }

        Assert.Equal(3, window.Count);
        Assert.Equal(5, window.Value(age: 0, trace: 0, slot: 0));
        Assert.Equal(4, window.Value(age: 1, trace: 0, slot: 0));
        Assert.Equal(30, window.Value(age: 2, trace: 1, slot: 0));
        Assert.Equal(500, window.Max(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => window.Value(3, 0, 0));

        window.Clear();
        Assert.Equal(0, window.Count);
        Assert.Equal(0, window.Max(0));
    }

    [Fact]
    public void TraceWindow_RefusesBadShapes()
    {
        Assert.Throws<ArgumentException>(() => new MemoryTraceWindow([], 4));
        Assert.Throws<ArgumentException>(() => new MemoryTraceWindow(["write", " "], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryTraceWindow(Names, 0));
        var window = new MemoryTraceWindow(Names, 4);
        var e = Assert.Throws<ArgumentException>(() => window.Add(new float[11]));
        Assert.Contains("3 traces × 4 slots = 12 floats, got 11", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Heatmap_DrawsTimeAcrossAndSlotsDown_NewestAtTheRight_ScaledByTheMaximum()
    {
        // 4 slots, 8 steps across; three steps written: step t writes slot t - 1 with weight 0.5 (so 0.5 is the maximum).
        var window = new MemoryTraceWindow(Names, slots: 4, capacity: 8);
        for (int t = 1; t <= 3; t++)
        {
            var step = new float[12];
            step[t - 1] = 0.5f;
            window.Add(step);
        }

        using var heatmap = new MemoryHeatmap(200, 300);
        RgbFrame panel = heatmap.Draw(window);
        var (x, y, w, h) = heatmap.CellArea(0, 3);
        Rgb Cell(int column, int slot) => panel[x + (int)((column + 0.5) * w / 8), y + (int)((slot + 0.5) * h / 4)];

        // Columns 0 to 4 (five steps ago and older) have no step yet.
        for (int column = 0; column < 5; column++)
        {
            Assert.Equal(MemoryHeatmap.Empty, Cell(column, 0));
        }

        Rgb hot = MemoryHeatmap.ColorOf(1), cold = MemoryHeatmap.ColorOf(0);
        Assert.Equal(hot, Cell(5, 0));   // the oldest step wrote slot 0
        Assert.Equal(hot, Cell(6, 1));
        Assert.Equal(hot, Cell(7, 2));   // the newest step, at the right edge, wrote slot 2
        Assert.Equal(cold, Cell(7, 0));
        Assert.Equal(cold, Cell(7, 3));

        // The read trace is all zeros: cold wherever there is a step.
        var (rx, ry, rw, rh) = heatmap.CellArea(1, 3);
        Assert.Equal(cold, panel[rx + rw - 1, ry + (rh / 2)]);
        Assert.True(ry > y + h, "the traces are stacked top to bottom");
        var (_, uy, _, uh) = heatmap.CellArea(2, 3);
        Assert.True(uy + uh <= panel.Height);
    }

    [Fact]
    public void Heatmap_WithMoreSlotsThanPixels_ShowsTheNearestSlot()
    {
        var window = new MemoryTraceWindow(["write"], slots: 4096, capacity: 4);
        var step = new float[4096];
        step[0] = 1;
        window.Add(step);
        using var heatmap = new MemoryHeatmap(64, 100);
        RgbFrame panel = heatmap.Draw(window);
        var (x, y, w, _) = heatmap.CellArea(0, 1);
        Assert.Equal(MemoryHeatmap.ColorOf(1), panel[x + w - 1, y]);
    }

    [Fact]
    public void Composer_PlacesTheHeatmapsBesideThePicture()
    {
        var actor = new FakeMemoryActor(1, slots: 8);
        using var composer = new MemoryFrameComposer(actor);
        var picture = new RgbFrame(100, 50);
        picture[10, 10] = new Rgb(1, 2, 3);
        composer.EpisodeStarting();
        actor.Act(new float[4], [0], new int[1]);
        composer.AfterAct();
        Assert.Equal(1, composer.Window.Count);

        RgbFrame composed = composer.Compose(picture);
        Assert.Equal(100 + MemoryFrameComposer.PanelWidth, composed.Width);
        Assert.Equal(160, composed.Height);   // the panel's minimum height; white below the picture
        Assert.Equal(new Rgb(1, 2, 3), composed[10, 10]);
        Assert.Equal(Rgb.White, composed[10, 100]);
        Assert.Throws<ArgumentException>(() => composer.Compose(new RgbFrame(120, 50)));
    }
}
