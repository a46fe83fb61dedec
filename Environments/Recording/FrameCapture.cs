using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Recording;

/// <summary>Draws an environment's current picture into one reused frame (one Skia surface for a whole recording).</summary>
internal sealed class FrameCapture : IDisposable
{
    private readonly IRenderable _renderable;
    private readonly SkiaCanvas _canvas;

    public FrameCapture(IRenderable renderable, double scale)
    {
        _renderable = renderable;
        _canvas = new SkiaCanvas(renderable.RenderWidth, renderable.RenderHeight, scale);
        Frame = new RgbFrame(_canvas.FrameWidth, _canvas.FrameHeight);
    }

    /// <summary>The frame the last <see cref="Capture"/> filled (overwritten by the next one).</summary>
    public RgbFrame Frame { get; }

    /// <summary>Draws the current state into <see cref="Frame"/> and returns it.</summary>
    public RgbFrame Capture()
    {
        _canvas.Draw(_renderable);
        _canvas.CopyTo(Frame);
        return Frame;
    }

    public void Dispose() => _canvas.Dispose();
}
