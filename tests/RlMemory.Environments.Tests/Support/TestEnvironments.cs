namespace RlMemory.Environments.Tests.Support;

/// <summary>
/// A deterministic discrete-action environment for wrapper and vector tests. Its observation is
/// <c>[t, episode, u]</c>: the step within the episode (0 after a reset), the number of resets so far minus one, and a
/// number drawn from <see cref="Env{TAction}.Rng"/> at reset (so seeding shows in the observation). The reward of step
/// <c>t</c> is <c>t</c>; the episode terminates on step <see cref="TerminateAt"/> when that is set. The reset info
/// holds <c>"resets"</c>, the number of resets so far.
/// </summary>
internal sealed class CountingEnv : Env<int>
{
    public const int ObservationSize = 3;

    public CountingEnv(int? terminateAt = null, int actions = 3)
        : base(new Box(0f, 1_000_000f, ObservationSize), new Discrete(actions))
    {
        TerminateAt = terminateAt;
    }

    public int? TerminateAt { get; }

    /// <summary>Called at the start of every StepCore with the step number (1-based) and the action; may throw.</summary>
    public Action<int, int>? BeforeStep { get; set; }

    public int StepCount { get; private set; }

    public int Resets { get; private set; }

    public float ResetDraw { get; private set; }

    public List<int> Actions { get; } = [];

    public bool Disposed { get; private set; }

    public override void Dispose()
    {
        Disposed = true;
        base.Dispose();
    }

    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        StepCount = 0;
        Resets++;
        ResetDraw = (float)Rng.Uniform(0, 1);
        Write(observation);
        return Info.Of("resets", Resets);
    }

    protected override StepResult StepCore(int action, Span<float> observation)
    {
        BeforeStep?.Invoke(StepCount + 1, action);
        StepCount++;
        Actions.Add(action);
        Write(observation);
        return new StepResult(StepCount, TerminateAt == StepCount, false);
    }

    private void Write(Span<float> observation)
    {
        observation[0] = StepCount;
        observation[1] = Resets - 1;
        observation[2] = ResetDraw;
    }
}

/// <summary>An environment that emits whatever observations a test scripts, to test the observation checks.</summary>
internal sealed class ScriptedEnv : Env<int>
{
    private readonly Func<int, float[]> _observation;
    private int _step;

    /// <param name="space">The observation space.</param>
    /// <param name="observation">The observation for step t (0 at reset).</param>
    public ScriptedEnv(Box space, Func<int, float[]> observation)
        : base(space, new Discrete(2))
    {
        _observation = observation;
    }

    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        _step = 0;
        _observation(0).CopyTo(observation);
        return Info.Empty;
    }

    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _step++;
        _observation(_step).CopyTo(observation);
        return new StepResult(0, false, false);
    }
}

/// <summary>A continuous-action environment that records the actions it receives; it never ends.</summary>
internal sealed class RecordingContinuousEnv : Env<float[]>
{
    public RecordingContinuousEnv(Box actionSpace)
        : base(new Box(-1f, 1f, 1), actionSpace)
    {
    }

    public List<float[]> Actions { get; } = [];

    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        observation[0] = (float)Rng.Uniform(-1, 1);
        return Info.Empty;
    }

    protected override StepResult StepCore(float[] action, Span<float> observation)
    {
        Actions.Add((float[])action.Clone());
        observation[0] = 0;
        return new StepResult(action.Sum(), false, false);
    }
}

/// <summary>A unique environment id, so that tests touching the static registry never collide.</summary>
internal static class UniqueId
{
    public static string Next(string name = "Counting") => $"tests{Guid.NewGuid():N}/{name}-v0";
}
