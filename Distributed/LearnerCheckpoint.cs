using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Logging;

namespace RlMemory.Distributed;

/// <summary>
/// What a distributed run's learner needs to go on after it died: the run's id, configuration and layout, the online
/// and target networks, the optimizer, the update count, the last weights version, each actor's steps and the log's
/// position. Written with the single-process runs' <see cref="CheckpointStore"/> (checksummed files, the manifest
/// last, the two newest kept) in the run folder's <c>checkpoints/</c>; the replay is in the shards' own checkpoints.
/// </summary>
internal sealed record LearnerCheckpoint(
    string Folder,
    string Algo,
    string RunId,
    RunConfig Config,
    int Actors,
    int Shards,
    long Updates,
    long WeightsVersion,
    long[] ActorSteps,
    double[] Statistics,
    LogPosition? Log)
{
    /// <summary>Writes a checkpoint at <paramref name="step"/> environment steps (its manifest records the algorithm as <c>dqn-distributed</c> or <c>r2d2-distributed</c>, so a single-process checkpoint is not one of these); returns its folder.</summary>
    /// <exception cref="CheckpointException">It could not be written (the previous one is kept).</exception>
    public static string Save(CheckpointStore store, long step, string runId, DistributedAlgorithm algorithm, int actors, int shards, DistributedLearner learner, long weightsVersion, long[] actorSteps, LogPosition? log)
    {
        var state = new JsonObject
        {
            ["config"] = ConfigJson.Write(algorithm.Entries()),
            ["run_id"] = runId,
            ["actors"] = actors,
            ["shards"] = shards,
            ["updates"] = learner.Updates,
            ["weights_version"] = weightsVersion,
            ["actor_steps"] = new JsonArray([.. actorSteps.Select(s => (JsonNode)s)]),
            ["statistics"] = JsonSerializer.SerializeToNode(learner.StatisticsState(), TrainingJsonContext.Default.DoubleArray),
            ["log"] = log is null ? null : JsonSerializer.SerializeToNode(log, TrainingJsonContext.Default.LogPosition),
        };
        return store.Save(step, algorithm.CheckpointAlgo, state, learner.Save);
    }

    /// <summary>Reads and verifies the latest learner checkpoint of <paramref name="algorithm"/>'s in the run folder <paramref name="runDirectory"/>.</summary>
    /// <exception cref="CheckpointException">None there, or it is corrupt, truncated, not a distributed learner's of this algorithm, or holds a value out of range.</exception>
    public static LearnerCheckpoint Open(string runDirectory, DistributedAlgorithm algorithm)
    {
        string algo = algorithm.CheckpointAlgo;
        Checkpoint checkpoint = CheckpointStore.Open(runDirectory, algo);
        var state = new CheckpointState(checkpoint);
        return CheckpointState.Restore(checkpoint, () =>
        {
            RunConfig config = algorithm.Apply(state.Config(), $"checkpoint {checkpoint.Folder}");
            int actors = (int)state.Long("actors", 1, 256);
            long[] steps = state.Value("actor_steps", TrainingJsonContext.Default.Int64Array);
            if (steps.Length != actors || Array.Exists(steps, s => s < 0))
            {
                throw new InvalidDataException($"'actor_steps' must hold {actors} counts of 0 or more.");
            }

            double[] statistics = state.Value("statistics", TrainingJsonContext.Default.DoubleArray);
            LogPosition? log = state.OptionalValue("log", TrainingJsonContext.Default.LogPosition, p => p.Problem());
            string runId = checkpoint.State["run_id"] is JsonValue id && id.TryGetValue(out string? text) && text.Length > 0
                ? text
                : throw new InvalidDataException("'run_id' must be the run's id.");
            return new LearnerCheckpoint(
                checkpoint.Folder, algo, runId, config, actors, (int)state.Long("shards", 1, 256), state.Long("updates"), state.Long("weights_version", 1),
                steps, statistics, log);
        });
    }

    /// <summary>Loads the networks, the optimizer and the statistics into <paramref name="learner"/> (built with <see cref="Config"/>'s network).</summary>
    public void Restore(DistributedLearner learner)
    {
        Checkpoint checkpoint = CheckpointStore.Open(Folder, Algo);
        CheckpointState.Restore(checkpoint, () =>
        {
            learner.Restore(checkpoint.Folder, Updates, Statistics);
            return 0;
        });
    }
}
