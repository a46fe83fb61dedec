namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// POPGym's difficulty levels of a card task: they set the number of decks (and so the episode length) and, for
/// <see cref="RepeatPreviousEnv"/>, how far back the card to repeat lies.
/// </summary>
public enum CardTaskDifficulty
{
    /// <summary>POPGym's <c>Easy</c> variant.</summary>
    Easy,

    /// <summary>POPGym's <c>Medium</c> variant.</summary>
    Medium,

    /// <summary>POPGym's <c>Hard</c> variant.</summary>
    Hard,
}

/// <summary>Reads <see cref="CardTaskDifficulty"/> from the <c>difficulty</c> option.</summary>
public static class CardTaskDifficulties
{
    /// <summary>The option values, in order: <c>easy</c>, <c>medium</c>, <c>hard</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["easy", "medium", "hard"];

    /// <summary>Parses <c>easy</c>, <c>medium</c> or <c>hard</c> (any letter case).</summary>
    public static bool TryParse(string? value, out CardTaskDifficulty difficulty)
    {
        for (int i = 0; i < Names.Count; i++)
        {
            if (string.Equals(value, Names[i], StringComparison.OrdinalIgnoreCase))
            {
                difficulty = (CardTaskDifficulty)i;
                return true;
            }
        }

        difficulty = default;
        return false;
    }

    /// <summary>The option value of <paramref name="difficulty"/>: <c>easy</c>, <c>medium</c> or <c>hard</c>.</summary>
    public static string Name(CardTaskDifficulty difficulty) => difficulty switch
    {
        CardTaskDifficulty.Easy or CardTaskDifficulty.Medium or CardTaskDifficulty.Hard => Names[(int)difficulty],
        _ => throw Undefined(difficulty),
    };

    internal static ArgumentOutOfRangeException Undefined(CardTaskDifficulty difficulty) =>
        new(nameof(difficulty), difficulty, "The difficulty must be Easy, Medium or Hard.");
}
