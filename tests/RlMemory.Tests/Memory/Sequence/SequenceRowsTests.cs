using RlMemory.Environments.Vector;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>
/// Sequences as host rows (distributed R2D2): a <see cref="SequenceCollector"/> cuts exactly what
/// <see cref="SequenceReplayBuffer.Add"/> stores, <see cref="SequenceReplayBuffer.AddRows"/> stores it slot for slot,
/// <see cref="SequenceReplayBuffer.SampleRows"/> and <see cref="SequenceReplayBuffer.ToBatch"/> give what
/// <see cref="SequenceReplayBuffer.Sample"/> gives, and bad rows are refused with the buffer unchanged.
/// </summary>
public sealed class SequenceRowsTests
{
    /// <summary>Two parts of different sizes, so that a mix-up of parts or row sizes shows.</summary>
    private static readonly RecurrentStateSpec Spec = new([new("h", [2], ScalarType.Float32), new("c", [3], ScalarType.Float32)]);

    private static SequenceReplayOptions Options(int capacity, int actionDimension = 0, bool prioritized = false, ulong seed = 7, int numEnvs = 4, int minLength = 2) => new()
    {
        Capacity = capacity,
        BurnIn = 3,
        LearningLength = 4,
        Overlap = 3,
        ObservationShape = [5],
        Action = actionDimension == 0 ? ActionSpec.Discrete : ActionSpec.Continuous(actionDimension),
        NumEnvs = numEnvs,
        StateSpec = Spec,
        MinSequenceLength = minLength,
        Prioritized = prioritized,
        Seed = seed,
    };

    // ---------------------------------------------------------------- collector ≡ buffer

    [Theory]
    [InlineData(1000, 0, false, false)]
    [InlineData(1000, 2, false, false)]
    [InlineData(5, 0, false, false)]
    [InlineData(7, 2, true, false)]
    [InlineData(6, 0, false, true)]
    public void CollectorRowsAddedToABuffer_EqualWhatAddStores_SlotBySlot(int capacity, int actionDimension, bool prioritized, bool devicePath)
    {
        SequenceReplayOptions options = Options(capacity, actionDimension, prioritized);
        using var direct = new SequenceReplayBuffer(options);
        using var shipped = new SequenceReplayBuffer(options, forceDevicePath: devicePath);
        using var collector = new SequenceCollector(options);
        var feeder = new StepFeeder(options, seed: 11);
        var rng = new Random(5);
        int taken = 0;
        int chunks = 0;
        int largest = 0;
        int drains = 0;
        int bigDrains = 0;
        var layout = new SequenceLayout(options);
        var shippedRecords = new List<SequenceRecord>();

        void Ship(int count)
        {
            SequenceRows rows = collector.Take(count);
            Assert.Equal(count, rows.Count);
            Assert.Equal(count, rows.Lengths.Length);
            shippedRecords.AddRange(Enumerable.Range(0, count).Select(b => RowRecord(rows, b, layout)));
            shipped.AddRows(rows);
            taken += count;
            chunks++;
            largest = Math.Max(largest, count);
        }

        for (int g = 0; g < 400; g++)
        {
            if (g == 170)
            {
                // An out-of-band reset in the middle: both flush their open sequences.
                feeder.Reset(direct, collector);
                Assert.Equal(direct.NextStepBeginsEpisode.ToArray(), collector.NextStepBeginsEpisode.ToArray());
            }

            feeder.Step(direct, collector);
            Assert.Equal(direct.NextStepBeginsEpisode.ToArray(), collector.NextStepBeginsEpisode.ToArray());

            // Chunks of varying sizes, sometimes after the queue has grown past the capacity; when the queue is
            // drained, both buffers hold the same.
            double u = rng.NextDouble();
            if (collector.Count > 0 && u < 0.12)
            {
                Ship(rng.Next(1, collector.Count + 1));
            }
            else if (collector.Count > 0 && u < 0.16)
            {
                bigDrains += collector.Count > options.Capacity ? 1 : 0;
                Ship(collector.Count);
                AssertSameContents(direct, shipped);
                drains++;
            }
        }

        feeder.Reset(direct, collector);
        while (collector.Count > 0)
        {
            Ship(rng.Next(1, collector.Count + 1));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => collector.Take(1));
        AssertSameContents(direct, shipped);

        // The stream covered what it should: partial and full sequences, both kinds of episode end, several chunks,
        // more sequences than the capacity (and, for small capacities, a chunk larger than it).
        Assert.True(chunks >= 5, $"{chunks} chunks");
        Assert.True(drains >= 5, $"{drains} drains");
        Assert.True(taken > options.Capacity || options.Capacity == 1000, $"{taken} sequences");
        Assert.True(taken >= 60, $"{taken} sequences");
        if (options.Capacity < 10)
        {
            Assert.True(largest > options.Capacity, $"largest chunk {largest}");
            Assert.True(bigDrains >= 1, $"{bigDrains} drains of more than the capacity");
        }

        Assert.Contains(shippedRecords, s => s.Length < options.SequenceLength);
        Assert.Contains(shippedRecords, s => s.Length == options.SequenceLength);
        Assert.Contains(shippedRecords, s => s.Terminated.Sum() > 0);
        Assert.Contains(shippedRecords, s => s.Truncated.Sum() > 0);
        Assert.Contains(shippedRecords, s => s.Length < options.SequenceLength && s.Terminated.Sum() == 0 && s.Truncated.Sum() == 0);   // flushed
        Assert.DoesNotContain(shippedRecords, s => s.Length < options.MinSequenceLength);
        Assert.True(feeder.PseudoSteps > 10, $"{feeder.PseudoSteps} pseudo-steps");

        if (prioritized)
        {
            // Shipped sequences get the highest priority so far, as stored ones do.
            Assert.Equal(direct.Sampler!.ExportState().Priorities, shipped.Sampler!.ExportState().Priorities);
        }
    }

    [Fact]
    public void Collector_RefusesWhatTheBufferRefuses_WithTheSameMessage_AndStaysUnchanged()
    {
        SequenceReplayOptions options = Options(capacity: 50, numEnvs: 2);
        using var buffer = new SequenceReplayBuffer(options);
        using var collector = new SequenceCollector(options);
        var feeder = new StepFeeder(options, seed: 3);
        for (int g = 0; g < 12; g++)
        {
            feeder.Step(buffer, collector);
        }

        int queued = collector.Count;
        bool[] begins = collector.NextStepBeginsEpisode.ToArray();
        float[] obs = new float[2 * 5];
        float[] next = new float[2 * 5];
        double[] rewards = [0.5, double.NaN];
        int[] actions = [1, 2];
        bool[] flags = [false, false];
        using var state = new RecurrentState([("h", zeros(2, 2)), ("c", zeros(2, 3))]);

        // The step is refused only where env 1's entry is real; feed one until it is.
        while (buffer.Cutter.PreviousEnded[1])
        {
            feeder.Step(buffer, collector);
            queued = collector.Count;
            begins = collector.NextStepBeginsEpisode.ToArray();
        }

        ArgumentException fromBuffer = Assert.Throws<ArgumentException>(() => buffer.Add(new VectorStep<int>(obs, actions, rewards, flags, flags, next), state));
        ArgumentException fromCollector = Assert.Throws<ArgumentException>(() => collector.Add(new VectorStep<int>(obs, actions, rewards, flags, flags, next), state));
        Assert.Equal(fromBuffer.ParamName, fromCollector.ParamName);
        Assert.StartsWith(collector.Name, fromCollector.Message);
        Assert.Equal(fromBuffer.Message[buffer.Name.Length..], fromCollector.Message[collector.Name.Length..]);
        Assert.Contains("rewards[1] (env 1) is NaN", fromCollector.Message);

        using var wrong = new RecurrentState([("h", zeros(2, 2))]);
        fromBuffer = Assert.Throws<ArgumentException>(() => buffer.Add(new VectorStep<int>(obs, actions, [0.5, 0.5], flags, flags, next), wrong));
        fromCollector = Assert.Throws<ArgumentException>(() => collector.Add(new VectorStep<int>(obs, actions, [0.5, 0.5], flags, flags, next), wrong));
        Assert.Equal(fromBuffer.Message[buffer.Name.Length..], fromCollector.Message[collector.Name.Length..]);

        Assert.Throws<ArgumentException>(() => collector.Add(new VectorStep<float>(obs, [1f, 2f], [0.5, 0.5], flags, flags, next), state));
        Assert.Equal(queued, collector.Count);
        Assert.Equal(begins, collector.NextStepBeginsEpisode.ToArray());
    }

    [Fact]
    public void Collector_RefusesByteObservationsAndNonFloat32States_AndTakeRefusesOutOfRangeCounts()
    {
        ArgumentException bytes = Assert.Throws<ArgumentException>(() => new SequenceCollector(Options(10) with { ObservationStorage = ObservationStorage.UInt8 }));
        Assert.Contains("ObservationStorage is UInt8", bytes.Message);
        Assert.Contains("float32", bytes.Message);

        RecurrentStateSpec float64 = new([new("h", [2], ScalarType.Float32), new("c", [3], ScalarType.Float64)]);
        ArgumentException states = Assert.Throws<ArgumentException>(() => new SequenceCollector(Options(10) with { StateSpec = float64 }));
        Assert.Contains("c [3] Float64", states.Message);
        Assert.Contains("not float32", states.Message);

        SequenceReplayOptions options = Options(10, numEnvs: 2);
        using var collector = new SequenceCollector(options);
        Assert.Equal(0, collector.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => collector.Take(1));
        var feeder = new StepFeeder(options, seed: 4);
        while (collector.Count < 3)
        {
            feeder.Step(null, collector);
        }

        int count = collector.Count;
        ArgumentOutOfRangeException zero = Assert.Throws<ArgumentOutOfRangeException>(() => collector.Take(0));
        Assert.Contains(collector.Name, zero.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => collector.Take(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => collector.Take(count + 1));
        Assert.Equal(count, collector.Count);

        SequenceRows rows = collector.Take(2);
        Assert.Equal(count - 2, collector.Count);
        var layout = new SequenceLayout(options);
        Assert.Equal(layout.Width, rows.Width);
        Assert.Equal(2 * layout.Width, rows.Table.Length);
        Assert.Equal(new[] { 4, 6 }, rows.States.Select(s => s.Length));
        Assert.Equal(4L * ((2 * layout.Width) + 2 + 4 + 6), rows.PayloadBytes);
    }

    // ---------------------------------------------------------------- sampling rows

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)]
    [InlineData(0, true)]
    public void SampleRows_ReturnsStoredSequences_AndToBatchCutsThemAsSampleDoes(int actionDimension, bool devicePath)
    {
        SequenceReplayOptions options = Options(capacity: 40, actionDimension, seed: 21);
        using var sampled = new SequenceReplayBuffer(options, forceDevicePath: devicePath);
        using var twin = new SequenceReplayBuffer(options);
        var feeder = new StepFeeder(options, seed: 8);
        for (int g = 0; g < 150; g++)
        {
            feeder.StepTwins(sampled, twin);
        }

        Assert.Equal(40, sampled.Count);
        var stored = sampled.Storage.Enumerate().Select(s => SequenceRecord.From(s).Key).ToHashSet();
        Assert.Equal(40, stored.Count);   // the states make every sequence distinct

        using var scope = NewDisposeScope();
        SequenceRows rows = sampled.SampleRows(24);
        SequenceBatch fromRows = SequenceReplayBuffer.ToBatch(rows, options);
        SequenceBatch batch = twin.Sample(24);
        Assert.Equal(24, rows.Count);
        Assert.Equal(24, fromRows.Size);
        var layout = new SequenceLayout(options);
        for (int b = 0; b < rows.Count; b++)
        {
            string row = RowRecord(rows, b, layout).Key;
            Assert.Contains(row, stored);
            Assert.Equal(row, BatchRecord(fromRows, b).Key);

            // The same generator draws the same slots as Sample on a buffer with the same seed and contents.
            Assert.Equal(row, BatchRecord(batch, b).Key);
        }

        AssertSameLayout(batch, fromRows);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (long)i), SequenceAssert.Longs(fromRows.Indices));
        Assert.Null(fromRows.Weights);
        Assert.Equal(options.StateSpec, fromRows.InitialState.Spec);
    }

    [Fact]
    public void SampleRows_IsReproducibleForTheSameSeed()
    {
        string[] Draw(ulong seed)
        {
            SequenceReplayOptions options = Options(capacity: 30, seed: seed);
            using var buffer = new SequenceReplayBuffer(options);
            var feeder = new StepFeeder(options, seed: 2);
            for (int g = 0; g < 100; g++)
            {
                feeder.Step(buffer, null);
            }

            var layout = new SequenceLayout(options);
            var keys = new List<string>();
            for (int i = 0; i < 3; i++)
            {
                SequenceRows rows = buffer.SampleRows(10);
                keys.AddRange(Enumerable.Range(0, rows.Count).Select(b => RowRecord(rows, b, layout).Key));
            }

            return [.. keys];
        }

        string[] first = Draw(seed: 4);
        Assert.Equal(first, Draw(seed: 4));
        Assert.NotEqual(first, Draw(seed: 5));
    }

    [Fact]
    public void SampleRows_RefusesWhatSampleRefuses_AndPrioritizedBuffers_AndSamplePrioritizedRowsRefusesUniformOnes()
    {
        SequenceReplayOptions options = Options(capacity: 20, numEnvs: 2);
        using var buffer = new SequenceReplayBuffer(options);
        Assert.Contains("empty buffer", Assert.Throws<InvalidOperationException>(() => buffer.SampleRows(1)).Message);
        var feeder = new StepFeeder(options, seed: 1);
        while (buffer.Count < 3)
        {
            feeder.Step(buffer, null);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.SampleRows(0));
        Assert.Contains($"the buffer holds {buffer.Count}", Assert.Throws<InvalidOperationException>(() => buffer.SampleRows(buffer.Count + 1)).Message);

        using var prioritized = new SequenceReplayBuffer(options with { Prioritized = true });
        Assert.Contains("use SamplePrioritizedRows", Assert.Throws<InvalidOperationException>(() => prioritized.SampleRows(1)).Message);
        Assert.Contains("the buffer samples uniformly", Assert.Throws<InvalidOperationException>(() => buffer.SamplePrioritizedRows(1, 0.4)).Message);
        Assert.Contains("samples uniformly and keeps no priorities", Assert.Throws<InvalidOperationException>(() => buffer.UpdatePriorities([0], [1.0])).Message);
    }

    // ---------------------------------------------------------------- prioritized rows (R2D2's actors' priorities)

    /// <summary>n complete sequences cut by a collector from random steps.</summary>
    private static SequenceRows CollectRows(SequenceReplayOptions options, int n)
    {
        using var collector = new SequenceCollector(options);
        var feeder = new StepFeeder(options, seed: 3);
        while (collector.Count < n)
        {
            feeder.Step(null, collector);
        }

        return collector.Take(n);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RowsAddedWithPriorities_AreDrawnInProportionToThem_WithTheirSlotsAndImportanceWeights(bool devicePath)
    {
        // α = 0.6, ε = 0.01: sequence s of 6 stored with priority s is drawn with probability (s + ε)^α / Σ_k (k + ε)^α
        // and weighs ((0 + ε)^α / (s + ε)^α)^β (the smallest priority weighs 1).
        SequenceReplayOptions options = Options(capacity: 20, numEnvs: 2, prioritized: true) with { Priority = new PriorityOptions { Alpha = 0.6, Epsilon = 0.01 } };
        using var buffer = new SequenceReplayBuffer(options, forceDevicePath: devicePath); // the managed sampler, or the device sampler other devices use
        SequenceRows rows = CollectRows(options, 6);
        buffer.AddRows(rows, [0, 1, 2, 3, 4, 5]);
        var layout = new SequenceLayout(options);
        double[] p = [.. Enumerable.Range(0, 6).Select(s => Math.Pow(s + 0.01, 0.6))];
        double total = p.Sum();
        var counts = new int[6];
        const int Rounds = 5000; // at most Count sequences per draw, as Sample
        for (int round = 0; round < Rounds; round++)
        {
            var (drawn, slots, weights) = buffer.SamplePrioritizedRows(6, beta: 0.4);
            Assert.Equal((6, 6, 6), (drawn.Count, slots.Length, weights.Length));
            for (int k = 0; k < 6; k++)
            {
                int slot = (int)slots[k];
                counts[slot]++;
                Assert.Equal(Math.Pow(p[0] / p[slot], 0.4), weights[k], 5);
                if (round < 10)
                {
                    Assert.Equal(RowRecord(rows, slot, layout).Key, RowRecord(drawn, k, layout).Key); // the row stored at that slot, with its state
                }
            }
        }

        for (int s = 0; s < 6; s++)
        {
            Assert.InRange(counts[s] / (6.0 * Rounds), (p[s] / total) - 0.01, (p[s] / total) + 0.01);
        }

        // The learner's new priorities (η-mixes computed elsewhere) replace them: α-powered as UpdatePriorities does.
        buffer.UpdatePriorities([5, 0], [0.0, 5.0]);
        Array.Clear(counts);
        for (int round = 0; round < 1000; round++)
        {
            foreach (long slot in buffer.SamplePrioritizedRows(6, beta: 0.4).Slots)
            {
                counts[slot]++;
            }
        }

        Assert.InRange(counts[0] / 6000.0, (p[5] / total) - 0.02, (p[5] / total) + 0.02);
        Assert.InRange(counts[5] / 6000.0, (p[0] / total) - 0.01, (p[0] / total) + 0.01);

        // A batch with the sample's weights carries them.
        var (batchRows, _, batchWeights) = buffer.SamplePrioritizedRows(4, beta: 1);
        using SequenceBatch batch = SequenceReplayBuffer.ToBatch(batchRows, options, batchWeights);
        Assert.Equal(batchWeights, batch.Weights!.data<float>().ToArray());
        Assert.Contains("3 importance weights for 4 sequences", Assert.Throws<ArgumentException>(() => SequenceReplayBuffer.ToBatch(batchRows, options, [1f, 1f, 1f])).Message);
    }

    [Fact]
    public void RowsBeyondTheCapacity_KeepTheLastPriorities_AndBadPrioritiesAreRefusedWithNothingChanged()
    {
        // Capacity 4, six rows with priorities (9, 9, 0, 0, 0, 5), α = 1: rows 2–5 are kept (in slots 2, 3, 0, 1) and
        // only row 5 — slot 1 — has a priority above ε.
        SequenceReplayOptions options = Options(capacity: 4, numEnvs: 2, prioritized: true) with { Priority = new PriorityOptions { Alpha = 1, Epsilon = 1e-9 } };
        using var buffer = new SequenceReplayBuffer(options);
        SequenceRows rows = CollectRows(options, 6);
        buffer.AddRows(rows, [9, 9, 0, 0, 0, 5]);
        var layout = new SequenceLayout(options);
        var (drawn, slots, _) = buffer.SamplePrioritizedRows(4, beta: 0);
        Assert.All(slots, s => Assert.Equal(1L, s));
        Assert.Equal(RowRecord(rows, 5, layout).Key, RowRecord(drawn, 0, layout).Key);

        SequenceRows two = rows.Slice(0, 2);
        Assert.Contains("the priority of sequence 1 is NaN", Assert.Throws<ArgumentException>(() => buffer.AddRows(two, [1, double.NaN])).Message);
        Assert.Contains("the priority of sequence 0 is -1", Assert.Throws<ArgumentException>(() => buffer.AddRows(two, [-1, 1])).Message);
        Assert.Contains("1 priorities for 2 sequences", Assert.Throws<ArgumentException>(() => buffer.AddRows(two, [1])).Message);
        Assert.Contains("slot 4 (position 1) holds no sequence", Assert.Throws<ArgumentOutOfRangeException>(() => buffer.UpdatePriorities([0, 4], [7.0, 7.0])).Message);
        Assert.Contains("the priority at position 0 is +infinity", Assert.Throws<ArgumentException>(() => buffer.UpdatePriorities([0], [double.PositiveInfinity])).Message);
        Assert.Contains("2 slots but 1 priorities", Assert.Throws<ArgumentException>(() => buffer.UpdatePriorities([0, 1], [1.0])).Message);
        (drawn, slots, _) = buffer.SamplePrioritizedRows(4, beta: 0);
        Assert.All(slots, s => Assert.Equal(1L, s)); // nothing changed: neither rows nor priorities
        Assert.Equal(RowRecord(rows, 5, layout).Key, RowRecord(drawn, 0, layout).Key);

        // A uniform buffer stores the rows and ignores their priorities.
        using var uniform = new SequenceReplayBuffer(options with { Prioritized = false });
        uniform.AddRows(two, [3, 0]);
        Assert.Equal(2, uniform.Count);
    }

    // ---------------------------------------------------------------- bad rows

    public static TheoryData<string, string> BadRows() => new()
    {
        { "count", "rows.Count is 0" },
        { "width", "rows.Width is 76, but a sequence of this buffer takes 75 floats" },
        { "table", "rows.Table holds 224 floats; 3 sequences × width 75 take 225" },
        { "lengths-array", "rows.Lengths holds 2 values; it needs one per sequence (3)" },
        { "length-0", "rows.Lengths[1] (sequence 1) is 0; valid lengths lie in [2, 7]" },
        { "length-1", "rows.Lengths[1] (sequence 1) is 1; valid lengths lie in [2, 7]" },
        { "length-8", "rows.Lengths[1] (sequence 1) is 8; valid lengths lie in [2, 7]" },
        { "mask", "mask of sequence 1 at step 0 is 0; with length" },
        { "mask-2", "mask of sequence 1 at step 0 is 2; with length" },
        { "reward-nan", "rewards of sequence 1 at step 1 is NaN; rewards must be finite" },
        { "observation-next", "observations of sequence 1 at step" },
        { "action-negative", "actions of sequence 1 at step 0 is -1; discrete actions are integers in [0, 16777216]" },
        { "action-fraction", "actions of sequence 1 at step 0 is 1.5; discrete actions are integers" },
        { "terminated-2", "terminated of sequence 1 at step 0 is 2; flags are 0 or 1" },
        { "truncated-half", "truncated of sequence 1 at step 0 is 0.5; flags are 0 or 1" },
        { "padding", "at padding step" },
        { "state-nan", "rows.States[1] (state part 'c') of sequence 1 (element 2) is NaN; recurrent states must be finite" },
        { "state-parts", "rows.States has 1 parts, but the buffer's recurrent state {h [2] Float32, c [3] Float32} has 2" },
        { "state-size", "rows.States[0] (state part 'h') holds 5 floats; 3 sequences × 2 take 6" },
        { "state-null", "rows.States[1] (state part 'c') is null" },
    };

    [Theory]
    [MemberData(nameof(BadRows))]
    public void AddRows_RefusesBadRows_NamingTheField_AndLeavesTheBufferUnchanged(string kind, string message)
    {
        SequenceReplayOptions options = Options(capacity: 25, numEnvs: 2, prioritized: true);
        var layout = new SequenceLayout(options);
        using var target = new SequenceReplayBuffer(options);
        using var collector = new SequenceCollector(options);
        var feeder = new StepFeeder(options, seed: 9);
        // Three valid rows; sequence 1, the one spoiled, with at least 3 valid steps (so that it can be shortened).
        SequenceRows good;
        do
        {
            while (collector.Count < 3)
            {
                feeder.Step(target, collector);
            }

            good = collector.Take(3);
        }
        while (good.Lengths[1] < 3);

        Assert.True(target.Count > 0);
        string before = SequenceAssert.Fingerprint(target);
        int count = target.Count;
        int nextSlot = target.Storage.NextSlot;

        SequenceRows bad = Spoil(Copy(good), kind, layout);
        ArgumentException e = Assert.Throws<ArgumentException>(() => target.AddRows(bad));
        Assert.Equal("rows", e.ParamName);
        Assert.Contains(target.Name, e.Message);
        Assert.Contains("AddRows", e.Message);
        Assert.Contains(message, e.Message);
        Assert.Equal(count, target.Count);
        Assert.Equal(nextSlot, target.Storage.NextSlot);
        Assert.Equal(before, SequenceAssert.Fingerprint(target));

        // The unspoiled rows go in.
        target.AddRows(good);
        Assert.Equal(count + 3, target.Count);
    }

    private static SequenceRows Spoil(SequenceRows r, string kind, SequenceLayout layout)
    {
        int w = layout.Width;
        int row = w;   // sequence 1
        switch (kind)
        {
            case "count":
                return r with { Count = 0 };
            case "width":
                return r with { Width = w + 1 };
            case "table":
                return r with { Table = r.Table[..^1] };
            case "lengths-array":
                return r with { Lengths = r.Lengths[..2] };
            case "length-0":
                r.Lengths[1] = 0;
                break;
            case "length-1":
                r.Lengths[1] = 1;
                break;
            case "length-8":
                r.Lengths[1] = 8;
                break;
            case "mask":
                r.Table[row + layout.MaskColumn] = 0;
                break;
            case "mask-2":
                r.Table[row + layout.MaskColumn] = 2;
                break;
            case "reward-nan":
                r.Table[row + layout.RewardColumn + 1] = float.NaN;
                break;
            case "observation-next":
                // The next-observation slot after the last valid step is checked too.
                r.Table[row + (r.Lengths[1] * layout.ObservationSize) + 1] = float.PositiveInfinity;
                break;
            case "action-negative":
                r.Table[row + layout.ActionColumn] = -1;
                break;
            case "action-fraction":
                r.Table[row + layout.ActionColumn] = 1.5f;
                break;
            case "terminated-2":
                r.Table[row + layout.TerminatedColumn] = 2;
                break;
            case "truncated-half":
                r.Table[row + layout.TruncatedColumn] = 0.5f;
                break;
            case "padding":
                // Shortened by one step with a consistent mask: the old last step's values are left as padding.
                int v = r.Lengths[1];
                r.Lengths[1] = v - 1;
                r.Table[row + layout.MaskColumn + v - 1] = 0;
                break;
            case "state-nan":
                r.States[1][(1 * 3) + 2] = float.NaN;
                break;
            case "state-parts":
                return r with { States = [r.States[0]] };
            case "state-size":
                return r with { States = [r.States[0][..5], r.States[1]] };
            case "state-null":
                return r with { States = [r.States[0], null!] };
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        return r;
    }

    [Fact]
    public void AddRows_AndSampleRows_RefuseBuffersOfOtherStorage()
    {
        SequenceReplayOptions options = Options(capacity: 10, numEnvs: 2);
        using var collector = new SequenceCollector(options);
        var feeder = new StepFeeder(options, seed: 6);
        while (collector.Count < 1)
        {
            feeder.Step(null, collector);
        }

        SequenceRows rows = collector.Take(1);
        using var bytes = new SequenceReplayBuffer(options with { ObservationStorage = ObservationStorage.UInt8 });
        Assert.Contains("ObservationStorage is UInt8", Assert.Throws<InvalidOperationException>(() => bytes.AddRows(rows)).Message);
        using var float64 = new SequenceReplayBuffer(options with { StateSpec = new([new("h", [2], ScalarType.Float64), new("c", [3], ScalarType.Float32)]) });
        Assert.Contains("h [2] Float64", Assert.Throws<InvalidOperationException>(() => float64.AddRows(rows)).Message);
        Assert.Throws<ArgumentException>(() => SequenceReplayBuffer.ToBatch(rows, options with { ObservationStorage = ObservationStorage.UInt8 }));
        Assert.Contains("rows.Width", Assert.Throws<ArgumentException>(() => SequenceReplayBuffer.ToBatch(rows, options with { BurnIn = 2 })).Message);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Both buffers hold the same sequences in the same slots, with the same cursors.</summary>
    private static void AssertSameContents(SequenceReplayBuffer expected, SequenceReplayBuffer actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Storage.NextSlot, actual.Storage.NextSlot);
        Assert.Equal(SequenceAssert.StoredKeys(expected), SequenceAssert.StoredKeys(actual));
    }

    private static SequenceRows Copy(SequenceRows r) => new(r.Count, r.Width, [.. r.Table], [.. r.Lengths], [.. r.States.Select(s => s.ToArray())]);

    /// <summary>Sequence <paramref name="b"/> of host rows, as the tests compare sequences.</summary>
    private static SequenceRecord RowRecord(SequenceRows rows, int b, SequenceLayout layout)
    {
        int t = layout.Length;
        ReadOnlySpan<float> row = rows.Table.AsSpan(b * rows.Width, rows.Width);
        double[][] state = [.. rows.States.Select(s =>
        {
            int size = s.Length / rows.Count;
            return s.AsSpan(b * size, size).ToArray().Select(x => (double)x).ToArray();
        })];
        return new SequenceRecord(
            rows.Lengths[b],
            row[..layout.ObservationValues].ToArray(),
            row.Slice(layout.ActionColumn, t * layout.ActionDimension).ToArray(),
            row.Slice(layout.RewardColumn, t).ToArray(),
            row.Slice(layout.TerminatedColumn, t).ToArray(),
            row.Slice(layout.TruncatedColumn, t).ToArray(),
            row.Slice(layout.MaskColumn, t).ToArray(),
            state);
    }

    /// <summary>Sequence <paramref name="b"/> of a batch, as the tests compare sequences.</summary>
    private static SequenceRecord BatchRecord(SequenceBatch batch, int b)
    {
        using var scope = NewDisposeScope();
        float[] Row(Tensor t) => SequenceAssert.Floats(t[b]);
        float[] mask = Row(batch.Mask);
        return new SequenceRecord(
            (int)mask.Sum(),
            Row(batch.Observations),
            Row(batch.Actions),
            Row(batch.Rewards),
            Row(batch.Terminated),
            Row(batch.Truncated),
            mask,
            [.. batch.InitialState.Tensors.Select(p => Row(p).Select(x => (double)x).ToArray())]);
    }

    private static void AssertSameLayout(SequenceBatch expected, SequenceBatch actual)
    {
        Assert.Equal((expected.BurnIn, expected.LearningLength, expected.Size), (actual.BurnIn, actual.LearningLength, actual.Size));
        foreach ((Tensor e, Tensor a) in new[]
        {
            (expected.Observations, actual.Observations),
            (expected.Actions, actual.Actions),
            (expected.Rewards, actual.Rewards),
            (expected.Terminated, actual.Terminated),
            (expected.Truncated, actual.Truncated),
            (expected.Mask, actual.Mask),
            (expected.Indices, actual.Indices),
        }.Concat(expected.InitialState.Tensors.Zip(actual.InitialState.Tensors)))
        {
            Assert.Equal(e.shape, a.shape);
            Assert.Equal(e.dtype, a.dtype);
            Assert.Equal(e.device_type, a.device_type);
        }
    }

    /// <summary>
    /// Drives a <see cref="FakeVectorEnv"/> (random episode ends, NEXT_STEP autoreset) into a buffer and a collector
    /// with the same steps, passing a recurrent state of random finite values each step. Entries of autoreset
    /// pseudo-steps are replaced by garbage (NaN observations, rewards and states, out-of-range actions), which both
    /// must skip.
    /// </summary>
    private sealed class StepFeeder
    {
        private readonly FakeVectorEnv _env;
        private readonly RecurrentStateSpec _spec;
        private readonly Random _rng;
        private readonly bool[] _previousEnded;
        private readonly float[] _obs;
        private readonly float[] _next;
        private readonly double[] _rewards;
        private readonly int[] _discrete;
        private readonly float[] _continuous;
        private readonly bool[] _terminated;
        private readonly bool[] _truncated;

        public StepFeeder(SequenceReplayOptions options, int seed)
        {
            int d = options.Action.IsDiscrete ? 0 : options.Action.Dimension;
            _env = new FakeVectorEnv(options.NumEnvs, options.ObservationSize, seed, pTerminate: 0.07, pTruncate: 0.05, actionDimension: d);
            _spec = options.StateSpec;
            _rng = new Random(seed + 1000);
            int n = options.NumEnvs;
            _previousEnded = new bool[n];
            _obs = new float[n * options.ObservationSize];
            _next = new float[_obs.Length];
            _rewards = new double[n];
            _discrete = new int[n];
            _continuous = new float[_env.ContinuousActions.Length];
            _terminated = new bool[n];
            _truncated = new bool[n];
        }

        /// <summary>Autoreset pseudo-steps fed so far.</summary>
        public int PseudoSteps { get; private set; }

        public void Step(SequenceReplayBuffer? buffer, SequenceCollector? collector) => Step(buffer, null, collector);

        public void StepTwins(SequenceReplayBuffer buffer, SequenceReplayBuffer other) => Step(buffer, other, null);

        public void Reset(SequenceReplayBuffer buffer, SequenceCollector collector)
        {
            _env.Reset();
            buffer.BeginNewEpisodes();
            collector.BeginNewEpisodes();
            Array.Clear(_previousEnded);
        }

        private void Step(SequenceReplayBuffer? buffer, SequenceReplayBuffer? other, SequenceCollector? collector)
        {
            int n = _env.NumEnvs;
            int os = _env.ObservationSize;
            int d = Math.Max(1, _env.ActionDimension);
            _env.Observations.CopyTo(_obs, 0);
            _env.DrawActions();
            _env.Step();
            _env.Observations.CopyTo(_next, 0);
            _env.Rewards.CopyTo(_rewards, 0);
            _env.DiscreteActions.CopyTo(_discrete, 0);
            _env.ContinuousActions.CopyTo(_continuous, 0);
            _env.Terminations.CopyTo(_terminated, 0);
            _env.Truncations.CopyTo(_truncated, 0);

            var parts = new List<(string, Tensor)>();
            foreach (RecurrentStatePart part in _spec.Parts)
            {
                int size = (int)part.RowSize;
                var values = new float[n * size];
                for (int e = 0; e < n; e++)
                {
                    for (int i = 0; i < size; i++)
                    {
                        values[(e * size) + i] = _previousEnded[e] ? float.NaN : _rng.Next(-4000, 4000) / 8f;
                    }
                }

                parts.Add((part.Name, torch.tensor(values, [n, .. part.Shape])));
            }

            for (int e = 0; e < n; e++)
            {
                if (_previousEnded[e])
                {
                    PseudoSteps++;
                    _obs.AsSpan(e * os, os).Fill(float.NaN);
                    _next.AsSpan(e * os, os).Fill(float.NaN);
                    _rewards[e] = double.NaN;
                    _discrete[e] = int.MaxValue;
                    _continuous.AsSpan(e * d, d).Fill(float.PositiveInfinity);
                }
            }

            using var state = new RecurrentState(parts);
            if (_env.ActionDimension == 0)
            {
                var step = new VectorStep<int>(_obs, _discrete, _rewards, _terminated, _truncated, _next);
                buffer?.Add(step, state);
                other?.Add(step, state);
                collector?.Add(step, state);
            }
            else
            {
                var step = new VectorStep<float>(_obs, _continuous, _rewards, _terminated, _truncated, _next);
                buffer?.Add(step, state);
                other?.Add(step, state);
                collector?.Add(step, state);
            }

            for (int e = 0; e < n; e++)
            {
                _previousEnded[e] = !_previousEnded[e] && (_terminated[e] || _truncated[e]);
            }
        }
    }
}
