namespace RlMemory.Environments.Rendering;

/// <summary>Rendering of any environment whose innermost environment implements <see cref="IRenderable"/>.</summary>
public static class RenderExtensions
{
    /// <summary>
    /// Draws the current state as an RGB frame (Gymnasium's <c>env.render()</c> with <c>render_mode="rgb_array"</c>),
    /// through all wrappers: the innermost environment (<see cref="IEnv.Unwrapped"/>) draws itself with the SkiaSharp
    /// backend. Rendering changes neither the state nor the random generator.
    /// </summary>
    /// <param name="env">The environment, wrapped or not.</param>
    /// <param name="scale">The frame's size relative to the environment's picture size, in (0, 16].</param>
    /// <returns>A new frame of <c>round(RenderWidth × scale)</c> × <c>round(RenderHeight × scale)</c> pixels.</returns>
    /// <exception cref="InvalidOperationException">The environment cannot render, or has not been reset yet.</exception>
    public static RgbFrame RenderFrame(this IEnv env, double scale = 1.0)
    {
        IRenderable renderable = GetRenderable(env);
        return SkiaCanvas.Render(renderable, scale);
    }

    /// <summary>Whether the innermost environment of <paramref name="env"/> can draw itself.</summary>
    public static bool CanRender(this IEnv env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return env.Unwrapped is IRenderable;
    }

    /// <summary>
    /// The innermost environment of <paramref name="env"/> as an <see cref="IRenderable"/>, checked to have a state to show.
    /// </summary>
    /// <exception cref="InvalidOperationException">The environment cannot render, or has not been reset yet.</exception>
    public static IRenderable GetRenderable(this IEnv env)
    {
        IRenderable renderable = RequireRenderable(env);
        if (env.Unwrapped is IResetTracking { WasReset: false })
        {
            throw new InvalidOperationException($"{env.Name}: Render was called before the first Reset; call Reset first, there is no state to draw yet.");
        }

        return renderable;
    }

    /// <summary>The innermost environment as an <see cref="IRenderable"/>, without the reset check.</summary>
    internal static IRenderable RequireRenderable(IEnv env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return env.Unwrapped as IRenderable ?? throw new InvalidOperationException(
            $"{env.Name} cannot render: its innermost environment, a {env.Unwrapped.GetType().Name}, does not implement IRenderable "
            + "(RlMemory.Environments.Rendering). Implement IRenderable on the environment to draw it.");
    }
}
