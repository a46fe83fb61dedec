namespace RlMemory.Environments;

/// <summary>
/// The base class of environments, built-in and yours. Derive from it, pass the spaces to the constructor, and
/// implement <see cref="ResetCore"/> and <see cref="StepCore"/>; this class seeds <see cref="Rng"/> like Gymnasium,
/// checks every action against the action space, every observation against the observation space, and refuses a
/// <c>Step</c> after the episode ended until <c>Reset</c> is called. Errors name the environment, the value and what
/// is allowed.
/// </summary>
/// <typeparam name="TAction"><see cref="int"/> for a <see cref="Discrete"/> action space, <c>float[]</c> for a <see cref="Box"/>.</typeparam>
public abstract class Env<TAction> : IEnv<TAction>, IRegisteredEnv, IResetTracking
{
    private NumpyRandom? _rng;
    private bool _running;
    private bool _everReset;

    /// <summary>Creates an environment with the given spaces.</summary>
    protected Env(Box observationSpace, Space<TAction> actionSpace)
    {
        ObservationSpace = observationSpace ?? throw new ArgumentNullException(nameof(observationSpace));
        ActionSpace = actionSpace ?? throw new ArgumentNullException(nameof(actionSpace));
    }

    /// <inheritdoc />
    public EnvSpec? Spec { get; internal set; }

    /// <inheritdoc />
    public string Name => Spec?.Id ?? GetType().Name;

    void IRegisteredEnv.AttachSpec(EnvSpec spec) => Spec ??= spec;

    /// <inheritdoc />
    public Box ObservationSpace { get; }

    /// <inheritdoc />
    public Space<TAction> ActionSpace { get; }

    Space IEnv.ActionSpace => ActionSpace;

    /// <inheritdoc />
    public IEnv Unwrapped => this;

    /// <summary>
    /// The seed last given to <c>Reset</c>, or the one drawn from OS entropy when the generator was first needed
    /// without a seed; null before either happened.
    /// </summary>
    public ulong? Seed => _rng?.Seed;

    /// <summary>
    /// The environment's random generator (Gymnasium's <c>np_random</c>): reseeded by <c>Reset(seed)</c>; created
    /// from OS entropy if used before any seed was given.
    /// </summary>
    protected NumpyRandom Rng => _rng ??= NumpyRandom.FromEntropy();

    /// <summary>Whether an episode is under way (reset was called and the last step did not end it).</summary>
    public bool IsRunning => _running;

    bool IResetTracking.WasReset => _everReset;

    /// <inheritdoc />
    public Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null)
    {
        if (observation.Length != ObservationSpace.Size)
        {
            throw new ArgumentException(
                $"{Name}: the observation buffer has {observation.Length} elements; the observation space {ObservationSpace} needs {ObservationSpace.Size}.",
                nameof(observation));
        }

        if (seed is int s)
        {
            if (s < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(seed), s, $"{Name}: seeds must be non-negative integers, got {s}.");
            }

            _rng = new NumpyRandom((ulong)s);
        }

        _running = false;
        _everReset = true;
        Info info = ResetCore(observation, options) ?? Info.Empty;
        CheckObservation(observation, "Reset");
        _running = true;
        return info;
    }

    /// <inheritdoc />
    public StepResult Step(TAction action, Span<float> observation)
    {
        if (!_running)
        {
            throw new InvalidOperationException(
                $"{Name}: Step was called {(_everReset ? "after the episode ended" : "before the first Reset")}; call Reset to start an episode.");
        }

        if (!ActionSpace.Contains(action))
        {
            throw new ArgumentException(
                $"{Name}: action {FormatAction(action)} is not in the action space {ActionSpace}; allowed: {ActionSpace.DescribeAllowed()}.",
                nameof(action));
        }

        if (observation.Length != ObservationSpace.Size)
        {
            throw new ArgumentException(
                $"{Name}: the observation buffer has {observation.Length} elements; the observation space {ObservationSpace} needs {ObservationSpace.Size}.",
                nameof(observation));
        }

        StepResult result = StepCore(action, observation);
        if (ObservationSpace.IndexOfViolation(observation) >= 0)
        {
            // The environment's state is suspect: require a Reset before the next Step.
            _running = false;
            CheckObservation(observation, "Step");
        }

        if (result.Terminated || result.Truncated)
        {
            _running = false;
        }

        return result;
    }

    /// <summary>
    /// Starts an episode: draw the initial state from <see cref="Rng"/> and write the first observation.
    /// </summary>
    /// <param name="observation">Receives the first observation (length <c>ObservationSpace.Size</c>).</param>
    /// <param name="options">Per-reset options, or null.</param>
    /// <returns>The reset info; return <see cref="Info.Empty"/> when there is nothing to report.</returns>
    protected abstract Info ResetCore(Span<float> observation, EnvOptions? options);

    /// <summary>
    /// Advances the environment by one step with a valid action and writes the next observation.
    /// </summary>
    protected abstract StepResult StepCore(TAction action, Span<float> observation);

    /// <summary>
    /// Whether this environment saves and restores its complete state (built-in environments do). Override it to
    /// return true together with <see cref="WriteStateCore"/> and <see cref="ReadStateCore"/>; the base class saves
    /// the random generator and the episode flags itself.
    /// </summary>
    public virtual bool CanSaveState => false;

    /// <inheritdoc />
    public void SaveState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!CanSaveState)
        {
            throw new NotSupportedException(
                $"{Name} ({GetType().Name}) cannot save its state: override CanSaveState, WriteStateCore and ReadStateCore to support exact resume.");
        }

        EnvState.WriteHeader(writer, GetType());
        writer.Write(_running);
        writer.Write(_everReset);
        EnvState.WriteRandom(writer, _rng);
        WriteStateCore(writer);
    }

    /// <inheritdoc />
    public void LoadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!CanSaveState)
        {
            throw new NotSupportedException($"{Name} ({GetType().Name}) cannot restore a saved state.");
        }

        EnvState.ReadHeader(reader, GetType(), Name);
        bool running = reader.ReadBoolean();
        bool everReset = reader.ReadBoolean();
        NumpyRandom? rng = EnvState.ReadRandom(reader);
        ReadStateCore(reader);
        _running = running;
        _everReset = everReset;
        _rng = rng;
    }

    /// <summary>Writes the subclass's state (everything beyond the random generator and the episode flags).</summary>
    protected virtual void WriteStateCore(BinaryWriter writer)
    {
    }

    /// <summary>Reads what <see cref="WriteStateCore"/> wrote.</summary>
    protected virtual void ReadStateCore(BinaryReader reader)
    {
    }

    /// <summary>Releases resources held by the environment. The base implementation does nothing.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    public override string ToString() => $"{GetType().Name}<{Name}>";

    private void CheckObservation(ReadOnlySpan<float> observation, string where)
    {
        int bad = ObservationSpace.IndexOfViolation(observation);
        if (bad >= 0)
        {
            throw new InvalidObservationException(
                $"{Name}: {where} produced an observation outside its observation space {ObservationSpace}: "
                + $"{ObservationSpace.Explain(observation)}. Fix the environment, or widen its observation space.");
        }
    }

    private static string FormatAction(TAction action) => action switch
    {
        null => "null",
        float[] a => Box.FormatArray(a),
        _ => action.ToString() ?? "?",
    };
}

/// <summary>Tells whether an environment has been reset at least once (so it has a state to show).</summary>
internal interface IResetTracking
{
    /// <summary>Whether <c>Reset</c> has been called at least once.</summary>
    bool WasReset { get; }
}

/// <summary>An environment produced an observation outside its observation space (or NaN). The message names the environment and the element.</summary>
public sealed class InvalidObservationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public InvalidObservationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public InvalidObservationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
