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
    string RunId,
    DqnConfig Config,
    int Actors,
    int Shards,
    long Updates,
    long WeightsVersion,
    long[] ActorSteps,
    double[] Statistics,
    LogPosition? Log)
{
    /// <summary>The algorithm name its manifest records (a single-process DQN checkpoint is not one of these).</summary>
    public const string Algo = "dqn-distributed";

    private const string NetworksFile = "networks.rlmb";
    private const string NetworksKind = "DistributedDqnLearner";
    private const string OptimizerFile = "optimizer.bin";

    /// <summary>Writes a checkpoint at <paramref name="step"/> environment steps; returns its folder.</summary>
    /// <exception cref="CheckpointException">It could not be written (the previous one is kept).</exception>
    public static string Save(CheckpointStore store, long step, string runId, DqnConfig config, int actors, int shards, DqnLearner learner, long weightsVersion, long[] actorSteps, LogPosition? log)
    {
        var state = new JsonObject
        {
            ["config"] = ConfigJson.Write(DqnConfig.Schema.ToEntries(config)),
            ["run_id"] = runId,
            ["actors"] = actors,
            ["shards"] = shards,
            ["updates"] = learner.Updates,
            ["weights_version"] = weightsVersion,
            ["actor_steps"] = new JsonArray([.. actorSteps.Select(s => (JsonNode)s)]),
            ["statistics"] = JsonSerializer.SerializeToNode(learner.StatisticsState(), TrainingJsonContext.Default.DoubleArray),
            ["log"] = log is null ? null : JsonSerializer.SerializeToNode(log, TrainingJsonContext.Default.LogPosition),
        };
        return store.Save(step, Algo, state, folder =>
        {
            ModuleFile.Save(Path.Combine(folder, NetworksFile), NetworksKind, 1, "{}", ("online", learner.Online), ("target", learner.Target));
            File.WriteAllBytes(Path.Combine(folder, OptimizerFile), learner.OptimizerState());
        });
    }

    /// <summary>Reads and verifies the latest learner checkpoint of the run folder <paramref name="runDirectory"/>.</summary>
    /// <exception cref="CheckpointException">None there, or it is corrupt, truncated, not a distributed learner's, or holds a value out of range.</exception>
    public static LearnerCheckpoint Open(string runDirectory)
    {
        Checkpoint checkpoint = CheckpointStore.Open(runDirectory, Algo);
        var state = new CheckpointState(checkpoint);
        return CheckpointState.Restore(checkpoint, () =>
        {
            DqnConfig config = DqnConfig.Schema.Apply(new DqnConfig(), state.Config(), $"checkpoint {checkpoint.Folder}");
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
                checkpoint.Folder, runId, config, actors, (int)state.Long("shards", 1, 256), state.Long("updates"), state.Long("weights_version", 1),
                steps, statistics, log);
        });
    }

    /// <summary>Loads the networks, the optimizer and the statistics into <paramref name="learner"/> (built with <see cref="Config"/>'s network).</summary>
    public void Restore(DqnLearner learner)
    {
        Checkpoint checkpoint = CheckpointStore.Open(Folder, Algo);
        CheckpointState.Restore(checkpoint, () =>
        {
            ModuleFile.Load(Path.Combine(checkpoint.Folder, NetworksFile), NetworksKind, ("online", learner.Online), ("target", learner.Target));
            learner.RestoreOptimizer(File.ReadAllBytes(Path.Combine(checkpoint.Folder, OptimizerFile)), Updates);
            learner.RestoreStatistics(Statistics);
            return 0;
        });
    }
}
