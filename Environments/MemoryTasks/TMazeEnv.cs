namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// Bakker's T-maze (2001, "Reinforcement Learning with Long Short-Term Memory"): a corridor of
/// <see cref="CorridorLength"/> steps with a road sign at its start that says which arm of the T-junction at its end
/// holds the reward. The sign is seen only at the start, so the turn at the junction needs memory.
/// </summary>
/// <remarks>
/// <para>Cells: the start <c>x = 0</c>, corridor cells <c>1 … N − 1</c>, the junction <c>x = N</c>, and two arm cells
/// north and south of the junction. Observations are Bakker's three bits: <c>011</c> at the start when the goal is
/// north, <c>110</c> when it is south, <c>101</c> in the corridor, <c>010</c> at the junction; entering an arm ends the
/// episode with observation <c>000</c>. Like Bakker's, the observation depends on the cell only: walking back to the
/// start shows the sign again.</para>
/// <para>Actions: <see cref="North"/> (0), <see cref="East"/> (1), <see cref="South"/> (2), <see cref="West"/> (3).
/// East and west move along the corridor (reward 0). A move into a wall leaves the agent where it is and costs
/// <see cref="StandStillReward"/> (−0.1). At the junction, north or south enters that arm and terminates the episode:
/// <see cref="GoalReward"/> (+4) for the arm the sign named, <see cref="WrongArmReward"/> (−0.1) for the other.</para>
/// <para>Time limit: the environment truncates the episode after <see cref="MaxSteps"/> =
/// ⌈<c>timeLimitFactor</c> · (N + 1)⌉ steps (by default 2(N + 1), twice the optimal episode), so the limit scales with
/// the corridor.</para>
/// <para>Yardsticks (undiscounted return): optimal <see cref="OptimalReturn"/> = 4 in N + 1 steps; the best memoryless
/// policy <see cref="BestMemorylessReturn"/> = 1.95, because the junction looks the same for both signs. The uniformly
/// random policy's return depends on N and the time limit (see docs/memory-tasks.md).</para>
/// </remarks>
public sealed class TMazeEnv : Env<int>
{
    /// <summary>Action: move north (at the junction: enter the north arm).</summary>
    public const int North = 0;

    /// <summary>Action: move east, towards the junction.</summary>
    public const int East = 1;

    /// <summary>Action: move south (at the junction: enter the south arm).</summary>
    public const int South = 2;

    /// <summary>Action: move west, towards the start.</summary>
    public const int West = 3;

    /// <summary>The reward for entering the arm the road sign named (Bakker: 4).</summary>
    public const double GoalReward = 4.0;

    /// <summary>The reward for entering the other arm (Bakker: −0.1).</summary>
    public const double WrongArmReward = -0.1;

    /// <summary>The reward for a move into a wall, which leaves the agent where it is (Bakker: −0.1 for standing still).</summary>
    public const double StandStillReward = -0.1;

    /// <summary>The longest corridor accepted.</summary>
    public const int MaxCorridorLength = 1_000_000;

    /// <summary>The default corridor length (Bakker's Figure 1).</summary>
    public const int DefaultCorridorLength = 10;

    /// <summary>The default time limit as a multiple of the optimal episode length N + 1.</summary>
    public const double DefaultTimeLimitFactor = 2.0;

    /// <summary>The largest time-limit factor accepted.</summary>
    public const double MaxTimeLimitFactor = 1000.0;

    /// <summary>The optimal expected return: walk east N times, then turn to the arm the sign named.</summary>
    public const double OptimalReturn = GoalReward;

    /// <summary>
    /// The best expected return of a memoryless policy (one that sees only the current observation): the junction
    /// observation is the same for both signs, so any such policy picks the right arm with probability 1/2:
    /// (4 + (−0.1)) / 2 = 1.95, reached by walking east and turning north.
    /// </summary>
    public const double BestMemorylessReturn = (GoalReward + WrongArmReward) / 2;

    private static readonly Info SuccessInfo = Info.Of("is_success", true);
    private static readonly Info FailureInfo = Info.Of("is_success", false);

    private int _x;
    private int _steps;
    private bool _goalIsNorth;

    /// <summary>Creates a T-maze.</summary>
    /// <param name="corridorLength">N: the number of east moves from the start to the junction, 1 to <see cref="MaxCorridorLength"/>.</param>
    /// <param name="timeLimitFactor">The time limit as a multiple of N + 1, from 1 to <see cref="MaxTimeLimitFactor"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside its range.</exception>
    public TMazeEnv(int corridorLength = DefaultCorridorLength, double timeLimitFactor = DefaultTimeLimitFactor)
        : base(new Box(0f, 1f, 3), new Discrete(4))
    {
        CheckParameters(corridorLength, timeLimitFactor);
        CorridorLength = corridorLength;
        TimeLimitFactor = timeLimitFactor;
        MaxSteps = TimeLimit(corridorLength, timeLimitFactor);
    }

    /// <summary>N: the number of east moves from the start to the junction.</summary>
    public int CorridorLength { get; }

    /// <summary>The time limit as a multiple of the optimal episode length N + 1.</summary>
    public double TimeLimitFactor { get; }

    /// <summary>The step on which an episode that has not terminated is truncated.</summary>
    public int MaxSteps { get; }

    /// <summary>The agent's cell along the corridor: 0 at the start, <see cref="CorridorLength"/> at the junction.</summary>
    public int Position => _x;

    /// <summary>Whether the goal of the current episode is the north arm (the sign showed <c>011</c>).</summary>
    public bool GoalIsNorth => _goalIsNorth;

    /// <summary>The steps taken in the current episode.</summary>
    public int ElapsedSteps => _steps;

    /// <summary>The time limit for a corridor of length <paramref name="corridorLength"/>: ⌈factor · (N + 1)⌉ steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside the range the constructor accepts.</exception>
    public static int TimeLimit(int corridorLength, double timeLimitFactor = DefaultTimeLimitFactor)
    {
        CheckParameters(corridorLength, timeLimitFactor);
        return (int)Math.Ceiling(timeLimitFactor * (corridorLength + 1.0)); // at most 1000 × 1000001 < int.MaxValue
    }

    private static void CheckParameters(int corridorLength, double timeLimitFactor)
    {
        if (corridorLength is < 1 or > MaxCorridorLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(corridorLength), corridorLength, $"TMazeEnv: the corridor length must be an integer in [1, {MaxCorridorLength}].");
        }

        if (!(timeLimitFactor >= 1.0 && timeLimitFactor <= MaxTimeLimitFactor))
        {
            throw new ArgumentOutOfRangeException(
                nameof(timeLimitFactor), timeLimitFactor, $"TMazeEnv: the time-limit factor must be a number in [1, {MaxTimeLimitFactor}].");
        }
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _goalIsNorth = Rng.Integers(0, 2) == 0;
        _x = 0;
        _steps = 0;
        WriteCell(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _steps++;
        if (_x == CorridorLength && action is North or South)
        {
            bool success = (action == North) == _goalIsNorth;
            observation.Clear(); // The arm cell.
            return new StepResult(success ? GoalReward : WrongArmReward, true, false, success ? SuccessInfo : FailureInfo);
        }

        double reward = 0.0;
        if (action == East && _x < CorridorLength)
        {
            _x++;
        }
        else if (action == West && _x > 0)
        {
            _x--;
        }
        else
        {
            reward = StandStillReward;
        }

        WriteCell(observation);
        return new StepResult(reward, false, _steps >= MaxSteps);
    }

    private void WriteCell(Span<float> observation)
    {
        if (_x == 0)
        {
            observation[0] = _goalIsNorth ? 0f : 1f; // 011: north, 110: south
            observation[1] = 1f;
            observation[2] = _goalIsNorth ? 1f : 0f;
        }
        else if (_x == CorridorLength)
        {
            observation[0] = 0f; // 010
            observation[1] = 1f;
            observation[2] = 0f;
        }
        else
        {
            observation[0] = 1f; // 101
            observation[1] = 0f;
            observation[2] = 1f;
        }
    }
}
