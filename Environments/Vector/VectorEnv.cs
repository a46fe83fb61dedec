namespace RlMemory.Environments.Vector;

/// <summary>
/// Steps <see cref="NumEnvs"/> copies of an environment together (Gymnasium's <c>VectorEnv</c>). After each
/// <see cref="Reset"/> or <see cref="Step"/>, <see cref="Observations"/> holds the observations of all environments
/// in one contiguous row-major buffer <c>[NumEnvs × ObservationSize]</c>, and <see cref="Rewards"/>,
/// <see cref="Terminations"/>, <see cref="Truncations"/> and <see cref="Infos"/> the per-environment results. These
/// arrays are owned by the vector environment and overwritten in place by the next call: copy what you keep.
/// </summary>
/// <remarks>
/// <para>Autoreset follows Gymnasium 1.x's default <c>NEXT_STEP</c> mode. When environment <c>i</c> terminates or is
/// truncated at step <c>t</c>, step <c>t</c> returns its final observation with its reward and flags. At step
/// <c>t + 1</c>, environment <c>i</c> ignores its action and resets: that step returns the first observation of the
/// new episode, reward 0, both flags false, and the reset info. So a transition whose previous step had
/// <c>terminated || truncated</c> set for environment <c>i</c> is not a real transition and must not be learned from.</para>
/// <para>Reset with a seed seeds environment <c>i</c> with <c>seed + i</c>, as Gymnasium does.</para>
/// <para>For the built-in environments a step allocates nothing.</para>
/// <para>When an environment throws during <see cref="Step"/>, the exception names its index; the other environments
/// may already have stepped, so call <see cref="Reset"/> before stepping again.</para>
/// </remarks>
public abstract class VectorEnv<TAction> : IDisposable
{
    private readonly IEnv<TAction>[] _envs;
    private readonly bool[] _autoreset;
    private readonly float[] _previousObservations;
    private bool _started;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="envs"/> (disposed with this vector environment).</summary>
    /// <exception cref="ArgumentException">No environments, a null one, or environments whose spaces differ.</exception>
    protected VectorEnv(IReadOnlyList<IEnv<TAction>> envs)
    {
        ArgumentNullException.ThrowIfNull(envs);
        if (envs.Count == 0)
        {
            throw new ArgumentException("A vector environment needs at least one environment.", nameof(envs));
        }

        _envs = [.. envs];
        for (int i = 0; i < _envs.Length; i++)
        {
            if (_envs[i] is null)
            {
                throw new ArgumentException($"Environment {i} of the vector environment is null.", nameof(envs));
            }
        }

        IEnv<TAction> first = _envs[0];
        SingleObservationSpace = first.ObservationSpace;
        SingleActionSpace = first.ActionSpace;
        for (int i = 1; i < _envs.Length; i++)
        {
            IEnv<TAction> e = _envs[i];
            if (!e.ObservationSpace.SameAs(SingleObservationSpace))
            {
                throw new ArgumentException(
                    $"Environment {i} ({e.Name}) has observation space {e.ObservationSpace}, but environment 0 ({first.Name}) has {SingleObservationSpace}; all environments of a vector environment must share their spaces.",
                    nameof(envs));
            }

            if (!SameSpace(e.ActionSpace, SingleActionSpace))
            {
                throw new ArgumentException(
                    $"Environment {i} ({e.Name}) has action space {e.ActionSpace}, but environment 0 ({first.Name}) has {SingleActionSpace}; all environments of a vector environment must share their spaces.",
                    nameof(envs));
            }
        }

        NumEnvs = _envs.Length;
        ObservationSize = SingleObservationSpace.Size;
        Observations = new float[NumEnvs * ObservationSize];
        _previousObservations = new float[NumEnvs * ObservationSize];
        Rewards = new double[NumEnvs];
        Terminations = new bool[NumEnvs];
        Truncations = new bool[NumEnvs];
        Infos = new Info[NumEnvs];
        Array.Fill(Infos, Info.Empty);
        _autoreset = new bool[NumEnvs];
        Name = $"{first.Name}×{NumEnvs}";
    }

    /// <summary>The number of environments.</summary>
    public int NumEnvs { get; }

    /// <summary>The number of floats in one environment's observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The observation space of one environment.</summary>
    public Box SingleObservationSpace { get; }

    /// <summary>The action space of one environment.</summary>
    public Space<TAction> SingleActionSpace { get; }

    /// <summary>A name for messages, e.g. <c>CartPole-v1×16</c>.</summary>
    public string Name { get; }

    /// <summary>The environments, in order.</summary>
    public IReadOnlyList<IEnv<TAction>> Envs => _envs;

    /// <summary>All observations, <c>[NumEnvs × ObservationSize]</c> row-major; overwritten by every call.</summary>
    public float[] Observations { get; }

    /// <summary>The rewards of the last step.</summary>
    public double[] Rewards { get; }

    /// <summary>Which environments terminated at the last step.</summary>
    public bool[] Terminations { get; }

    /// <summary>Which environments were truncated at the last step.</summary>
    public bool[] Truncations { get; }

    /// <summary>The info of each environment from the last call (<see cref="Info.Empty"/> when it had none).</summary>
    public Info[] Infos { get; }

    /// <summary>Environment <paramref name="index"/>'s observation.</summary>
    public ReadOnlySpan<float> Observation(int index) => Observations.AsSpan(index * ObservationSize, ObservationSize);

    /// <summary>Resets every environment; with a seed, environment <c>i</c> gets <c>seed + i</c>.</summary>
    public void Reset(int? seed = null, EnvOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (seed is int s && (s < 0 || (long)s + NumEnvs - 1 > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(seed), s, $"{Name}: the seed must be in [0, {int.MaxValue - NumEnvs + 1}] so that seed + i fits an int.");
        }

        ResetAll(seed, options);
        Array.Clear(Rewards);
        Array.Clear(Terminations);
        Array.Clear(Truncations);
        Array.Clear(_autoreset);
        _started = true;
    }

    /// <summary>
    /// Steps every environment with its action (environments that ended at the previous step reset instead; see the
    /// class remarks) and returns the step: the observations the actions were chosen from, the actions, and what the
    /// environments returned (the spans a replay buffer stores; valid until the next call).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="actions"/> does not hold one action per environment, or an action is invalid.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Reset"/> was never called.</exception>
    public VectorStep<TAction> Step(ReadOnlySpan<TAction> actions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_started)
        {
            throw new InvalidOperationException($"{Name}: Step was called before Reset; call Reset first.");
        }

        if (actions.Length != NumEnvs)
        {
            throw new ArgumentException($"{Name}: Step needs one action per environment ({NumEnvs}), got {actions.Length}.", nameof(actions));
        }

        Observations.CopyTo(_previousObservations, 0);
        StepAll(actions);
        return new VectorStep<TAction>(_previousObservations, actions, Rewards, Terminations, Truncations, Observations);
    }

    /// <summary>Resets all environments, calling <see cref="ResetOne"/> for each.</summary>
    protected abstract void ResetAll(int? seed, EnvOptions? options);

    /// <summary>Steps all environments, calling <see cref="StepOne"/> for each.</summary>
    protected abstract void StepAll(ReadOnlySpan<TAction> actions);

    /// <summary>Resets environment <paramref name="index"/> into its slice of <see cref="Observations"/>.</summary>
    protected void ResetOne(int index, int? seed, EnvOptions? options)
    {
        try
        {
            Infos[index] = _envs[index].Reset(Observations.AsSpan(index * ObservationSize, ObservationSize), seed is int s ? s + index : null, options);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Name}, environment {index}: {e.Message}", e);
        }
        catch (InvalidObservationException e)
        {
            throw new InvalidObservationException($"{Name}, environment {index}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Name}, environment {index}: {e.Message}", e);
        }
    }

    /// <summary>Steps (or autoresets) environment <paramref name="index"/> into its slice of the result arrays.</summary>
    protected void StepOne(int index, TAction action)
    {
        Span<float> observation = Observations.AsSpan(index * ObservationSize, ObservationSize);
        IEnv<TAction> env = _envs[index];
        try
        {
            if (_autoreset[index])
            {
                Infos[index] = env.Reset(observation);
                Rewards[index] = 0;
                Terminations[index] = false;
                Truncations[index] = false;
                _autoreset[index] = false;
                return;
            }

            StepResult r = env.Step(action, observation);
            Rewards[index] = r.Reward;
            Terminations[index] = r.Terminated;
            Truncations[index] = r.Truncated;
            Infos[index] = r.Info;
            _autoreset[index] = r.Terminated || r.Truncated;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Name}, environment {index}: {e.Message}", e);
        }
        catch (InvalidObservationException e)
        {
            throw new InvalidObservationException($"{Name}, environment {index}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Name}, environment {index}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Whether two action spaces are equal element for element. (Their descriptions are not enough: a
    /// <see cref="Box"/> describes only its first 8 bounds.)
    /// </summary>
    private static bool SameSpace(Space a, Space b) => (a, b) switch
    {
        (Box x, Box y) => x.SameAs(y),
        (Discrete x, Discrete y) => x.N == y.N && x.Start == y.Start,
        _ => a.GetType() == b.GetType() && a.ToString() == b.ToString(),
    };

    /// <summary>Whether every environment can save its complete state (see <see cref="IEnv.CanSaveState"/>).</summary>
    public bool CanSaveState => _envs.All(e => e.CanSaveState);

    /// <summary>
    /// Writes the complete state: the autoreset flags, the last results (observations included) and every
    /// environment's state, so that a restored vector environment continues bit for bit.
    /// </summary>
    /// <exception cref="NotSupportedException">An environment cannot save its state.</exception>
    public void SaveState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnvState.WriteHeader(writer, typeof(VectorEnv<TAction>));
        writer.Write(NumEnvs);
        writer.Write(ObservationSize);
        writer.Write(_started);
        EnvState.WriteFloats(writer, Observations);
        EnvState.WriteDoubles(writer, Rewards);
        for (int i = 0; i < NumEnvs; i++)
        {
            writer.Write(Terminations[i]);
            writer.Write(Truncations[i]);
            writer.Write(_autoreset[i]);
        }

        foreach (var env in _envs)
        {
            env.SaveState(writer);
        }
    }

    /// <summary>Restores a state written by <see cref="SaveState"/> of a vector environment of the same shape.</summary>
    /// <exception cref="InvalidDataException">The state is for another number of environments, observation size or environment kind.</exception>
    public void LoadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnvState.ReadHeader(reader, typeof(VectorEnv<TAction>), Name);
        int numEnvs = reader.ReadInt32();
        int observationSize = reader.ReadInt32();
        if (numEnvs != NumEnvs || observationSize != ObservationSize)
        {
            throw new InvalidDataException(
                $"{Name}: the saved state is for {numEnvs} environments with {observationSize}-float observations; this vector environment has {NumEnvs} with {ObservationSize}.");
        }

        _started = reader.ReadBoolean();
        EnvState.ReadFloats(reader, Observations, Name + " observations");
        EnvState.ReadDoubles(reader, Rewards, Name + " rewards");
        for (int i = 0; i < NumEnvs; i++)
        {
            Terminations[i] = reader.ReadBoolean();
            Truncations[i] = reader.ReadBoolean();
            _autoreset[i] = reader.ReadBoolean();
        }

        Array.Fill(Infos, Info.Empty);
        foreach (var env in _envs)
        {
            env.LoadState(reader);
        }
    }

    /// <summary>Disposes the environments (and worker threads).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; the base disposes the environments.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var e in _envs)
            {
                e.Dispose();
            }
        }
    }

    public override string ToString() => $"{GetType().Name.Split('`')[0]}({Name})";
}

/// <summary>
/// Steps every environment one after another on the calling thread (Gymnasium's <c>SyncVectorEnv</c>): the right
/// choice for cheap environments such as classic control, where a step costs less than waking a thread.
/// </summary>
public sealed class SyncVectorEnv<TAction> : VectorEnv<TAction>
{
    /// <summary>Takes ownership of <paramref name="envs"/>.</summary>
    public SyncVectorEnv(IReadOnlyList<IEnv<TAction>> envs)
        : base(envs)
    {
    }

    /// <inheritdoc />
    protected override void ResetAll(int? seed, EnvOptions? options)
    {
        for (int i = 0; i < NumEnvs; i++)
        {
            ResetOne(i, seed, options);
        }
    }

    /// <inheritdoc />
    protected override void StepAll(ReadOnlySpan<TAction> actions)
    {
        for (int i = 0; i < actions.Length; i++)
        {
            StepOne(i, actions[i]);
        }
    }
}
