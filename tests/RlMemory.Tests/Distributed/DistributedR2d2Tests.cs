using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Distributed;
using RlMemory.Memory;
using RlMemory.Tests.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.R2d2;

namespace RlMemory.Tests.Distributed;

/// <summary>Distributed R2D2: actors cut sequences with their recurrent states, shards hold sequences, one learner trains.</summary>
/// <remarks>Seeds torch's global generator: runs alone (<see cref="SeededTrainingCollection"/>).</remarks>
[Collection(nameof(SeededTrainingCollection))]
public sealed class DistributedR2d2Tests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-distributed-r2d2-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static R2d2Config Small(long steps) =>
        R2d2Config.FromPreset("r2d2-cartpole-novel") with { TotalTimesteps = steps, LearningStarts = 500, EvalEpisodes = 2, HiddenSize = 32 };

    [Fact]
    public void TwoActorsAndALearner_TrainOnSequences_AtR2d2sReplayRatio_WithVersionedWeights()
    {
        R2d2Config config = Small(6000);
        var trainer = new DistributedTrainer(config, new DistributedOptions { Actors = 2, RunDirectory = _dir, LogEvery = 50, ShardCheckpointEvery = 1000 });
        Assert.Equal(32.0 / 8, trainer.TargetSamplesPerInsert); // sequences per environment step, as in one process
        DistributedResult result = trainer.Learn();

        Assert.Equal(6000, result.EnvSteps); // 3,000 per actor
        Assert.Equal(2, result.Shards.Count);

        // The shards' limiters count every environment step the actors took (batches carry the steps since the last
        // one), and hold the learner to R2D2's 4 sequences per step: as many updates as one process makes for the steps
        // after learning_starts, (6,000 − 500) / 8 ≈ 690.
        long inserted = result.Shards.Sum(s => s.Inserted);
        Assert.Equal(6000, inserted);
        Assert.All(result.Shards, s => Assert.InRange(s.Inserted, inserted * 0.35, inserted * 0.65)); // both shards fed
        Assert.All(result.Shards, s => Assert.InRange(s.Stored, 20, 2500)); // sequences, at most buffer_size / 2 each
        Assert.InRange(result.SamplesPerInsert, 4 * 0.9, 4 * 1.0001);
        Assert.InRange(result.Updates, 560, 760);
        Assert.Equal(1 + (result.Updates / 64), result.WeightsVersion);
        Assert.True(double.IsFinite(result.WeightLatencyMs), "no actor received published weights");
        Assert.True(double.IsFinite(result.FinalEvaluation.MeanReturn));

        // The run folder: the log, the shards' sequence checkpoints, and an agent that loads without the cluster.
        string[] csv = File.ReadAllLines(Path.Combine(_dir, "progress.csv"));
        Assert.True(csv.Length >= 10, $"{csv.Length} log lines");
        Assert.True(File.Exists(Path.Combine(_dir, "shards", "shard-0", "replay", "sequence-replay.rlmb")));
        using var agent = RecurrentDqnAgent.Load(Path.Combine(_dir, "final_model.rlagent"));
        Assert.Equal(32, agent.Network.Config.Core.HiddenSize);
    }

    [Fact]
    public async Task ALearnerStoppedMidRun_IsResumedFromItsR2d2Checkpoint_AndTheRunTakesEveryStep()
    {
        R2d2Config config = Small(4800);
        var options = new DistributedOptions { Actors = 2, RunDirectory = _dir, LogEvery = 20, ShardCheckpointEvery = 500, LearnerCheckpointEvery = 100 };
        var first = new DistributedTrainer(config, options);
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Thread.Sleep(10);
                try
                {
                    if (LearnerCheckpoint.Open(_dir, DistributedAlgorithm.For(config, "r2d2")).Updates >= 200)
                    {
                        stop.Cancel();
                    }
                }
                catch (CheckpointException)
                {
                    // none yet
                }
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => first.Learn(stop.Token));
        await watcher;
        LearnerCheckpoint saved = LearnerCheckpoint.Open(_dir, DistributedAlgorithm.For(config, "r2d2"));
        Assert.Equal("r2d2-distributed", saved.Algo);
        Assert.Equal(32, ((R2d2Config)saved.Config).HiddenSize);

        // A DQN learner cannot take this run's checkpoint.
        var e = Assert.Throws<CheckpointException>(() => new DistributedTrainer(RlMemory.Training.Dqn.DqnConfig.FromPreset("dqn-cartpole"), options with { ResumeFrom = _dir }));
        Assert.Contains("dqn-distributed", e.Message, StringComparison.Ordinal);

        DistributedResult result = new DistributedTrainer(config with { HiddenSize = 64 }, options with { ResumeFrom = _dir }).Learn();
        Assert.Equal(4800, result.EnvSteps);
        Assert.Equal(saved.Updates, result.StartUpdates);
        Assert.True(result.Updates > saved.Updates + 100, $"{result.Updates} updates after resuming at {saved.Updates}");
        Assert.All(result.Shards, s => Assert.True(s.Restored, "a shard started empty instead of from its checkpoint"));
        using var agent = RecurrentDqnAgent.Load(Path.Combine(_dir, "final_model.rlagent"));
        Assert.Equal(32, agent.Network.Config.Core.HiddenSize); // the checkpoint's network, not the one given on resuming
    }

    [Fact]
    public void TheCommandLine_TrainsR2d2WithActorProcesses_AndRefusesWhatItCannotDo()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string run = Path.Combine(_dir, "cli");
        int code = RlMemory.App.RlMemoryCli.Run(["train", "r2d2-cartpole-novel", "--actors", "2", "--steps", "3200", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--set", "hidden_size=16", "--out", run], output, error);
        Assert.True(code == 0, error.ToString());
        Assert.Contains("Training distributed R2D2 on CartPoleNoVel-v1 (seed 0, 3,200 steps, 2 actor processes, samples per insert 4); run folder", output.ToString(), StringComparison.Ordinal);
        Assert.Matches(@"Final evaluation: mean return [0-9.]+ ± [0-9.]+ over 1 episodes at step 3,200 ", output.ToString());
        using (var agent = RecurrentDqnAgent.Load(Path.Combine(run, "final_model.rlagent")))
        {
            Assert.Equal(16, agent.Network.Config.Core.HiddenSize);
        }

        error = new StringWriter();
        Assert.NotEqual(0, RlMemory.App.RlMemoryCli.Run(["train", "r2d2-cartpole-novel", "--actors", "4", "--set", "batch_size=2", "--out", Path.Combine(_dir, "b")], new StringWriter(), error));
        Assert.Contains("batch_size (2 sequences) must be at least the number of replay shards (4)", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void PrioritizedSequenceShards_TakeTheActorsInitialPriorities_AndTheLearnersUpdates()
    {
        // R2D2 as published: actors send each sequence's η-mixed |TD error| under their network copy; the learner
        // samples by priority with importance weights and sends every trained sequence's new priority back.
        R2d2Config config = Small(4000) with { Prioritized = true };
        DistributedResult result = new DistributedTrainer(config, new DistributedOptions { Actors = 2 }).Learn();
        Assert.Equal(4000, result.EnvSteps);
        Assert.InRange(result.SamplesPerInsert, 4 * 0.85, 4 * 1.0001);
        long sampled = result.Shards.Sum(s => s.Sampled), updated = result.Shards.Sum(s => s.PriorityUpdates);
        Assert.True(result.Updates > 300, $"{result.Updates} updates");
        Assert.InRange(updated, sampled - (8 * 32), sampled); // every sequence trained on (all but at most the last round drawn)
        Assert.All(result.Shards, s => Assert.True(s.PriorityUpdates > 0, "a shard got no priorities back"));
        Assert.True(double.IsFinite(result.FinalEvaluation.MeanReturn));
    }

    [Fact]
    public void AnActorsInitialPriorities_AreTheEtaMixOfItsNetworksTdErrors_AsTheLearnerComputesThem()
    {
        // Two sequences of burn-in 2 + 3 learning steps: the first terminates at its fourth step (padding after it), the
        // second runs through. The reference is the learner's own loss (online and target networks equal, as an actor's
        // one copy stands for both; burn-in unrolled separately for each) and the η-mix written out here.
        TorchSharp.torch.manual_seed(5);
        R2d2Config config = R2d2Config.FromPreset("r2d2-cartpole-novel") with { BurnIn = 2, SequenceLength = 3, Overlap = 0, NSteps = 2, HiddenSize = 8, EncoderSizes = [8], PriorityEta = 0.7 };
        var network = new RecurrentQNetworkConfig { ObservationSize = 2, ActionCount = 2, Core = config.CoreConfig!, HeadSizes = config.HeadSizes, Dueling = config.Dueling };
        using var learner = new R2d2Learner(network, TorchSharp.torch.CPU, config);
        RecurrentStateSpec spec = learner.Online.StateSpec;
        var layout = new SequenceReplayOptions
        {
            Capacity = 1,
            BurnIn = 2,
            LearningLength = 3,
            Overlap = 0,
            ObservationShape = [2],
            NumEnvs = 1,
            StateSpec = spec,
            MinSequenceLength = 3,
        };
        var cut = new SequenceLayout(layout);
        var random = new Random(11);
        int[] lengths = [4, 5];
        var table = new float[2 * cut.Width];
        for (int b = 0; b < 2; b++)
        {
            Span<float> row = table.AsSpan(b * cut.Width, cut.Width);
            for (int k = 0; k < (lengths[b] + 1) * 2; k++)
            {
                row[k] = (float)((random.NextDouble() * 2) - 1);
            }

            for (int t = 0; t < lengths[b]; t++)
            {
                row[cut.ActionColumn + t] = random.Next(2);
                row[cut.RewardColumn + t] = (float)((random.NextDouble() * 2) - 1);
                row[cut.MaskColumn + t] = 1;
            }

            row[cut.TerminatedColumn + 3] = b == 0 ? 1 : 0;
        }

        float[][] states = [.. spec.Parts.Select(p => Enumerable.Range(0, 2 * (int)p.RowSize).Select(_ => (float)((random.NextDouble() * 0.4) - 0.2)).ToArray())];
        var rows = new SequenceRows(2, cut.Width, table, lengths, states);

        double[] priorities = R2d2Distributed.InitialPriorities(learner.Online, rows, layout, config);

        using SequenceBatch batch = SequenceReplayBuffer.ToBatch(rows, layout);
        R2d2Learner.LossTerms terms = learner.Loss(batch.Observations, batch.InitialState, batch.Actions, batch.Rewards, batch.Terminated, batch.Mask, null, 2, 3);
        float[] td = terms.TdErrors.data<float>().ToArray();
        int[] valid = [2, 3]; // learning steps before the padding
        for (int b = 0; b < 2; b++)
        {
            double[] magnitudes = [.. Enumerable.Range(0, valid[b]).Select(t => (double)Math.Abs(td[(b * 3) + t]))];
            double expected = (0.7 * magnitudes.Max()) + (0.3 * magnitudes.Average());
            Assert.True(expected > 1e-3, $"sequence {b}: a TD error of {expected} tests nothing");
            Assert.Equal(expected, priorities[b], 5);
        }
    }
}
