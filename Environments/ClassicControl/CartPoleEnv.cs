using System.Numerics;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>CartPole-v1</c> (Barto, Sutton and Anderson 1983): push a cart left (0) or right (1) to keep a
/// pole upright. Observation <c>[x, x_dot, theta, theta_dot]</c>; reward 1 every step, the terminating one included
/// (or Sutton and Barto's 0/−1 with the <c>sutton_barto_reward</c> option); terminated when |x| &gt; 2.4 or
/// |theta| &gt; 12°. Dynamics are computed in double with Gymnasium's operation order (Euler integration).
/// Renders as Gymnasium does: a 600×400 picture of the black cart, the pole and its axle over the track line.
/// </summary>
public sealed class CartPoleEnv : Env<int>, IPhysicalState, IRenderable
{
    /// <summary>Gravity (m/s²).</summary>
    public const double Gravity = 9.8;

    /// <summary>Mass of the cart (kg).</summary>
    public const double MassCart = 1.0;

    /// <summary>Mass of the pole (kg).</summary>
    public const double MassPole = 0.1;

    /// <summary>Half the pole's length (m).</summary>
    public const double Length = 0.5;

    /// <summary>Magnitude of the push (N).</summary>
    public const double ForceMag = 10.0;

    /// <summary>Seconds between state updates.</summary>
    public const double Tau = 0.02;

    /// <summary>The cart position beyond which the episode terminates.</summary>
    public const double XThreshold = 2.4;

    /// <summary>Total mass, computed as Gymnasium does (<c>masspole + masscart</c>).</summary>
    public static readonly double TotalMass = MassPole + MassCart;

    /// <summary><c>masspole * length</c>.</summary>
    public static readonly double PoleMassLength = MassPole * Length;

    /// <summary>The pole angle beyond which the episode terminates: 12° in radians, <c>12 * 2 * pi / 360</c>.</summary>
    public static readonly double ThetaThresholdRadians = 12 * 2 * Math.PI / 360;

    private readonly double[] _state = new double[4];
    private readonly bool _suttonBartoReward;

    /// <summary>Creates the environment.</summary>
    /// <param name="suttonBartoReward">Reward 0 per step and −1 on termination instead of 1 per step.</param>
    public CartPoleEnv(bool suttonBartoReward = false)
        : base(
            new Box(
                [-(float)(XThreshold * 2), float.NegativeInfinity, -(float)(ThetaThresholdRadians * 2), float.NegativeInfinity],
                [(float)(XThreshold * 2), float.PositiveInfinity, (float)(ThetaThresholdRadians * 2), float.PositiveInfinity]),
            new Discrete(2))
    {
        _suttonBartoReward = suttonBartoReward;
    }

    /// <summary>The state layout, Gymnasium's order.</summary>
    public const string StateLayout = "x, x_dot, theta, theta_dot";

    /// <summary>The physical state <c>[x, x_dot, theta, theta_dot]</c>.</summary>
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
        var (low, high) = ResetBounds.Parse(options, -0.05, 0.05, Name);
        for (int i = 0; i < 4; i++)
        {
            _state[i] = Rng.Uniform(low, high);
        }

        WriteObservation(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        double x = _state[0], xDot = _state[1], theta = _state[2], thetaDot = _state[3];
        double force = action == 1 ? ForceMag : -ForceMag;
        double cosTheta = Math.Cos(theta);
        double sinTheta = Math.Sin(theta);

        double temp = (force + PoleMassLength * (thetaDot * thetaDot) * sinTheta) / TotalMass;
        double thetaAcc = (Gravity * sinTheta - cosTheta * temp)
            / (Length * (4.0 / 3.0 - MassPole * (cosTheta * cosTheta) / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cosTheta / TotalMass;

        x += Tau * xDot;
        xDot += Tau * xAcc;
        theta += Tau * thetaDot;
        thetaDot += Tau * thetaAcc;
        _state[0] = x;
        _state[1] = xDot;
        _state[2] = theta;
        _state[3] = thetaDot;

        bool terminated = x < -XThreshold || x > XThreshold || theta < -ThetaThresholdRadians || theta > ThetaThresholdRadians;
        double reward = !_suttonBartoReward ? 1.0 : terminated ? -1.0 : 0.0;

        WriteObservation(observation);
        return new StepResult(reward, terminated, false);
    }

    /// <summary>The picture's width (Gymnasium's <c>screen_width</c>).</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height (Gymnasium's <c>screen_height</c>).</summary>
    public int RenderHeight => 400;

    /// <summary>50 frames per second (Gymnasium's <c>render_fps</c>; one step is 0.02 s).</summary>
    public int RenderFps => 50;

    /// <summary>Pixels per metre, 125: the screen spans the track from −2.4 to 2.4 (Gymnasium's <c>600 / (2 × x_threshold)</c>).</summary>
    public static double RenderScale => 600 / (XThreshold * 2);

    /// <summary>The colour of the pole, (202, 152, 101).</summary>
    public static Rgb PoleColor => new(202, 152, 101);

    /// <summary>The colour of the axle, (129, 132, 203).</summary>
    public static Rgb AxleColor => new(129, 132, 203);

    /// <summary>
    /// Draws Gymnasium 1.0's picture: a white background, the black 50×30 cart centred at column <c>x × 125 + 300</c>
    /// (rows 285 to 315), the 10-pixel-wide pole of length 125 leaning by <c>theta</c> (to the right for positive
    /// angles) from the axle 7.5 pixels above the cart's centre, and the black track line on row 299.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        GymnasiumScreen.CheckCanvas(canvas, this);
        const int height = 400;
        const double poleWidth = 10.0, cartWidth = 50.0, cartHeight = 30.0;
        double scale = RenderScale;
        double poleLength = scale * (2 * Length);
        double x = _state[0], theta = _state[2];

        canvas.Clear(Rgb.White);
        Span<Vector2> corners = stackalloc Vector2[4];

        double cartX = x * scale + RenderWidth / 2.0; // middle of the cart
        const double cartY = 100; // Gymnasium's "top of cart" (really its centre line), y up
        const double axleOffset = cartHeight / 4.0;
        GymnasiumScreen.RotatedBox(corners, height, -cartWidth / 2, cartWidth / 2, cartHeight / 2, -cartHeight / 2, 0, cartX, cartY);
        canvas.FillPolygon(corners, Rgb.Black);

        GymnasiumScreen.RotatedBox(
            corners, height, -poleWidth / 2, poleWidth / 2, poleLength - poleWidth / 2, -poleWidth / 2, -theta, cartX, cartY + axleOffset);
        canvas.FillPolygon(corners, PoleColor);

        Vector2 axle = GymnasiumScreen.PixelCentre(height, (int)cartX, (int)(cartY + axleOffset));
        canvas.FillCircle(axle.X, axle.Y, (int)(poleWidth / 2), AxleColor);

        // pygame's hline on row 100 (y up) is row 299 after the flip.
        float trackRow = height - (float)cartY - 0.5f;
        canvas.Line(0, trackRow, RenderWidth, trackRow, Rgb.Black);
    }

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)_state[0];
        observation[1] = (float)_state[1];
        observation[2] = (float)_state[2];
        observation[3] = (float)_state[3];
    }
}
