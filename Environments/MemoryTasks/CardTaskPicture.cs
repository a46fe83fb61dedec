using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.MemoryTasks;

/// <summary>How the last action of a card task was scored.</summary>
internal enum CardOutcome
{
    /// <summary>No action yet in this episode.</summary>
    None,

    /// <summary>The action named the right suit.</summary>
    Right,

    /// <summary>The action named another suit.</summary>
    Wrong,

    /// <summary>The step was not scored (RepeatPrevious's first k − 1 steps).</summary>
    Unscored,
}

/// <summary>
/// The picture shared by <see cref="RepeatFirstEnv"/> and <see cref="RepeatPreviousEnv"/>: three cards in a row (the
/// card to repeat, highlighted in gold; the current card; the last action with a right/wrong mark) under two lines of
/// text (the task and step counter; the running score).
/// </summary>
internal static class CardTaskPicture
{
    /// <summary>The left edges of the three cards: the card to repeat, the current card, the last action.</summary>
    public const float TargetLeft = 40, CurrentLeft = 240, ActionLeft = 420;

    /// <summary>The top edge of the three cards.</summary>
    public const float CardTop = 76;

    /// <summary>The centre of the right/wrong mark next to the last action's card, and its radius.</summary>
    public const float MarkX = ActionLeft + MemoryTaskDrawing.CardWidth + 30, MarkY = CardTop + MemoryTaskDrawing.CardHeight / 2, MarkRadius = 18;

    /// <summary>Draws the panels; a negative suit draws a grey placeholder card.</summary>
    public static void Draw(
        ICanvas canvas,
        string title,
        string score,
        string targetLabel,
        int targetSuit,
        string targetNote,
        int currentSuit,
        int lastAction,
        CardOutcome outcome,
        string outcomeNote)
    {
        const float w = MemoryTaskDrawing.CardWidth, h = MemoryTaskDrawing.CardHeight;
        Rgb ink = MemoryTaskPalette.Ink;
        canvas.Clear(Rgb.White);
        canvas.Text(title, 12, 8, 16, ink);
        canvas.Text(score, 12, 30, 13, ink);

        canvas.Text(targetLabel, TargetLeft, 54, 14, ink);
        MemoryTaskDrawing.Card(canvas, TargetLeft, CardTop, w, h, targetSuit, highlighted: targetSuit >= 0);
        canvas.Text(targetNote, TargetLeft, CardTop + h + 6, 14, ink);

        canvas.Text("current card", CurrentLeft, 54, 14, ink);
        MemoryTaskDrawing.Card(canvas, CurrentLeft, CardTop, w, h, currentSuit, highlighted: false);
        canvas.Text(MemoryTaskPalette.SuitName(currentSuit), CurrentLeft, CardTop + h + 6, 14, ink);

        canvas.Text("last action", ActionLeft, 54, 14, ink);
        MemoryTaskDrawing.Card(canvas, ActionLeft, CardTop, w, h, lastAction, highlighted: false);
        if (outcome is CardOutcome.Right or CardOutcome.Wrong)
        {
            MemoryTaskDrawing.Mark(canvas, outcome == CardOutcome.Right, MarkX, MarkY, MarkRadius);
        }

        canvas.Text(outcomeNote, ActionLeft, CardTop + h + 6, 14, outcome switch
        {
            CardOutcome.Right => MemoryTaskPalette.Right,
            CardOutcome.Wrong => MemoryTaskPalette.Wrong,
            _ => ink,
        });
    }

    /// <summary>The left edge, the top edge and the height of the strip of recent cards.</summary>
    public const float HistoryLeft = 12, HistoryTop = 238, HistoryHeight = 44;

    /// <summary>The width of one slot of the strip of <paramref name="k"/> recent cards: 40 pixels, less when 40 × k exceeds 576.</summary>
    public static float HistorySlot(int k) => Math.Min(40f, 576f / k);

    /// <summary>
    /// A strip of the last <paramref name="k"/> cards dealt, oldest left, the current card right; slots before the first
    /// card are grey placeholders. With <paramref name="targetFirst"/>, the oldest is outlined in gold: it is the card the
    /// next action must name. Slots narrower than 16 pixels show the suit's colour instead of a card.
    /// </summary>
    public static void DrawHistory(ICanvas canvas, CardDeck deck, int dealt, int k, bool targetFirst)
    {
        float slot = HistorySlot(k);
        canvas.Text(
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the last {k} cards, oldest left, current right; gold: the card to name next"),
            HistoryLeft,
            HistoryTop - 20,
            13,
            MemoryTaskPalette.Ink);
        for (int i = 0; i < k; i++)
        {
            int index = dealt - k + i;
            int suit = index >= 0 ? deck.SuitDealt(index) : -1;
            bool target = targetFirst && i == 0;
            float x = HistoryLeft + i * slot;
            if (slot >= 16)
            {
                MemoryTaskDrawing.Card(canvas, x + 1, HistoryTop, slot - 2, HistoryHeight, suit, target);
            }
            else
            {
                canvas.FillRect(x + 1, HistoryTop, slot - 2, HistoryHeight, suit >= 0 ? MemoryTaskPalette.Suit(suit) : MemoryTaskPalette.Empty);
                if (target)
                {
                    canvas.StrokeRect(x, HistoryTop - 1, slot, HistoryHeight + 2, MemoryTaskPalette.Highlight, 2);
                }
            }
        }
    }
}
