using System.Globalization;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// POPGym's RepeatFirst (Morad et al. 2023, <c>popgym/envs/repeat_first.py</c>): cards are dealt one per step from
/// shuffled decks, and at every step the agent must name the suit of the <em>first</em> card it saw.
/// </summary>
/// <remarks>
/// <para>Observation: the suit of the card just dealt, one-hot (4 floats; suits in POPGym's order spades, diamonds,
/// clubs, hearts). Action: a suit, 0 to 3. Reward: +1/(n − 1) when the action is the first card's suit, −1/(n − 1)
/// otherwise, where n = 52 × decks; the episode terminates after n − 1 steps, so returns lie in [−1, 1].</para>
/// <para>Difficulty (POPGym's variants): easy 1 deck (51 steps), medium 8 decks (415 steps), hard 16 decks (831 steps).</para>
/// <para>Yardsticks: optimal 1; uniformly random −1/2; best memoryless <see cref="BestMemorylessReturn"/> (repeat the
/// current card's suit, right for sure on the first step and slightly less often than 1/4 afterwards).</para>
/// <para>Renders a 600×240 picture (<see cref="Render"/>): the first card (the one to repeat), the current card and the
/// last action with a right/wrong mark, with the step counter and the score so far.</para>
/// </remarks>
public sealed class RepeatFirstEnv : Env<int>, IRenderable
{
    /// <summary>The optimal expected return: name the first card's suit at every step.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions: right with probability 1/4 at every step.</summary>
    public const double RandomReturn = -0.5;

    private readonly CardDeck _deck;
    private readonly double _rewardScale;
    private int _dealt;
    private int _firstSuit;
    private int _lastAction = -1;
    private CardOutcome _outcome;
    private int _rightAnswers;

    /// <summary>Creates the task at a POPGym difficulty.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="difficulty"/> is not a defined value.</exception>
    public RepeatFirstEnv(CardTaskDifficulty difficulty = CardTaskDifficulty.Easy)
        : base(new Box(0f, 1f, CardDeck.SuitCount), new Discrete(CardDeck.SuitCount))
    {
        Difficulty = difficulty;
        _deck = new CardDeck(DecksFor(difficulty));
        _rewardScale = 1.0 / (_deck.Count - 1);
    }

    /// <summary>The difficulty this task was created with.</summary>
    public CardTaskDifficulty Difficulty { get; }

    /// <summary>The number of 52-card decks.</summary>
    public int NumDecks => _deck.NumDecks;

    /// <summary>The episode length: one step per card after the first, 52 × decks − 1.</summary>
    public int EpisodeLength => _deck.Count - 1;

    /// <summary>The suit (0 to 3) the agent must name in the current episode.</summary>
    public int FirstSuit => _firstSuit;

    /// <summary>POPGym's number of decks at <paramref name="difficulty"/>: 1, 8 or 16.</summary>
    public static int DecksFor(CardTaskDifficulty difficulty) => difficulty switch
    {
        CardTaskDifficulty.Easy => 1,
        CardTaskDifficulty.Medium => 8,
        CardTaskDifficulty.Hard => 16,
        _ => throw CardTaskDifficulties.Undefined(difficulty),
    };

    /// <summary>
    /// The best expected return of a memoryless policy (one that sees only the current card): repeat the current card's
    /// suit. With n = 52d cards, it is right on the first step and, later, with probability (13d − 1)/(n − 1), so the
    /// expected number of right answers is c = 1 + (n − 2)(13d − 1)/(n − 1) and the return 2c/(n − 1) − 1.
    /// </summary>
    public static double BestMemorylessReturn(CardTaskDifficulty difficulty)
    {
        double d = DecksFor(difficulty);
        double n = CardDeck.CardsPerDeck * d;
        double right = 1 + (n - 2) * (13 * d - 1) / (n - 1);
        return 2 * right / (n - 1) - 1;
    }

    /// <inheritdoc />
    public override bool CanSaveState => true;

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        _deck.Write(writer);
        writer.Write(_dealt);
        writer.Write(_firstSuit);
        writer.Write(_lastAction);
        writer.Write((int)_outcome);
        writer.Write(_rightAnswers);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        _deck.Read(reader, Name);
        _dealt = reader.ReadInt32();
        _firstSuit = reader.ReadInt32();
        _lastAction = reader.ReadInt32();
        _outcome = (CardOutcome)reader.ReadInt32();
        _rightAnswers = reader.ReadInt32();
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _deck.Shuffle(Rng);
        _firstSuit = _deck.SuitDealt(0);
        _dealt = 1;
        _lastAction = -1;
        _outcome = CardOutcome.None;
        _rightAnswers = 0;
        WriteSuit(observation, _firstSuit);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        bool right = action == _firstSuit;
        double reward = right ? _rewardScale : -_rewardScale;
        _lastAction = action;
        _outcome = right ? CardOutcome.Right : CardOutcome.Wrong;
        _rightAnswers += right ? 1 : 0;
        bool terminated = _deck.Count - _dealt == 1;
        WriteSuit(observation, _deck.SuitDealt(_dealt));
        _dealt++;
        return new StepResult(reward, terminated, false);
    }

    /// <summary>The picture's width, 600 pixels.</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height, 240 pixels.</summary>
    public int RenderHeight => 240;

    /// <summary>4 frames per second, slow enough to read each card.</summary>
    public int RenderFps => 4;

    /// <summary>
    /// Draws three 80×112 cards in a row: at columns 40 to 119 the first card, the one to repeat, with a gold border; at
    /// 240 to 319 the current card; at 420 to 499 the suit of the last action, with a green tick (right) or red cross
    /// (wrong) beside it. Suits are drawn as shapes in a four-colour deck (<see cref="MemoryTaskPalette.Suit"/>), whose
    /// colour fills each card's centre. Text gives the difficulty, the step counter, the suit names, the last reward and
    /// the number of right answers so far.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        MemoryTaskDrawing.CheckCanvas(canvas, this);
        int step = _dealt - 1;
        int scale = _deck.Count - 1;
        string decks = NumDecks == 1 ? "1 deck" : string.Create(CultureInfo.InvariantCulture, $"{NumDecks} decks");
        CardTaskPicture.Draw(
            canvas,
            string.Create(CultureInfo.InvariantCulture, $"RepeatFirst ({CardTaskDifficulties.Name(Difficulty)}, {decks})   step {step} / {EpisodeLength}"),
            step == 0 ? "no answers yet" : string.Create(CultureInfo.InvariantCulture, $"right so far: {_rightAnswers} of {step}"),
            "repeat this: the first card",
            _firstSuit,
            MemoryTaskPalette.SuitName(_firstSuit),
            _deck.SuitDealt(_dealt - 1),
            _lastAction,
            _outcome,
            _outcome switch
            {
                CardOutcome.Right => string.Create(CultureInfo.InvariantCulture, $"{MemoryTaskPalette.SuitName(_lastAction)}: right, +1/{scale}"),
                CardOutcome.Wrong => string.Create(CultureInfo.InvariantCulture, $"{MemoryTaskPalette.SuitName(_lastAction)}: wrong, -1/{scale}"),
                _ => "no action yet",
            });
    }

    internal static void WriteSuit(Span<float> observation, int suit)
    {
        observation.Clear();
        observation[suit] = 1f;
    }
}
