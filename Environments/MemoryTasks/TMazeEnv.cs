using System.Globalization;
using RlMemory.Environments.Rendering;

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
/// <para>Renders a 600×300 picture of the maze (<see cref="Render"/>): the corridor, the junction and its two arms, the
/// agent, the road sign at the start, and the true goal arm, tinted and labelled "goal".</para>
/// </remarks>
public sealed class TMazeEnv : Env<int>, IRenderable
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

    /// <summary>The largest west penalty accepted.</summary>
    public const double MaxWestPenalty = 1.0;

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

    private static readonly string[] ActionNames = ["north", "east", "south", "west"];

    private int _x;
    private int _steps;
    private bool _goalIsNorth;
    private int _arm; // 0 in the corridor, +1 after entering the north arm, -1 the south arm
    private int _lastAction = -1;
    private double _lastReward;

    /// <summary>Creates a T-maze.</summary>
    /// <param name="corridorLength">N: the number of east moves from the start to the junction, 1 to <see cref="MaxCorridorLength"/>.</param>
    /// <param name="timeLimitFactor">The time limit as a multiple of N + 1, from 1 to <see cref="MaxTimeLimitFactor"/>.</param>
    /// <param name="westPenalty">
    /// The cost of a move west along the corridor, from 0 (Bakker's maze, the default) to <see cref="MaxWestPenalty"/>.
    /// Above 0 only east is free, so an agent learns to walk the corridor from the immediate reward alone, however long
    /// it is: the task then tests memory, not exploration (as Ni et al. 2023's passive T-maze). The yardsticks
    /// <see cref="OptimalReturn"/> and <see cref="BestMemorylessReturn"/> do not change (neither policy moves west).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside its range.</exception>
    public TMazeEnv(int corridorLength = DefaultCorridorLength, double timeLimitFactor = DefaultTimeLimitFactor, double westPenalty = 0.0)
        : base(new Box(0f, 1f, 3), new Discrete(4))
    {
        CheckParameters(corridorLength, timeLimitFactor);
        if (!(westPenalty >= 0.0 && westPenalty <= MaxWestPenalty))
        {
            throw new ArgumentOutOfRangeException(
                nameof(westPenalty), westPenalty, $"TMazeEnv: the west penalty must be a number in [0, {MaxWestPenalty}].");
        }

        CorridorLength = corridorLength;
        TimeLimitFactor = timeLimitFactor;
        WestPenalty = westPenalty;
        MaxSteps = TimeLimit(corridorLength, timeLimitFactor);
    }

    /// <summary>N: the number of east moves from the start to the junction.</summary>
    public int CorridorLength { get; }

    /// <summary>The time limit as a multiple of the optimal episode length N + 1.</summary>
    public double TimeLimitFactor { get; }

    /// <summary>The cost of a move west along the corridor (reward −<see cref="WestPenalty"/>; 0 in Bakker's maze).</summary>
    public double WestPenalty { get; }

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
    public override bool CanSaveState => true;

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(_x);
        writer.Write(_steps);
        writer.Write(_goalIsNorth);
        writer.Write(_arm);
        writer.Write(_lastAction);
        writer.Write(_lastReward);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        _x = reader.ReadInt32();
        _steps = reader.ReadInt32();
        _goalIsNorth = reader.ReadBoolean();
        _arm = reader.ReadInt32();
        _lastAction = reader.ReadInt32();
        _lastReward = reader.ReadDouble();
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _goalIsNorth = Rng.Integers(0, 2) == 0;
        _x = 0;
        _steps = 0;
        _arm = 0;
        _lastAction = -1;
        _lastReward = 0.0;
        WriteCell(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _steps++;
        _lastAction = action;
        if (_x == CorridorLength && action is North or South)
        {
            bool success = (action == North) == _goalIsNorth;
            _arm = action == North ? 1 : -1;
            _lastReward = success ? GoalReward : WrongArmReward;
            observation.Clear(); // The arm cell.
            return new StepResult(_lastReward, true, false, success ? SuccessInfo : FailureInfo);
        }

        double reward = 0.0;
        if (action == East && _x < CorridorLength)
        {
            _x++;
        }
        else if (action == West && _x > 0)
        {
            _x--;
            reward = -WestPenalty;
        }
        else
        {
            reward = StandStillReward;
        }

        _lastReward = reward;
        WriteCell(observation);
        return new StepResult(reward, false, _steps >= MaxSteps);
    }

    /// <summary>The picture's width, 600 pixels.</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height, 300 pixels.</summary>
    public int RenderHeight => 300;

    /// <summary>10 frames per second: an episode of the default maze (11 steps) plays in about a second.</summary>
    public int RenderFps => 10;

    /// <summary>The side of a drawn cell, 36 pixels: one step east moves the agent 36 pixels right.</summary>
    public const int RenderCellSize = 36;

    /// <summary>
    /// The most corridor cells drawn, 15. A longer corridor (N ≥ 15) is drawn as the start, a window of 13 consecutive
    /// cells around the agent and the junction, with break marks where cells are left out.
    /// </summary>
    public const int RenderMaxCells = 15;

    /// <summary>The column of the start cell's left edge, 30.</summary>
    public const int RenderCorridorLeft = 30;

    /// <summary>The row of the corridor's top edge, 132 (the corridor spans rows 132 to 167, its centre line is row 150).</summary>
    public const int RenderCorridorTop = 132;

    /// <summary>
    /// Draws the maze: a row of corridor cells from the start (left) to the junction (right), the north and south arms
    /// above and below the junction, the agent (a purple disc in a white ring), the start cell and a road sign above it in the cue's
    /// colour (blue with an up arrow for a north goal, orange with a down arrow for a south goal), and the true goal
    /// arm tinted pale gold and labelled "goal". Text gives the corridor length, the position, the step, the
    /// observation bits, the last action and its reward, and how the episode ended. Corridors of more than
    /// <see cref="RenderMaxCells"/> cells show a window around the agent (see <see cref="RenderMaxCells"/>).
    /// </summary>
    public void Render(ICanvas canvas)
    {
        MemoryTaskDrawing.CheckCanvas(canvas, this);
        const float c = RenderCellSize, top = RenderCorridorTop;
        int n = CorridorLength;
        int slots = Math.Min(n + 1, RenderMaxCells);
        bool windowed = n + 1 > RenderMaxCells;
        int windowStart = windowed ? RenderWindowStart(_x) : 0;
        int windowEnd = windowStart + RenderMaxCells - 3; // inclusive
        Rgb cue = _goalIsNorth ? MemoryTaskPalette.NorthCue : MemoryTaskPalette.SouthCue;
        Rgb ink = MemoryTaskPalette.Ink;

        canvas.Clear(Rgb.White);
        canvas.Text(string.Create(CultureInfo.InvariantCulture, $"T-maze   N = {n:N0}   x = {_x:N0}   step {_steps:N0} / {MaxSteps:N0}"), 12, 8, 16, ink);
        canvas.Text(
            _lastAction < 0
                ? string.Create(CultureInfo.InvariantCulture, $"obs {ObservationBits}   no action yet")
                : string.Create(CultureInfo.InvariantCulture, $"obs {ObservationBits}   last action: {ActionNames[_lastAction]}, reward {RewardText(_lastReward)}"),
            12,
            30,
            14,
            ink);

        for (int slot = 0; slot < slots; slot++)
        {
            Cell(canvas, SlotLeft(slot), top, slot == 0 ? cue : MemoryTaskPalette.Empty);
        }

        float jx = SlotLeft(slots - 1);
        float northTop = top - c, southTop = top + c;
        Cell(canvas, jx, northTop, _goalIsNorth ? MemoryTaskPalette.GoalTint : MemoryTaskPalette.Empty);
        Cell(canvas, jx, southTop, _goalIsNorth ? MemoryTaskPalette.Empty : MemoryTaskPalette.GoalTint);
        canvas.Text("goal", jx - 38, (_goalIsNorth ? northTop : southTop) + 10, 14, ink);

        if (windowed && windowStart > 1)
        {
            Break(canvas, SlotLeft(1), top);
        }

        if (windowed && windowEnd < n - 1)
        {
            Break(canvas, SlotLeft(slots - 1), top);
        }

        // The road sign on a post above the start cell, with an arrow towards the goal arm.
        float sx = SlotLeft(0) + c / 2;
        canvas.Line(sx, top, sx, 100, ink, 3);
        canvas.FillRect(sx - 24, 64, 48, 36, cue);
        canvas.StrokeRect(sx - 24, 64, 48, 36, ink, 1.5f);
        MemoryTaskDrawing.Pointer(canvas, sx, _goalIsNorth ? 69 : 95, 20, down: !_goalIsNorth, Rgb.White);

        // Cell numbers: the start, the window's ends, and the junction (above its north arm).
        canvas.Text("0", SlotLeft(0) + 3, southTop + c + 4, 12, ink);
        if (windowed)
        {
            canvas.Text(Invariant(windowStart), SlotLeft(1) + 3, southTop + c + 4, 12, ink);
            canvas.Text(Invariant(windowEnd), SlotLeft(slots - 2) + 3, southTop + c + 4, 12, ink);
        }

        string junction = Invariant(n);
        canvas.Text(junction, Math.Min(jx + 3, RenderWidth - 4 - 7 * junction.Length), northTop - 16, 12, ink); // about 7 px a character

        // The agent, in the corridor or in the arm it entered.
        float ax = _arm == 0 ? SlotLeft(AgentSlot(windowStart, slots)) + c / 2 : jx + c / 2;
        float ay = _arm switch { 1 => northTop + c / 2, -1 => southTop + c / 2, _ => top + c / 2 };
        canvas.FillCircle(ax, ay, 14, Rgb.White); // a halo, so the agent stands out on the coloured start cell
        canvas.FillCircle(ax, ay, 12, MemoryTaskPalette.Agent);
        if (_arm != 0)
        {
            bool success = (_arm > 0) == _goalIsNorth;
            canvas.StrokeRect(jx + 1.5f, (_arm > 0 ? northTop : southTop) + 1.5f, c - 3, c - 3, success ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong, 3);
        }

        canvas.Text(_goalIsNorth ? "sign at the start: 011 = goal north" : "sign at the start: 110 = goal south", 12, 240, 14, ink);
        if (_arm != 0)
        {
            bool success = (_arm > 0) == _goalIsNorth;
            string arm = _arm > 0 ? "north" : "south";
            canvas.Text(
                success ? $"entered the {arm} arm: goal, +4" : $"entered the {arm} arm: wrong arm, -0.1",
                12,
                264,
                16,
                success ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong);
        }
        else if (_steps >= MaxSteps)
        {
            canvas.Text(string.Create(CultureInfo.InvariantCulture, $"time limit: truncated after {_steps:N0} steps"), 12, 264, 16, ink);
        }
    }

    /// <summary>
    /// The first cell of the drawn window when the corridor is longer than <see cref="RenderMaxCells"/> − 1 cells: the
    /// 13 cells from it follow the start and precede the junction; the agent is in the window's middle when it can be.
    /// </summary>
    internal int RenderWindowStart(int x) => Math.Clamp(x - (RenderMaxCells - 3) / 2, 1, CorridorLength - (RenderMaxCells - 2));

    /// <summary>The drawn slot (0 = the start) that holds the agent's cell.</summary>
    private int AgentSlot(int windowStart, int slots) =>
        slots < RenderMaxCells || _x == 0 ? _x
        : _x == CorridorLength ? slots - 1
        : _x - windowStart + 1;

    private string ObservationBits => _arm != 0 ? "000" : _x == 0 ? (_goalIsNorth ? "011" : "110") : _x == CorridorLength ? "010" : "101";

    private static float SlotLeft(int slot) => RenderCorridorLeft + slot * RenderCellSize;

    private static void Cell(ICanvas canvas, float x, float y, Rgb fill)
    {
        canvas.FillRect(x, y, RenderCellSize, RenderCellSize, fill);
        canvas.StrokeRect(x + 0.5f, y + 0.5f, RenderCellSize - 1, RenderCellSize - 1, MemoryTaskPalette.Border);
    }

    /// <summary>A break mark over the border at column <paramref name="x"/>: cells are left out there.</summary>
    private static void Break(ICanvas canvas, float x, float top)
    {
        const float c = RenderCellSize;
        Span<System.Numerics.Vector2> band = [new(x - 7, top - 4), new(x + 1, top - 4), new(x + 7, top + c + 4), new(x - 1, top + c + 4)];
        canvas.FillPolygon(band, Rgb.White);
        canvas.Line(x - 7, top - 4, x - 1, top + c + 4, MemoryTaskPalette.Border, 1.5f);
        canvas.Line(x + 1, top - 4, x + 7, top + c + 4, MemoryTaskPalette.Border, 1.5f);
    }

    private static string RewardText(double reward) => reward == GoalReward ? "+4" : reward < 0 ? "-0.1" : "0";

    private static string Invariant(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

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
