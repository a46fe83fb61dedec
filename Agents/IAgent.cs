namespace RlMemory.Agents;

/// <summary>
/// A trained agent that plays episodes: feed-forward (<see cref="DqnAgent"/>) or recurrent (it carries a state per
/// environment). Evaluation, recording and the viewer drive any agent through this interface.
/// </summary>
public interface IAgent : IDisposable
{
    /// <summary>The kind recorded in the agent's file, e.g. <c>DqnAgent</c>.</summary>
    string Kind { get; }

    /// <summary>The environment the agent was trained on, if known.</summary>
    string? EnvId { get; }

    /// <summary>Floats in one observation the agent reads.</summary>
    int ObservationSize { get; }

    /// <summary>The discrete actions it chooses among (0 to <c>ActionCount - 1</c>).</summary>
    int ActionCount { get; }

    /// <summary>
    /// Starts acting in <paramref name="environments"/> parallel episodes. The returned actor holds whatever state the
    /// agent carries between steps (none for feed-forward agents), one row per environment, all starting fresh.
    /// </summary>
    IEpisodeActor Begin(int environments);

    /// <summary>Saves the weights and the architecture to <paramref name="path"/> (atomically; <see cref="AgentFile.Load"/> reads it back).</summary>
    void Save(string path);
}

/// <summary>Plays greedy (deterministic) actions for a fixed set of environments, carrying each one's recurrent state.</summary>
public interface IEpisodeActor : IDisposable
{
    /// <summary>The number of environments (rows) this actor was started for.</summary>
    int Environments { get; }

    /// <summary>
    /// Greedy actions for the environments <paramref name="rows"/> (distinct indices below <see cref="Environments"/>),
    /// whose observations are given in the same order (<c>rows.Length × obs</c> floats). Advances those rows' state;
    /// the other rows keep theirs.
    /// </summary>
    void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions);

    /// <summary>Forgets the state of environment <paramref name="row"/>: its next observation starts an episode.</summary>
    void Reset(int row);
}

/// <summary>Loads any agent file, whatever its kind, without running code from it.</summary>
public static class AgentFile
{
    /// <summary>Loads the agent saved in <paramref name="path"/> (its kind is read from the file's header).</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, not an agent file, or of an unknown kind (the message lists the known kinds).</exception>
    public static IAgent Load(string path, TorchSharp.torch.Device? device = null)
    {
        string kind = ModuleFile.ReadKind(path);
        return kind switch
        {
            DqnAgent.Kind => DqnAgent.Load(path, device),
            RecurrentDqnAgent.Kind => RecurrentDqnAgent.Load(path, device),
            PpoAgent.Kind => PpoAgent.Load(path, device),
            _ => throw new InvalidDataException($"{path} holds a {kind}, which is not an agent kind; known kinds: {string.Join(", ", Kinds)}."),
        };
    }

    /// <summary>The agent kinds <see cref="Load"/> knows.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [DqnAgent.Kind, RecurrentDqnAgent.Kind, PpoAgent.Kind];
}
