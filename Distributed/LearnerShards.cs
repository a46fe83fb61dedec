using System.Diagnostics;

namespace RlMemory.Distributed;

/// <summary>
/// The learner's view of the replay shards. Each round it asks every reachable shard for its share of the round's
/// batches; a shard that cannot be reached (its silo died) is left out, and the others give its share, so the learner
/// keeps training. Every second it configures a lost shard again: the new activation, on a silo that is alive, comes
/// back from the shard's last checkpoint, and what was lost (transitions inserted after that checkpoint) is reported.
/// </summary>
internal sealed class LearnerShards
{
    private readonly IReplayShardGrain[] _grains;
    private readonly ShardSettings[] _settings;
    private readonly RunIdentity _run;
    private readonly int _batch;
    private readonly int _rounds;
    private readonly int _largest;
    private readonly TextWriter _say;
    private readonly Func<IReplayShardGrain, RunIdentity, int, Task<IShardSample?>> _sample;
    private readonly IShardSample?[] _samples;
    private readonly Stopwatch?[] _downFor;
    private readonly long[] _updatesAtDown;
    private readonly long[] _lastInserted;
    private readonly ShardStatistics?[] _last;
    private readonly Stopwatch _retry = Stopwatch.StartNew();
    private int[] _live;
    private int[] _share;
    private long _updates;

    /// <param name="grains">The shards.</param>
    /// <param name="settings">Each shard's settings (given again to a shard that comes back).</param>
    /// <param name="run">The run.</param>
    /// <param name="batch">Transitions per learner batch.</param>
    /// <param name="rounds">Batches per round of sampling.</param>
    /// <param name="largest">The largest sample a shard's rate limiter admits.</param>
    /// <param name="say">Where losing and regaining a shard is reported.</param>
    /// <param name="sample">Asks a shard for a sample of a count of items (transitions or sequences).</param>
    public LearnerShards(IReplayShardGrain[] grains, ShardSettings[] settings, RunIdentity run, int batch, int rounds, int largest, TextWriter say, Func<IReplayShardGrain, RunIdentity, int, Task<IShardSample?>> sample)
    {
        _sample = sample;
        _grains = grains;
        _settings = settings;
        _run = run;
        _batch = batch;
        _rounds = rounds;
        _largest = largest;
        _say = say;
        _samples = new IShardSample?[grains.Length];
        _downFor = new Stopwatch?[grains.Length];
        _updatesAtDown = new long[grains.Length];
        _lastInserted = new long[grains.Length];
        _last = new ShardStatistics?[grains.Length];
        (_live, _share) = Split();
    }

    /// <summary>Shards lost (and not back yet) so far.</summary>
    public int Down => _downFor.Count(d => d is not null);

    /// <summary>What each shard gave the last time: transitions lost with a shard, restored, and the updates made without it.</summary>
    public List<ShardRecovery> Recoveries { get; } = [];

    /// <summary>The share of a batch each live shard gives and the batches this round can make (0: none can be made now).</summary>
    public (int[] Live, int[] Share, int Rounds) Layout => (_live, _share, RoundsNow());

    /// <summary>
    /// Asks each live shard that has not given this round's sample yet; true when all have (the samples are in
    /// <see cref="Samples"/>, live shards in order). Brings lost shards back first, at most every second.
    /// </summary>
    public bool TrySample(long updates)
    {
        _updates = updates;
        if (_retry.ElapsedMilliseconds >= 1000 && Down > 0)
        {
            _retry.Restart();
            Restore(updates);
        }

        int rounds = RoundsNow();
        if (rounds == 0)
        {
            return false;
        }

        for (int j = 0; j < _live.Length; j++)
        {
            int i = _live[j];
            if (_samples[i] is not null)
            {
                continue;
            }

            try
            {
                _samples[i] = _sample(_grains[i], _run, _share[j] * rounds).GetAwaiter().GetResult();
                if (_samples[i] is { } s)
                {
                    _lastInserted[i] = Math.Max(_lastInserted[i], s.Inserted);
                }
            }
            catch (Exception e) when (ClusterFaults.IsUnreachable(e))
            {
                Lose(i, updates, e);
                return false;
            }
        }

        return Array.TrueForAll(_live, i => _samples[i] is not null);
    }

    /// <summary>This round's samples of the live shards, in <see cref="Layout"/>'s order.</summary>
    public IShardSample[] Samples => [.. _live.Select(i => _samples[i]!)];

    /// <summary>
    /// Sends each shard the new |TD errors| of the rows it gave this round (<paramref name="samples"/> as
    /// <see cref="Samples"/> returned them, from the shards <paramref name="live"/> that <see cref="Layout"/> named
    /// then), all at once. A shard that cannot be reached is lost as when sampling; one that refuses them (it came back
    /// from a checkpoint that holds fewer slots since it was sampled) keeps its priorities, and that is said.
    /// </summary>
    public void UpdatePriorities(int[] live, IShardSample[] samples, double[][] priorities)
    {
        var sends = new List<(int Shard, Task Call)>();
        for (int j = 0; j < live.Length && j < samples.Length; j++)
        {
            if (samples[j] is { Slots: { } slots } && _downFor[live[j]] is null)
            {
                sends.Add((live[j], _grains[live[j]].UpdatePriorities(_run, slots, priorities[j])));
            }
        }

        foreach (var (shard, call) in sends)
        {
            try
            {
                call.GetAwaiter().GetResult();
            }
            catch (Exception e) when (ClusterFaults.IsUnreachable(e))
            {
                Lose(shard, _updates, e);
            }
            catch (ArgumentException e)
            {
                Say($"warning: replay shard {shard} kept its priorities for this round's rows: {e.Message}");
            }
        }
    }

    /// <summary>Forgets this round's samples (after training on them).</summary>
    public void Clear() => Array.Clear(_samples);

    /// <summary>Every shard's counters (a lost shard's last known ones).</summary>
    public ShardStatistics[] Statistics()
    {
        var result = new ShardStatistics[_grains.Length];
        for (int i = 0; i < result.Length; i++)
        {
            if (_downFor[i] is null)
            {
                try
                {
                    _last[i] = _grains[i].Statistics().GetAwaiter().GetResult();
                }
                catch (Exception e) when (ClusterFaults.IsUnreachable(e))
                {
                    Lose(i, _updates, e);
                }
            }

            result[i] = _last[i] ?? new ShardStatistics(0, 0, 0, 0, 0, 0, false);
        }

        return result;
    }

    /// <summary>Splits <paramref name="batch"/> rows over <paramref name="shards"/> shards: equal shares, the first ones one more.</summary>
    public static int[] Shares(int batch, int shards) =>
        [.. Enumerable.Range(0, shards).Select(j => (batch / shards) + (j < batch % shards ? 1 : 0))];

    private int RoundsNow()
    {
        if (_live.Length == 0)
        {
            return 0;
        }

        // A sample larger than a shard's limiter admits would never be granted: fewer batches per round while shards are lost.
        return Math.Min(_rounds, _largest / _share.Max());
    }

    private (int[] Live, int[] Share) Split()
    {
        int[] live = [.. Enumerable.Range(0, _grains.Length).Where(i => _downFor[i] is null)];
        return (live, live.Length == 0 ? [] : Shares(_batch, live.Length));
    }

    private void Lose(int shard, long updates, Exception e)
    {
        _downFor[shard] = Stopwatch.StartNew();
        _updatesAtDown[shard] = updates;
        _retry.Restart(); // the first attempt to bring it back comes a second after the loss, not sooner
        Clear(); // the round's shares change: samples drawn for the old ones are dropped
        (_live, _share) = Split();
        Say($"warning: replay shard {shard} cannot be reached ({ClusterFaults.Reason(e)}); the learner samples from the {_live.Length} other shard{(_live.Length == 1 ? string.Empty : "s")} and configures it again every second.");
    }

    private void Restore(long updates)
    {
        for (int i = 0; i < _grains.Length; i++)
        {
            if (_downFor[i] is not { } down)
            {
                continue;
            }

            ShardStatistics statistics;
            try
            {
                _grains[i].Configure(_settings[i]).GetAwaiter().GetResult();
                statistics = _grains[i].Statistics().GetAwaiter().GetResult();
            }
            catch (Exception e) when (ClusterFaults.IsUnreachable(e))
            {
                continue; // its silo is not declared dead yet: the directory still points there
            }

            // The same activation answering again (a call timed out, the silo lived) holds at least what was seen.
            bool kept = !statistics.Restored && statistics.Inserted > 0 && statistics.Inserted >= _lastInserted[i];
            var recovery = new ShardRecovery(i, down.Elapsed, statistics.Restored ? statistics.Inserted : 0, Math.Max(0, _lastInserted[i] - statistics.Inserted), updates - _updatesAtDown[i]);
            Recoveries.Add(recovery);
            _downFor[i] = null;
            _last[i] = statistics;
            _lastInserted[i] = statistics.Inserted;
            Clear();
            (_live, _share) = Split();
            string how = statistics.Restored
                ? $"restored from its checkpoint ({recovery.Restored:N0} transitions inserted), {recovery.Lost:N0} inserted after that checkpoint lost"
                : kept
                    ? $"it answers again with the {statistics.Inserted:N0} transitions it held, nothing lost"
                    : $"empty (it had no checkpoint), {recovery.Lost:N0} transitions lost";
            Say(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"replay shard {i} is back after {recovery.Down.TotalSeconds:0.0} s: {how}; the learner made {recovery.UpdatesWithout:N0} updates from the other shards meanwhile."));
        }
    }

    private void Say(string message)
    {
        lock (_say)
        {
            _say.WriteLine(message);
            _say.Flush();
        }
    }
}

/// <summary>A replay shard that was lost and came back.</summary>
/// <param name="Shard">Its index.</param>
/// <param name="Down">How long it could not be sampled.</param>
/// <param name="Restored">Transitions inserted up to the checkpoint it came back from (0: none).</param>
/// <param name="Lost">Transitions the learner had seen it hold (its insert counter) beyond that checkpoint.</param>
/// <param name="UpdatesWithout">Learner updates made from the other shards meanwhile.</param>
public sealed record ShardRecovery(int Shard, TimeSpan Down, long Restored, long Lost, long UpdatesWithout);
