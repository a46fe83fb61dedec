using RlMemory.Agents;
using RlMemory.Environments;

namespace RlMemory.Training;

/// <summary>The result of an evaluation: the return and length of each episode.</summary>
/// <param name="Step">The training step at which it ran.</param>
/// <param name="Returns">Each episode's return.</param>
/// <param name="Lengths">Each episode's length.</param>
public sealed record EvaluationResult(long Step, IReadOnlyList<double> Returns, IReadOnlyList<int> Lengths)
{
    /// <summary>The mean return.</summary>
    public double MeanReturn => Returns.Average();

    /// <summary>The standard deviation of the returns.</summary>
    public double StdReturn
    {
        get
        {
            double mean = MeanReturn;
            return Math.Sqrt(Returns.Sum(r => (r - mean) * (r - mean)) / Returns.Count);
        }
    }

    /// <summary>The mean length.</summary>
    public double MeanLength => Lengths.Average();
}

/// <summary>
/// Plays evaluation episodes on environments separate from training, all episodes at once so that one batched
/// decision serves every unfinished episode. Episode <c>k</c> resets with <c>seed + k</c>, so every evaluation of a run
/// plays the same start states and results are comparable across evaluations.
/// </summary>
/// <typeparam name="TAction">The environments' action type (<c>int</c> or <c>float[]</c>).</typeparam>
public class Evaluator<TAction> : IDisposable
{
    private readonly IEnv<TAction>[] _envs;
    private readonly float[] _observations;
    private readonly int _observationSize;

    /// <summary>Creates <paramref name="episodes"/> environments with <paramref name="makeEnv"/>.</summary>
    public Evaluator(Func<IEnv<TAction>> makeEnv, int episodes, int seed)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        ArgumentOutOfRangeException.ThrowIfLessThan(episodes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        _envs = new IEnv<TAction>[episodes];
        for (int i = 0; i < episodes; i++)
        {
            _envs[i] = makeEnv();
        }

        _observationSize = _envs[0].ObservationSpace.Size;
        _observations = new float[episodes * _observationSize];
        Seed = seed;
    }

    /// <summary>The number of episodes per evaluation.</summary>
    public int Episodes => _envs.Length;

    /// <summary>The seed of the first episode.</summary>
    public int Seed { get; }

    /// <summary>
    /// Plays one episode per environment with an agent's <paramref name="actor"/> (started for <see cref="Episodes"/>
    /// environments; row i is environment i). Every row is reset first, so one actor can serve many evaluations; a
    /// recurrent actor carries each episode's state from its first step to its last.
    /// </summary>
    /// <exception cref="ArgumentException">The actor was started for another number of environments.</exception>
    public EvaluationResult Run(long step, IEpisodeActor<TAction> actor, int maxSteps = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (actor.Environments != _envs.Length)
        {
            throw new ArgumentException($"Evaluator: the actor was started for {actor.Environments} environments; this evaluator plays {_envs.Length} episodes.", nameof(actor));
        }

        for (int i = 0; i < _envs.Length; i++)
        {
            actor.Reset(i);
        }

        return Play(step, actor.Act, maxSteps);
    }

    /// <summary>Chooses the actions of the unfinished episodes <paramref name="rows"/> (their observations in order).</summary>
    protected delegate void RowPolicy(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<TAction> actions);

    /// <summary>Plays one episode per environment, asking <paramref name="act"/> for the unfinished ones' actions each step.</summary>
    protected EvaluationResult Play(long step, RowPolicy act, int maxSteps)
    {
        int n = _envs.Length;
        var returns = new double[n];
        var lengths = new int[n];
        var done = new bool[n];
        var active = new int[n];
        TAction[] actions = ActionSpaces.Buffers(_envs[0].ActionSpace, n);
        for (int i = 0; i < n; i++)
        {
            _envs[i].Reset(_observations.AsSpan(i * _observationSize, _observationSize), seed: Seed + i);
        }

        int remaining = n;
        while (remaining > 0)
        {
            // Compact the unfinished episodes' observations to the front, in order.
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                if (!done[i])
                {
                    if (count != i)
                    {
                        _observations.AsSpan(i * _observationSize, _observationSize).CopyTo(_observations.AsSpan(count * _observationSize));
                    }

                    active[count++] = i;
                }
            }

            act(_observations.AsSpan(0, count * _observationSize), active.AsSpan(0, count), actions.AsSpan(0, count));

            // The compacted observations are consumed: each episode writes its next one into its own slot.
            for (int k = 0; k < count; k++)
            {
                int i = active[k];
                StepResult r = _envs[i].Step(actions[k], _observations.AsSpan(i * _observationSize, _observationSize));
                returns[i] += r.Reward;
                lengths[i]++;
                if (r.Done || lengths[i] >= maxSteps)
                {
                    done[i] = true;
                    remaining--;
                }
            }
        }

        return new EvaluationResult(step, returns, lengths);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var e in _envs)
        {
            e.Dispose();
        }
    }
}

/// <summary>
/// Plays evaluation episodes of environments with discrete actions (see <see cref="Evaluator{TAction}"/>), and holds the
/// evaluation seeds every command shares.
/// </summary>
public sealed class Evaluator : Evaluator<int>
{
    /// <summary>
    /// The seed of a run's first evaluation episode is the run's seed plus this (10,000), so evaluation never replays
    /// the training's start states. <c>eval</c>, <c>record</c>, <c>watch</c> and <c>random</c> start at this seed by
    /// default: the episodes a seed-0 run was evaluated on.
    /// </summary>
    public const int SeedOffset = 10_000;

    /// <summary>The seed of the first evaluation episode of a run seeded <paramref name="runSeed"/>.</summary>
    public static int SeedFor(int runSeed) => runSeed + SeedOffset;

    /// <summary>Creates <paramref name="episodes"/> environments with <paramref name="makeEnv"/>.</summary>
    public Evaluator(Func<IEnv<int>> makeEnv, int episodes, int seed)
        : base(makeEnv, episodes, seed)
    {
    }

    /// <summary>
    /// Plays one episode per environment with <paramref name="act"/>, which receives the observations of the
    /// unfinished episodes ([n × obs], in environment order) and writes one action per episode.
    /// </summary>
    /// <param name="step">The training step, recorded in the result.</param>
    /// <param name="act">The policy (deterministic for a fair evaluation).</param>
    /// <param name="maxSteps">A safety cap per episode for environments without a time limit.</param>
    public EvaluationResult Run(long step, BatchPolicy act, int maxSteps = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(act);
        return Play(step, (observations, _, actions) => act(observations, actions), maxSteps);
    }
}

/// <summary>Chooses one action per observation: <paramref name="observations"/> is [n × obs], <paramref name="actions"/> has n entries.</summary>
public delegate void BatchPolicy(ReadOnlySpan<float> observations, Span<int> actions);
