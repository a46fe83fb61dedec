using Orleans.TestingHost;
using RlMemory.Distributed;

namespace RlMemory.Tests.Distributed;

/// <summary>One in-process Orleans cluster (Microsoft.Orleans.TestingHost) for the grain tests.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = ReplayGrainTests.NewCluster();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>The replay shard and parameter store grains, through a real (in-process) silo and client.</summary>
public sealed class ReplayGrainTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private readonly IGrainFactory _grains = fixture.Cluster.Client;

    private static TransitionBatchMessage Batch(RunIdentity run, int count, int first = 0, long sequence = 0) => new(
        run, "actor-0", sequence, count,
        [.. Enumerable.Range(first, count).SelectMany(i => new[] { i, -i })],
        [.. Enumerable.Range(first, count).Select(i => i % 3)],
        [.. Enumerable.Range(first, count).Select(i => i * 0.5)],
        [.. Enumerable.Range(first, count).SelectMany(i => new[] { i + 0.25f, -i - 0.25f })],
        [.. Enumerable.Range(first, count).Select(i => i % 4 == 0)],
        [.. Enumerable.Range(first, count).Select(i => i % 2 == 0 ? 0.99 : 0.9801)]);

    private static ShardSettings Settings(RunIdentity run, RateLimit? limit = null) =>
        new(run, 1000, 2, 3, limit ?? new RateLimit(1, 1, 1000), 7);

    [Fact]
    public async Task ASampledTransition_IsOneThatWasInserted_FieldForField()
    {
        var run = RunIdentity.Current($"roundtrip-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(0, run.RunId);
        await shard.Configure(Settings(run));
        InsertReply reply = await shard.Insert(Batch(run, 5));
        Assert.Equal(new InsertReply(true, 5), reply);

        var seen = new HashSet<int>();
        for (int draw = 0; draw < 8; draw++)
        {
            SampledTransitions? sample = await shard.Sample(run, 5); // at most the transitions held per call
            Assert.NotNull(sample);
            Assert.Equal(5, sample.Count);
            Check(sample, seen);
        }

        Assert.Equal(5, seen.Count); // 40 uniform draws from 5 miss one with probability < 5·0.8⁴⁰ ≈ 7e-4
        Assert.Equal(new ShardStatistics(5, 40, 5, 0, 0), (await shard.Statistics()) with { Silo = string.Empty });
        Assert.Null(await shard.Sample(run, 6));
    }

    private static void Check(SampledTransitions sample, HashSet<int> seen)
    {
        for (int k = 0; k < sample.Count; k++)
        {
            // Transition i holds observation (i, −i), action i mod 3, reward i/2, next observation (i + ¼, −i − ¼), …
            int i = (int)sample.Observations[2 * k];
            Assert.InRange(i, 0, 4);
            seen.Add(i);
            Assert.Equal(-i, sample.Observations[(2 * k) + 1]);
            Assert.Equal(i % 3, sample.Actions[k]);
            Assert.Equal(i * 0.5f, sample.Rewards[k]);
            Assert.Equal(new[] { i + 0.25f, -i - 0.25f }, sample.NextObservations.AsSpan(2 * k, 2).ToArray());
            Assert.Equal(i % 4 == 0 ? 1f : 0f, sample.Terminated[k]);
            Assert.Equal(i % 2 == 0 ? 0.99f : 0.9801f, sample.Discounts[k]);
        }
    }

    [Fact]
    public async Task MessagesOfAnotherRunOrProtocol_AreRefusedNamingBoth()
    {
        var run = RunIdentity.Current($"mine-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(1, run.RunId);
        await shard.Configure(Settings(run));

        var other = await Assert.ThrowsAsync<RunMismatchException>(() => shard.Insert(Batch(RunIdentity.Current("someone-else"), 2)));
        Assert.Contains($"a message of run 'someone-else' was refused; this is run '{run.RunId}'", other.Message, StringComparison.Ordinal);

        var old = await Assert.ThrowsAsync<RunMismatchException>(() => shard.Sample(run with { Protocol = 0 }, 1));
        Assert.Contains($"a message of protocol 0 was refused; this is run '{run.RunId}' with protocol {RunIdentity.CurrentProtocol}", old.Message, StringComparison.Ordinal);

        IParameterStoreGrain store = _grains.GetGrain<IParameterStoreGrain>(run.RunId);
        await Assert.ThrowsAsync<RunMismatchException>(() => store.Publish(new WeightsMessage(RunIdentity.Current("someone-else"), 1, [1f])));
        Assert.Equal(new ShardStatistics(0, 0, 0, 0, 0), (await shard.Statistics()) with { Silo = string.Empty }); // nothing was stored
    }

    [Fact]
    public async Task BadBatches_AndAnUnconfiguredShard_AreRefusedWithTheirReason()
    {
        var run = RunIdentity.Current($"bad-{Guid.NewGuid():N}");
        IReplayShardGrain fresh = _grains.GetGrain<IReplayShardGrain>(2, run.RunId);
        var unconfigured = await Assert.ThrowsAsync<ShardNotConfiguredException>(() => fresh.Insert(Batch(run, 1)));
        Assert.Contains("is not configured", unconfigured.Message, StringComparison.Ordinal);

        await fresh.Configure(Settings(run));
        TransitionBatchMessage good = Batch(run, 3);
        var shortArrays = await Assert.ThrowsAsync<ArgumentException>(() => fresh.Insert(good with { Rewards = [1.0] }));
        Assert.Contains("3 transitions of 2 observation floats need 6 observation and next-observation floats and 3 actions, rewards, flags and discounts; got 6, 6, 3, 1, 3, 3", shortArrays.Message, StringComparison.Ordinal);
        var badAction = await Assert.ThrowsAsync<ArgumentException>(() => fresh.Insert(good with { Actions = [0, 3, 1] }));
        Assert.Contains("action 3 of transition 1 is not in [0, 3)", badAction.Message, StringComparison.Ordinal);
        var nan = await Assert.ThrowsAsync<ArgumentException>(() => fresh.Insert(good with { Rewards = [0, double.NaN, 1] }));
        Assert.Contains("NaN", nan.Message, StringComparison.Ordinal);
        var settings = await Assert.ThrowsAsync<ArgumentException>(() => fresh.Configure(Settings(run) with { Capacity = 5 }));
        Assert.Contains("is already configured with other settings", settings.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await fresh.Statistics()).Inserted);
    }

    [Fact]
    public async Task TheRateLimiter_HoldsSamplesBeforeMinSize_AndPushesBackInsertsThatRunAhead()
    {
        // SPI 2, min 10, buffer 8: d = 2i − s must stay in [20 − 8, 20 + 8].
        var run = RunIdentity.Current($"limit-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(3, run.RunId);
        await shard.Configure(Settings(run, new RateLimit(2, 10, 8)));
        Assert.True((await shard.Insert(Batch(run, 6))).Accepted);
        Assert.Null(await shard.Sample(run, 1)); // 6 < 10 inserted
        Assert.True((await shard.Insert(Batch(run, 8, first: 6, sequence: 1))).Accepted); // d = 28: the upper end
        Assert.False((await shard.Insert(Batch(run, 1, first: 14, sequence: 2))).Accepted); // d would be 30 > 28
        Assert.NotNull(await shard.Sample(run, 14)); // d = 14
        Assert.Null(await shard.Sample(run, 3)); // d would be 11 < 12, the lower end
        Assert.True((await shard.Insert(Batch(run, 1, first: 14, sequence: 2))).Accepted);
        Assert.Equal(new ShardStatistics(15, 14, 15, 1, 2), (await shard.Statistics()) with { Silo = string.Empty });
    }

    [Fact]
    public async Task AnInsertThatMayWait_IsHeldAtTheShardUntilASampleMakesRoom_WhileSamplesGoOn()
    {
        // SPI 2, min 10, buffer 8 as above: at d = 28 an insert of one is refused; one that may wait 5 s is held while
        // the learner samples (the shard's other calls go on) and taken as soon as a sample makes room.
        var run = RunIdentity.Current($"blocking-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(4, run.RunId);
        await shard.Configure(Settings(run, new RateLimit(2, 10, 8)));
        Assert.True((await shard.Insert(Batch(run, 14))).Accepted); // d = 28: the upper end
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.False((await shard.Insert(Batch(run, 1, first: 14, sequence: 1), waitMs: 150)).Accepted); // nobody samples: refused when the wait is over
        Assert.InRange(clock.ElapsedMilliseconds, 140, 3000);

        clock.Restart();
        Task<InsertReply> held = shard.Insert(Batch(run, 1, first: 14, sequence: 1), waitMs: ReplayShardGrain.MaxInsertWaitMs);
        await Task.Delay(300);
        Assert.False(held.IsCompleted); // still waiting for room
        Assert.NotNull(await shard.Sample(run, 4)); // runs while the insert waits; d = 24
        Assert.True((await held).Accepted);
        Assert.InRange(clock.ElapsedMilliseconds, 290, 4000); // answered by the sample, not by the wait's end
        Assert.Equal(new ShardStatistics(15, 4, 15, 1, 0), (await shard.Statistics()) with { Silo = string.Empty });

        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => shard.Insert(Batch(run, 1, first: 15, sequence: 2), waitMs: ReplayShardGrain.MaxInsertWaitMs + 1));
        Assert.Contains("an insert may wait 0 to 5000 ms", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AShardWhoseSiloDied_ComesBackFromItsLastCheckpoint_LosingAtMostTheInsertsSince()
    {
        // Checkpoints every 100 transitions; 350 inserted, then the whole cluster is stopped (the shard's silo dies) and a
        // new one started: the shard configured again holds the 300 of its last checkpoint, with its counters, and the
        // 50 inserted since are lost (fewer than the interval).
        string folder = Path.Combine(Path.GetTempPath(), $"rlmemory-shard-{Guid.NewGuid():N}");
        var run = RunIdentity.Current($"checkpoint-{Guid.NewGuid():N}");
        ShardSettings settings = Settings(run) with { CheckpointDirectory = folder, CheckpointEvery = 100 };
        try
        {
            var first = NewCluster();
            await first.DeployAsync();
            IReplayShardGrain shard = first.Client.GetGrain<IReplayShardGrain>(0, run.RunId);
            await shard.Configure(settings);
            for (int b = 0; b < 7; b++)
            {
                Assert.True((await shard.Insert(Batch(run, 50, first: 50 * b, sequence: b))).Accepted);
            }

            Assert.NotNull(await shard.Sample(run, 40));
            ShardStatistics before = await shard.Statistics();
            Assert.Equal((350L, 40L, 3, false), (before.Inserted, before.Sampled, before.Checkpoints, before.Restored));
            await first.DisposeAsync();

            var second = NewCluster();
            await second.DeployAsync();
            try
            {
                IReplayShardGrain again = second.Client.GetGrain<IReplayShardGrain>(0, run.RunId);
                await again.Configure(settings);
                ShardStatistics after = await again.Statistics();
                Assert.True(after.Restored);
                Assert.Equal((300L, 300L), (after.Inserted, after.Stored)); // the last checkpoint, at 300 inserted
                Assert.Equal(0, after.Sampled); // the sample came after that checkpoint
                SampledTransitions? sample = await again.Sample(run, 300);
                Assert.NotNull(sample);
                Assert.All(Enumerable.Range(0, 300), k => Assert.InRange(sample.Observations[2 * k], 0, 299)); // none of the lost 50
            }
            finally
            {
                await second.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task TheParameterStore_HandsOutOnlyNewerVersions_AndRefusesOldOrBrokenOnes()
    {
        var run = RunIdentity.Current($"weights-{Guid.NewGuid():N}");
        IParameterStoreGrain store = _grains.GetGrain<IParameterStoreGrain>(run.RunId);
        Assert.Null(await store.Pull(run, 0));
        await store.Publish(new WeightsMessage(run, 1, [1f, 2f]));
        float[] first = (await store.Pull(run, 0))!.Values;
        Assert.Equal(new[] { 1f, 2f }, first);
        Assert.Null(await store.Pull(run, 1));
        await store.Publish(new WeightsMessage(run, 3, [3f, 4f]));
        Assert.Equal(3, (await store.Pull(run, 1))!.Version);

        var old = await Assert.ThrowsAsync<ArgumentException>(() => store.Publish(new WeightsMessage(run, 2, [0f, 0f])));
        Assert.Contains("version 2 is not newer than the version held (3)", old.Message, StringComparison.Ordinal);
        var nan = await Assert.ThrowsAsync<ArgumentException>(() => store.Publish(new WeightsMessage(run, 4, [float.NaN, 0f])));
        Assert.Contains("a NaN or infinite one", nan.Message, StringComparison.Ordinal);
        var shape = await Assert.ThrowsAsync<ArgumentException>(() => store.Publish(new WeightsMessage(run, 4, [1f])));
        Assert.Contains("another architecture", shape.Message, StringComparison.Ordinal);
        Assert.Equal(3, await store.Version());
    }

    [Fact]
    public async Task TheLearner_SamplesFromTheShardsItCanReach_AndConfiguresALostOneAgain()
    {
        // Shard 1 of this run was never configured, as a new activation after its silo died: the learner's view leaves
        // it out, takes the whole batch from shard 0, and a second later configures it again (empty: no checkpoint).
        var run = RunIdentity.Current($"lost-{Guid.NewGuid():N}");
        IReplayShardGrain[] shards = [_grains.GetGrain<IReplayShardGrain>(0, run.RunId), _grains.GetGrain<IReplayShardGrain>(1, run.RunId)];
        ShardSettings[] settings = [Settings(run, new RateLimit(100, 1, 100_000)), Settings(run, new RateLimit(100, 1, 100_000)) with { Seed = 8 }];
        await shards[0].Configure(settings[0]);
        await shards[0].Insert(Batch(run, 20));
        var say = new StringWriter();
        var view = new LearnerShards(shards, settings, run, batch: 6, rounds: 2, largest: 12, say, async (shard, r, count) => await shard.Sample(r, count));
        AssertLayout(view, [0, 1], [3, 3], 2);

        Assert.False(view.TrySample(updates: 10)); // shard 0 gave its share; shard 1 is found lost
        Assert.Contains("warning: replay shard 1 cannot be reached (replay shard 1 of run", say.ToString(), StringComparison.Ordinal);
        AssertLayout(view, [0], [6], 2);
        Assert.True(view.TrySample(updates: 10));
        Assert.Equal(12, Assert.IsType<SampledTransitions>(view.Samples.Single()).Count); // two batches of 6, all from shard 0
        view.Clear();

        await Task.Delay(1100);
        Assert.False(view.TrySample(updates: 25)); // configured again, empty: it gives no sample until actors fill it
        AssertLayout(view, [0, 1], [3, 3], 2);
        ShardRecovery recovery = Assert.Single(view.Recoveries);
        Assert.Equal((1, 0L, 0L, 15L), (recovery.Shard, recovery.Restored, recovery.Lost, recovery.UpdatesWithout));
        Assert.True(recovery.Down >= TimeSpan.FromSeconds(1), $"back after {recovery.Down}: it was configured again before the 1 s retry interval");
        Assert.Matches(@"replay shard 1 is back after [0-9]+\.[0-9] s: ", say.ToString()); // 1.x s, more on a loaded machine
        Assert.Contains("empty (it had no checkpoint), 0 transitions lost; the learner made 15 updates from the other shards meanwhile.", say.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnActorsInsert_PassesOverARefusingOrUnreachableShard_ToOneThatTakesIt()
    {
        // Shard 0's limiter refuses 4 more transitions (upper bound SPI·min + buffer = 3), shard 1 was never configured
        // (a new activation after its silo died), shard 2 takes anything: the batch lands in shard 2, nothing is lost.
        var run = RunIdentity.Current($"route-{Guid.NewGuid():N}");
        IReplayShardGrain[] shards = [.. Enumerable.Range(0, 3).Select(i => _grains.GetGrain<IReplayShardGrain>(i, run.RunId))];
        await shards[0].Configure(Settings(run, new RateLimit(1, 1, 2)));
        await shards[2].Configure(Settings(run) with { Seed = 9 });
        var route = new ShardRoute(shards, "actor 0");

        Assert.True(route.TryInsert(Insert(Batch(run, 4)), preferred: 0));
        Assert.Equal((0L, 1L), ((await shards[0].Statistics()).Inserted, (await shards[0].Statistics()).InsertsRefused));
        Assert.Equal(4, (await shards[2].Statistics()).Inserted);
        Assert.True(route.TryInsert(Insert(Batch(run, 4, first: 4, sequence: 1)), preferred: 1)); // shard 1 passed over (for 2 s)
        Assert.Equal(8, (await shards[2].Statistics()).Inserted);
        Assert.False(route.AllPassedOver); // shards 0 and 2 can be offered batches

        var full = RunIdentity.Current($"full-{Guid.NewGuid():N}");
        IReplayShardGrain only = _grains.GetGrain<IReplayShardGrain>(0, full.RunId);
        await only.Configure(Settings(full, new RateLimit(1, 1, 2)));
        var refusing = new ShardRoute([only], "actor 0");
        Assert.False(refusing.TryInsert(Insert(Batch(full, 4)), preferred: 0)); // every shard refuses: the actor waits at them
        Assert.False(refusing.AllPassedOver);

        // A route whose only shard cannot be reached passes it over: the actor pauses instead of offering again at once.
        var lost = new ShardRoute([_grains.GetGrain<IReplayShardGrain>(1, run.RunId)], "actor 1");
        Assert.False(lost.TryInsert(Insert(Batch(run, 4, first: 8, sequence: 2)), preferred: 0));
        Assert.True(lost.AllPassedOver);
    }

    [Fact]
    public async Task APrioritizedShard_SamplesByTheActorsPriorities_AndTakesTheLearnersNewOnes()
    {
        // α = 1: transition i of 4 inserted with |δ| = (0, 0, 0, 5) is the only one drawn; after the learner sends
        // |δ| = 5 for slot 0 and 0 for slot 3, only transition 0 is.
        var run = RunIdentity.Current($"prioritized-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(0, run.RunId);
        await shard.Configure(Settings(run, new RateLimit(100, 1, 100_000)) with { Priorities = new ShardPriorities(1, 1e-9) });
        Assert.True((await shard.Insert(Batch(run, 4) with { Priorities = [0, 0, 0, 5] })).Accepted);

        SampledTransitions? sample = await shard.SamplePrioritized(run, 4, beta: 0.5); // at most the transitions held
        Assert.NotNull(sample);
        Assert.All(sample.Observations.Where((_, k) => k % 2 == 0), o => Assert.Equal(3f, o));
        Assert.All(sample.Slots!, slot => Assert.Equal(3L, slot));
        Assert.All(sample.Weights!, w => Assert.Equal(Math.Sqrt(1e-9 / (5 + 1e-9)), w, 1e-9)); // (p_min / p_i)^β over the shard

        await shard.UpdatePriorities(run, [0, 3], [5, 0]);
        sample = await shard.SamplePrioritized(run, 4, beta: 0.5);
        Assert.All(sample!.Slots!, slot => Assert.Equal(0L, slot));
        Assert.Equal(2, (await shard.Statistics()).PriorityUpdates);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => shard.UpdatePriorities(run, [0], [double.NaN]));
        Assert.Contains("the learner's priorities were refused", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => shard.Insert(Batch(run, 2, sequence: 3) with { Priorities = [1, -2] }));
        Assert.Contains("Batch 3 of actor actor-0: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("tdErrorMagnitudes[1] is -2", e.Message, StringComparison.Ordinal);
        var uniform = RunIdentity.Current($"uniform-{Guid.NewGuid():N}");
        IReplayShardGrain plain = _grains.GetGrain<IReplayShardGrain>(0, uniform.RunId);
        await plain.Configure(Settings(uniform));
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => plain.SamplePrioritized(uniform, 1, 0.4));
        Assert.Contains("samples uniformly", wrong.Message, StringComparison.Ordinal);
    }

    /// <summary>Sequences of T = 1 + 2 steps of 2 observation floats; sequence i holds the value i in its observations and its one state part, valid steps 2 or 3.</summary>
    private static readonly SequenceShape Shape = new(BurnIn: 1, LearningLength: 2, Overlap: 0, MinLength: 2, ["h"], [[2]]);

    private const int Width = (4 * 2) + 3 + (4 * 3); // (T + 1)·obs, T actions, rewards, terminated, truncated, mask

    private static SequenceBatchMessage Sequences(RunIdentity run, int count, int first = 0, int steps = 10, long sequence = 0)
    {
        var table = new float[count * Width];
        var lengths = new int[count];
        var state = new float[count * 2];
        for (int k = 0; k < count; k++)
        {
            int i = first + k, length = 2 + (i % 2);
            Span<float> row = table.AsSpan(k * Width, Width);
            row[..((length + 1) * 2)].Fill(i);                 // observations of the valid steps and the one after
            for (int t = 0; t < length; t++)
            {
                row[8 + t] = i % 3;                            // action
                row[11 + t] = i * 0.5f;                        // reward
                row[20 + t] = 1;                               // mask
            }

            lengths[k] = length;
            state[2 * k] = i;
            state[(2 * k) + 1] = -i;
        }

        return new SequenceBatchMessage(run, "actor-0", sequence, count, Width, table, lengths, [state], steps);
    }

    [Fact]
    public async Task ASequenceShard_GivesBackInsertedSequences_WithTheirStates_AndCountsStepsInItsLimiter()
    {
        var run = RunIdentity.Current($"sequences-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(0, run.RunId);
        await shard.Configure(Settings(run, new RateLimit(1, 1, 1000)) with { Sequences = Shape });
        Assert.Equal(new InsertReply(true, 3), await shard.InsertSequences(Sequences(run, 3, steps: 40)));

        // 7 sequences from a shard that holds 3: the limiter counts steps, so a round may ask for more sequences than
        // are held; they are drawn with replacement all the same.
        SampledSequences? sample = await shard.SampleSequences(run, 7);
        Assert.NotNull(sample);
        Assert.Equal((7, Width, 40L), (sample.Count, sample.Width, sample.Inserted));
        var seen = new HashSet<int>();
        for (int k = 0; k < sample.Count; k++)
        {
            int i = (int)sample.Table[k * Width];
            Assert.InRange(i, 0, 2);
            seen.Add(i);
            float[] expected = Sequences(run, 1, first: i).Table;
            Assert.Equal(expected, sample.Table.AsSpan(k * Width, Width).ToArray());
            Assert.Equal(2 + (i % 2), sample.Lengths[k]);
            Assert.Equal(new float[] { i, -i }, sample.States[0].AsSpan(2 * k, 2).ToArray()); // the state stays with its sequence
        }

        Assert.True(seen.Count >= 2, "7 uniform draws from 3 sequences gave one sequence only");
        ShardStatistics statistics = await shard.Statistics();
        Assert.Equal((40L, 7L, 3L), (statistics.Inserted, statistics.Sampled, statistics.Stored)); // steps in, sequences out
    }

    [Fact]
    public async Task APrioritizedSequenceShard_SamplesByTheActorsPriorities_AndTakesTheLearnersNewOnes()
    {
        // α = 1: sequences 0, 1, 2 inserted with priorities (0, 4, 0) — only sequence 1 is drawn, with its state; after
        // the learner sends 4 for slot 2 and 0 for slot 1, only sequence 2 is.
        var run = RunIdentity.Current($"prioritized-sequences-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(0, run.RunId);
        await shard.Configure(Settings(run, new RateLimit(100, 1, 100_000)) with { Sequences = Shape, Priorities = new ShardPriorities(1, 1e-9) });
        Assert.True((await shard.InsertSequences(Sequences(run, 3, steps: 30) with { Priorities = [0, 4, 0] })).Accepted);

        SampledSequences? sample = await shard.SamplePrioritizedSequences(run, 5, beta: 0.5); // more than held: drawn again
        Assert.NotNull(sample);
        Assert.Equal(5, sample.Count);
        Assert.Equal([1L, 1L, 1L, 1L, 1L], sample.Slots!);
        Assert.All(Enumerable.Range(0, 5), k => Assert.Equal(1f, sample.Table[k * Width]));
        Assert.Equal([1f, -1f, 1f, -1f], sample.States[0][..4]);
        Assert.All(sample.Weights!, w => Assert.Equal(Math.Sqrt(1e-9 / (4 + 1e-9)), w, 1e-9)); // (p_min / p_i)^β over the shard

        await shard.UpdatePriorities(run, [2, 1], [4, 0]);
        sample = await shard.SamplePrioritizedSequences(run, 3, beta: 0.5);
        Assert.Equal([2L, 2L, 2L], sample!.Slots!);
        Assert.All(Enumerable.Range(0, 3), k => Assert.Equal(2f, sample.Table[k * Width]));
        Assert.Equal(2, (await shard.Statistics()).PriorityUpdates);

        // Bad priorities are refused whole, naming the batch and the sequence; the shard keeps what it had.
        var e = await Assert.ThrowsAsync<ArgumentException>(() => shard.InsertSequences(Sequences(run, 2, sequence: 7) with { Priorities = [1, double.NaN] }));
        Assert.Contains("Batch 7 of actor actor-0: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("the priority of sequence 1 is NaN", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => shard.InsertSequences(Sequences(run, 2, sequence: 8) with { Priorities = [1] }));
        Assert.Contains("1 priorities for 2 sequences", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await shard.Statistics()).Stored);
        e = await Assert.ThrowsAsync<ArgumentException>(() => shard.UpdatePriorities(run, [0, 5], [1, 1]));
        Assert.Contains("the learner's priorities were refused", e.Message, StringComparison.Ordinal);
        Assert.Contains("slot 5 (position 1) holds no sequence", e.Message, StringComparison.Ordinal);
        sample = await shard.SamplePrioritizedSequences(run, 3, beta: 0.5);
        Assert.Equal([2L, 2L, 2L], sample!.Slots!); // slot 0's update was refused with slot 5's

        // A uniform shard of sequences refuses a prioritized sample and ignores priorities sent to it.
        var uniform = RunIdentity.Current($"uniform-sequences-{Guid.NewGuid():N}");
        IReplayShardGrain plain = _grains.GetGrain<IReplayShardGrain>(0, uniform.RunId);
        await plain.Configure(Settings(uniform, new RateLimit(100, 1, 100_000)) with { Sequences = Shape });
        Assert.True((await plain.InsertSequences(Sequences(uniform, 2) with { Priorities = [0, 1] })).Accepted);
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => plain.SamplePrioritizedSequences(uniform, 1, 0.4));
        Assert.Contains("samples uniformly", wrong.Message, StringComparison.Ordinal);
        SampledSequences? drawn = await plain.SampleSequences(uniform, 2);
        Assert.Null(drawn!.Slots);
        Assert.Null(drawn.Weights);
    }

    [Fact]
    public async Task BadSequenceBatches_AreRefusedNamingTheActorTheFieldAndTheSequence()
    {
        var run = RunIdentity.Current($"bad-sequences-{Guid.NewGuid():N}");
        IReplayShardGrain shard = _grains.GetGrain<IReplayShardGrain>(0, run.RunId);
        await shard.Configure(Settings(run) with { Sequences = Shape });
        SequenceBatchMessage good = Sequences(run, 2);
        float[] nan = [.. good.Table];
        nan[Width + 11] = float.NaN; // sequence 1's first reward
        var e = await Assert.ThrowsAsync<ArgumentException>(() => shard.InsertSequences(good with { Table = nan, Sequence = 4 }));
        Assert.Contains("Batch 4 of actor actor-0: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("rewards of sequence 1 at step 0 is NaN", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => shard.InsertSequences(good with { States = [[1f, float.PositiveInfinity, 0f, 0f]] }));
        Assert.Contains("state", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => shard.InsertSequences(good with { Count = 0, Table = [], Lengths = [], States = [[]], Steps = 0 }));
        Assert.Contains("must hold a sequence or stand for at least 1 environment step; got 0 sequences and 0 steps", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await shard.Statistics()).Stored); // nothing kept

        // Steps without a sequence (an episode's first steps) count in the limiter and store nothing.
        Assert.True((await shard.InsertSequences(good with { Count = 0, Table = [], Lengths = [], States = [[]], Steps = 64 })).Accepted);
        Assert.Equal((64L, 0L), ((await shard.Statistics()).Inserted, (await shard.Statistics()).Stored));

        // A shard of transitions refuses sequences, and one of sequences refuses transitions.
        var dqn = RunIdentity.Current($"kinds-{Guid.NewGuid():N}");
        IReplayShardGrain transitions = _grains.GetGrain<IReplayShardGrain>(0, dqn.RunId);
        await transitions.Configure(Settings(dqn));
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => transitions.InsertSequences(Sequences(dqn, 1)));
        Assert.Contains("holds transitions (DQN), not sequences", wrong.Message, StringComparison.Ordinal);
        wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => shard.Insert(Batch(run, 1)));
        Assert.Contains("holds sequences (R2D2), not transitions", wrong.Message, StringComparison.Ordinal);
    }

    private static Func<IReplayShardGrain, int, Task<InsertReply>> Insert(TransitionBatchMessage batch) => (shard, waitMs) => shard.Insert(batch, waitMs);

    private static void AssertLayout(LearnerShards view, int[] live, int[] share, int rounds)
    {
        Assert.Equal(live, view.Layout.Live);
        Assert.Equal(share, view.Layout.Share);
        Assert.Equal(rounds, view.Layout.Rounds);
    }

    /// <summary>A one-silo cluster with the run's grains registered as every silo registers them.</summary>
    internal static InProcessTestCluster NewCluster()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddRunGrains());
        return builder.Build();
    }
}

/// <summary>Where the run's grains are placed over several silos.</summary>
public sealed class ShardPlacementTests
{
    [Fact]
    public async Task Shards_AreSpreadOverTheSilosInAddressOrder_TheCoordinatorOnTheFirst()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) => silo.AddRunGrains());
        await using InProcessTestCluster cluster = builder.Build();
        await cluster.DeployAsync();
        await cluster.WaitForLivenessToStabilizeAsync();
        string[] silos = [.. cluster.Silos.Select(s => s.SiloAddress).OrderBy(a => a.Endpoint.Address.ToString(), StringComparer.Ordinal).ThenBy(a => a.Endpoint.Port).Select(a => a.ToString())];
        var run = RunIdentity.Current($"placed-{Guid.NewGuid():N}");
        var placed = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            IReplayShardGrain shard = cluster.Client.GetGrain<IReplayShardGrain>(i, run.RunId);
            placed.Add((await shard.Statistics()).Silo);
        }

        Assert.Equal([silos[0], silos[1], silos[2], silos[0], silos[1], silos[2]], placed);
    }
}
