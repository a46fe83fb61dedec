namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// The copy task of the Neural Turing Machine (Graves et al. 2014) as a reinforcement-learning task: observe
/// <see cref="SequenceLength"/> random bits, then a delimiter, then reproduce the bits in order, one per step.
/// </summary>
/// <remarks>
/// <para>Observation <c>[bit, input, delimiter, recall]</c>. With L = <see cref="SequenceLength"/>: at t = 0 … L − 1
/// it is <c>[b_t, 1, 0, 0]</c>; at t = L the delimiter <c>[0, 0, 1, 0]</c>; at t = L + 1 … 2L the recall cue
/// <c>[0, 0, 0, 1]</c>. Actions: the bit, 0 or 1. Actions taken after input and delimiter observations give reward 0.
/// The action taken after the j-th recall cue (j = 0 … L − 1) answers bit j: +1/L when right, −1/L when wrong. The
/// episode terminates after the last answer, step 2L + 1 (observation all zeros); returns lie in [−1, 1].</para>
/// <para>Yardsticks: optimal 1, uniformly random 0, best memoryless 0 (every recall cue looks the same).</para>
/// </remarks>
public sealed class CopyTaskEnv : Env<int>
{
    /// <summary>The longest sequence accepted.</summary>
    public const int MaxSequenceLength = 100_000;

    /// <summary>The default sequence length.</summary>
    public const int DefaultSequenceLength = 10;

    /// <summary>The optimal expected return: reproduce every bit.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions.</summary>
    public const double RandomReturn = 0.0;

    /// <summary>The best expected return of a memoryless policy: every recall cue looks the same and the bits are uniform.</summary>
    public const double BestMemorylessReturn = 0.0;

    private readonly byte[] _bits;
    private readonly double _rewardScale;
    private int _t;

    /// <summary>Creates the task.</summary>
    /// <param name="sequenceLength">L: the number of bits to copy, 1 to <see cref="MaxSequenceLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequenceLength"/> is outside its range.</exception>
    public CopyTaskEnv(int sequenceLength = DefaultSequenceLength)
        : base(new Box(0f, 1f, 4), new Discrete(2))
    {
        if (sequenceLength is < 1 or > MaxSequenceLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(sequenceLength), sequenceLength, $"CopyTaskEnv: the sequence length must be an integer in [1, {MaxSequenceLength}].");
        }

        SequenceLength = sequenceLength;
        _bits = new byte[sequenceLength];
        _rewardScale = 1.0 / sequenceLength;
    }

    /// <summary>L: the number of bits to copy.</summary>
    public int SequenceLength { get; }

    /// <summary>The episode length: L input steps, the delimiter, and L answers, 2L + 1 steps.</summary>
    public int EpisodeLength => 2 * SequenceLength + 1;

    /// <summary>Bit <paramref name="index"/> of the current episode's sequence.</summary>
    public int Bit(int index) => _bits[index];

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        for (int i = 0; i < _bits.Length; i++)
        {
            _bits[i] = (byte)Rng.Integers(0, 2);
        }

        _t = 0;
        Write(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        int length = SequenceLength;
        double reward = 0.0;
        int answered = _t - (length + 1); // The action answers bit j when taken after the recall cue at t = L + 1 + j.
        if (answered >= 0)
        {
            reward = action == _bits[answered] ? _rewardScale : -_rewardScale;
        }

        _t++;
        Write(observation);
        return new StepResult(reward, answered == length - 1, false);
    }

    private void Write(Span<float> observation)
    {
        int length = SequenceLength;
        observation.Clear();
        if (_t < length)
        {
            observation[0] = _bits[_t];
            observation[1] = 1f;
        }
        else if (_t == length)
        {
            observation[2] = 1f;
        }
        else if (_t <= 2 * length)
        {
            observation[3] = 1f;
        }
    }
}
