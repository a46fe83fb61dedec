namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>Pendulum-v1</c>: swing a pendulum up and keep it upright with a torque in [−2, 2]. Observation
/// <c>[cos θ, sin θ, θ̇]</c>; reward <c>−(θ_n² + 0.1 θ̇² + 0.001 u²)</c> with θ_n the angle normalized to [−π, π);
/// never terminates (the registry's time limit truncates at 200 steps). Option <c>g</c> sets gravity (default 10).
/// </summary>
/// <remarks>
/// Gymnasium clips the torque to [−2, 2]; this environment, like every RlMemory environment, refuses actions outside
/// its action space instead (clip in your policy, or use <c>DiscretizeAction</c>).
/// </remarks>
public sealed class PendulumEnv : Env<float[]>, IPhysicalState
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

        // numpy 1.24 computes 0.001 * (u ** 2) in float32 (u is a float32 scalar); the rest in float64.
        float controlCost = 0.001f * (u * u);
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

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)Math.Cos(_state[0]);
        observation[1] = (float)Math.Sin(_state[0]);
        observation[2] = (float)_state[1];
    }
}
