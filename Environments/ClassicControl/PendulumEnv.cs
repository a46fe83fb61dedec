using System.Numerics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>Pendulum-v1</c>: swing a pendulum up and keep it upright with a torque in [−2, 2]. Observation
/// <c>[cos θ, sin θ, θ̇]</c>; reward <c>−(θ_n² + 0.1 θ̇² + 0.001 u²)</c> with θ_n the angle normalized to [−π, π);
/// never terminates (the registry's time limit truncates at 200 steps). Option <c>g</c> sets gravity (default 10).
/// Renders as Gymnasium does: a 500×500 picture of the rod, its axle and an arrow for the last torque.
/// </summary>
/// <remarks>
/// Gymnasium clips the torque to [−2, 2]; this environment, like every RlMemory environment, refuses actions outside
/// its action space instead (clip in your policy, or use <c>DiscretizeAction</c>).
/// </remarks>
public sealed class PendulumEnv : Env<float[]>, IPhysicalState, IRenderable
{
    /// <summary>Angular speed limit.</summary>
    public const double MaxSpeed = 8;

    /// <summary>Torque limit.</summary>
    public const float MaxTorque = 2.0f;

    /// <summary>Integration step (s).</summary>
    public const double Dt = 0.05;

    /// <summary>Mass (kg).</summary>
    public const double Mass = 1.0;

    /// <summary>Length (m).</summary>
    public const double Length = 1.0;

    /// <summary>The state layout, Gymnasium's order.</summary>
    public const string StateLayout = "theta, theta_dot";

    private static readonly string[] ResetKeys = ["x_init", "y_init"];

    private readonly double[] _state = new double[2];

    /// <summary>Creates the environment.</summary>
    /// <param name="g">Gravity (Gymnasium's default 10.0).</param>
    public PendulumEnv(double g = 10.0)
        : base(
            new Box([-1f, -1f, -(float)MaxSpeed], [1f, 1f, (float)MaxSpeed]),
            new Box(-MaxTorque, MaxTorque, 1))
    {
        if (!double.IsFinite(g))
        {
            throw new ArgumentOutOfRangeException(nameof(g), g, "Pendulum: g must be finite.");
        }

        G = g;
    }

    /// <summary>Gravity.</summary>
    public double G { get; }

    /// <summary>The last torque applied, or null at the start of an episode.</summary>
    public float? LastTorque { get; private set; }

    /// <summary>The physical state <c>[theta, theta_dot]</c> (theta is not wrapped).</summary>
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
        writer.Write(LastTorque.HasValue);
        writer.Write(LastTorque ?? 0f);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        EnvState.ReadDoubles(reader, _state, Name + " state");
        bool hasTorque = reader.ReadBoolean();
        float torque = reader.ReadSingle();
        LastTorque = hasTorque ? torque : null;
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        double x = Math.PI, y = 1.0;
        if (options is not null)
        {
            var named = new EnvOptions(options) { Owner = Name + " reset" };
            named.RequireKnownKeys(ResetKeys);
            x = named.GetDouble("x_init", x);
            y = named.GetDouble("y_init", y);
            if (!(x >= 0) || !(y >= 0) || double.IsInfinity(x) || double.IsInfinity(y))
            {
                throw new ArgumentException($"{Name} reset: x_init and y_init must be finite and >= 0 (the state is drawn from [-x_init, x_init] × [-y_init, y_init]), got {x} and {y}.");
            }
        }

        // np_random.uniform(low=-high, high=high) with high = [x, y]: low + (high - low) * u per element.
        _state[0] = Rng.Uniform(-x, x);
        _state[1] = Rng.Uniform(-y, y);
        LastTorque = null;
        WriteObservation(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(float[] action, Span<float> observation)
    {
        double th = _state[0], thDot = _state[1];
        float u = Math.Clamp(action[0], -MaxTorque, MaxTorque);
        LastTorque = u;

        // u is a float32 scalar; numpy 1.24 computes u ** 2 (a Python int exponent) in float64, so the whole cost is float64.
        double controlCost = 0.001 * ((double)u * u);
        double an = AngleNormalize(th);
        double costs = an * an + 0.1 * (thDot * thDot) + controlCost;

        double newThDot = thDot + (3 * G / (2 * Length) * Math.Sin(th) + 3.0 / (Mass * (Length * Length)) * u) * Dt;
        newThDot = Math.Clamp(newThDot, -MaxSpeed, MaxSpeed);
        double newTh = th + newThDot * Dt;
        _state[0] = newTh;
        _state[1] = newThDot;
        WriteObservation(observation);
        return new StepResult(-costs, false, false);
    }

    /// <summary>Gymnasium's <c>((x + pi) % (2 * pi)) - pi</c> with Python's floored modulo.</summary>
    internal static double AngleNormalize(double x)
    {
        const double twoPi = 2 * Math.PI;
        double mod = (x + Math.PI) % twoPi;
        if (mod != 0)
        {
            if (mod < 0)
            {
                mod += twoPi;
            }
        }
        else
        {
            mod = 0.0;
        }

        return mod - Math.PI;
    }

    /// <summary>The picture's width (Gymnasium's <c>screen_dim</c>).</summary>
    public int RenderWidth => 500;

    /// <summary>The picture's height (Gymnasium's <c>screen_dim</c>).</summary>
    public int RenderHeight => 500;

    /// <summary>30 frames per second (Gymnasium's <c>render_fps</c>).</summary>
    public int RenderFps => 30;

    /// <summary>Pixels per metre: the screen spans ±2.2 m around the axle (<c>500 / 4.4</c>).</summary>
    public static double RenderScale => 500 / (2.2 * 2);

    /// <summary>The colour of the rod, (204, 77, 77).</summary>
    public static Rgb RodColor => new(204, 77, 77);

    /// <summary>The colour of the torque arrow, black.</summary>
    public static Rgb ArrowColor => Rgb.Black;

    /// <summary>
    /// Draws Gymnasium 1.0's picture: the red rod (length 1 m, width 0.2 m, rounded ends) from the axle at the centre,
    /// pointing up for <c>theta = 0</c> and turning counter-clockwise as <c>theta</c> grows; after a step, an arrow
    /// around the axle for the last torque, counter-clockwise for a positive torque, clockwise for a negative one, its size
    /// proportional to |torque| (none for 0); and the black axle on top.
    /// </summary>
    /// <remarks>
    /// Gymnasium draws the arrow from an image (<c>assets/clockwise.png</c>, scaled to <c>scale × |u| / 2</c> pixels and
    /// mirrored for positive torques). Here the arrow is drawn: a three-quarter circle of diameter 0.7 of that size with
    /// an arrowhead, so direction and size carry the same information without an image file.
    /// </remarks>
    public void Render(ICanvas canvas)
    {
        GymnasiumScreen.CheckCanvas(canvas, this);
        const int height = 500;
        double scale = RenderScale;
        int offset = RenderWidth / 2;
        double rodLength = 1 * scale, rodWidth = 0.2 * scale;
        double angle = _state[0] + Math.PI / 2;

        canvas.Clear(Rgb.White);
        Span<Vector2> corners = stackalloc Vector2[4];
        GymnasiumScreen.RotatedBox(corners, height, 0, rodLength, rodWidth / 2, -rodWidth / 2, angle, offset, offset);
        canvas.FillPolygon(corners, RodColor);

        Vector2 axle = GymnasiumScreen.PixelCentre(height, offset, offset);
        canvas.FillCircle(axle.X, axle.Y, (int)(rodWidth / 2), RodColor);

        var (ex, ey) = GymnasiumScreen.Rotate(rodLength, 0, angle);
        Vector2 rodEnd = GymnasiumScreen.PixelCentre(height, (int)(ex + offset), (int)(ey + offset));
        canvas.FillCircle(rodEnd.X, rodEnd.Y, (int)(rodWidth / 2), RodColor);

        if (LastTorque is float u && u != 0)
        {
            DrawTorqueArrow(canvas, axle, scale * Math.Abs(u) / 2, counterClockwise: u > 0);
        }

        canvas.FillCircle(axle.X, axle.Y, (int)(0.05 * scale), Rgb.Black);
    }

    /// <summary>A three-quarter circle with an arrowhead, fitting a square of side <paramref name="size"/> around <paramref name="centre"/>.</summary>
    private static void DrawTorqueArrow(ICanvas canvas, Vector2 centre, double size, bool counterClockwise)
    {
        const int segments = 36;
        double radius = size * 0.35;
        float width = (float)Math.Max(1.0, size * 0.08);
        double start = -Math.PI / 4, sweep = 1.5 * Math.PI; // clockwise on the screen (y down) as the angle grows
        double mirror = counterClockwise ? -1 : 1;
        Span<Vector2> arc = stackalloc Vector2[segments + 1];
        for (int i = 0; i <= segments; i++)
        {
            double a = start + sweep * i / segments;
            arc[i] = new Vector2((float)(centre.X + mirror * radius * Math.Cos(a)), (float)(centre.Y + radius * Math.Sin(a)));
        }

        canvas.Polyline(arc, ArrowColor, width);

        double end = start + sweep;
        double headLength = Math.Max(3.0, width * 2.5);
        double tx = -Math.Sin(end) * mirror, ty = Math.Cos(end); // direction of travel at the end of the arc
        double nx = Math.Cos(end) * mirror, ny = Math.Sin(end); // outward normal there
        Vector2 tip = arc[segments];
        Span<Vector2> head =
        [
            new((float)(tip.X + tx * headLength), (float)(tip.Y + ty * headLength)),
            new((float)(tip.X + nx * headLength * 0.6), (float)(tip.Y + ny * headLength * 0.6)),
            new((float)(tip.X - nx * headLength * 0.6), (float)(tip.Y - ny * headLength * 0.6)),
        ];
        canvas.FillPolygon(head, ArrowColor);
    }

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)Math.Cos(_state[0]);
        observation[1] = (float)Math.Sin(_state[0]);
        observation[2] = (float)_state[1];
    }
}
