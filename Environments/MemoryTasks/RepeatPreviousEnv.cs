using System.Globalization;
using RlMemory.Environments.Rendering;

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
/// <para>Renders a 600×300 picture (<see cref="Render"/>): the card to repeat, the current card, the last action with a
/// right/wrong mark, the step counter and score, and a strip of the last k cards.</para>
/// </remarks>
public sealed class RepeatPreviousEnv : Env<int>, IRenderable
{
    /// <summary>The optimal expected return: name the right suit at every scored step.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions: right with probability 1/4 at every scored step.</summary>
    public const double RandomReturn = -0.5;

    private readonly CardDeck _deck;
    private readonly double _rewardScale;
    private int _dealt;
    private int _lastAction = -1;
    private CardOutcome _outcome;
    private int _rightAnswers;

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
    public override bool CanSaveState => true;

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        _deck.Write(writer);
        writer.Write(_dealt);
        writer.Write(_lastAction);
        writer.Write((int)_outcome);
        writer.Write(_rightAnswers);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        _deck.Read(reader, Name);
        _dealt = reader.ReadInt32();
        _lastAction = reader.ReadInt32();
        _outcome = (CardOutcome)reader.ReadInt32();
        _rightAnswers = reader.ReadInt32();
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _deck.Shuffle(Rng);
        _dealt = 1;
        _lastAction = -1;
        _outcome = CardOutcome.None;
        _rightAnswers = 0;
        RepeatFirstEnv.WriteSuit(observation, _deck.SuitDealt(0));
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        // POPGym: once the hand holds k cards, compare with hand[-k], the card dealt k deals before the next one.
        double reward = 0.0;
        _lastAction = action;
        _outcome = CardOutcome.Unscored;
        if (_dealt >= K)
        {
            bool right = action == _deck.SuitDealt(_dealt - K);
            reward = right ? _rewardScale : -_rewardScale;
            _outcome = right ? CardOutcome.Right : CardOutcome.Wrong;
            _rightAnswers += right ? 1 : 0;
        }

        bool terminated = _deck.Count - _dealt == 1;
        RepeatFirstEnv.WriteSuit(observation, _deck.SuitDealt(_dealt));
        _dealt++;
        return new StepResult(reward, terminated, false);
    }

    /// <summary>The picture's width, 600 pixels.</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height, 300 pixels.</summary>
    public int RenderHeight => 300;

    /// <summary>4 frames per second, slow enough to read each card.</summary>
    public int RenderFps => 4;

    /// <summary>
    /// Draws <see cref="RepeatFirstEnv"/>'s three cards (the card the next action must name, with a gold border, or a
    /// grey placeholder while steps are not scored and after the last step; the current card; the last action with a
    /// green tick, a red cross, or no mark when it was not scored) and, below them, a strip of the last k cards dealt,
    /// oldest left, with the card to name outlined in gold. The strip's slots are 40 pixels wide for k = 4, 18 for
    /// k = 32 and 9 for k = 64 (narrow slots show the suit's colour). Text gives the difficulty, k, the step counter,
    /// the suit names and the step each card was dealt, the last reward and the score so far.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        MemoryTaskDrawing.CheckCanvas(canvas, this);
        int step = _dealt - 1;
        int scored = Math.Max(0, step - (K - 1));
        int scale = _deck.Count - K;
        bool over = _dealt == _deck.Count;
        bool targetShown = !over && _dealt >= K;
        int target = targetShown ? _deck.SuitDealt(_dealt - K) : -1;
        string decks = NumDecks == 1 ? "1 deck" : string.Create(CultureInfo.InvariantCulture, $"{NumDecks} decks");
        CardTaskPicture.Draw(
            canvas,
            string.Create(CultureInfo.InvariantCulture, $"RepeatPrevious ({CardTaskDifficulties.Name(Difficulty)}: {decks}, k = {K})   step {step} / {EpisodeLength}"),
            scored == 0
                ? string.Create(CultureInfo.InvariantCulture, $"steps 1 to {K - 1} are not scored")
                : string.Create(CultureInfo.InvariantCulture, $"right so far: {_rightAnswers} of {scored} scored"),
            string.Create(CultureInfo.InvariantCulture, $"repeat this (k = {K})"),
            target,
            targetShown ? string.Create(CultureInfo.InvariantCulture, $"{MemoryTaskPalette.SuitName(target)}, dealt at step {_dealt - K}")
            : over ? "episode over"
            : string.Create(CultureInfo.InvariantCulture, $"scored from step {K}"),
            _deck.SuitDealt(_dealt - 1),
            _lastAction,
            _outcome,
            _outcome switch
            {
                CardOutcome.Right => string.Create(CultureInfo.InvariantCulture, $"{MemoryTaskPalette.SuitName(_lastAction)}: right, +1/{scale}"),
                CardOutcome.Wrong => string.Create(CultureInfo.InvariantCulture, $"{MemoryTaskPalette.SuitName(_lastAction)}: wrong, -1/{scale}"),
                CardOutcome.Unscored => string.Create(CultureInfo.InvariantCulture, $"{MemoryTaskPalette.SuitName(_lastAction)}: not scored"),
                _ => "no action yet",
            });
        CardTaskPicture.DrawHistory(canvas, _deck, _dealt, K, targetShown);
    }
}
