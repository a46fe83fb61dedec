namespace RlMemory.Environments.Vector;

/// <summary>
/// One step of a vector environment, as the spans a replay buffer stores: the observations the actions were chosen
/// from, the actions, and what the environments returned. <see cref="VectorEnv{TAction}.Step"/> produces it; its spans
/// point into the vector environment's buffers and are valid until its next <c>Step</c> or <c>Reset</c>.
/// </summary>
/// <remarks>
/// Every span holds one entry per environment (observations: <c>NumEnvs × observation size</c> floats; continuous
/// actions: <c>NumEnvs × d</c> floats). Under the NEXT_STEP autoreset, an environment whose previous step ended
/// returns its reset here (reward 0, both flags false): a buffer skips that entry (see <see cref="VectorEnv{TAction}"/>).
/// </remarks>
public readonly ref struct VectorStep<TAction>
{
    /// <summary>Wraps the spans of one vector step (a buffer's tests, or a loop that steps environments itself).</summary>
    public VectorStep(
        ReadOnlySpan<float> observations,
        ReadOnlySpan<TAction> actions,
        ReadOnlySpan<double> rewards,
        ReadOnlySpan<bool> terminations,
        ReadOnlySpan<bool> truncations,
        ReadOnlySpan<float> nextObservations)
    {
        Observations = observations;
        Actions = actions;
        Rewards = rewards;
        Terminations = terminations;
        Truncations = truncations;
        NextObservations = nextObservations;
    }

    /// <summary>The observations the actions were chosen from.</summary>
    public ReadOnlySpan<float> Observations { get; }

    /// <summary>The actions taken.</summary>
    public ReadOnlySpan<TAction> Actions { get; }

    /// <summary>The rewards.</summary>
    public ReadOnlySpan<double> Rewards { get; }

    /// <summary>Which environments terminated.</summary>
    public ReadOnlySpan<bool> Terminations { get; }

    /// <summary>Which environments were truncated.</summary>
    public ReadOnlySpan<bool> Truncations { get; }

    /// <summary>The observations the step returned (a new episode's first for an environment that reset).</summary>
    public ReadOnlySpan<float> NextObservations { get; }
}
