using RlMemory.Environments.MemoryTasks;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Rendering;
using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Rendering;

/// <summary>
/// Pixel facts and draw calls of the memory tasks' pictures: where the agent, the cue, the cards, the context and the
/// bits are, in which colours, and what the text says. Pixels are read a few pixels inside shapes, away from
/// anti-aliased edges.
/// </summary>
public sealed class MemoryTaskRenderingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // ---- T-maze (600×300; corridor cells 36 px from column 30, rows 132..167; arms above and below the junction) ----

    [Fact]
    public void TMaze_AgentMovesRightByOneCellPerEastStep()
    {
        var env = new TMazeEnv(corridorLength: 10);
        var obs = new float[3];
        env.Reset(obs, seed: 0);
        for (int x = 0; x <= 10; x++)
        {
            RgbFrame frame = env.RenderFrame();
            Assert.Equal((600, 300), (frame.Width, frame.Height));
            Assert.Equal(30 + 36 * x + 18, AgentCentre(frame).X, 0.05);
            Assert.Equal(150, AgentCentre(frame).Y, 0.05);
            if (x < 10)
            {
                env.Step(TMazeEnv.East, obs);
            }
        }

        // A bump into the east wall at the junction leaves the agent where it is.
        env.Step(TMazeEnv.East, obs);
        Assert.Equal(30 + 36 * 10 + 18, AgentCentre(env.RenderFrame()).X, 0.05);
    }

    [Fact]
    public void TMaze_CueAtTheStart_IsBlueWithAnUpArrowForANorthGoal_OrangeWithADownArrowForASouthGoal()
    {
        RgbFrame north = TMazeAtStart(goalIsNorth: true);
        RgbFrame south = TMazeAtStart(goalIsNorth: false);

        // The start cell's corner (the agent stands in its middle) and the sign board above it.
        Assert.Equal(MemoryTaskPalette.NorthCue, north[33, 135]);
        Assert.Equal(MemoryTaskPalette.SouthCue, south[33, 135]);
        Assert.Equal(MemoryTaskPalette.NorthCue, north[28, 66]);
        Assert.Equal(MemoryTaskPalette.SouthCue, south[28, 66]);
        Assert.True(north[33, 135].MaxChannelDifference(south[33, 135]) > 100);

        // The white arrow on the board (column 48, tip at row 69 for north, row 95 for south) points to the goal arm.
        Assert.Equal(Rgb.White, north[48, 72]);
        Assert.Equal(MemoryTaskPalette.NorthCue, north[48, 93]);
        Assert.Equal(MemoryTaskPalette.SouthCue, south[48, 72]);
        Assert.Equal(Rgb.White, south[48, 92]);

        // The corridor's other cells look the same for both signs.
        Assert.Equal(MemoryTaskPalette.Empty, north[30 + 36 * 3 + 4, 136]);
        Assert.Equal(north[30 + 36 * 3 + 4, 136], south[30 + 36 * 3 + 4, 136]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TMaze_TrueGoalArm_IsTintedAndLabelledGoal(bool goalIsNorth)
    {
        TMazeEnv env = TMazeWithGoal(goalIsNorth, corridorLength: 10);
        RgbFrame frame = env.RenderFrame();
        int armColumn = 30 + 36 * 10 + 5;
        (int goalRow, int otherRow) = goalIsNorth ? (96 + 5, 168 + 5) : (168 + 5, 96 + 5);
        Assert.Equal(MemoryTaskPalette.GoalTint, frame[armColumn, goalRow]);
        Assert.Equal(MemoryTaskPalette.Empty, frame[armColumn, otherRow]);

        TextCall goal = Assert.Single(RecordingCanvas.Record(env).CallsOf<TextCall>(), t => t.Text == "goal");
        float goalArmTop = goalIsNorth ? 96 : 168;
        Assert.InRange(goal.Y, goalArmTop, goalArmTop + 36);
        Assert.InRange(goal.X, 300, 30 + 36 * 10); // just left of the arm
    }

    [Theory]
    [InlineData(TMazeEnv.North, true)]
    [InlineData(TMazeEnv.South, true)]
    [InlineData(TMazeEnv.North, false)]
    public void TMaze_EnteringAnArm_MovesTheAgentThere_WithAGreenOrRedOutlineAndTheOutcome(int arm, bool goalIsNorth)
    {
        TMazeEnv env = TMazeWithGoal(goalIsNorth, corridorLength: 4);
        var obs = new float[3];
        for (int i = 0; i < 4; i++)
        {
            env.Step(TMazeEnv.East, obs);
        }

        StepResult r = env.Step(arm, obs);
        bool success = (arm == TMazeEnv.North) == goalIsNorth;
        Assert.True(r.Terminated);
        RgbFrame frame = env.RenderFrame();
        float armCentreY = arm == TMazeEnv.North ? 114 : 186;
        var (x, y) = AgentCentre(frame);
        Assert.Equal(30 + 36 * 4 + 18, x, 0.05);
        Assert.Equal(armCentreY, y, 0.05);
        Assert.Equal(success ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong, frame[30 + 36 * 4 + 2, (int)armCentreY]);

        var texts = Texts(env);
        Assert.Contains(success ? "goal, +4" : "wrong arm, -0.1", string.Join("\n", texts));
        Assert.Contains("obs 000", texts[1]);
        Assert.Contains(arm == TMazeEnv.North ? "last action: north" : "last action: south", texts[1]);
    }

    [Fact]
    public void TMaze_TextGivesTheStepCounter_ThePosition_TheObservation_AndTheLastAction()
    {
        var env = new TMazeEnv(corridorLength: 10);
        var obs = new float[3];
        env.Reset(obs, seed: 0);
        Assert.Equal("T-maze   N = 10   x = 0   step 0 / 22", Texts(env)[0]);
        Assert.Contains("no action yet", Texts(env)[1]);
        env.Step(TMazeEnv.East, obs);
        env.Step(TMazeEnv.East, obs);
        env.Step(TMazeEnv.North, obs); // a wall
        var texts = Texts(env);
        Assert.Equal("T-maze   N = 10   x = 2   step 3 / 22", texts[0]);
        Assert.Equal("obs 101   last action: north, reward -0.1", texts[1]);
        Assert.Contains(env.GoalIsNorth ? "sign at the start: 011 = goal north" : "sign at the start: 110 = goal south", texts);

        // Truncation is said too.
        while (!env.Step(TMazeEnv.West, obs).Truncated)
        {
        }

        Assert.Contains("time limit: truncated after 22 steps", Texts(env));
    }

    [Fact]
    public void TMaze_LongCorridor_ShowsTheStart_AWindowAroundTheAgent_AndTheJunction()
    {
        const int n = TMazeEnv.MaxCorridorLength;
        var env = new TMazeEnv(n, timeLimitFactor: 1.0);
        var obs = new float[3];
        env.Reset(obs, seed: 0);

        // 15 slots: the start, 13 cells, the junction. The agent walks right for 6 cells, then the window scrolls.
        for (int x = 0; x <= 20; x++)
        {
            Assert.Equal(30 + 36 * Math.Min(x, 7) + 18, AgentCentre(env.RenderFrame()).X, 0.05);
            Assert.Contains($"x = {x}   step {x} / 1,000,001", Texts(env)[0]);
            env.Step(TMazeEnv.East, obs);
        }

        // Mid-corridor: break marks (two slanted lines each) on both sides of the window, whose ends are numbered.
        RecordingCanvas middle = RecordingCanvas.Record(env);
        Assert.Equal(4, middle.CallsOf<LineCall>().Count(l => l.Color == MemoryTaskPalette.Border));
        Assert.Contains(middle.CallsOf<TextCall>(), t => t.Text == "15" && t.X == 30 + 36 + 3);
        Assert.Contains(middle.CallsOf<TextCall>(), t => t.Text == "27" && t.X == 30 + 36 * 13 + 3);
        Assert.Contains(middle.CallsOf<TextCall>(), t => t.Text == "1,000,000");

        for (int x = 21; x < n; x++)
        {
            env.Step(TMazeEnv.East, obs);
        }

        Assert.Equal([0f, 1f, 0f], obs); // at the junction
        RgbFrame frame = env.RenderFrame();
        Assert.Equal(30 + 36 * 14 + 18, AgentCentre(frame).X, 0.05);
        RecordingCanvas end = RecordingCanvas.Record(env);
        Assert.Equal(2, end.CallsOf<LineCall>().Count(l => l.Color == MemoryTaskPalette.Border)); // the window meets the junction
        Assert.Contains("x = 1,000,000   step 1,000,000 / 1,000,001", Texts(env)[0]);
        Assert.Contains(end.CallsOf<TextCall>(), t => t.Text == "999,987");
        Assert.Contains(end.CallsOf<TextCall>(), t => t.Text == "999,999");

        // The sign stays visible at the start however far the agent is.
        Assert.Equal(env.GoalIsNorth ? MemoryTaskPalette.NorthCue : MemoryTaskPalette.SouthCue, frame[33, 135]);
    }

    // ---- RepeatFirst (600×240) and RepeatPrevious (600×300): three 80×112 cards from row 76 ----

    [Fact]
    public void RepeatFirst_HighlightedCard_ShowsTheFirstSuitInItsColour_AndTheCurrentCardTheObservedSuit()
    {
        var seen = new Dictionary<int, Rgb>();
        for (int seed = 0; seen.Count < 4; seed++)
        {
            var env = new RepeatFirstEnv();
            var obs = new float[4];
            env.Reset(obs, seed: seed);
            env.Step(0, obs);
            RgbFrame frame = env.RenderFrame();
            Assert.Equal((600, 240), (frame.Width, frame.Height));
            Rgb target = frame[(int)TargetCardCentre.X, (int)TargetCardCentre.Y];
            Assert.Equal(MemoryTaskPalette.Suit(env.FirstSuit), target);
            Assert.Equal(MemoryTaskPalette.Highlight, frame[(int)CardTaskPicture.TargetLeft + 2, 120]); // the gold border
            Assert.Equal(MemoryTaskPalette.Suit(Suit(obs)), frame[(int)CurrentCardCentre.X, (int)CurrentCardCentre.Y]);
            seen[env.FirstSuit] = target;
            Assert.True(seed < 100, "no seed among 0..99 deals every suit first");
        }

        Assert.Equal(4, seen.Values.Distinct().Count()); // the highlighted card's colour changes with the suit
    }

    [Fact]
    public void RepeatFirst_LastAction_GetsAGreenMarkWhenRight_ARedOneWhenWrong()
    {
        var env = new RepeatFirstEnv();
        var obs = new float[4];
        env.Reset(obs, seed: 3);
        RgbFrame start = env.RenderFrame();
        Assert.Equal(Rgb.White, start[(int)CardTaskPicture.MarkX, MarkProbeY]); // no mark before the first action
        Assert.Equal(MemoryTaskPalette.Empty, start[(int)ActionCardCentre.X, (int)ActionCardCentre.Y]); // a placeholder card
        Assert.Contains("no action yet", Texts(env));

        env.Step(env.FirstSuit, obs);
        RgbFrame right = env.RenderFrame();
        Assert.Equal(MemoryTaskPalette.Right, right[(int)CardTaskPicture.MarkX, MarkProbeY]);
        Assert.Equal(MemoryTaskPalette.Suit(env.FirstSuit), right[(int)ActionCardCentre.X, (int)ActionCardCentre.Y]);
        Assert.Contains($"{MemoryTaskPalette.SuitName(env.FirstSuit)}: right, +1/51", Texts(env));

        int other = (env.FirstSuit + 1) % 4;
        env.Step(other, obs);
        RgbFrame wrong = env.RenderFrame();
        Assert.Equal(MemoryTaskPalette.Wrong, wrong[(int)CardTaskPicture.MarkX, MarkProbeY]);
        Assert.Equal(MemoryTaskPalette.Suit(other), wrong[(int)ActionCardCentre.X, (int)ActionCardCentre.Y]);
        var texts = Texts(env);
        Assert.Equal("RepeatFirst (easy, 1 deck)   step 2 / 51", texts[0]);
        Assert.Equal("right so far: 1 of 2", texts[1]);
        Assert.Contains($"{MemoryTaskPalette.SuitName(other)}: wrong, -1/51", texts);
    }

    [Theory]
    [InlineData("RepeatFirst-v0", "easy")]
    [InlineData("RepeatFirst-v0", "medium")]
    [InlineData("RepeatPrevious-v0", "easy")]
    [InlineData("RepeatPrevious-v0", "medium")]
    public void CardTasks_PlayingTheHighlightedCardsColour_EarnsEveryScoredReward(string id, string difficulty)
    {
        // The picture alone tells the answer: read the suit off the highlighted card's centre and play it.
        using var env = EnvRegistry.Make<int>(id, new EnvOptions { { "difficulty", difficulty } });
        var obs = new float[4];
        env.Reset(obs, seed: 7);
        var renderable = (IRenderable)env.Unwrapped;
        using var canvas = new SkiaCanvas(renderable.RenderWidth, renderable.RenderHeight, scale: 1);
        var frame = new RgbFrame(canvas.FrameWidth, canvas.FrameHeight);
        double total = 0;
        int placeholders = 0;
        bool done = false;
        while (!done)
        {
            canvas.Draw(renderable);
            canvas.CopyTo(frame);
            Rgb target = frame[(int)TargetCardCentre.X, (int)TargetCardCentre.Y];
            Assert.Equal(MemoryTaskPalette.Suit(Suit(obs)), frame[(int)CurrentCardCentre.X, (int)CurrentCardCentre.Y]);
            int suit = Enumerable.Range(0, 4).FirstOrDefault(s => MemoryTaskPalette.Suit(s) == target, -1);
            if (suit < 0)
            {
                Assert.Equal(MemoryTaskPalette.Empty, target); // RepeatPrevious before step k
                placeholders++;
            }

            StepResult r = env.Step(Math.Max(suit, 0), obs);
            total += r.Reward;
            done = r.Done;
        }

        Assert.Equal(1.0, total, 1e-9);
        int k = env.Unwrapped is RepeatPreviousEnv previous ? previous.K : 1;
        Assert.Equal(k - 1, placeholders);
    }

    [Theory]
    [InlineData("easy", 4, 40)]
    [InlineData("medium", 32, 18)]
    [InlineData("hard", 64, 9)]
    public void RepeatPrevious_Strip_ShowsTheLastKCards_OldestLeft_WithTheCardToNameOutlined(string difficulty, int k, int slot)
    {
        var env = new RepeatPreviousEnv(CardTaskDifficulties.TryParse(difficulty, out var d) ? d : throw new ArgumentException(difficulty));
        var obs = new float[4];
        var suits = new List<int>();
        env.Reset(obs, seed: 2);
        suits.Add(Suit(obs));
        Assert.Equal(slot, CardTaskPicture.HistorySlot(k));
        for (int t = 0; t < k + 5; t++)
        {
            env.Step(0, obs);
            suits.Add(Suit(obs));
        }

        RgbFrame frame = env.RenderFrame();
        Assert.Equal((600, 300), (frame.Width, frame.Height));
        int dealt = suits.Count;
        for (int i = 0; i < k; i++)
        {
            int x = (int)(CardTaskPicture.HistoryLeft + i * slot + slot / 2f);
            int y = (int)(CardTaskPicture.HistoryTop + CardTaskPicture.HistoryHeight / 2);
            Assert.Equal(MemoryTaskPalette.Suit(suits[dealt - k + i]), frame[x, y]);
        }

        // The next action names the oldest card of the strip; it is also the big highlighted card.
        Assert.Equal(MemoryTaskPalette.Suit(suits[dealt - k]), frame[(int)TargetCardCentre.X, (int)TargetCardCentre.Y]);
        int goldColumn = (int)CardTaskPicture.HistoryLeft + (slot >= 16 ? 1 : 0); // a card's inner border, or a frame around a narrow slot
        Assert.Equal(MemoryTaskPalette.Highlight, frame[goldColumn, (int)CardTaskPicture.HistoryTop + 20]);
        Assert.Contains($"{MemoryTaskPalette.SuitName(suits[dealt - k])}, dealt at step {dealt - k}", Texts(env));
    }

    [Fact]
    public void RepeatPrevious_BeforeStepK_ShowsAPlaceholder_AndUnscoredActionsGetNoMark()
    {
        var env = new RepeatPreviousEnv(); // k = 4
        var obs = new float[4];
        env.Reset(obs, seed: 0);
        for (int t = 1; t <= 3; t++)
        {
            env.Step(1, obs);
            RgbFrame frame = env.RenderFrame();
            Rgb target = frame[(int)TargetCardCentre.X, (int)TargetCardCentre.Y];
            if (t < 3)
            {
                Assert.Equal(MemoryTaskPalette.Empty, target);
                Assert.Contains("scored from step 4", Texts(env));
            }
            else
            {
                Assert.NotEqual(MemoryTaskPalette.Empty, target); // the next step, 4, is scored
            }

            Assert.Equal(Rgb.White, frame[(int)CardTaskPicture.MarkX, MarkProbeY]);
            Assert.Contains("diamonds: not scored", Texts(env));
            Assert.Equal("steps 1 to 3 are not scored", Texts(env)[1]);
        }

        StepResult scored = env.Step(1, obs);
        RgbFrame after = env.RenderFrame();
        Assert.Equal(scored.Reward > 0 ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong, after[(int)CardTaskPicture.MarkX, MarkProbeY]);
        Assert.Equal("RepeatPrevious (easy: 1 deck, k = 4)   step 4 / 51", Texts(env)[0]);
        Assert.Equal($"right so far: {(scored.Reward > 0 ? 1 : 0)} of 1 scored", Texts(env)[1]);
    }

    // ---- MemoryLength (600×240): context square at columns 30..129, current entry at 170..269, rows 76..175 ----

    [Fact]
    public void MemoryLength_ContextSquare_IsBlueForPlusOne_RedForMinusOne_AndStaysWhileTheEntryShowsNoise()
    {
        foreach (int context in new[] { 1, -1 })
        {
            var env = new MemoryLengthEnv(memoryLength: 10);
            var obs = new float[3];
            int seed = Enumerable.Range(0, 100).First(s =>
            {
                env.Reset(obs, seed: s);
                return env.Context == context;
            });
            env.Reset(obs, seed: seed);
            Rgb expected = context > 0 ? MemoryTaskPalette.Positive : MemoryTaskPalette.Negative;
            for (int t = 0; t <= 10; t++)
            {
                RgbFrame frame = env.RenderFrame();
                Assert.Equal((600, 240), (frame.Width, frame.Height));
                Assert.Equal(expected, frame[35, 81]);
                Assert.Equal(Rgb.White, frame[80, 126]); // the plus or minus sign's centre
                Assert.Equal(context > 0 ? Rgb.White : expected, frame[80, 108]); // only a plus has a vertical bar
                Assert.Equal(obs[2] > 0 ? MemoryTaskPalette.Positive : MemoryTaskPalette.Negative, frame[175, 81]); // entry now
                env.Step(0, obs);
            }
        }

        Assert.True(MemoryTaskPalette.Positive.MaxChannelDifference(MemoryTaskPalette.Negative) > 100);
    }

    [Fact]
    public void MemoryLength_TextCountsDownToTheQuery_TheFlagFillsAtTheQuery_AndTheEndShowsTheAnswer()
    {
        var env = new MemoryLengthEnv(memoryLength: 10, noise: false);
        var obs = new float[3];
        env.Reset(obs, seed: 0);
        for (int t = 0; t < 3; t++)
        {
            env.Step(1, obs);
        }

        var texts = Texts(env);
        Assert.Equal("MemoryLength (L = 10, noise off)   step 3 / 11", texts[0]);
        Assert.Equal("time left: 7 steps to the query", texts[1]);
        Assert.Contains("obs [0.7, 0, 0]", texts);
        RgbFrame before = env.RenderFrame();
        Assert.Equal(MemoryTaskPalette.Empty, before[175, 81]); // noise off: the entry is 0
        Assert.Equal(Rgb.White, before[565, 78]); // the query flag is an outline

        for (int t = 3; t < 10; t++)
        {
            env.Step(1, obs);
        }

        Assert.Equal(1f, obs[1]);
        Assert.Equal("QUERY: answer the context now", Texts(env)[1]);
        Assert.Equal(MemoryTaskPalette.Query, env.RenderFrame()[565, 78]);

        int answer = env.Context > 0 ? 0 : 1; // wrong
        env.Step(answer, obs);
        RgbFrame end = env.RenderFrame();
        Assert.Equal(MemoryTaskPalette.Wrong, end[310 + 70, (int)(192 - 0.6 * 16)]);
        Assert.Equal(answer == 1 ? MemoryTaskPalette.Positive : MemoryTaskPalette.Negative, end[312, 174]);
        Assert.Contains(answer == 1 ? "+1: wrong, reward -1" : "-1: wrong, reward -1", Texts(env));

        env.Reset(obs, seed: 0);
        for (int t = 0; t < 10; t++)
        {
            env.Step(0, obs);
        }

        env.Step(env.Context > 0 ? 1 : 0, obs);
        Assert.Equal(MemoryTaskPalette.Right, env.RenderFrame()[310 + 70, (int)(192 - 0.6 * 16)]);
        Assert.Contains("reward +1", string.Join("\n", Texts(env)));
    }

    // ---- CopyTask (600×240): 20-px cells from column 64; input row 84, output row 136, marks on row 174 ----

    [Fact]
    public void CopyTask_InputRow_ShowsTheBits_DarkerOnceShown()
    {
        var env = new CopyTaskEnv(sequenceLength: 10);
        var obs = new float[4];
        env.Reset(obs, seed: 1);
        int[] bits = [.. Enumerable.Range(0, 10).Select(env.Bit)];
        Assert.Contains(1, bits);
        Assert.Contains(0, bits);
        for (int t = 0; t <= 10; t++)
        {
            RgbFrame frame = env.RenderFrame();
            for (int i = 0; i < 10; i++)
            {
                bool shown = i <= t;
                Rgb expected = bits[i] == 1
                    ? (shown ? MemoryTaskPalette.BitOne : MemoryTaskPalette.BitOneAhead)
                    : (shown ? MemoryTaskPalette.BitZero : MemoryTaskPalette.BitZeroAhead);
                Assert.Equal(expected, frame[64 + 20 * i + 3, 84 + 3]);
            }

            // The delimiter cell after the last bit turns purple when it is shown (t = L).
            Rgb delimiter = frame[64 + 20 * 10 + 4 + 10, 84 + 10];
            Assert.Equal(t == 10, delimiter == MemoryTaskPalette.Query);
            env.Step(0, obs);
        }
    }

    [Fact]
    public void CopyTask_Answers_AppearInTheOutputRow_WithGreenAndRedMarks_AndThePhaseIsSaid()
    {
        var env = new CopyTaskEnv(sequenceLength: 4);
        var obs = new float[4];
        env.Reset(obs, seed: 5);
        Assert.Equal("phase: input, showing bit 0", Texts(env)[1]);
        for (int t = 0; t < 4; t++)
        {
            env.Step(0, obs);
        }

        Assert.Equal("phase: delimiter, recall starts next", Texts(env)[1]);
        env.Step(0, obs);
        Assert.Equal("phase: recall, answer bit 0 next", Texts(env)[1]);

        // Answer bits 0 and 2 right, 1 and 3 wrong.
        for (int j = 0; j < 4; j++)
        {
            env.Step(j % 2 == 0 ? env.Bit(j) : 1 - env.Bit(j), obs);
        }

        RgbFrame frame = env.RenderFrame();
        for (int j = 0; j < 4; j++)
        {
            int answer = j % 2 == 0 ? env.Bit(j) : 1 - env.Bit(j);
            Assert.Equal(answer == 1 ? MemoryTaskPalette.BitOne : MemoryTaskPalette.BitZero, frame[64 + 20 * j + 3, 136 + 3]);
            Assert.Equal(j % 2 == 0 ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong, frame[64 + 20 * j + 10, (int)(174 - 0.6 * 9)]);
        }

        var texts = Texts(env);
        Assert.Equal("CopyTask (L = 4)   step 9 / 9", texts[0]);
        Assert.Equal("done: 2 of 4 right", texts[1]);
        Assert.Contains("right so far: 2 of 4", texts);
    }

    [Fact]
    public void CopyTask_LongSequence_ShowsAWindowAroundTheBitInPlay()
    {
        var env = new CopyTaskEnv(sequenceLength: 100);
        var obs = new float[4];
        env.Reset(obs, seed: 0);
        for (int t = 0; t < 50; t++)
        {
            env.Step(0, obs);
        }

        // Showing bit 50: bits 38 to 61, bit 50 in slot 12 under the pointer.
        Assert.Contains("bits 38 to 61 of 100 (numbered from 0)", Texts(env));
        RgbFrame frame = env.RenderFrame();
        for (int k = 0; k < 24; k++)
        {
            int i = 38 + k;
            Rgb expected = env.Bit(i) == 1
                ? (i <= 50 ? MemoryTaskPalette.BitOne : MemoryTaskPalette.BitOneAhead)
                : (i <= 50 ? MemoryTaskPalette.BitZero : MemoryTaskPalette.BitZeroAhead);
            Assert.Equal(expected, frame[64 + 20 * k + 3, 84 + 3]);
        }

        FillPolygonCall pointer = Assert.Single(RecordingCanvas.Record(env).CallsOf<FillPolygonCall>(), p => p.Color == MemoryTaskPalette.Agent);
        Assert.Equal(64 + 20 * 12 + 10, pointer.Points[0].X, 0.01);
    }

    // ---- All five ----

    public static TheoryData<string, string?, object?> Tasks => new()
    {
        { "TMaze-v0", "corridor_length", 5 },
        { "TMaze-v0", "corridor_length", 100 },
        { "RepeatFirst-v0", null, null },
        { "RepeatPrevious-v0", "difficulty", "medium" },
        { "MemoryLength-v0", "memory_length", 6 },
        { "CopyTask-v0", "sequence_length", 30 },
    };

    [Theory]
    [MemberData(nameof(Tasks))]
    public void Rendering_ChangesNeitherTheStateNorTheRandomGenerator(string id, string? option, object? value)
    {
        EnvOptions? options = option is null ? null : new EnvOptions { { option, value! } };
        using var rendered = EnvRegistry.Make<int>(id, options);
        using var plain = EnvRegistry.Make<int>(id, options);
        var rng = new NumpyRandom(5);
        var a = new float[rendered.ObservationSpace.Size];
        var b = new float[plain.ObservationSpace.Size];
        rendered.Reset(a, seed: 11);
        plain.Reset(b, seed: 11);
        int episodes = 0;
        for (int t = 0; t < 300; t++)
        {
            rendered.RenderFrame();
            RecordingCanvas.Record((IRenderable)rendered.Unwrapped);
            int action = rendered.ActionSpace.Sample(rng);
            StepResult ra = rendered.Step(action, a);
            StepResult rb = plain.Step(action, b);
            Assert.Equal(b, a);
            Assert.Equal((rb.Reward, rb.Terminated, rb.Truncated), (ra.Reward, ra.Terminated, ra.Truncated));
            if (ra.Done)
            {
                rendered.RenderFrame();
                rendered.Reset(a); // continues each generator's stream: identical only if rendering drew nothing from it
                plain.Reset(b);
                Assert.Equal(b, a);
                episodes++;
            }
        }

        Assert.True(episodes >= 1 || id == "TMaze-v0", $"{id}: no episode ended in 300 steps");
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void RenderFrame_ThroughTimeLimitAndMaskObservation_DrawsTheInnermostEnvironment(string id, string? option, object? value)
    {
        EnvOptions? options = option is null ? null : new EnvOptions { { option, value! } };
        using var env = new RecordEpisodeStatistics<int>(
            new MaskObservation<int>(new TimeLimit<int>(EnvRegistry.Make<int>(id, options), 40), [0]));
        var obs = new float[1];
        env.Reset(obs, seed: 3);
        var inner = (IRenderable)env.Unwrapped;
        Assert.True(env.CanRender());
        for (int t = 0; t < 3; t++)
        {
            RgbFrame frame = env.RenderFrame();
            Assert.Equal((inner.RenderWidth, inner.RenderHeight), (frame.Width, frame.Height));
            Assert.True(frame.SamePixels(SkiaCanvas.Render(inner)));
            env.Step(1, obs);
        }

        RgbFrame half = env.RenderFrame(scale: 0.5);
        Assert.Equal((inner.RenderWidth / 2, inner.RenderHeight / 2), (half.Width, half.Height));
    }

    public static TheoryData<string, int, int, int> Pictures => new()
    {
        { "TMaze-v0", 600, 300, 10 },
        { "RepeatFirst-v0", 600, 240, 4 },
        { "RepeatPrevious-v0", 600, 300, 4 },
        { "MemoryLength-v0", 600, 240, 5 },
        { "CopyTask-v0", 600, 240, 5 },
    };

    [Theory]
    [MemberData(nameof(Pictures))]
    public void EachTask_DrawsItsSize_AtItsRate_AndRefusesAnotherCanvas(string id, int width, int height, int fps)
    {
        using var env = EnvRegistry.Make<int>(id);
        var renderable = (IRenderable)env.Unwrapped;
        Assert.Equal((width, height, fps), (renderable.RenderWidth, renderable.RenderHeight, renderable.RenderFps));
        var before = Assert.Throws<InvalidOperationException>(() => env.RenderFrame());
        Assert.Contains("Render was called before the first Reset", before.Message);
        env.Reset(seed: 0);
        var ex = Assert.Throws<ArgumentException>(() => renderable.Render(new RecordingCanvas(width + 1, height)));
        Assert.Contains($"draws {width}×{height} pictures; the canvas is {width + 1}×{height}", ex.Message);

        // The first call clears to white; every text call is non-empty and inside the picture.
        RecordingCanvas canvas = RecordingCanvas.Record(renderable);
        Assert.Equal(new ClearCall(Rgb.White), canvas.Calls[0]);
        Assert.All(canvas.CallsOf<TextCall>(), t =>
        {
            Assert.False(string.IsNullOrWhiteSpace(t.Text));
            Assert.InRange(t.X, 0, width - 1);
            Assert.InRange(t.Y + t.Size, 0, height);
        });
    }

    [Fact]
    public void EveryBuiltInEnvironment_Renders()
    {
        string[] ids =
        [
            "CartPole-v0", "CartPole-v1", "MountainCar-v0", "Acrobot-v1", "Pendulum-v1", "CartPoleNoVel-v1", "MountainCarNoVel-v0",
            "AcrobotNoVel-v1", "PendulumNoVel-v1", "TMaze-v0", "RepeatFirst-v0", "RepeatPrevious-v0", "MemoryLength-v0", "CopyTask-v0",
        ];
        foreach (string id in ids)
        {
            using IEnv env = EnvRegistry.Make(id);
            Assert.True(env.CanRender(), $"{id} cannot render");
            env.Reset(new float[env.ObservationSpace.Size], seed: 0);
            RgbFrame frame = env.RenderFrame(scale: 0.25);
            Assert.Contains(frame.Pixels, b => b != 255); // something is drawn on the white background
        }
    }

    [Fact]
    public void Gif_OfATMazeEpisode_HasOneFramePerStepPlusOne_AndEndsWithTheAgentInTheGoalArm()
    {
        using var env = EnvRegistry.Make<int>("TMaze-v0", new EnvOptions { { "corridor_length", 6 } });
        string path = _folder.File("tmaze.gif");
        bool? goalIsNorth = null;

        // A memory policy: remember the sign at the start, walk east, turn to the arm it named.
        RecordingResult result = EpisodeRecorder.Record(env, obs =>
        {
            goalIsNorth ??= obs[2] == 1f; // 011: north
            return obs[0] == 0f && obs[1] == 1f && obs[2] == 0f ? (goalIsNorth.Value ? TMazeEnv.North : TMazeEnv.South) : TMazeEnv.East;
        }, path, seed: 0);

        EpisodeStatistics episode = result.Episodes.Single();
        Assert.Equal(7, episode.Length);
        Assert.Equal(4.0, episode.Return);
        var (frames, delays, _) = Videos.ReadGif(path);
        Assert.Equal(episode.Length + 1, frames.Count);
        Assert.Equal(episode.Length + 1, result.FrameCount);
        Assert.All(frames, f => Assert.Equal((600, 300), (f.Width, f.Height)));
        Assert.All(delays, d => Assert.Equal(10u, d)); // 10 fps
        for (int i = 0; i < frames.Count - 1; i++)
        {
            Assert.Equal(30 + 36 * i + 18, AgentCentre(frames[i]).X, 0.5);
            Assert.False(frames[i].SamePixels(frames[i + 1]), $"frames {i} and {i + 1} are identical");
        }

        // Flat colours survive the GIF palette: the agent in the goal arm, outlined in green.
        RgbFrame last = frames[^1];
        float armY = goalIsNorth == true ? 114 : 186;
        Assert.Equal(MemoryTaskPalette.Agent, last[30 + 36 * 6 + 18, (int)armY]);
        Assert.Equal(MemoryTaskPalette.Right, last[30 + 36 * 6 + 2, (int)armY]);
        Assert.Equal(MemoryTaskPalette.GoalTint, last[30 + 36 * 6 + 6, (int)armY - 12]);
    }

    // ---- Helpers ----

    /// <summary>The centre of the target card (the one to repeat): columns 40..119, rows 76..187.</summary>
    private static (float X, float Y) TargetCardCentre => (CardTaskPicture.TargetLeft + 40, CardTaskPicture.CardTop + 56);

    private static (float X, float Y) CurrentCardCentre => (CardTaskPicture.CurrentLeft + 40, CardTaskPicture.CardTop + 56);

    private static (float X, float Y) ActionCardCentre => (CardTaskPicture.ActionLeft + 40, CardTaskPicture.CardTop + 56);

    /// <summary>A row inside the right/wrong mark, 0.6 of its radius above its centre, clear of the tick and the cross.</summary>
    private static int MarkProbeY => (int)(CardTaskPicture.MarkY - 0.6f * CardTaskPicture.MarkRadius);

    private static int Suit(float[] oneHot) => Array.IndexOf(oneHot, 1f);

    private static IReadOnlyList<string> Texts(IEnv env) =>
        [.. RecordingCanvas.Record((IRenderable)env.Unwrapped).CallsOf<TextCall>().Select(t => t.Text)];

    /// <summary>The centroid of the pixels of exactly the agent's colour, in pixel coordinates (pixel i's centre is i + 0.5).</summary>
    private static (double X, double Y) AgentCentre(RgbFrame frame)
    {
        double sx = 0, sy = 0;
        int count = 0;
        for (int y = 0; y < frame.Height; y++)
        {
            for (int x = 0; x < frame.Width; x++)
            {
                if (frame[x, y] == MemoryTaskPalette.Agent)
                {
                    sx += x + 0.5;
                    sy += y + 0.5;
                    count++;
                }
            }
        }

        Assert.True(count > 300, $"only {count} pixels of the agent's colour");
        return (sx / count, sy / count);
    }

    private static TMazeEnv TMazeWithGoal(bool goalIsNorth, int corridorLength)
    {
        var env = new TMazeEnv(corridorLength);
        var obs = new float[3];
        for (int seed = 0; ; seed++)
        {
            env.Reset(obs, seed: seed);
            if (env.GoalIsNorth == goalIsNorth)
            {
                return env;
            }
        }
    }

    private static RgbFrame TMazeAtStart(bool goalIsNorth) => TMazeWithGoal(goalIsNorth, 10).RenderFrame();
}
