namespace RlMemory.Training;

/// <summary>What a callback sees after each environment step of a run.</summary>
/// <param name="Step">Environment steps so far (summed over environments).</param>
/// <param name="Episodes">Training episodes finished so far.</param>
/// <param name="Trainer">The trainer (read its state; do not change it).</param>
public sealed record StepContext(long Step, int Episodes, ITrainer Trainer);

/// <summary>
/// Hooks into a training run (SB3's callbacks). Override what you need; return false from <see cref="OnStep"/> or
/// <see cref="OnEvaluation"/> to stop the run early (the trainer then finishes cleanly: final checkpoint and logs).
/// </summary>
public abstract class TrainingCallback
{
    /// <summary>Before the first step.</summary>
    public virtual void OnTrainingStart(StepContext context)
    {
    }

    /// <summary>After every vector-environment step (keep it cheap). Return false to stop.</summary>
    public virtual bool OnStep(StepContext context) => true;

    /// <summary>After each collection phase, before the gradient steps that follow it.</summary>
    public virtual void OnRolloutEnd(StepContext context)
    {
    }

    /// <summary>After each evaluation. Return false to stop.</summary>
    public virtual bool OnEvaluation(StepContext context, EvaluationResult result) => true;

    /// <summary>After the last step (also after an early stop or an interruption).</summary>
    public virtual void OnTrainingEnd(StepContext context)
    {
    }
}

/// <summary>Stops the run when an evaluation's mean return reaches a threshold (SB3's <c>StopTrainingOnRewardThreshold</c>).</summary>
public sealed class StopOnReturn(double threshold) : TrainingCallback
{
    /// <summary>The mean evaluation return that stops the run.</summary>
    public double Threshold { get; } = threshold;

    /// <inheritdoc />
    public override bool OnEvaluation(StepContext context, EvaluationResult result) => result.MeanReturn < Threshold;
}
