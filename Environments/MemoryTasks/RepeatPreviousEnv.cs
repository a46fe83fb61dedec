namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// POPGym's RepeatPrevious (Morad et al. 2023, <c>popgym/envs/repeat_previous.py</c>): cards are dealt one per step from
/// shuffled decks, and the agent must name the suit of the card dealt <see cref="K"/> cards before the next one, that
/// is, the card it saw k − 1 observations before the current one.
/// </summary>
/// <remarks>
/// <para>Observation: the suit of the card just dealt, one-hot (4 floats; suits in POPGym's order spades, diamonds,
/// clubs, hearts). Action: a suit, 0 to 3. With n = 52 × decks cards, the episode terminates after n − 1 steps. The
/// first k − 1 steps are not scored (reward 0); each later step gives +1/(n − k) for the right suit and −1/(n − k)
/// otherwise, so returns lie in [−1, 1].</para>
/// <para>Difficulty (POPGym's variants): easy 1 deck, k = 4 (51 steps); medium 2 decks, k = 32 (103 steps);
/// hard 3 decks, k = 64 (155 steps).</para>
/// <para>Yardsticks: optimal 1; uniformly random −1/2; best memoryless <see cref="BestMemorylessReturn"/> (name a suit
/// other than the current card's).</para>
/// </remarks>
public sealed class RepeatPreviousEnv : Env<int>
{
    /// <summary>The optimal expected return: name the right suit at every scored step.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions: right with probability 1/4 at every scored step.</summary>
    public const double RandomReturn = -0.5;

    private readonly CardDeck _deck;
    private readonly double _rewardScale;
    private int _dealt;

    /// <summary>Creates the task at a POPGym difficulty.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="difficulty"/> is not a defined value.</exception>
    public RepeatPreviousEnv(CardTaskDifficulty difficulty = CardTaskDifficulty.Easy)
        : base(new Box(0f, 1f, CardDeck.SuitCount), new Discrete(CardDeck.SuitCount))
    {
        Difficulty = difficulty;
        (int decks, int k) = ParametersFor(difficulty);
        _deck = new CardDeck(decks);
        K = k;
        _rewardScale = 1.0 / (_deck.Count - k);
    }

    /// <summary>The difficulty this task was created with.</summary>
    public CardTaskDifficulty Difficulty { get; }

    /// <summary>The number of 52-card decks.</summary>
    public int NumDecks => _deck.NumDecks;

    /// <summary>POPGym's <c>k</c>: at step t (1-based) the agent names the suit of the card dealt at step t − k (0: the reset).</summary>
    public int K { get; }

    /// <summary>The episode length: one step per card after the first, 52 × decks − 1.</summary>
    public int EpisodeLength => _deck.Count - 1;

    /// <summary>POPGym's number of decks and <c>k</c> at <paramref name="difficulty"/>: (1, 4), (2, 32) or (3, 64).</summary>
    public static (int Decks, int K) ParametersFor(CardTaskDifficulty difficulty) => difficulty switch
    {
        CardTaskDifficulty.Easy => (1, 4),
        CardTaskDifficulty.Medium => (2, 32),
        CardTaskDifficulty.Hard => (3, 64),
        _ => throw CardTaskDifficulties.Undefined(difficulty),
    };

    /// <summary>
    /// The best expected return of a memoryless policy (one that sees only the current card): name any suit but the
    /// current card's. The card to name is another card of the same shuffled n = 52d cards, of a given other suit with
    /// probability 13d/(n − 1), so the return is 2 · 13d/(n − 1) − 1.
    /// </summary>
    public static double BestMemorylessReturn(CardTaskDifficulty difficulty)
    {
        double d = ParametersFor(difficulty).Decks;
        double n = CardDeck.CardsPerDeck * d;
        return 2 * 13 * d / (n - 1) - 1;
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _deck.Shuffle(Rng);
        _dealt = 1;
        RepeatFirstEnv.WriteSuit(observation, _deck.SuitDealt(0));
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        // POPGym: once the hand holds k cards, compare with hand[-k], the card dealt k deals before the next one.
        double reward = 0.0;
        if (_dealt >= K)
        {
            reward = action == _deck.SuitDealt(_dealt - K) ? _rewardScale : -_rewardScale;
        }

        bool terminated = _deck.Count - _dealt == 1;
        RepeatFirstEnv.WriteSuit(observation, _deck.SuitDealt(_dealt));
        _dealt++;
        return new StepResult(reward, terminated, false);
    }
}
