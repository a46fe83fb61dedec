using RlMemory.Agents;
using RlMemory.App.Plots;
using RlMemory.Environments.Rendering;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>
/// Places an agent's memory heatmaps beside each picture of an episode (<c>rlmemory record --with-memory</c>): the
/// picture on the left, the <see cref="MemoryHeatmap"/> panel on the right, the frame as tall as the taller of the two
/// (white below the shorter). Call <see cref="EpisodeStarting"/> before each episode, <see cref="AfterAct"/> after each
/// action, and pass <see cref="Compose"/> to <c>EpisodeRecorder.Record</c>.
/// </summary>
public sealed class MemoryFrameComposer : IDisposable
{
    /// <summary>The panel's width in pixels.</summary>
    public const int PanelWidth = 320;

    private readonly IMemoryIntrospection _memory;
    private readonly int _row;
    private readonly float[] _step;
    private MemoryHeatmap? _heatmap;
    private RgbFrame? _panel;
    private RgbFrame? _output;

    /// <summary>Composes frames for environment <paramref name="row"/> of an actor with external memory.</summary>
    /// <param name="memory">The actor's memory view.</param>
    /// <param name="row">The environment row whose weights are shown.</param>
    /// <param name="steps">Steps shown across the heatmaps.</param>
    public MemoryFrameComposer(IMemoryIntrospection memory, int row = 0, int steps = 64)
    {
        _memory = memory ?? throw new ArgumentNullException(nameof(memory));
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        _row = row;
        Window = MemoryTraceWindow.For(memory, steps);
        _step = new float[Window.StepSize];
    }

    /// <summary>The steps shown.</summary>
    public MemoryTraceWindow Window { get; }

    /// <summary>Forgets the previous episode's steps.</summary>
    public void EpisodeStarting() => Window.Clear();

    /// <summary>Reads the weights of the action just taken.</summary>
    public void AfterAct()
    {
        if (_memory.TryReadLastStep(_row, _step))
        {
            Window.Add(_step);
        }
    }

    /// <summary>The picture with the heatmaps beside it (a frame reused between calls).</summary>
    /// <exception cref="ArgumentException">The picture's size changed between calls.</exception>
    public RgbFrame Compose(RgbFrame picture)
    {
        ArgumentNullException.ThrowIfNull(picture);
        if (_output is null)
        {
            _heatmap = new MemoryHeatmap(PanelWidth, Math.Max(picture.Height, 160));
            _panel = new RgbFrame(_heatmap.Width, _heatmap.Height);
            _output = new RgbFrame(picture.Width + _heatmap.Width, Math.Max(picture.Height, _heatmap.Height));
            Array.Fill(_output.Pixels, (byte)255);
        }
        else if (picture.Width + _panel!.Width != _output.Width || picture.Height > _output.Height)
        {
            throw new ArgumentException($"MemoryFrameComposer: the pictures changed size to {picture.Width}×{picture.Height}.", nameof(picture));
        }

        _heatmap!.Draw(Window, _panel!);
        Blit(picture, _output, 0);
        Blit(_panel!, _output, picture.Width);
        return _output;
    }

    /// <inheritdoc />
    public void Dispose() => _heatmap?.Dispose();

    private static void Blit(RgbFrame source, RgbFrame target, int x)
    {
        for (int y = 0; y < source.Height; y++)
        {
            Buffer.BlockCopy(source.Pixels, y * source.Width * 3, target.Pixels, ((y * target.Width) + x) * 3, source.Width * 3);
        }
    }
}
