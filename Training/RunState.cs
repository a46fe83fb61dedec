using RlMemory.Training.Logging;

namespace RlMemory.Training;

/// <summary>
/// What <see cref="TrainingRun"/> saves in a checkpoint besides the algorithm's own state: the counters and schedule
/// positions, the evaluations and best return, the training episodes /// and the log position. Written with <see cref="TrainingJsonContext"/>.
/// </summary>
internal sealed record RunState
{
    /// <summary>Environment steps taken.</summary>
    public long Step { get; init; }

    /// <summary>The step of the next evaluation.</summary>
    public long NextEval { get; init; }

    /// <summary>The step of the next log row.</summary>
    public long NextLog { get; init; }

    /// <summary>The step of the next periodic checkpoint.</summary>
    public long NextCheckpoint { get; init; }

    /// <summary>The best mean evaluation return so far (null before the first evaluation).</summary>
    public double? BestMeanReturn { get; init; }

    /// <summary>Written because training diverged.</summary>
    public bool Diverged { get; init; }

    /// <summary>Whether envs.bin holds the environments' state (their current observations included).</summary>
    public bool EnvsSaved { get; init; }

    /// <summary>The training episodes.</summary>
    public EpisodeTrackerState? Episodes { get; init; }

    /// <summary>Every evaluation so far.</summary>
    public SavedEvaluation[] Evaluations { get; init; } = [];

    /// <summary>The lengths of the logs when the checkpoint was written (null without a run folder).</summary>
    public LogPosition? Log { get; init; }

    /// <summary>What is wrong with this state for a run of <paramref name="totalTimesteps"/> steps (null: nothing).</summary>
    public string? Problem(long totalTimesteps)
    {
        if (Step < 0 || Step > totalTimesteps)
        {
            return $"has step {Step}, outside [0, {totalTimesteps}]";
        }

        if (NextEval < 0 || NextLog < 0 || NextCheckpoint < 0)
        {
            return "has a negative schedule position";
        }

        if (BestMeanReturn is double best && !double.IsFinite(best))
        {
            return "has a best mean return that is not finite";
        }

        if (Episodes is null)
        {
            return "has no training episodes";
        }

        if (Evaluations.Any(e => e is null || e.Problem() is not null))
        {
            return "holds an evaluation that is not {step, returns, lengths} with as many finite returns as non-negative lengths";
        }

        return Log?.Problem();
    }
}

/// <summary>An evaluation as a checkpoint holds it.</summary>
/// <param name="Step">The training step at which it ran.</param>
/// <param name="Returns">Each episode's return.</param>
/// <param name="Lengths">Each episode's length.</param>
internal sealed record SavedEvaluation(long Step, double[] Returns, int[] Lengths)
{
    public static SavedEvaluation From(EvaluationResult result) => new(result.Step, [.. result.Returns], [.. result.Lengths]);

    public string? Problem() =>
        Step >= 0 && Returns is { Length: > 0 } && Lengths is not null && Returns.Length == Lengths.Length && Returns.All(double.IsFinite) && Lengths.All(l => l >= 0)
            ? null
            : "invalid";

    public EvaluationResult ToResult() => new(Step, Returns, Lengths);
}
