using System.Numerics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>Acrobot-v1</c> (Sutton 1996): two links, torque at the joint between them; swing the tip above
/// the bar. Actions: torque −1, 0, +1. Observation <c>[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]</c>; reward −1 per
/// step and 0 on the step that reaches the goal (terminated when <c>−cos θ1 − cos(θ2 + θ1) &gt; 1</c>).
/// One classic RK4 step over <c>dt = 0.2</c> with the book's dynamics (<c>book_or_nips = "book"</c> by default).
/// Renders as Gymnasium does: a 500×500 picture of the two links, their joints and the goal bar.
/// </summary>
public sealed class AcrobotEnv : Env<int>, IPhysicalState, IRenderable
{
    /// <summary>Integration step (s).</summary>
    public const double Dt = 0.2;

    /// <summary>Length of link 1 (m).</summary>
    public const double LinkLength1 = 1.0;

    /// <summary>Length of link 2 (m).</summary>
    public const double LinkLength2 = 1.0;

    /// <summary>Mass of link 1 (kg).</summary>
    public const double LinkMass1 = 1.0;

    /// <summary>Mass of link 2 (kg).</summary>
    public const double LinkMass2 = 1.0;

    /// <summary>Position of the centre of mass of link 1 (m).</summary>
    public const double LinkComPos1 = 0.5;

    /// <summary>Position of the centre of mass of link 2 (m).</summary>
    public const double LinkComPos2 = 0.5;

    /// <summary>Moment of inertia of both links.</summary>
    public const double LinkMoi = 1.0;

    /// <summary>Angular speed limit of link 1: 4π.</summary>
    public const double MaxVel1 = 4 * Math.PI;

    /// <summary>Angular speed limit of link 2: 9π.</summary>
    public const double MaxVel2 = 9 * Math.PI;

    /// <summary>The state layout, Gymnasium's order.</summary>
    public const string StateLayout = "theta1, theta2, dtheta1, dtheta2";

    private static readonly double[] AvailableTorque = [-1.0, 0.0, 1.0];
    private static readonly string[] DynamicsChoices = ["book", "nips"];

    private readonly double[] _state = new double[4];
    private readonly bool _nips;
    private readonly double _torqueNoiseMax;

    /// <summary>Creates the environment.</summary>
    /// <param name="bookOrNips"><c>"book"</c> (Gymnasium's default) or <c>"nips"</c> for the paper's equations.</param>
    /// <param name="torqueNoiseMax">Uniform noise added to the torque (0 in Gymnasium).</param>
    public AcrobotEnv(string bookOrNips = "book", double torqueNoiseMax = 0.0)
        : base(
            new Box(
                [-1f, -1f, -1f, -1f, -(float)MaxVel1, -(float)MaxVel2],
                [1f, 1f, 1f, 1f, (float)MaxVel1, (float)MaxVel2]),
            new Discrete(3))
    {
        if (!DynamicsChoices.Contains(bookOrNips))
        {
            throw new ArgumentException($"Acrobot: book_or_nips must be 'book' or 'nips', got '{bookOrNips}'.", nameof(bookOrNips));
        }

        if (!(torqueNoiseMax >= 0) || double.IsInfinity(torqueNoiseMax))
        {
            throw new ArgumentOutOfRangeException(nameof(torqueNoiseMax), torqueNoiseMax, "Acrobot: torque_noise_max must be finite and >= 0.");
        }

        _nips = bookOrNips == "nips";
        _torqueNoiseMax = torqueNoiseMax;
    }

    /// <summary>The physical state <c>[theta1, theta2, dtheta1, dtheta2]</c>.</summary>
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
        var (low, high) = ResetBounds.Parse(options, -0.1, 0.1, Name);
        for (int i = 0; i < 4; i++)
        {
            // Gymnasium casts the reset state to float32.
            _state[i] = (float)Rng.Uniform(low, high);
        }

        WriteObservation(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        double torque = AvailableTorque[action];
        if (_torqueNoiseMax > 0)
        {
            torque += Rng.Uniform(-_torqueNoiseMax, _torqueNoiseMax);
        }

        Rk4(torque);
        _state[0] = Wrap(_state[0], -Math.PI, Math.PI);
        _state[1] = Wrap(_state[1], -Math.PI, Math.PI);
        _state[2] = Math.Min(Math.Max(_state[2], -MaxVel1), MaxVel1);
        _state[3] = Math.Min(Math.Max(_state[3], -MaxVel2), MaxVel2);

        bool terminated = -Math.Cos(_state[0]) - Math.Cos(_state[1] + _state[0]) > 1.0;
        WriteObservation(observation);
        return new StepResult(terminated ? 0.0 : -1.0, terminated, false);
    }

    /// <summary>One RK4 step over <c>[0, dt]</c> of the augmented state (the torque's derivative is zero).</summary>
    private void Rk4(double torque)
    {
        const double dt = Dt - 0;
        const double dt2 = dt / 2.0;
        double s0 = _state[0], s1 = _state[1], s2 = _state[2], s3 = _state[3];

        Derivatives(s0, s1, s2, s3, torque, out double k1a, out double k1b, out double k1c, out double k1d);
        Derivatives(s0 + dt2 * k1a, s1 + dt2 * k1b, s2 + dt2 * k1c, s3 + dt2 * k1d, torque,
            out double k2a, out double k2b, out double k2c, out double k2d);
        Derivatives(s0 + dt2 * k2a, s1 + dt2 * k2b, s2 + dt2 * k2c, s3 + dt2 * k2d, torque,
            out double k3a, out double k3b, out double k3c, out double k3d);
        Derivatives(s0 + dt * k3a, s1 + dt * k3b, s2 + dt * k3c, s3 + dt * k3d, torque,
            out double k4a, out double k4b, out double k4c, out double k4d);

        const double sixth = dt / 6.0;
        _state[0] = s0 + sixth * (k1a + 2 * k2a + 2 * k3a + k4a);
        _state[1] = s1 + sixth * (k1b + 2 * k2b + 2 * k3b + k4b);
        _state[2] = s2 + sixth * (k1c + 2 * k2c + 2 * k3c + k4c);
        _state[3] = s3 + sixth * (k1d + 2 * k2d + 2 * k3d + k4d);
    }

    /// <summary>Gymnasium's <c>_dsdt</c>, term for term in its evaluation order.</summary>
    private void Derivatives(
        double theta1, double theta2, double dtheta1, double dtheta2, double a,
        out double dTheta1, out double dTheta2, out double ddTheta1, out double ddTheta2)
    {
        const double m1 = LinkMass1, m2 = LinkMass2, l1 = LinkLength1, lc1 = LinkComPos1, lc2 = LinkComPos2;
        const double i1 = LinkMoi, i2 = LinkMoi, g = 9.8;
        double cosTheta2 = Math.Cos(theta2);
        double sinTheta2 = Math.Sin(theta2);
        double d1 = m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2 * l1 * lc2 * cosTheta2) + i1 + i2;
        double d2 = m2 * ((lc2 * lc2) + l1 * lc2 * cosTheta2) + i2;
        double phi2 = m2 * lc2 * g * Math.Cos(theta1 + theta2 - Math.PI / 2.0);
        double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sinTheta2
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sinTheta2
            + (m1 * lc1 + m2 * l1) * g * Math.Cos(theta1 - Math.PI / 2)
            + phi2;
        double dd2 = _nips
            ? (a + d2 / d1 * phi1 - phi2) / (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1)
            : (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sinTheta2 - phi2) / (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
        double dd1 = -(d2 * dd2 + phi1) / d1;
        dTheta1 = dtheta1;
        dTheta2 = dtheta2;
        ddTheta1 = dd1;
        ddTheta2 = dd2;
    }

    private static double Wrap(double x, double m, double max)
    {
        double diff = max - m;
        while (x > max)
        {
            x -= diff;
        }

        while (x < m)
        {
            x += diff;
        }

        return x;
    }

    /// <summary>The picture's width (Gymnasium's <c>SCREEN_DIM</c>).</summary>
    public int RenderWidth => 500;

    /// <summary>The picture's height (Gymnasium's <c>SCREEN_DIM</c>).</summary>
    public int RenderHeight => 500;

    /// <summary>15 frames per second (Gymnasium's <c>render_fps</c>).</summary>
    public int RenderFps => 15;

    /// <summary>Pixels per metre: the screen spans ±2.2 m around the pivot (<c>500 / 4.4</c>).</summary>
    public static double RenderScale => 500 / ((LinkLength1 + LinkLength2 + 0.2) * 2);

    /// <summary>The colour of the links, (0, 204, 204).</summary>
    public static Rgb LinkColor => new(0, 204, 204);

    /// <summary>The colour of the joints, (204, 204, 0).</summary>
    public static Rgb JointColor => new(204, 204, 0);

    /// <summary>
    /// Draws Gymnasium 1.0's picture: the black goal bar one link length above the pivot (the tip must rise above it),
    /// then each link as a cyan bar 0.2 m wide from its joint, with a yellow joint at the pivot (the picture's centre)
    /// and between the links. With both angles 0 the links hang straight down; a positive <c>theta1</c> swings the
    /// first link to the right.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        GymnasiumScreen.CheckCanvas(canvas, this);
        const int height = 500;
        double scale = RenderScale;
        double offset = RenderWidth / 2.0;
        double theta1 = _state[0], theta2 = _state[1];

        canvas.Clear(Rgb.White);

        // pygame.draw.line (1 pixel, not anti-aliased) on row floor(offset + scale), y up.
        float barRow = height - (int)(1 * scale + offset) - 0.5f;
        canvas.Line((float)(-2.2 * scale + offset), barRow, (float)(2.2 * scale + offset), barRow, Rgb.Black);

        // Gymnasium computes p1, p2 and swaps their coordinates ([:, ::-1]); these are the swapped values, y up.
        double x1 = LinkLength1 * Math.Sin(theta1) * scale, y1 = -LinkLength1 * Math.Cos(theta1) * scale;
        ReadOnlySpan<(double X, double Y, double Theta, double Length)> links =
        [
            (0, 0, theta1 - Math.PI / 2, LinkLength1 * scale),
            (x1, y1, theta1 + theta2 - Math.PI / 2, LinkLength2 * scale),
        ];
        Span<Vector2> corners = stackalloc Vector2[4];
        foreach (var (lx, ly, th, length) in links)
        {
            double x = lx + offset, y = ly + offset;
            GymnasiumScreen.RotatedBox(corners, height, 0, length, 0.1 * scale, -0.1 * scale, th, x, y);
            canvas.FillPolygon(corners, LinkColor);
            Vector2 joint = GymnasiumScreen.PixelCentre(height, (int)x, (int)y);
            canvas.FillCircle(joint.X, joint.Y, (int)(0.1 * scale), JointColor);
        }
    }

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)Math.Cos(_state[0]);
        observation[1] = (float)Math.Sin(_state[0]);
        observation[2] = (float)Math.Cos(_state[1]);
        observation[3] = (float)Math.Sin(_state[1]);
        observation[4] = (float)_state[2];
        observation[5] = (float)_state[3];
    }
}
