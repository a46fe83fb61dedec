using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>MountainCarContinuous-v0</c>: the car of <see cref="MountainCarEnv"/> with a continuous engine.
/// Action <c>[force]</c> in [−1, 1]; velocity += force × 0.0015 − 0.0025 cos(3 × position). Observation
/// <c>[position, velocity]</c>; reward −0.1 × force² every step, plus 100 when the car reaches the flag at 0.45 with
/// velocity ≥ <c>goal_velocity</c> (option, default 0), which ends the episode. As in Gymnasium, the state is float64 after
/// a reset and rounded to float32 after every step, while each step computes in float64. Renders as Gymnasium does
/// (<see cref="MountainCarEnv"/>'s picture with the flag at 0.45).
/// </summary>
public sealed class MountainCarContinuousEnv : Env<float[]>, IPhysicalState, IRenderable
{
    /// <summary>Position of the flag.</summary>
    public const double GoalPosition = 0.45;

    /// <summary>Engine power per unit of force.</summary>
    public const double Power = 0.0015;

    /// <summary>The state layout, Gymnasium's order.</summary>
    public const string StateLayout = "position, velocity";

    private readonly double[] _state = new double[2];

    /// <summary>Creates the environment.</summary>
    /// <param name="goalVelocity">The minimum velocity at the flag that ends the episode.</param>
    public MountainCarContinuousEnv(double goalVelocity = 0)
        : base(
            new Box([(float)MountainCarEnv.MinPosition, -(float)MountainCarEnv.MaxSpeed], [(float)MountainCarEnv.MaxPosition, (float)MountainCarEnv.MaxSpeed]),
            new Box(-1f, 1f, 1))
    {
        if (!double.IsFinite(goalVelocity))
        {
            throw new ArgumentOutOfRangeException(nameof(goalVelocity), goalVelocity, "MountainCarContinuous: goal_velocity must be finite.");
        }

        GoalVelocity = goalVelocity;
    }

    /// <summary>The minimum velocity at the flag that ends the episode.</summary>
    public double GoalVelocity { get; }

    /// <summary>The physical state <c>[position, velocity]</c>.</summary>
    public double[] State
    {
        get => (double[])_state.Clone();
        set => PhysicalState.CheckAndCopy(value, _state, Name, StateLayout);
    }

    /// <inheritdoc />
    public override bool CanSaveState => true;

    /// <summary>The picture's width (Gymnasium's <c>screen_width</c>).</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height (Gymnasium's <c>screen_height</c>).</summary>
    public int RenderHeight => 400;

    /// <summary>30 frames per second (Gymnasium's <c>render_fps</c>).</summary>
    public int RenderFps => 30;

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer) => EnvState.WriteDoubles(writer, _state);

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader) => EnvState.ReadDoubles(reader, _state, Name + " state");

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        var (low, high) = ResetBounds.Parse(options, -0.6, -0.4, Name);
        _state[0] = Rng.Uniform(low, high);
        _state[1] = 0;
        WriteObservation(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(float[] action, Span<float> observation)
    {
        // numpy 1.24 promotes every float32 scalar here to float64: the step computes in double from float32 values.
        double position = _state[0], velocity = _state[1];
        double force = Math.Clamp(action[0], -1f, 1f);
        velocity += (force * Power) - (0.0025 * Math.Cos(3 * position));
        velocity = Math.Clamp(velocity, -MountainCarEnv.MaxSpeed, MountainCarEnv.MaxSpeed);
        position += velocity;
        position = Math.Clamp(position, MountainCarEnv.MinPosition, MountainCarEnv.MaxPosition);
        if (position == MountainCarEnv.MinPosition && velocity < 0)
        {
            velocity = 0;
        }

        bool terminated = position >= GoalPosition && velocity >= GoalVelocity;
        double reward = (terminated ? 100.0 : 0) - ((double)action[0] * action[0] * 0.1);

        // Gymnasium keeps the state as a float32 array after a step.
        _state[0] = (float)position;
        _state[1] = (float)velocity;
        WriteObservation(observation);
        return new StepResult(reward, terminated, false);
    }

    /// <summary>Draws Gymnasium 1.0's picture: <see cref="MountainCarEnv"/>'s hill, car and flag, the flag at 0.45.</summary>
    public void Render(ICanvas canvas)
    {
        GymnasiumScreen.CheckCanvas(canvas, this);
        MountainCarEnv.DrawScene(canvas, _state[0], GoalPosition);
    }

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)_state[0];
        observation[1] = (float)_state[1];
    }
}
