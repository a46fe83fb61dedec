namespace RlMemory.Agents;

/// <summary>
/// A trained agent that plays episodes: feed-forward or recurrent (it carries a state per environment), with discrete
/// actions (<see cref="IDiscreteAgent"/>) or continuous ones (<see cref="IContinuousAgent"/>, e.g.
/// <see cref="Continuous.SacAgent"/>). Evaluation, recording and the viewer drive any agent through these interfaces.
/// </summary>
public interface IAgent : IDisposable
{
    /// <summary>The kind recorded in the agent's file, e.g. <c>DqnAgent</c>.</summary>
    string Kind { get; }

    /// <summary>The environment the agent was trained on, if known.</summary>
    string? EnvId { get; }

    /// <summary>Floats in one observation the agent reads.</summary>
    int ObservationSize { get; }

    /// <summary>Saves the weights and the architecture to <paramref name="path"/> (atomically; <see cref="AgentFile.Load"/> reads it back).</summary>
    void Save(string path);
}

/// <summary>An agent whose actions are of type <typeparamref name="TAction"/> (<c>int</c> or <c>float[]</c>).</summary>
/// <typeparam name="TAction">The environments' action type.</typeparam>
public interface IAgent<TAction> : IAgent
{
    /// <summary>
    /// Starts acting in <paramref name="environments"/> parallel episodes. The returned actor holds whatever state the
    /// agent carries between steps (none for feed-forward agents), one row per environment, all starting fresh.
    /// </summary>
    IEpisodeActor<TAction> Begin(int environments);
}

/// <summary>An agent with discrete actions 0 to <see cref="ActionCount"/> − 1 (DQN, R2D2, PPO).</summary>
public interface IDiscreteAgent : IAgent<int>
{
    /// <summary>The discrete actions it chooses among (0 to <c>ActionCount - 1</c>).</summary>
    int ActionCount { get; }

    /// <inheritdoc cref="IAgent{TAction}.Begin" />
    new IEpisodeActor Begin(int environments);

    /// <inheritdoc />
    IEpisodeActor<int> IAgent<int>.Begin(int environments) => Begin(environments);
}

/// <summary>An agent with continuous actions: a vector of <see cref="ActionSize"/> floats within a Box's bounds (SAC).</summary>
public interface IContinuousAgent : IAgent<float[]>
{
    /// <summary>Floats in one action.</summary>
    int ActionSize { get; }

    /// <summary>The lower bound of each action element.</summary>
    IReadOnlyList<float> Low { get; }

    /// <summary>The upper bound of each action element.</summary>
    IReadOnlyList<float> High { get; }
}

/// <summary>
/// Plays greedy (deterministic) actions of type <typeparamref name="TAction"/> for a fixed set of environments,
/// carrying each one's recurrent state.
/// </summary>
/// <typeparam name="TAction">The action type: <c>int</c>, or <c>float[]</c> (the caller gives one array of the action size per row, and the actor fills it).</typeparam>
public interface IEpisodeActor<TAction> : IDisposable
{
    /// <summary>The number of environments (rows) this actor was started for.</summary>
    int Environments { get; }

    /// <summary>
    /// Greedy actions for the environments <paramref name="rows"/> (distinct indices below <see cref="Environments"/>),
    /// whose observations are given in the same order (<c>rows.Length × obs</c> floats). Advances those rows' state;
    /// the other rows keep theirs.
    /// </summary>
    void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<TAction> actions);

    /// <summary>Forgets the state of environment <paramref name="row"/>: its next observation starts an episode.</summary>
    void Reset(int row);
}

/// <summary>Plays greedy discrete actions for a fixed set of environments (the actor of an <see cref="IDiscreteAgent"/>).</summary>
public interface IEpisodeActor : IEpisodeActor<int>
{
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
            ContinuousPpoAgent.Kind => ContinuousPpoAgent.Load(path, device),
            Continuous.SacAgent.Kind => Continuous.SacAgent.Load(path, device),
            Continuous.Td3Agent.Kind => Continuous.Td3Agent.Load(path, device),
            _ => throw new InvalidDataException($"{path} holds a {kind}, which is not an agent kind; known kinds: {string.Join(", ", Kinds)}."),
        };
    }

    /// <summary>The agent kinds <see cref="Load"/> knows.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [DqnAgent.Kind, RecurrentDqnAgent.Kind, PpoAgent.Kind, ContinuousPpoAgent.Kind, Continuous.SacAgent.Kind, Continuous.Td3Agent.Kind];
}
