namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Truncates episodes after <see cref="MaxEpisodeSteps"/> steps (Gymnasium's <c>TimeLimit</c>): the step that reaches
/// the limit returns <c>truncated = true</c>. A <c>Step</c> after that, without <c>Reset</c>, is refused.
/// Setting an environment's physical state does not restart the count; only <c>Reset</c> does.
/// </summary>
public sealed class TimeLimit<TAction> : Wrapper<TAction>
{
    private bool _needsReset = true;
    private bool _everReset;
    private bool _truncatedHere;

    /// <summary>Wraps <paramref name="inner"/> with a limit of <paramref name="maxEpisodeSteps"/> steps.</summary>
    public TimeLimit(IEnv<TAction> inner, int maxEpisodeSteps)
        : base(inner)
    {
        if (maxEpisodeSteps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, $"{inner.Name}: the time limit must be at least 1 step.");
        }

        MaxEpisodeSteps = maxEpisodeSteps;
    }

    /// <summary>The number of steps after which an episode is truncated.</summary>
    public int MaxEpisodeSteps { get; }

    /// <summary>Steps taken since the last reset.</summary>
    public int ElapsedSteps { get; private set; }

    /// <inheritdoc />
    public override Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null)
    {
        Info info = Inner.Reset(observation, seed, options);
        ElapsedSteps = 0;
        _needsReset = false;
        _everReset = true;
        _truncatedHere = false;
        return info;
    }

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(ElapsedSteps);
        writer.Write(_needsReset);
        writer.Write(_everReset);
        writer.Write(_truncatedHere);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        ElapsedSteps = reader.ReadInt32();
        _needsReset = reader.ReadBoolean();
        _everReset = reader.ReadBoolean();
        _truncatedHere = reader.ReadBoolean();
    }

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation)
    {
        if (_needsReset)
        {
            string when = !_everReset ? "before the first Reset"
                : _truncatedHere ? $"after the episode was truncated by the time limit ({MaxEpisodeSteps} steps)"
                : "after the episode ended";
            throw new InvalidOperationException($"{Name}: Step was called {when}; call Reset to start an episode.");
        }

        StepResult result = Inner.Step(action, observation);
        ElapsedSteps++;
        if (ElapsedSteps >= MaxEpisodeSteps)
        {
            _truncatedHere = !result.Terminated;
            result = result.WithTruncated(true);
        }

        if (result.Done)
        {
            _needsReset = true;
        }

        return result;
    }
}
