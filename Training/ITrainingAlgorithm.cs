using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Training.Checkpoints;
using static TorchSharp.torch;

namespace RlMemory.Training;

/// <summary>
/// One algorithm as <see cref="TrainingRun"/> drives it. The run owns the environments, the counters and schedules,
/// evaluation, logging, checkpoints and callbacks; the algorithm chooses actions, remembers what the environments
/// returned, learns when it is due, and saves and restores its own state. Each implementation reads top to bottom:
/// its constructor builds the learner and the replay, <see cref="ITrainingAlgorithm{TAction}.Act"/>, <see cref="ITrainingAlgorithm{TAction}.Observe"/> and <see cref="Learn"/>
/// are one environment step's work.
/// </summary>
/// <remarks>
/// A new algorithm goes in a folder of its own under Training/ with its configuration (a record derived from
/// <see cref="RunConfig"/>), its learner, this interface's implementation and a <see cref="Trainer{TConfig, TAgent}"/> for
/// users; <see cref="TrainerCatalog"/> lists it for the command line. See docs/design.md.
/// </remarks>
internal interface ITrainingAlgorithm : IDisposable
{
    /// <summary>The log columns of the algorithm, after the run's <c>time/</c> and <c>rollout/</c> columns.</summary>
    IReadOnlyList<string> Columns { get; }

    /// <summary>The gradient steps taken so far.</summary>
    long Updates { get; }

    /// <summary>The greedy agent acting with the current weights (one object, owned by the algorithm).</summary>
    IAgent Agent { get; }

    /// <summary>The networks a checkpoint holds, by name: a state with a non-finite tensor is never checkpointed.</summary>
    IReadOnlyList<(string Name, nn.Module Module)> Networks { get; }

    /// <summary>Whether a training phase is due now (after <see cref="ITrainingAlgorithm{TAction}.Observe"/>; PPO: a full rollout, also one restored from a checkpoint).</summary>
    bool LearningDue { get; }

    /// <summary>Whether a collection is under way that the run finishes even past its step budget (a PPO rollout).</summary>
    bool Collecting { get; }

    /// <summary>Whether log rows are written only right after a training phase (PPO logs each rollout's statistics once).</summary>
    bool LogsAfterLearning { get; }

    /// <summary>
    /// The environments (re)started from new episodes, with <paramref name="observations"/>: at the start of a run, or
    /// after a resume that could not restore them (<paramref name="restart"/>: flush partial sequences, reset states).
    /// </summary>
    void EpisodesBegin(ReadOnlySpan<float> observations, bool restart);

    /// <summary>One training phase, at <paramref name="step"/> environment steps, with the environments now at <paramref name="observations"/>.</summary>
    /// <exception cref="TrainingDivergedException">A loss or gradient is not finite; the networks were not updated with it.</exception>
    void Learn(long step, ReadOnlySpan<float> observations);

    /// <summary>The algorithm's values for a log row (its <see cref="Columns"/>; those it leaves out stay empty).</summary>
    void AddLogValues(long step, ICollection<KeyValuePair<string, double>> row);

    /// <summary>
    /// Writes the algorithm's files into <paramref name="folder"/> and returns its state for the manifest;
    /// <paramref name="exact"/> says whether the environments are saved too (then per-environment state, such as recurrent
    /// states, must be saved with them).
    /// </summary>
    JsonNode Save(string folder, bool exact);

    /// <summary>
    /// Restores what <see cref="Save"/> wrote. <paramref name="exact"/> says whether the environments were restored too;
    /// when not, <see cref="EpisodesBegin"/> follows with <c>restart</c>.
    /// </summary>
    /// <exception cref="CheckpointException">The state or a file does not fit this configuration.</exception>
    void Restore(AlgorithmCheckpoint checkpoint, bool exact);
}

/// <summary>An algorithm whose environments take actions of type <typeparamref name="TAction"/> (<c>int</c> or <c>float[]</c>).</summary>
/// <typeparam name="TAction">The environments' action type.</typeparam>
internal interface ITrainingAlgorithm<TAction> : ITrainingAlgorithm
{
    /// <summary>The greedy agent acting with the current weights (one object, owned by the algorithm).</summary>
    new IAgent<TAction> Agent { get; }

    /// <inheritdoc />
    IAgent ITrainingAlgorithm.Agent => Agent;

    /// <summary>Chooses one action per environment (for <c>float[]</c> actions: fills each environment's array) from <paramref name="observations"/>, at <paramref name="step"/> environment steps.</summary>
    /// <exception cref="TrainingDivergedException">Acting made the actor's state non-finite.</exception>
    void Act(long step, ReadOnlySpan<float> observations, Span<TAction> actions);

    /// <summary>Remembers what the environments returned for the actions of <see cref="Act"/>.</summary>
    /// <exception cref="TrainingDivergedException">A reward or observation is NaN or infinite (with <see cref="TrainingDivergedException.FromEnvironments"/>).</exception>
    void Observe(long step, in VectorStep<TAction> transition);

}

/// <summary>The algorithm's part of a checkpoint: its folder and the state <see cref="ITrainingAlgorithm.Save"/> returned.</summary>
/// <param name="Folder">The checkpoint folder (the algorithm's files are in it).</param>
/// <param name="State">The state node (<c>algorithm</c> in the manifest).</param>
/// <param name="Reader">Reads typed values with messages that name the checkpoint.</param>
internal sealed record AlgorithmCheckpoint(string Folder, JsonNode? State, CheckpointState Reader)
{
    /// <summary>The algorithm's state, deserialized with <paramref name="type"/> and checked by <paramref name="check"/>.</summary>
    public T Value<T>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, Func<T, string?>? check = null)
        where T : class =>
        Reader.Value("algorithm", type, check);

    /// <summary>A file of the checkpoint.</summary>
    public string File(string name) => Path.Combine(Folder, name);
}

/// <summary>What an algorithm is built from besides its configuration.</summary>
/// <param name="Envs">The training environments (read their spaces; the run steps them).</param>
/// <param name="Device">The torch device of the run.</param>
/// <typeparam name="TAction">The environments' action type.</typeparam>
internal sealed record AlgorithmContext<TAction>(VectorEnv<TAction> Envs, Device Device)
{
    /// <summary>Discrete actions of the environments (0 to <c>ActionCount − 1</c>); the run checked the space is <c>Discrete</c> from 0.</summary>
    public int ActionCount => Envs.SingleActionSpace is Discrete { Start: 0 } discrete
        ? discrete.N
        : throw new InvalidOperationException($"{Envs.Name} has the action space {Envs.SingleActionSpace}, not Discrete(n).");

    /// <summary>The continuous action space of the environments; the run checked it is a bounded <c>Box</c>.</summary>
    public Box ActionBox => Envs.SingleActionSpace as Box
        ?? throw new InvalidOperationException($"{Envs.Name} has the action space {Envs.SingleActionSpace}, not Box.");
}
