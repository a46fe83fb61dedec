namespace RlMemory.Environments;

/// <summary>
/// What one <c>Step</c> returned besides the observation: Gymnasium's <c>reward, terminated, truncated, info</c>.
/// </summary>
public readonly struct StepResult : IEquatable<StepResult>
{
    private readonly Info? _info;

    /// <summary>Creates a step result.</summary>
    public StepResult(double reward, bool terminated, bool truncated, Info? info = null)
    {
        Reward = reward;
        Terminated = terminated;
        Truncated = truncated;
        _info = info;
    }

    /// <summary>The reward for the step.</summary>
    public double Reward { get; }

    /// <summary>The episode reached a terminal state of the task (no bootstrapping from the next observation).</summary>
    public bool Terminated { get; }

    /// <summary>The episode was cut short by a condition outside the task, usually a time limit (bootstrap).</summary>
    public bool Truncated { get; }

    /// <summary>Auxiliary information (never null).</summary>
    public Info Info => _info ?? Info.Empty;

    /// <summary>The episode ended (terminated or truncated): <c>Reset</c> must be called before the next <c>Step</c>.</summary>
    public bool Done => Terminated || Truncated;

    /// <summary>A copy with <see cref="Truncated"/> set.</summary>
    public StepResult WithTruncated(bool truncated) => new(Reward, Terminated, truncated, _info);

    /// <summary>A copy with another reward.</summary>
    public StepResult WithReward(double reward) => new(reward, Terminated, Truncated, _info);

    /// <summary>A copy with another info.</summary>
    public StepResult WithInfo(Info info) => new(Reward, Terminated, Truncated, info);

    public bool Equals(StepResult other) =>
        Reward.Equals(other.Reward) && Terminated == other.Terminated && Truncated == other.Truncated && ReferenceEquals(Info, other.Info);

    public override bool Equals(object? obj) => obj is StepResult other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Reward, Terminated, Truncated);

    public override string ToString() => $"(reward: {Reward}, terminated: {Terminated}, truncated: {Truncated}, info: {Info})";

    public static bool operator ==(StepResult left, StepResult right) => left.Equals(right);

    public static bool operator !=(StepResult left, StepResult right) => !left.Equals(right);
}

/// <summary>
/// An environment, independent of its action type: spaces, reset, identity. See <see cref="IEnv{TAction}"/> for stepping.
/// </summary>
public interface IEnv : IDisposable
{
    /// <summary>The registration this environment was made from, or null when it was constructed directly.</summary>
    EnvSpec? Spec { get; }

    /// <summary>A name for messages: the registered id when there is one, else the type name.</summary>
    string Name { get; }

    /// <summary>The observations this environment emits (always float32, flat row-major).</summary>
    Box ObservationSpace { get; }

    /// <summary>The actions this environment accepts.</summary>
    Space ActionSpace { get; }

    /// <summary>The innermost environment under all wrappers (Gymnasium's <c>env.unwrapped</c>).</summary>
    IEnv Unwrapped { get; }

    /// <summary>
    /// Starts a new episode and writes its first observation into <paramref name="observation"/>
    /// (length <c>ObservationSpace.Size</c>). With a <paramref name="seed"/>, the environment's random generator is
    /// reseeded, so the same seed gives the same episode; without one, the generator continues its stream.
    /// </summary>
    /// <param name="observation">Receives the first observation.</param>
    /// <param name="seed">A non-negative seed, or null.</param>
    /// <param name="options">Per-reset options the environment understands (e.g. <c>low</c>/<c>high</c> for classic control).</param>
    Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null);

    /// <summary>
    /// Whether <see cref="SaveState"/> captures everything that determines this environment's future (physical
    /// state, episode progress, random generator, wrapper state), so that a restored copy behaves bit for bit like
    /// the original. Training uses it for exact resume; environments that cannot are restarted instead.
    /// </summary>
    bool CanSaveState => false;

    /// <summary>Writes the complete state (see <see cref="CanSaveState"/>).</summary>
    /// <exception cref="NotSupportedException">The environment cannot save its state.</exception>
    void SaveState(BinaryWriter writer) =>
        throw new NotSupportedException($"{Name} ({GetType().Name}) cannot save its state; derive from Env<TAction> and override WriteStateCore/ReadStateCore.");

    /// <summary>Restores a state written by <see cref="SaveState"/> of an environment of the same kind.</summary>
    /// <exception cref="InvalidDataException">The state belongs to another kind of environment or is malformed.</exception>
    /// <exception cref="NotSupportedException">The environment cannot restore its state.</exception>
    void LoadState(BinaryReader reader) =>
        throw new NotSupportedException($"{Name} ({GetType().Name}) cannot restore a saved state.");
}

/// <summary>
/// An environment with actions of type <typeparamref name="TAction"/> (<see cref="int"/> for <see cref="Discrete"/>,
/// <c>float[]</c> for <see cref="Box"/>), with Gymnasium 1.x semantics.
/// </summary>
/// <remarks>
/// The members here write observations into a caller's buffer and allocate nothing (for the built-in
/// environments), which is what vector environments use. The extension methods in <see cref="EnvExtensions"/>
/// give the familiar Gymnasium form that returns new arrays: <c>var (obs, info) = env.Reset(seed: 0);</c>
/// and <c>var (obs, reward, terminated, truncated, info) = env.Step(action);</c>.
/// </remarks>
public interface IEnv<TAction> : IEnv
{
    /// <summary>The actions this environment accepts.</summary>
    new Space<TAction> ActionSpace { get; }

    /// <summary>
    /// Applies <paramref name="action"/>, writes the next observation into <paramref name="observation"/> and returns
    /// the reward and the end-of-episode flags. After a step that terminated or truncated, <c>Reset</c> must be called.
    /// </summary>
    /// <exception cref="ArgumentException">The action is not in <see cref="ActionSpace"/>, or the buffer has the wrong length.</exception>
    /// <exception cref="InvalidOperationException">The episode has ended (or never started) and <c>Reset</c> was not called.</exception>
    StepResult Step(TAction action, Span<float> observation);
}

/// <summary>Gymnasium-style conveniences over <see cref="IEnv"/> that return new observation arrays.</summary>
public static class EnvExtensions
{
    /// <summary>Starts a new episode: Gymnasium's <c>obs, info = env.reset(seed=…, options=…)</c>.</summary>
    public static (float[] Observation, Info Info) Reset(this IEnv env, int? seed = null, EnvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        var observation = new float[env.ObservationSpace.Size];
        Info info = env.Reset(observation, seed, options);
        return (observation, info);
    }

    /// <summary>Takes one step: Gymnasium's <c>obs, reward, terminated, truncated, info = env.step(action)</c>.</summary>
    public static (float[] Observation, double Reward, bool Terminated, bool Truncated, Info Info) Step<TAction>(
        this IEnv<TAction> env, TAction action)
    {
        ArgumentNullException.ThrowIfNull(env);
        var observation = new float[env.ObservationSpace.Size];
        StepResult r = env.Step(action, observation);
        return (observation, r.Reward, r.Terminated, r.Truncated, r.Info);
    }

    /// <summary>
    /// The innermost environment as <typeparamref name="T"/>, e.g. <c>env.Unwrapped&lt;CartPoleEnv&gt;().State</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The innermost environment is not a <typeparamref name="T"/>.</exception>
    public static T Unwrapped<T>(this IEnv env) where T : class, IEnv
    {
        ArgumentNullException.ThrowIfNull(env);
        return env.Unwrapped as T
            ?? throw new InvalidOperationException(
                $"{env.Name}: the innermost environment is a {env.Unwrapped.GetType().Name}, not a {typeof(T).Name}.");
    }
}

/// <summary>
/// An environment whose physical state can be read and set (Gymnasium's <c>env.unwrapped.state</c>), in the order
/// Gymnasium uses. Setting the state does not restart the episode or its time limit.
/// </summary>
public interface IPhysicalState
{
    /// <summary>The physical state (a copy when read; copied when set).</summary>
    double[] State { get; set; }
}
