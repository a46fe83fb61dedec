using System.Runtime.InteropServices;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// One shard of a run's replay: the existing <see cref="ReplayBuffer"/> (uniform sampling) behind a grain, with a
/// samples-per-insert rate limiter. Keyed by the shard's index and the run's id.
/// </summary>
public interface IReplayShardGrain : IGrainWithIntegerCompoundKey
{
    /// <summary>Builds the shard for a run (again with the same settings: nothing changes; other settings: refused).</summary>
    Task Configure(ShardSettings settings);

    /// <summary>Stores a batch of complete transitions, or refuses it (not <see cref="InsertReply.Accepted"/>) while the learner is behind.</summary>
    /// <exception cref="RunMismatchException">The batch is from another run or protocol.</exception>
    /// <exception cref="ArgumentException">The batch's arrays do not match its count or the shard's shapes.</exception>
    Task<InsertReply> Insert(TransitionBatchMessage batch);

    /// <summary>Draws <paramref name="count"/> transitions uniformly with replacement, or null while the rate limiter says to wait.</summary>
    Task<SampledTransitions?> Sample(RunIdentity run, int count);

    /// <summary>The shard's counters.</summary>
    Task<ShardStatistics> Statistics();
}

/// <inheritdoc cref="IReplayShardGrain" />
[ShardSpreadPlacement]
internal sealed class ReplayShardGrain : Grain, IReplayShardGrain, IDisposable
{
    private ShardSettings? _settings;
    private ReplayBuffer? _replay;
    private SampleToInsertRatio? _ratio;
    private long _insertsRefused;
    private long _samplesRefused;
    private long _checkpointedAt;
    private int _checkpoints;
    private bool _restored;

    private string Where => $"replay shard {this.GetPrimaryKeyLong(out string? run)} of run '{run}'";

    public Task Configure(ShardSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (_settings is not null)
        {
            if (_settings != settings)
            {
                _settings.Run.Require(settings.Run, Where);
                throw new ArgumentException($"{Where} is already configured with other settings ({_settings}); got {settings}.", nameof(settings));
            }

            return Task.CompletedTask;
        }

        this.GetPrimaryKeyLong(out string? runId);
        if (!string.Equals(settings.Run.RunId, runId, StringComparison.Ordinal))
        {
            throw new RunMismatchException($"{Where}: settings of run '{settings.Run.RunId}' were refused.");
        }

        var options = new ReplayBufferOptions
        {
            Capacity = settings.Capacity,
            ObservationShape = [settings.ObservationSize],
            NumEnvs = 1,
            Gamma = 1,
            NSteps = 1,
            Device = CPU,
            Seed = settings.Seed,
        };
        _ratio = new SampleToInsertRatio(settings.Limiter);
        string? folder = CheckpointFolder(settings);
        if (folder is not null && File.Exists(Path.Combine(folder, CountersFile)))
        {
            // This shard's silo died (or the grain was moved): come back from the last checkpoint, which the replay's
            // own file checks (length, checksum, options) before anything is kept.
            _replay = ReplayBuffer.Load(Path.Combine(folder, "replay"), options);
            long[] counters = [.. File.ReadAllText(Path.Combine(folder, CountersFile)).Split(' ').Select(long.Parse)];
            if (counters.Length != 2 || counters[0] < 0 || counters[1] < 0 || counters[0] < _replay.Count)
            {
                _replay.Dispose();
                _replay = null;
                throw new InvalidDataException($"{Where}: {Path.Combine(folder, CountersFile)} holds no valid counters (inserted, sampled).");
            }

            _ratio.Restore(counters[0], counters[1]);
            _checkpointedAt = counters[0];
            _restored = true;
        }
        else
        {
            _replay = new ReplayBuffer(options);
        }

        _settings = settings;
        return Task.CompletedTask;
    }

    private const string CountersFile = "counters.txt";

    private string? CheckpointFolder(ShardSettings settings) =>
        settings.CheckpointDirectory is null ? null : Path.Combine(settings.CheckpointDirectory, $"shard-{this.GetPrimaryKeyLong(out _)}");

    private void Checkpoint(ShardSettings settings, ReplayBuffer replay, SampleToInsertRatio ratio)
    {
        string folder = CheckpointFolder(settings)!;
        Directory.CreateDirectory(folder);
        replay.Save(Path.Combine(folder, "replay")); // written aside and renamed: an older checkpoint stays whole until then
        string counters = Path.Combine(folder, CountersFile);
        File.WriteAllText(counters + ".tmp", FormattableString.Invariant($"{ratio.Inserted} {ratio.Sampled}"));
        File.Move(counters + ".tmp", counters, overwrite: true);
        _checkpointedAt = ratio.Inserted;
        _checkpoints++;
    }

    public Task<InsertReply> Insert(TransitionBatchMessage batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (settings, replay, ratio) = Require();
        settings.Run.Require(batch.Run, Where);
        batch.Check(settings.ObservationSize, settings.ActionCount);
        if (!ratio.CanInsert(batch.Count))
        {
            _insertsRefused++;
            return Task.FromResult(new InsertReply(false, replay.Count));
        }

        var truncated = new bool[batch.Count];
        var step = new VectorStep<int>(batch.Observations, batch.Actions, batch.Rewards, batch.Terminated, truncated, batch.NextObservations);
        replay.AddTransitions(step, batch.Discounts);
        ratio.Insert(batch.Count);
        if (settings.CheckpointDirectory is not null && settings.CheckpointEvery > 0 && ratio.Inserted - _checkpointedAt >= settings.CheckpointEvery)
        {
            Checkpoint(settings, replay, ratio);
        }

        return Task.FromResult(new InsertReply(true, replay.Count));
    }

    public Task<SampledTransitions?> Sample(RunIdentity run, int count)
    {
        var (settings, replay, ratio) = Require();
        settings.Run.Require(run, Where);
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{Where}: a sample needs at least 1 transition.");
        }

        if (!ratio.CanSample(count) || replay.Count < count)
        {
            _samplesRefused++;
            return Task.FromResult<SampledTransitions?>(null);
        }

        using var scope = NewDisposeScope();
        TransitionBatch batch = replay.Sample(count);
        ratio.Sample(batch.Size);
        var sampled = new SampledTransitions(
            batch.Size,
            Floats(batch.Observations),
            Longs(batch.Actions),
            Floats(batch.Rewards),
            Floats(batch.NextObservations),
            Floats(batch.Terminated),
            Floats(batch.Discounts),
            ratio.Inserted);
        return Task.FromResult<SampledTransitions?>(sampled);
    }

    public Task<ShardStatistics> Statistics() =>
        Task.FromResult(new ShardStatistics(_ratio?.Inserted ?? 0, _ratio?.Sampled ?? 0, _replay?.Count ?? 0, _insertsRefused, _samplesRefused, _checkpoints, _restored, RuntimeIdentity));

    public void Dispose() => _replay?.Dispose();

    private (ShardSettings Settings, ReplayBuffer Replay, SampleToInsertRatio Ratio) Require() =>
        _settings is null || _replay is null || _ratio is null
            ? throw new ShardNotConfiguredException($"{Where} is not configured: the learner configures every shard before actors insert (and again after its silo died).")
            : (_settings, _replay, _ratio);

    private static float[] Floats(Tensor t)
    {
        using Tensor c = t.contiguous();
        return MemoryMarshal.Cast<byte, float>(c.bytes).ToArray();
    }

    private static long[] Longs(Tensor t)
    {
        using Tensor c = t.contiguous();
        return MemoryMarshal.Cast<byte, long>(c.bytes).ToArray();
    }
}
