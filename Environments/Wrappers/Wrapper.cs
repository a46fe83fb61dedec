namespace RlMemory.Environments.Wrappers;

/// <summary>
/// The base of wrappers that change the action type: an environment with actions <typeparamref name="TAction"/> built
/// on one with actions <typeparamref name="TInnerAction"/> (e.g. <see cref="DiscretizeAction"/>). Everything else is
/// forwarded to <see cref="Inner"/> unless overridden.
/// </summary>
public abstract class Wrapper<TAction, TInnerAction> : IEnv<TAction>, IRegisteredEnv
{
    private EnvSpec? _spec;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected Wrapper(IEnv<TInnerAction> inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The wrapped environment.</summary>
    public IEnv<TInnerAction> Inner { get; }

    /// <inheritdoc />
    public EnvSpec? Spec => _spec ?? Inner.Spec;

    /// <inheritdoc />
    public string Name => Spec?.Id ?? Inner.Name;

    /// <inheritdoc />
    public virtual Box ObservationSpace => Inner.ObservationSpace;

    /// <inheritdoc />
    public abstract Space<TAction> ActionSpace { get; }

    Space IEnv.ActionSpace => ActionSpace;

    /// <inheritdoc />
    public IEnv Unwrapped => Inner.Unwrapped;

    /// <inheritdoc />
    public virtual Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null) =>
        Inner.Reset(observation, seed, options);

    /// <inheritdoc />
    public abstract StepResult Step(TAction action, Span<float> observation);

    /// <summary>
    /// Whether this wrapper and everything under it save their complete state. Wrappers are stateless by default; a
    /// wrapper that keeps state across steps overrides <see cref="WriteStateCore"/> and <see cref="ReadStateCore"/>.
    /// </summary>
    public virtual bool CanSaveState => Inner.CanSaveState;

    /// <inheritdoc />
    public void SaveState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!CanSaveState)
        {
            throw new NotSupportedException($"{Name}: {GetType().Name.Split('`')[0]} over {Inner.GetType().Name.Split('`')[0]} cannot save its state.");
        }

        EnvState.WriteHeader(writer, GetType());
        WriteStateCore(writer);
        Inner.SaveState(writer);
    }

    /// <inheritdoc />
    public void LoadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!CanSaveState)
        {
            throw new NotSupportedException($"{Name}: {GetType().Name.Split('`')[0]} cannot restore a saved state.");
        }

        EnvState.ReadHeader(reader, GetType(), Name);
        ReadStateCore(reader);
        Inner.LoadState(reader);
    }

    /// <summary>Writes this wrapper's own state (none by default).</summary>
    protected virtual void WriteStateCore(BinaryWriter writer)
    {
    }

    /// <summary>Reads what <see cref="WriteStateCore"/> wrote.</summary>
    protected virtual void ReadStateCore(BinaryReader reader)
    {
    }

    /// <summary>Disposes the wrapped environment.</summary>
    public virtual void Dispose()
    {
        Inner.Dispose();
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"{GetType().Name.Split('`')[0]}<{Inner}>";

    void IRegisteredEnv.AttachSpec(EnvSpec spec)
    {
        _spec = spec;
        if (Inner.Spec is null && Inner is IRegisteredEnv inner)
        {
            inner.AttachSpec(spec);
        }
    }

    /// <summary>Throws when a buffer does not have this wrapper's observation size.</summary>
    protected void CheckObservationBuffer(ReadOnlySpan<float> observation)
    {
        if (observation.Length != ObservationSpace.Size)
        {
            throw new ArgumentException(
                $"{Name}: the observation buffer has {observation.Length} elements; the observation space {ObservationSpace} needs {ObservationSpace.Size}.",
                nameof(observation));
        }
    }
}

/// <summary>
/// The base of wrappers that keep the action type: every member forwards to <see cref="Wrapper{TAction, TInnerAction}.Inner"/>
/// unless overridden (Gymnasium's <c>gymnasium.Wrapper</c>).
/// </summary>
public abstract class Wrapper<TAction> : Wrapper<TAction, TAction>
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected Wrapper(IEnv<TAction> inner)
        : base(inner)
    {
    }

    /// <inheritdoc />
    public override Space<TAction> ActionSpace => Inner.ActionSpace;

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation) => Inner.Step(action, observation);
}

/// <summary>
/// The base of wrappers that transform observations: the inner environment writes into a private buffer and
/// <see cref="Transform"/> writes this wrapper's observation (Gymnasium's <c>ObservationWrapper</c>).
/// </summary>
public abstract class ObservationWrapper<TAction> : Wrapper<TAction>
{
    private readonly float[] _innerObservation;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected ObservationWrapper(IEnv<TAction> inner)
        : base(inner) => _innerObservation = new float[inner.ObservationSpace.Size];

    /// <inheritdoc />
    public abstract override Box ObservationSpace { get; }

    /// <inheritdoc />
    public override Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null)
    {
        CheckObservationBuffer(observation);
        Info info = Inner.Reset(_innerObservation, seed, options);
        OnReset(_innerObservation, observation);
        return info;
    }

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation)
    {
        CheckObservationBuffer(observation);
        StepResult result = Inner.Step(action, _innerObservation);
        Transform(_innerObservation, observation);
        return result;
    }

    /// <summary>Writes the transformed first observation of an episode; by default the same as <see cref="Transform"/>.</summary>
    protected virtual void OnReset(ReadOnlySpan<float> innerObservation, Span<float> observation) =>
        Transform(innerObservation, observation);

    /// <summary>Writes this wrapper's observation computed from the inner one.</summary>
    protected abstract void Transform(ReadOnlySpan<float> innerObservation, Span<float> observation);
}

/// <summary>
/// The base of wrappers that transform continuous actions (Gymnasium's <c>ActionWrapper</c> for a Box): the policy acts
/// in this wrapper's <see cref="Wrapper{TAction, TInnerAction}.ActionSpace"/>, and <see cref="Transform"/> writes the
/// inner environment's action into a buffer the wrapper keeps, so a step allocates nothing.
/// </summary>
public abstract class ActionWrapper : Wrapper<float[]>
{
    private readonly float[] _innerAction;

    /// <summary>Wraps <paramref name="inner"/>, whose action space must be a <see cref="Box"/>.</summary>
    /// <exception cref="ArgumentException">The inner action space is not a <see cref="Box"/>.</exception>
    protected ActionWrapper(IEnv<float[]> inner)
        : base(inner)
    {
        InnerSpace = inner.ActionSpace as Box
            ?? throw new ArgumentException($"{inner.Name}: {GetType().Name} needs a Box action space, got {inner.ActionSpace}.", nameof(inner));
        _innerAction = new float[InnerSpace.Size];
    }

    /// <summary>The inner environment's action space.</summary>
    protected Box InnerSpace { get; }

    /// <summary>The action the inner environment receives for <paramref name="action"/> (a new array).</summary>
    /// <exception cref="ArgumentException">This wrapper refuses the action (see <see cref="Transform"/>).</exception>
    public float[] InnerAction(float[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var result = new float[InnerSpace.Size];
        Transform(action, result);
        return result;
    }

    /// <inheritdoc />
    public override StepResult Step(float[] action, Span<float> observation)
    {
        ArgumentNullException.ThrowIfNull(action);
        Transform(action, _innerAction);
        return Inner.Step(_innerAction, observation);
    }

    /// <summary>Writes the inner action for <paramref name="action"/> into <paramref name="innerAction"/>, or throws <see cref="ArgumentException"/> for an action this wrapper refuses.</summary>
    protected abstract void Transform(float[] action, Span<float> innerAction);
}
