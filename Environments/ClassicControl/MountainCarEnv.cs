using System.Numerics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>MountainCar-v0</c> (Moore 1990): an under-powered car in a valley must rock back and forth to
/// reach the flag at position 0.5. Actions: 0 push left, 1 no push, 2 push right. Observation
/// <c>[position, velocity]</c>; reward −1 every step; terminated when position ≥ 0.5 and velocity ≥
/// <c>goal_velocity</c> (option, default 0). Renders as Gymnasium does: a 600×400 picture of the hill
/// <c>sin(3x) × 0.45 + 0.55</c>, the car with its wheels, and the flag at the goal.
/// </summary>
public sealed class MountainCarEnv : Env<int>, IPhysicalState, IRenderable
{
    /// <summary>Left end of the track.</summary>
    public const double MinPosition = -1.2;

    /// <summary>Right end of the track.</summary>
    public const double MaxPosition = 0.6;

    /// <summary>Speed limit (both directions).</summary>
    public const double MaxSpeed = 0.07;

    /// <summary>Position of the flag.</summary>
    public const double GoalPosition = 0.5;

    /// <summary>Engine force per unit of action.</summary>
    public const double Force = 0.001;

    /// <summary>Gravity term of the dynamics.</summary>
    public const double Gravity = 0.0025;

    /// <summary>The state layout, Gymnasium's order.</summary>
    public const string StateLayout = "position, velocity";

    private readonly double[] _state = new double[2];

    /// <summary>Creates the environment.</summary>
    /// <param name="goalVelocity">The minimum velocity at the flag that ends the episode.</param>
    public MountainCarEnv(double goalVelocity = 0)
        : base(
            new Box([(float)MinPosition, -(float)MaxSpeed], [(float)MaxPosition, (float)MaxSpeed]),
            new Discrete(3))
    {
        if (!double.IsFinite(goalVelocity))
        {
            throw new ArgumentOutOfRangeException(nameof(goalVelocity), goalVelocity, "MountainCar: goal_velocity must be finite.");
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

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        EnvState.WriteDoubles(writer, _state);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        EnvState.ReadDoubles(reader, _state, Name + " state");
    }

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
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        double position = _state[0], velocity = _state[1];
        velocity += (action - 1) * Force + Math.Cos(3 * position) * (-Gravity);
        velocity = Math.Clamp(velocity, -MaxSpeed, MaxSpeed);
        position += velocity;
        position = Math.Clamp(position, MinPosition, MaxPosition);
        if (position == MinPosition && velocity < 0)
        {
            velocity = 0;
        }

        bool terminated = position >= GoalPosition && velocity >= GoalVelocity;
        _state[0] = position;
        _state[1] = velocity;
        WriteObservation(observation);
        return new StepResult(-1.0, terminated, false);
    }

    /// <summary>The picture's width (Gymnasium's <c>screen_width</c>).</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height (Gymnasium's <c>screen_height</c>).</summary>
    public int RenderHeight => 400;

    /// <summary>30 frames per second (Gymnasium's <c>render_fps</c>).</summary>
    public int RenderFps => 30;

    /// <summary>Pixels per unit of position: the screen spans [−1.2, 0.6] (<c>600 / 1.8</c>).</summary>
    public static double RenderScale => 600 / (MaxPosition - MinPosition);

    /// <summary>The colour of the wheels, (128, 128, 128).</summary>
    public static Rgb WheelColor => new(128, 128, 128);

    /// <summary>The colour of the flag, (204, 204, 0).</summary>
    public static Rgb FlagColor => new(204, 204, 0);

    /// <summary>The height of the hill at <paramref name="position"/>: <c>sin(3 × position) × 0.45 + 0.55</c>.</summary>
    public static double Height(double position) => Math.Sin(3 * position) * 0.45 + 0.55;

    /// <summary>
    /// Draws Gymnasium 1.0's picture: the hill as a black line through 100 points, the black 40×20 car standing 10 pixels
    /// above the hill at column <c>(position + 1.2) × 600 / 1.8</c>, tilted by <c>cos(3 × position)</c>, its two grey
    /// wheels, and the yellow flag on a black pole at the goal position 0.5.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        GymnasiumScreen.CheckCanvas(canvas, this);
        DrawScene(canvas, _state[0], GoalPosition);
    }

    /// <summary>Draws the scene of <see cref="Render"/> with the car at <paramref name="position"/> and the flag at <paramref name="goalPosition"/> (shared with <see cref="MountainCarContinuousEnv"/>).</summary>
    internal static void DrawScene(ICanvas canvas, double position, double goalPosition)
    {
        const int height = 400;
        const double carWidth = 40, carHeight = 20, clearance = 10;
        double scale = RenderScale;

        canvas.Clear(Rgb.White);

        Span<Vector2> hill = stackalloc Vector2[100];
        for (int i = 0; i < hill.Length; i++)
        {
            // numpy.linspace(min_position, max_position, 100)
            double xs = i == hill.Length - 1 ? MaxPosition : MinPosition + i * ((MaxPosition - MinPosition) / (hill.Length - 1));
            hill[i] = GymnasiumScreen.Flip(height, (xs - MinPosition) * scale, Height(xs) * scale);
        }

        canvas.Polyline(hill, Rgb.Black);

        double tilt = Math.Cos(3 * position);
        double carX = (position - MinPosition) * scale;
        double carY = clearance + Height(position) * scale;
        Span<Vector2> corners = stackalloc Vector2[4];
        GymnasiumScreen.RotatedBox(corners, height, -carWidth / 2, carWidth / 2, carHeight, 0, tilt, carX, carY);
        canvas.FillPolygon(corners, Rgb.Black);

        ReadOnlySpan<double> wheelOffsets = [carWidth / 4, -carWidth / 4];
        foreach (double offset in wheelOffsets)
        {
            var (wx, wy) = GymnasiumScreen.Rotate(offset, 0, tilt);
            Vector2 wheel = GymnasiumScreen.PixelCentre(height, (int)(wx + carX), (int)(wy + carY));
            canvas.FillCircle(wheel.X, wheel.Y, (int)(carHeight / 2.5), WheelColor);
        }

        int flagX = (int)((goalPosition - MinPosition) * scale);
        int flagY1 = (int)(Height(goalPosition) * scale);
        int flagY2 = flagY1 + 50;
        // pygame's vline covers rows flagY1..flagY2 (inclusive, y up).
        canvas.Line(flagX + 0.5f, height - flagY1, flagX + 0.5f, height - flagY2 - 1, Rgb.Black);
        Span<Vector2> flag =
        [
            GymnasiumScreen.Flip(height, flagX, flagY2),
            GymnasiumScreen.Flip(height, flagX, flagY2 - 10),
            GymnasiumScreen.Flip(height, flagX + 25, flagY2 - 5),
        ];
        canvas.FillPolygon(flag, FlagColor);
    }

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)_state[0];
        observation[1] = (float)_state[1];
    }
}
