using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// The colours of the memory tasks' pictures (<see cref="IRenderable"/>), so that tests and tools can find the parts
/// of a frame. The pictures are described in docs/rendering.md.
/// </summary>
public static class MemoryTaskPalette
{
    /// <summary>The dark grey of text and outlines, (33, 33, 33).</summary>
    public static Rgb Ink => new(33, 33, 33);

    /// <summary>The light grey of empty cells and placeholders, (232, 232, 232).</summary>
    public static Rgb Empty => new(232, 232, 232);

    /// <summary>The grey of cell borders, (150, 150, 150).</summary>
    public static Rgb Border => new(150, 150, 150);

    /// <summary>The green of a right answer's mark, (46, 160, 67).</summary>
    public static Rgb Right => new(46, 160, 67);

    /// <summary>The red of a wrong answer's mark, (215, 48, 39).</summary>
    public static Rgb Wrong => new(215, 48, 39);

    /// <summary>The gold outline of the card or cell the agent must answer with, (230, 159, 0).</summary>
    public static Rgb Highlight => new(230, 159, 0);

    /// <summary>The T-maze agent and the copy task's cursor, (106, 61, 154).</summary>
    public static Rgb Agent => new(106, 61, 154);

    /// <summary>The T-maze sign when the goal is the north arm (observation <c>011</c>), (33, 102, 172).</summary>
    public static Rgb NorthCue => new(33, 102, 172);

    /// <summary>The T-maze sign when the goal is the south arm (observation <c>110</c>), (230, 97, 1).</summary>
    public static Rgb SouthCue => new(230, 97, 1);

    /// <summary>The pale tint of the T-maze's true goal arm, (255, 240, 184).</summary>
    public static Rgb GoalTint => new(255, 240, 184);

    /// <summary>The memory-length context or answer +1, (33, 102, 172).</summary>
    public static Rgb Positive => new(33, 102, 172);

    /// <summary>The memory-length context or answer −1, (214, 96, 77).</summary>
    public static Rgb Negative => new(214, 96, 77);

    /// <summary>The memory-length query marker and the copy task's delimiter, (117, 82, 160).</summary>
    public static Rgb Query => new(117, 82, 160);

    /// <summary>A copy-task bit 1 (a dark cell), (40, 40, 40).</summary>
    public static Rgb BitOne => new(40, 40, 40);

    /// <summary>A copy-task bit 0 (a white cell with a border), (255, 255, 255).</summary>
    public static Rgb BitZero => Rgb.White;

    /// <summary>A copy-task bit 1 not shown to the agent yet, (185, 185, 185).</summary>
    public static Rgb BitOneAhead => new(185, 185, 185);

    /// <summary>A copy-task bit 0 not shown to the agent yet, (246, 246, 246).</summary>
    public static Rgb BitZeroAhead => new(246, 246, 246);

    /// <summary>
    /// The colour of a card suit in POPGym's order (a four-colour deck): 0 spades (33, 33, 33), 1 diamonds
    /// (0, 90, 200), 2 clubs (0, 140, 60), 3 hearts (210, 30, 40).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="suit"/> is not 0 to 3.</exception>
    public static Rgb Suit(int suit) => suit switch
    {
        0 => new Rgb(33, 33, 33),
        1 => new Rgb(0, 90, 200),
        2 => new Rgb(0, 140, 60),
        3 => new Rgb(210, 30, 40),
        _ => throw new ArgumentOutOfRangeException(nameof(suit), suit, "A suit is 0 (spades), 1 (diamonds), 2 (clubs) or 3 (hearts)."),
    };

    /// <summary>The name of a suit in POPGym's order: <c>spades</c>, <c>diamonds</c>, <c>clubs</c>, <c>hearts</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="suit"/> is not 0 to 3.</exception>
    public static string SuitName(int suit) => suit switch
    {
        0 => "spades",
        1 => "diamonds",
        2 => "clubs",
        3 => "hearts",
        _ => throw new ArgumentOutOfRangeException(nameof(suit), suit, "A suit is 0 (spades), 1 (diamonds), 2 (clubs) or 3 (hearts)."),
    };
}
