namespace RlMemory.Training;

/// <summary>How a trainer runs, beyond the algorithm's hyperparameters: where it writes, what it prints, hooks.</summary>
public sealed record TrainerOptions
{
    /// <summary>
    /// The run folder: config.yaml, progress.csv, tensorboard/, checkpoints/, and the best and final agents.
    /// Null keeps everything in memory (nothing is written).
    /// </summary>
    public string? RunDirectory { get; init; }

    /// <summary>
    /// Resume from this checkpoint (a checkpoint folder, or a run folder meaning its latest checkpoint). The run keeps
    /// the checkpoint's configuration; only the step budget can grow, to the configuration's when it is larger (see
    /// <see cref="KeepSavedBudget"/>).
    /// </summary>
    public string? ResumeFrom { get; init; }

    /// <summary>When resuming, keep the checkpoint's step budget whatever the configuration's (the command line does this unless --steps is given).</summary>
    public bool KeepSavedBudget { get; init; }

    /// <summary>Hooks called during the run.</summary>
    public IReadOnlyList<TrainingCallback> Callbacks { get; init; } = [];

    /// <summary>Where progress lines and messages go (by <see cref="Logging.TextProgress"/>); null means the console.</summary>
    public TextWriter? Output { get; init; }

    /// <summary>How progress is shown; null: plain lines to <see cref="Output"/> (the <c>rlmemory</c> command shows a live bar on a terminal).</summary>
    public Logging.IProgressDisplay? Display { get; init; }

    /// <summary>Print nothing.</summary>
    public bool Quiet { get; init; }

    /// <summary>Write TensorBoard event files next to progress.csv.</summary>
    public bool TensorBoard { get; init; } = true;

    /// <summary>Checkpoints kept in the run folder (older ones are deleted).</summary>
    public int KeepCheckpoints { get; init; } = 2;
}

/// <summary>How a run ended.</summary>
/// <param name="Steps">Environment steps taken.</param>
/// <param name="Episodes">Training episodes finished.</param>
/// <param name="FinalEvaluation">The evaluation at the end of the run.</param>
/// <param name="BestMeanReturn">The best mean evaluation return seen.</param>
/// <param name="StoppedEarly">A callback (or the return threshold) stopped the run.</param>
/// <param name="Interrupted">The run was cancelled (Ctrl+C / SIGTERM) and checkpointed.</param>
/// <param name="Seconds">Wall-clock duration of this call.</param>
/// <param name="StepsPerSecond">Environment steps per second in this call, learning and evaluation included.</param>
/// <param name="CheckpointPath">The last checkpoint written, if any.</param>
public sealed record TrainingResult(
    long Steps,
    int Episodes,
    EvaluationResult? FinalEvaluation,
    double BestMeanReturn,
    bool StoppedEarly,
    bool Interrupted,
    double Seconds,
    double StepsPerSecond,
    string? CheckpointPath);
