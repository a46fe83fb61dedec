namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// bsuite's <c>memory_len</c> experiment (Osband et al. 2020, <c>bsuite/environments/memory_chain.py</c> with one
/// bit): a ±1 context is shown at the first step; <see cref="MemoryLength"/> steps later the agent is asked for it.
/// </summary>
/// <remarks>
/// <para>Observation <c>[time, query, context]</c> at step t = 0 … L (L = <see cref="MemoryLength"/>):
/// <c>time = 1 − t/L</c>; <c>query = 1</c> at t = L only (the answer is due), else 0; <c>context</c> is the ±1 context
/// at t = 0 and, at t ≥ 1, uniform ±1 noise (or 0 with <c>noise</c> off, as in bsuite). Actions: 0 answers −1,
/// 1 answers +1. Actions at steps 1 … L do nothing and give reward 0; the action at step L + 1 (taken after the query)
/// gives +1 when it matches the context, −1 otherwise, and terminates the episode (observation <c>[0, 0, 0]</c>).</para>
/// <para>Yardsticks: optimal 1, uniformly random 0, best memoryless 0 (the query observation does not depend on the
/// context).</para>
/// </remarks>
public sealed class MemoryLengthEnv : Env<int>
{
    /// <summary>The longest memory length accepted.</summary>
    public const int MaxMemoryLength = 1_000_000;

    /// <summary>The default memory length.</summary>
    public const int DefaultMemoryLength = 10;

    /// <summary>The optimal expected return: answer the context.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions.</summary>
    public const double RandomReturn = 0.0;

    /// <summary>The best expected return of a memoryless policy: the query observation is independent of the context.</summary>
    public const double BestMemorylessReturn = 0.0;

    private int _t;
    private float _context;

    /// <summary>Creates the task.</summary>
    /// <param name="memoryLength">L: the number of steps from the context to the query, 1 to <see cref="MaxMemoryLength"/>.</param>
    /// <param name="noise">Fill the context entry with uniform ±1 noise after the first step (false: zeros, as bsuite).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="memoryLength"/> is outside its range.</exception>
    public MemoryLengthEnv(int memoryLength = DefaultMemoryLength, bool noise = true)
        : base(new Box([0f, 0f, -1f], [1f, 1f, 1f]), new Discrete(2))
    {
        if (memoryLength is < 1 or > MaxMemoryLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(memoryLength), memoryLength, $"MemoryLengthEnv: the memory length must be an integer in [1, {MaxMemoryLength}].");
        }

        MemoryLength = memoryLength;
        Noise = noise;
    }

    /// <summary>L: the query comes L steps after the context.</summary>
    public int MemoryLength { get; }

    /// <summary>Whether the context entry carries ±1 noise after the first step.</summary>
    public bool Noise { get; }

    /// <summary>The episode length: L + 1 steps.</summary>
    public int EpisodeLength => MemoryLength + 1;

    /// <summary>The context of the current episode, −1 or +1; action <c>(Context + 1) / 2</c> answers it.</summary>
    public int Context => (int)_context;

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _context = Rng.Integers(0, 2) == 1 ? 1f : -1f;
        _t = 0;
        observation[0] = 1f;
        observation[1] = 0f;
        observation[2] = _context;
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _t++;
        if (_t > MemoryLength)
        {
            observation.Clear();
            bool right = (action == 1) == (_context > 0);
            return new StepResult(right ? 1.0 : -1.0, true, false);
        }

        observation[0] = (float)(1.0 - (double)_t / MemoryLength);
        observation[1] = _t == MemoryLength ? 1f : 0f;
        observation[2] = Noise ? (Rng.Integers(0, 2) == 1 ? 1f : -1f) : 0f;
        return new StepResult(0.0, false, false);
    }
}
