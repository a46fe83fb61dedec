namespace RlMemory.Environments.ClassicControl;

/// <summary>
/// Gymnasium 1.0's <c>MountainCar-v0</c> (Moore 1990): an under-powered car in a valley must rock back and forth to
/// reach the flag at position 0.5. Actions: 0 push left, 1 no push, 2 push right. Observation
/// <c>[position, velocity]</c>; reward −1 every step; terminated when position ≥ 0.5 and velocity ≥
/// <c>goal_velocity</c> (option, default 0).
/// </summary>
public sealed class MountainCarEnv : Env<int>, IPhysicalState
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

    private void WriteObservation(Span<float> observation)
    {
        observation[0] = (float)_state[0];
        observation[1] = (float)_state[1];
    }
}
