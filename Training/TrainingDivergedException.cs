namespace RlMemory.Training;

/// <summary>
/// Training stopped because a quantity became NaN or infinite. The message names the environment step, the
/// gradient step and the quantity; the networks were not updated with it, and a checkpoint of that last good state
/// is written before this is raised out of the trainer.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(long step, long update, string quantity, double value, string detail)
        : base(Describe(step, update, quantity, value, detail, checkpoint: null))
    {
        Step = step;
        Update = update;
        Quantity = quantity;
        Value = value;
        Detail = detail;
    }

    private TrainingDivergedException(TrainingDivergedException original, string? checkpoint, string? note)
        : base(Describe(original.Step, original.Update, original.Quantity, original.Value, original.Detail, checkpoint) + (note is null ? string.Empty : " " + note), original)
    {
        Step = original.Step;
        Update = original.Update;
        Quantity = original.Quantity;
        Value = original.Value;
        Detail = original.Detail;
        FromEnvironments = original.FromEnvironments;
        CheckpointPath = checkpoint;
    }

    /// <summary>The environment step.</summary>
    public long Step { get; }

    /// <summary>The gradient step.</summary>
    public long Update { get; }

    /// <summary>What became non-finite: <c>loss</c>, <c>gradient norm</c>, <c>observation</c>, <c>transition</c> or <c>recurrent state</c>.</summary>
    public string Quantity { get; }

    /// <summary>The offending value (NaN when it is not a single number).</summary>
    public double Value { get; }

    /// <summary>Which tensor or environment value was at fault.</summary>
    public string Detail { get; }

    /// <summary>
    /// The fault came from what the environments gave (a reward, an observation, or the actor's state after acting on
    /// one), not from learning: the networks are still good, but the environments must restart from new episodes.
    /// </summary>
    internal bool FromEnvironments { get; init; }

    /// <summary>Where the last good state was saved, when it was.</summary>
    public string? CheckpointPath { get; }

    /// <summary>The same failure, noting where the last good state was saved (and, optionally, why none was).</summary>
    public TrainingDivergedException WithCheckpoint(string? checkpoint, string? note = null) => new(this, checkpoint, note);

    private static string Describe(long step, long update, string quantity, double value, string detail, string? checkpoint) =>
        $"Training stopped at environment step {step} (gradient step {update}): the {quantity} is not finite{(double.IsNaN(value) ? string.Empty : $" ({value})")}; {detail}. "
        + (checkpoint is null ? string.Empty : $"The last good state is saved in {checkpoint}. ")
        + "Lower the learning rate, scale or clip the rewards, or check the environment's observations and rewards.";
}
