namespace RlMemory.Environments.Rendering;

/// <summary>
/// An environment that can draw its current state (Gymnasium's <c>render_mode="rgb_array"</c>). Implement it on the
/// environment itself (the innermost one, below all wrappers); <see cref="RenderExtensions.RenderFrame"/> and the
/// recorders find it through <see cref="IEnv.Unwrapped"/>.
/// </summary>
/// <remarks>
/// <see cref="Render"/> must only read the state: it must not change it, nor draw from the environment's random
/// generator, so that rendering never changes an episode. It is called only after <c>Reset</c>.
/// </remarks>
public interface IRenderable
{
    /// <summary>The picture's width in pixels (the canvas's <see cref="ICanvas.Width"/>), e.g. 600 for CartPole.</summary>
    int RenderWidth { get; }

    /// <summary>The picture's height in pixels (the canvas's <see cref="ICanvas.Height"/>), e.g. 400 for CartPole.</summary>
    int RenderHeight { get; }

    /// <summary>The frame rate that shows the environment at its natural speed (Gymnasium's <c>metadata["render_fps"]</c>).</summary>
    int RenderFps { get; }

    /// <summary>Draws the current state on <paramref name="canvas"/>, whose size is <see cref="RenderWidth"/> × <see cref="RenderHeight"/>.</summary>
    void Render(ICanvas canvas);
}
