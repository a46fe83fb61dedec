using RlMemory.Agents;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Logging;
using static TorchSharp.torch;

namespace RlMemory.Training;

/// <summary>
/// The checkpoint a run writes when training diverges. The trainers detect a non-finite loss, gradient, observation or
/// reward before the update that would use it, so the state is normally the last good one and is saved (without
/// deleting older checkpoints). A state that is nevertheless not finite (weights that overflowed, a network loaded with
/// NaN) is never saved: the failure names the last good checkpoint instead.
/// </summary>
internal static class DivergenceCheckpoint
{
    /// <summary>
    /// Saves the state with <paramref name="save"/> when every tensor of <paramref name="networks"/> is finite, and
    /// returns <paramref name="failure"/> naming the checkpoint written or, when none could be, the last good one.
    /// </summary>
    public static TrainingDivergedException Write(
        TrainingDivergedException failure, CheckpointStore? store, IProgressSink progress, Func<string?> save, IReadOnlyList<(string Name, nn.Module Module)> networks)
    {
        if (store is null)
        {
            return failure;
        }

        if (ModuleFile.FirstNonFinite([.. networks]) is string tensor)
        {
            string? last = store.Latest ?? store.List().LastOrDefault();
            return failure.WithCheckpoint(null,
                $"The state at this step is not finite ({tensor}), so no checkpoint of it was written; "
                + (last is null ? "there is no earlier checkpoint." : $"the last good checkpoint is {last}."));
        }

        try
        {
            return failure.WithCheckpoint(save());
        }
        catch (CheckpointException e)
        {
            progress.Message($"Could not write the checkpoint of the last good state: {e.Message}");
            return failure;
        }
    }
}
