using System.Runtime.InteropServices;
using Orleans.Concurrency;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Distributed;

/// <summary>
/// One shard of a run's replay: the existing <see cref="ReplayBuffer"/> (transitions, DQN) or
/// <see cref="SequenceReplayBuffer"/> (sequences with their initial recurrent states, R2D2) behind a grain, sampled
/// uniformly or by priority, with a samples-per-insert rate limiter. Keyed by the shard's index and the
/// run's id.
/// </summary>
public interface IReplayShardGrain : IGrainWithIntegerCompoundKey
{
    /// <summary>Builds the shard for a run (again with the same settings: nothing changes; other settings: refused).</summary>
    Task Configure(ShardSettings settings);

    /// <summary>
    /// Stores a batch of complete transitions, or refuses it (not <see cref="InsertReply.Accepted"/>) while the learner
    /// is behind. With <paramref name="waitMs"/> &gt; 0 a batch the rate limiter refuses waits at the shard until the
    /// learner's samples make room for it (answered at once then) or that many milliseconds have passed (Reverb's
    /// blocking insert: the actor sends it once instead of polling; at most <see cref="ReplayShardGrain.MaxInsertWaitMs"/>).
    /// Other calls go on meanwhile.
    /// </summary>
    /// <exception cref="RunMismatchException">The batch is from another run or protocol.</exception>
    /// <exception cref="ArgumentException">The batch's arrays do not match its count or the shard's shapes.</exception>
    [AlwaysInterleave]
    Task<InsertReply> Insert(TransitionBatchMessage batch, int waitMs = 0);

    /// <summary>Draws <paramref name="count"/> transitions uniformly with replacement, or null while the rate limiter says to wait.</summary>
    Task<SampledTransitions?> Sample(RunIdentity run, int count);

    /// <summary>
    /// Draws <paramref name="count"/> transitions from a prioritized shard in proportion to their priorities, with their
    /// slots and importance-sampling weights for exponent <paramref name="beta"/>, or null while the rate limiter says
    /// to wait.
    /// </summary>
    /// <exception cref="InvalidOperationException">The shard samples uniformly.</exception>
    Task<SampledTransitions?> SamplePrioritized(RunIdentity run, int count, double beta);

    /// <summary>
    /// Sets the priorities of sampled slots from the learner's new |TD errors| (Ape-X; R2D2: each sequence's η-mix of
    /// them). A slot overwritten since it was sampled takes the priority meant for its predecessor, as in Ape-X; a
    /// shard that samples uniformly ignores them.
    /// </summary>
    /// <exception cref="ArgumentException">The arrays differ in length, a slot holds nothing, or a value is NaN, infinite or negative; nothing changes.</exception>
    Task UpdatePriorities(RunIdentity run, long[] slots, double[] tdErrorMagnitudes);

    /// <summary>
    /// Stores complete sequences (a shard of sequences), or refuses them (not <see cref="InsertReply.Accepted"/>) while
    /// the learner is behind; <paramref name="waitMs"/> as for <see cref="Insert"/>.
    /// </summary>
    /// <exception cref="RunMismatchException">The batch is from another run or protocol.</exception>
    /// <exception cref="ArgumentException">The batch does not fit the shard's sequences, or holds a bad value (the message names the field and the sequence).</exception>
    [AlwaysInterleave]
    Task<InsertReply> InsertSequences(SequenceBatchMessage batch, int waitMs = 0);

    /// <summary>Draws <paramref name="count"/> sequences uniformly with replacement (a shard of sequences), or null while the rate limiter says to wait.</summary>
    Task<SampledSequences?> SampleSequences(RunIdentity run, int count);

    /// <summary>
    /// Draws <paramref name="count"/> sequences from a prioritized shard of sequences in proportion to their priorities,
    /// with their slots and importance-sampling weights for exponent <paramref name="beta"/>, or null while the rate
    /// limiter says to wait.
    /// </summary>
    /// <exception cref="InvalidOperationException">The shard samples uniformly.</exception>
    Task<SampledSequences?> SamplePrioritizedSequences(RunIdentity run, int count, double beta);

    /// <summary>The shard's counters.</summary>
    Task<ShardStatistics> Statistics();
}

/// <inheritdoc cref="IReplayShardGrain" />
[ShardSpreadPlacement]
internal sealed class ReplayShardGrain : Grain, IReplayShardGrain, IDisposable
{
    /// <summary>The longest an insert waits at the shard for room (well inside Orleans' response timeout).</summary>
    public const int MaxInsertWaitMs = 5000;

    private ShardSettings? _settings;
    private TaskCompletionSource? _room;
    private ReplayBuffer? _replay;
    private SequenceReplayBuffer? _sequences;
    private SampleToInsertRatio? _ratio;
    private long _insertsRefused;
    private long _samplesRefused;
    private long _checkpointedAt;
    private long _priorityUpdates;
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

        _ratio = new SampleToInsertRatio(settings.Limiter);
        string? folder = CheckpointFolder(settings);
        if (folder is not null && File.Exists(Path.Combine(folder, CountersFile)))
        {
            // This shard's silo died (or the grain was moved): come back from the last checkpoint, which the replay's
            // own file checks (length, checksum, options) before anything is kept.
            int count = Build(settings, Path.Combine(folder, "replay"));
            long[] counters = [.. File.ReadAllText(Path.Combine(folder, CountersFile)).Split(' ').Select(long.Parse)];
            if (counters.Length != 2 || counters[0] < 0 || counters[1] < 0 || counters[0] < count)
            {
                Dispose();
                throw new InvalidDataException($"{Where}: {Path.Combine(folder, CountersFile)} holds no valid counters (inserted, sampled).");
            }

            _ratio.Restore(counters[0], counters[1]);
            _checkpointedAt = counters[0];
            _restored = true;
        }
        else
        {
            Build(settings, from: null);
        }

        _settings = settings;
        return Task.CompletedTask;
    }

    /// <summary>Builds the shard's replay, empty or loaded from <paramref name="from"/>; returns the items it holds.</summary>
    private int Build(ShardSettings settings, string? from)
    {
        if (settings.Sequences is { } shape)
        {
            var options = new SequenceReplayOptions
            {
                Capacity = settings.Capacity,
                BurnIn = shape.BurnIn,
                LearningLength = shape.LearningLength,
                Overlap = shape.Overlap,
                ObservationShape = [settings.ObservationSize],
                NumEnvs = 1,
                StateSpec = new RecurrentStateSpec([.. shape.StateNames.Zip(shape.StateShapes, (n, s) => new RecurrentStatePart(n, s, ScalarType.Float32))]),
                Device = CPU,
                Seed = settings.Seed,
                MinSequenceLength = shape.MinLength,
                Prioritized = settings.Priorities is not null,
                Priority = settings.Priorities is { } sp ? new PriorityOptions { Alpha = sp.Alpha, Epsilon = sp.Epsilon } : new PriorityOptions(),
            };

            _sequences = from is null ? new SequenceReplayBuffer(options) : SequenceReplayBuffer.Load(from, options);
            return _sequences.Count;
        }

        var transitions = new ReplayBufferOptions
        {
            Capacity = settings.Capacity,
            ObservationShape = [settings.ObservationSize],
            NumEnvs = 1,
            Gamma = 1,
            NSteps = 1,
            Device = CPU,
            Seed = settings.Seed,
        };
        PriorityOptions? priorities = settings.Priorities is { } p ? new PriorityOptions { Alpha = p.Alpha, Epsilon = p.Epsilon } : null;
        _replay = from is null ? new ReplayBuffer(transitions, priorities) : ReplayBuffer.Load(from, transitions, priorities);
        return (int)_replay.Count;
    }

    private const string CountersFile = "counters.txt";

    private string? CheckpointFolder(ShardSettings settings) =>
        settings.CheckpointDirectory is null ? null : Path.Combine(settings.CheckpointDirectory, $"shard-{this.GetPrimaryKeyLong(out _)}");

    private void Checkpoint(ShardSettings settings, SampleToInsertRatio ratio)
    {
        string folder = CheckpointFolder(settings)!;
        Directory.CreateDirectory(folder);

        // Written aside and renamed: an older checkpoint stays whole until then.
        _replay?.Save(Path.Combine(folder, "replay"));
        _sequences?.Save(Path.Combine(folder, "replay"));
        string counters = Path.Combine(folder, CountersFile);
        File.WriteAllText(counters + ".tmp", FormattableString.Invariant($"{ratio.Inserted} {ratio.Sampled}"));
        File.Move(counters + ".tmp", counters, overwrite: true);
        _checkpointedAt = ratio.Inserted;
        _checkpoints++;
    }

    public async Task<InsertReply> Insert(TransitionBatchMessage batch, int waitMs = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (settings, ratio) = Require();
        ReplayBuffer replay = _replay ?? throw new InvalidOperationException($"{Where} holds sequences (R2D2), not transitions: an actor of another algorithm is connected to this run.");
        settings.Run.Require(batch.Run, Where);
        batch.Check(settings.ObservationSize, settings.ActionCount);
        if (!await HasRoom(ratio, batch.Count, waitMs))
        {
            _insertsRefused++;
            return new InsertReply(false, replay.Count);
        }

        var truncated = new bool[batch.Count];
        var step = new VectorStep<int>(batch.Observations, batch.Actions, batch.Rewards, batch.Terminated, truncated, batch.NextObservations);
        if (batch.Priorities is null)
        {
            replay.AddTransitions(step, batch.Discounts);
        }
        else
        {
            try
            {
                replay.AddTransitions(step, batch.Discounts, batch.Priorities);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Batch {batch.Sequence} of actor {batch.Actor}: {e.Message}", e);
            }
        }

        Inserted(settings, ratio, batch.Count);
        return new InsertReply(true, replay.Count);
    }

    public async Task<InsertReply> InsertSequences(SequenceBatchMessage batch, int waitMs = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (settings, ratio) = Require();
        SequenceReplayBuffer sequences = _sequences ?? throw new InvalidOperationException($"{Where} holds transitions (DQN), not sequences: an actor of another algorithm is connected to this run.");
        settings.Run.Require(batch.Run, Where);
        if (batch.Steps < 0 || (batch.Steps == 0 && batch.Count == 0))
        {
            throw new ArgumentException($"Batch {batch.Sequence} of actor {batch.Actor}: it must hold a sequence or stand for at least 1 environment step; got {batch.Count} sequences and {batch.Steps} steps.", nameof(batch));
        }

        if (!await HasRoom(ratio, batch.Steps, waitMs))
        {
            _insertsRefused++;
            return new InsertReply(false, sequences.Count);
        }

        try
        {
            // A batch of steps without sequences (an episode's first steps complete none) only counts in the limiter.
            if (batch.Count > 0)
            {
                sequences.AddRows(new SequenceRows(batch.Count, batch.Width, batch.Table, batch.Lengths, batch.States), batch.Priorities);
            }
        }
        catch (ArgumentException e)
        {
            string reason = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
            throw new ArgumentException($"Batch {batch.Sequence} of actor {batch.Actor}: {reason}", e);
        }

        Inserted(settings, ratio, batch.Steps);
        return new InsertReply(true, sequences.Count);
    }

    /// <summary>
    /// Whether the rate limiter takes <paramref name="count"/> more now or, waiting at most <paramref name="waitMs"/>,
    /// once samples have made room (each sample wakes the waiting inserts, which look again). The activation's other
    /// calls run while an insert waits (it is interleaved); what follows the wait runs in one turn, so the room seen
    /// is the room used.
    /// </summary>
    private async Task<bool> HasRoom(SampleToInsertRatio ratio, int count, int waitMs)
    {
        if (waitMs < 0 || waitMs > MaxInsertWaitMs)
        {
            throw new ArgumentOutOfRangeException(nameof(waitMs), waitMs, $"{Where}: an insert may wait 0 to {MaxInsertWaitMs} ms.");
        }

        long deadline = Environment.TickCount64 + waitMs;
        while (!ratio.CanInsert(count))
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return false;
            }

            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await Task.WhenAny(_room.Task, Task.Delay(TimeSpan.FromMilliseconds(left)));
        }

        return true;
    }

    /// <summary>Wakes the inserts waiting for room (after a sample).</summary>
    private void WakeInserts()
    {
        TaskCompletionSource? room = _room;
        _room = null;
        room?.TrySetResult();
    }

    private void Inserted(ShardSettings settings, SampleToInsertRatio ratio, int count)
    {
        ratio.Insert(count);
        if (settings.CheckpointDirectory is not null && settings.CheckpointEvery > 0 && ratio.Inserted - _checkpointedAt >= settings.CheckpointEvery)
        {
            Checkpoint(settings, ratio);
        }
    }

    /// <summary>Whether <paramref name="count"/> items may be drawn now from a replay holding <paramref name="stored"/>; counts a refusal.</summary>
    private bool MaySample(ShardSettings settings, SampleToInsertRatio ratio, RunIdentity run, int count, long stored)
    {
        settings.Run.Require(run, Where);
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{Where}: a sample needs at least 1 item.");
        }

        if (!ratio.CanSample(count) || stored < count)
        {
            _samplesRefused++;
            return false;
        }

        return true;
    }

    public Task<SampledSequences?> SampleSequences(RunIdentity run, int count) => DrawSequences(run, count, beta: null);

    public Task<SampledSequences?> SamplePrioritizedSequences(RunIdentity run, int count, double beta) => DrawSequences(run, count, CheckBeta(beta));

    private Task<SampledSequences?> DrawSequences(RunIdentity run, int count, double? beta)
    {
        var (settings, ratio) = Require();
        SequenceReplayBuffer sequences = _sequences ?? throw new InvalidOperationException($"{Where} holds transitions (DQN), not sequences.");
        if (beta is not null && !sequences.Prioritized)
        {
            throw new InvalidOperationException($"{Where} samples uniformly: the learner asked for a prioritized sample (the shard was configured without priorities).");
        }

        // The limiter counts environment steps, so the shard may hold fewer sequences than a round asks for (the
        // learning_starts steps gave fewer sequences): they are drawn with replacement all the same, in draws of at
        // most what it holds.
        if (!MaySample(settings, ratio, run, count, Math.Min(count, (long)sequences.Count * count)))
        {
            return Task.FromResult<SampledSequences?>(null);
        }

        var parts = new List<SequenceRows>();
        var slots = new List<long>();
        var weights = new List<float>();
        for (int left = count; left > 0; left -= parts[^1].Count)
        {
            int draw = Math.Min(left, sequences.Count);
            if (beta is double b)
            {
                var (rows, s, w) = sequences.SamplePrioritizedRows(draw, b);
                parts.Add(rows);
                slots.AddRange(s);
                weights.AddRange(w);
            }
            else
            {
                parts.Add(sequences.SampleRows(draw));
            }
        }

        SequenceRows all = parts.Count == 1 ? parts[0] : SequenceRows.Concat(parts);
        ratio.Sample(all.Count); // sequences sampled against environment steps inserted: R2D2's replay ratio
        WakeInserts();
        return Task.FromResult<SampledSequences?>(new SampledSequences(
            all.Count, all.Width, all.Table, all.Lengths, all.States, ratio.Inserted, beta is null ? null : [.. slots], beta is null ? null : [.. weights]));
    }

    public Task<SampledTransitions?> Sample(RunIdentity run, int count) => SampleTransitions(run, count, beta: null);

    public Task<SampledTransitions?> SamplePrioritized(RunIdentity run, int count, double beta) => SampleTransitions(run, count, CheckBeta(beta));

    /// <summary>β of a prioritized sample, refused outside [0, 1].</summary>
    private double CheckBeta(double beta) =>
        beta is >= 0 and <= 1 ? beta : throw new ArgumentOutOfRangeException(nameof(beta), beta, $"{Where}: beta must be in [0, 1].");

    private Task<SampledTransitions?> SampleTransitions(RunIdentity run, int count, double? beta)
    {
        var (settings, ratio) = Require();
        ReplayBuffer replay = _replay ?? throw new InvalidOperationException($"{Where} holds sequences (R2D2), not transitions.");
        if (beta is not null && !replay.Prioritized)
        {
            throw new InvalidOperationException($"{Where} samples uniformly: the learner asked for a prioritized sample (the shard was configured without priorities).");
        }

        if (!MaySample(settings, ratio, run, count, replay.Count))
        {
            return Task.FromResult<SampledTransitions?>(null);
        }

        using var scope = NewDisposeScope();
        TransitionBatch batch = replay.Sample(count, beta ?? 1.0);
        ratio.Sample(batch.Size);
        WakeInserts();
        var sampled = new SampledTransitions(
            batch.Size,
            Floats(batch.Observations),
            Longs(batch.Actions),
            Floats(batch.Rewards),
            Floats(batch.NextObservations),
            Floats(batch.Terminated),
            Floats(batch.Discounts),
            ratio.Inserted,
            replay.Prioritized ? Longs(batch.Indices) : null,
            batch.Weights is null ? null : Floats(batch.Weights));
        return Task.FromResult<SampledTransitions?>(sampled);
    }

    public Task UpdatePriorities(RunIdentity run, long[] slots, double[] tdErrorMagnitudes)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ArgumentNullException.ThrowIfNull(tdErrorMagnitudes);
        var (settings, _) = Require();
        settings.Run.Require(run, Where);
        if (!(_replay?.Prioritized ?? _sequences!.Prioritized))
        {
            return Task.CompletedTask;
        }

        if (slots.Length != tdErrorMagnitudes.Length)
        {
            throw new ArgumentException($"{Where}: {slots.Length} slots but {tdErrorMagnitudes.Length} priorities.", nameof(tdErrorMagnitudes));
        }

        try
        {
            if (_replay is not null)
            {
                using var scope = NewDisposeScope();
                _replay.UpdatePriorities(tensor(slots), tensor(tdErrorMagnitudes));
            }
            else
            {
                int[] s = new int[slots.Length];
                for (int i = 0; i < s.Length; i++)
                {
                    s[i] = slots[i] is >= 0 and <= int.MaxValue ? (int)slots[i] : throw new ArgumentOutOfRangeException(nameof(slots), slots[i], $"slot {slots[i]} (position {i}) is not a slot of this shard.");
                }

                _sequences!.UpdatePriorities(s, tdErrorMagnitudes);
            }
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Where}: the learner's priorities were refused: {e.Message}", nameof(tdErrorMagnitudes), e);
        }

        _priorityUpdates += slots.Length;
        return Task.CompletedTask;
    }

    public Task<ShardStatistics> Statistics() =>
        Task.FromResult(new ShardStatistics(_ratio?.Inserted ?? 0, _ratio?.Sampled ?? 0, _replay?.Count ?? _sequences?.Count ?? 0, _insertsRefused, _samplesRefused, _checkpoints, _restored, RuntimeIdentity, _priorityUpdates));

    public void Dispose()
    {
        _replay?.Dispose();
        _sequences?.Dispose();
        _replay = null;
        _sequences = null;
    }

    private (ShardSettings Settings, SampleToInsertRatio Ratio) Require() =>
        _settings is null || (_replay is null && _sequences is null) || _ratio is null
            ? throw new ShardNotConfiguredException($"{Where} is not configured: the learner configures every shard before actors insert (and again after its silo died).")
            : (_settings, _ratio);

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
