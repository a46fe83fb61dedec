using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

public sealed class ReplayBufferTests
{
    private static ReplayBufferOptions Options(int capacity = 64, int numEnvs = 2, bool memorySaving = false, bool bytes = false, ActionSpec? action = null, int[]? shape = null) => new()
    {
        Capacity = capacity,
        ObservationShape = shape ?? [4],
        ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        Action = action ?? ActionSpec.Discrete,
        NumEnvs = numEnvs,
        Gamma = 0.9,
        MemorySaving = memorySaving,
        Seed = 7,
    };

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    public void Sample_ReturnsTensorsOfTheDocumentedShapesAndTypes(bool memorySaving, bool bytes, bool continuous)
    {
        using var buffer = new ReplayBuffer(Options(capacity: 60, numEnvs: 3, memorySaving, bytes, continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete, shape: [2, 3]));
        var driver = new StepDriver(new FakeVectorEnv(3, 6, seed: 1, actionDimension: continuous ? 2 : 0), 0.9f);
        for (int t = 0; t < 30; t++)
        {
            driver.Step(buffer);
        }

        using TransitionBatch batch = buffer.Sample(5);

        Assert.Equal(5, batch.Size);
        Assert.Equal([5L, 2, 3], batch.Observations.shape);
        Assert.Equal([5L, 2, 3], batch.NextObservations.shape);
        Assert.Equal(ScalarType.Float32, batch.Observations.dtype);
        Assert.Equal(ScalarType.Float32, batch.NextObservations.dtype);
        Assert.Equal(continuous ? [5L, 2] : [5L], batch.Actions.shape);
        Assert.Equal(continuous ? ScalarType.Float32 : ScalarType.Int64, batch.Actions.dtype);
        foreach (Tensor t in new[] { batch.Rewards, batch.Terminated, batch.Truncated, batch.Discounts })
        {
            Assert.Equal([5L], t.shape);
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(DeviceType.CPU, t.device_type);
        }

        Assert.Equal(ScalarType.Int64, batch.Indices.dtype);
        Assert.Null(batch.Weights);
        Assert.All(ReplayAssert.Floats(batch.Discounts), d => Assert.Equal(0.9f, d));
        var real = new HashSet<string>(driver.All.Select(t => t.Key));
        Assert.All(ReplayAssert.Read(batch), t => Assert.Contains(t.Key, real));
    }

    [Fact]
    public void Name_DescribesTheBuffer()
    {
        using var plain = new ReplayBuffer(new ReplayBufferOptions { Capacity = 1000, ObservationShape = [4] });
        Assert.Equal("ReplayBuffer(capacity 1000, obs [4])", plain.Name);
        using var frames = new ReplayBuffer(Options(capacity: 10, numEnvs: 2, memorySaving: true, bytes: true, shape: [84, 84]));
        Assert.Equal("ReplayBuffer(capacity 10, obs [84, 84] uint8, memory-saving)", frames.Name);
    }

    [Fact]
    public void AddStep_SkipsEachEnvironmentsAutoresetPseudoStep()
    {
        using var buffer = new ReplayBuffer(Options(numEnvs: 2));
        float[] o0 = [0, 0, 0, 0, 1, 1, 1, 1];
        float[] o1 = [0, 0, 1, 0, 1, 1, 2, 1];   // env 0 terminated: its final observation (0,0,1,0)
        float[] o2 = [0, 1, 0, 0, 1, 1, 3, 1];   // env 0 autoreset (pseudo-step): the new episode's first observation
        float[] o3 = [0, 1, 1, 0, 1, 1, 4, 1];

        buffer.AddStep(o0, [1, 1], [1.0, 2.0], [true, false], [false, false], o1);
        buffer.AddStep(o1, [0, 0], [0.0, 3.0], [false, false], [false, false], o2);
        buffer.AddStep(o2, [5, 1], [4.0, 5.0], [false, false], [false, false], o3);
        buffer.AddStep(o3, [1, 1], [6.0, 7.0], [false, false], [false, false], o0);

        // 2 + 1 (env 0's pseudo-step skipped) + 2 + 2.
        Assert.Equal(7, buffer.Count);
        List<StoredTransition> stored = buffer.Storage.Enumerate();
        Assert.DoesNotContain(stored, s => s.Observation.SequenceEqual(new float[] { 0, 0, 1, 0 }));
        StoredTransition terminal = Assert.Single(stored, s => s.Terminated);
        Assert.Equal([0f, 0, 0, 0], terminal.Observation);
        Assert.Equal([0f, 0, 1, 0], terminal.NextObservation);
        Assert.Equal(1f, terminal.Reward);
        Assert.Contains(stored, s => s.Observation.SequenceEqual(new float[] { 0, 1, 0, 0 }) && s.Reward == 4f);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void TruncatedTransition_BootstrapsFromTheFinalObservation_BothModes(bool memorySaving, bool bytes)
    {
        using var buffer = new ReplayBuffer(Options(capacity: 8, numEnvs: 1, memorySaving, bytes));
        float[] first = [1, 1, 0, 9];
        float[] final = [1, 1, 1, 200];
        float[] reset = [1, 2, 0, 17];
        float[] after = [1, 2, 1, 18];
        buffer.AddStep(first, [3], [1.5], [false], [true], final);   // truncated: final observation returned
        buffer.AddStep(final, [0], [0.0], [false], [false], reset);  // autoreset pseudo-step
        buffer.AddStep(reset, [2], [2.5], [false], [false], after);

        List<StoredTransition> stored = buffer.Storage.Enumerate();
        Assert.Equal(2, stored.Count);
        StoredTransition truncated = Assert.Single(stored, s => s.Truncated);
        Assert.Equal(first, truncated.Observation);
        Assert.Equal(final, truncated.NextObservation);
        Assert.False(truncated.Terminated);
        Assert.Equal(0.9f, truncated.Discount);

        using TransitionBatch batch = buffer.Sample(2);
        Assert.All(ReplayAssert.Read(batch).Where(t => t.Truncated), t => Assert.Equal(final, t.NextObservation));
    }

    [Fact]
    public void MemorySaving_RoundsCapacityDownToAMultipleOfNumEnvs_AndKeepsOneRowForTheNewestObservations()
    {
        using var buffer = new ReplayBuffer(Options(capacity: 10, numEnvs: 3, memorySaving: true));
        Assert.Equal(9, buffer.Capacity);
        var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 3, pTerminate: 0, pTruncate: 0), 0.9f);
        for (int t = 0; t < 10; t++)
        {
            driver.Step(buffer);
        }

        Assert.Equal(6, buffer.Count);   // 3 rows: 2 complete + the newest observations
        Assert.Equal(ReplayAssert.Keys(driver.Rows.Skip(8).SelectMany(r => r)), ReplayAssert.StoredKeys(buffer));
    }

    [Fact]
    public void MemorySaving_BeginNewEpisodes_KeepsTheLastNextObservations_AndStartsAFreshRow()
    {
        using var buffer = new ReplayBuffer(Options(capacity: 20, numEnvs: 1, memorySaving: true));
        float[] a = [1, 1, 0, 0], b = [1, 1, 1, 0], c = [1, 1, 2, 0];
        float[] x = [1, 5, 0, 0], y = [1, 5, 1, 0];
        buffer.AddStep(a, [1], [1], [false], [false], b);
        buffer.AddStep(b, [2], [2], [false], [false], c);
        buffer.BeginNewEpisodes();   // e.g. vec.Reset(): the next observations are x, not c
        buffer.AddStep(x, [3], [3], [false], [false], y);

        List<StoredTransition> stored = buffer.Storage.Enumerate();
        Assert.Equal(3, stored.Count);
        Assert.Equal(c, Assert.Single(stored, s => s.Reward == 2).NextObservation);
        StoredTransition fresh = Assert.Single(stored, s => s.Reward == 3);
        Assert.Equal(x, fresh.Observation);
        Assert.Equal(y, fresh.NextObservation);
        Assert.DoesNotContain(stored, s => s.Observation.SequenceEqual(c));
    }

    [Fact]
    public void BeginNewEpisodes_ClearsTheEndedFlags_SoTheNextEntryIsStored()
    {
        using var buffer = new ReplayBuffer(Options(numEnvs: 1));
        buffer.AddStep([1, 1, 0, 0], [1], [1], [true], [false], [1, 1, 1, 0]);
        Assert.True(buffer.Storage.PreviousEnded[0]);
        buffer.BeginNewEpisodes();
        buffer.AddStep([1, 2, 0, 0], [1], [1], [false], [false], [1, 2, 1, 0]);
        Assert.Equal(2, buffer.Count);
    }

    [Fact]
    public void ByteStorage_RoundsToTheNearestInteger_TiesToEven()
    {
        using var buffer = new ReplayBuffer(Options(numEnvs: 1, bytes: true));
        buffer.AddStep([0.4f, 1.5f, 2.5f, 254.6f], [0], [0], [false], [false], [255f, 0f, 3.49f, 127.5f]);
        StoredTransition s = Assert.Single(buffer.Storage.Enumerate());
        Assert.Equal([0f, 2, 2, 255], s.Observation);
        Assert.Equal([255f, 0, 3, 128], s.NextObservation);
    }

    [Fact]
    public void RoundToBytes_VectorPathMatchesScalarRounding()
    {
        var rng = new Random(5);
        float[] values = [.. Enumerable.Range(0, 1000).Select(_ => (float)(rng.NextDouble() * 255)), 0.5f, 1.5f, 2.5f, 254.5f, 255f, 0f];
        values[10] = 0.5f;
        values[11] = 3.5f;
        var bytes = new byte[values.Length];
        SpanMath.RoundToBytes(values, bytes);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal((byte)MathF.Round(values[i]), bytes[i]);
        }
    }

    [Fact]
    public void SpanScans_FindTheFirstBadValue()
    {
        float[] v = new float[100];
        Assert.Equal(-1, SpanMath.IndexOfNonFinite(v));
        v[37] = float.PositiveInfinity;
        v[80] = float.NaN;
        Assert.Equal(37, SpanMath.IndexOfNonFinite(v));
        Assert.Equal(37, SpanMath.IndexOfOutside(v, 0, 255));
        v[37] = 0;
        Assert.Equal(80, SpanMath.IndexOfOutside(v, 0, 255));
        v[80] = 0;
        v[99] = 255.01f;
        Assert.Equal(99, SpanMath.IndexOfOutside(v, 0, 255));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void DevicePath_StoresAndSamplesExactlyAsTheDirectCpuPath(bool memorySaving, bool bytes)
    {
        using var direct = new ReplayBuffer(Options(capacity: 40, numEnvs: 3, memorySaving, bytes));
        using var staged = new ReplayBuffer(Options(capacity: 40, numEnvs: 3, memorySaving, bytes), priorities: null, forceDevicePath: true);
        Assert.True(staged.Storage.ForceDevicePath);
        var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 11, pTerminate: 0.2, pTruncate: 0.1), 0.9f);
        for (int t = 0; t < 45; t++)
        {
            if (t == 20)
            {
                driver.ResetOutOfBand(direct, staged);
            }

            driver.Step(direct, staged);
        }

        Assert.Equal(ReplayAssert.StoredKeys(direct), ReplayAssert.StoredKeys(staged));
        for (int i = 0; i < 20; i++)
        {
            using TransitionBatch a = direct.Sample(16);
            using TransitionBatch b = staged.Sample(16);
            Assert.Equal(ReplayAssert.Longs(a.Indices), ReplayAssert.Longs(b.Indices));
            Assert.Equal(ReplayAssert.Keys(ReplayAssert.Read(a)), ReplayAssert.Keys(ReplayAssert.Read(b)));
        }
    }

    [Fact]
    public void ContinuousActions_RoundTrip()
    {
        using var buffer = new ReplayBuffer(Options(numEnvs: 2, action: ActionSpec.Continuous(3)));
        buffer.AddStep([0, 0, 0, 0, 1, 1, 1, 1], [0.5f, -1f, 2f, 3f, 4f, -5.25f], [1, 2], [false, false], [false, false], [2, 2, 2, 2, 3, 3, 3, 3]);
        List<StoredTransition> stored = buffer.Storage.Enumerate();
        Assert.Equal([0.5f, -1f, 2f], stored[0].Action);
        Assert.Equal([3f, 4f, -5.25f], stored[1].Action);
    }

    [Fact]
    public void AddTransitions_StoresEachWithItsOwnDiscount_AndIsRefusedInMemorySavingMode()
    {
        using var buffer = new ReplayBuffer(Options(numEnvs: 1));
        buffer.AddTransitions([1, 1, 1, 1, 2, 2, 2, 2], [0, 1], [1.0, 2.0], [false, true], [true, false], [3, 3, 3, 3, 4, 4, 4, 4], [0.81, 0.9]);
        List<StoredTransition> stored = buffer.Storage.Enumerate();
        Assert.Equal([0.81f, 0.9f], stored.Select(s => s.Discount));
        Assert.Equal([true, false], stored.Select(s => s.Truncated));

        using var memorySaving = new ReplayBuffer(Options(numEnvs: 1, memorySaving: true));
        var e = Assert.Throws<InvalidOperationException>(() => memorySaving.AddTransitions([1, 1, 1, 1], [0], [1.0], [false], [false], [3, 3, 3, 3], [0.9]));
        Assert.Contains(memorySaving.Name, e.Message);
        Assert.Contains("MemorySaving = false", e.Message);
    }

    [Fact]
    public void AddTransitions_MoreThanTheCapacityAtOnce_KeepsTheLast()
    {
        using var buffer = new ReplayBuffer(Options(capacity: 3, numEnvs: 1));
        float[] obs = [.. Enumerable.Range(0, 5).SelectMany(i => new float[] { i, i, i, i })];
        buffer.AddTransitions(obs, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], new bool[5], new bool[5], obs, [0.5, 0.5, 0.5, 0.5, 0.5]);
        Assert.Equal(3, buffer.Count);
        Assert.Equal([2f, 3f, 4f], buffer.Storage.Enumerate().Select(s => s.Reward).Order());
    }

    [Fact]
    public void Sample_RefusesBadBatchSizes_NamingTheBufferAndTheCounts()
    {
        using var buffer = new ReplayBuffer(Options(numEnvs: 1));
        var empty = Assert.Throws<InvalidOperationException>(() => buffer.Sample(4));
        Assert.Contains(buffer.Name, empty.Message);
        Assert.Contains("empty", empty.Message);

        buffer.AddStep([1, 1, 1, 1], [0], [0], [false], [false], [2, 2, 2, 2]);
        var tooMany = Assert.Throws<InvalidOperationException>(() => buffer.Sample(2));
        Assert.Contains("cannot sample 2 transitions: the buffer holds 1", tooMany.Message);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Sample(0));
        Assert.Contains("at least 1, got 0", zero.Message);
        using TransitionBatch one = buffer.Sample(1);
        Assert.Equal(1, one.Size);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SampleMany_DrawsBatchesOfStoredTransitionsUniformly_AndSlicesAreViewsOfItsRows(bool memorySaving)
    {
        using var buffer = new ReplayBuffer(Options(capacity: 64, numEnvs: 1, memorySaving));
        for (int i = 0; i < 20; i++)
        {
            // Observation i, next observation i + 0.5: each sampled row names the transition it came from.
            buffer.AddStep([i, 0, 0, 0], [i % 2], [i], [false], [false], [i + 1, 0, 0, 0]);
        }

        using var scope = NewDisposeScope();
        TransitionBatch all = buffer.SampleBatches(8, 500);
        Assert.Equal(4000, all.Size);
        float[] obs = all.Observations.select(1, 0).data<float>().ToArray();
        float[] next = all.NextObservations.select(1, 0).data<float>().ToArray();
        float[] rewards = all.Rewards.data<float>().ToArray();
        for (int r = 0; r < obs.Length; r++)
        {
            Assert.Equal(obs[r] + 1, next[r]);
            Assert.Equal(obs[r], rewards[r]);
        }

        // Uniform over the stored transitions (memory-saving mode keeps all 20 too: none lacks its next observation).
        int[] counts = new int[20];
        foreach (float o in obs)
        {
            counts[(int)o]++;
        }

        double chiSquare = counts.Sum(c => (c - 200.0) * (c - 200.0) / 200.0);
        Assert.True(chiSquare < 43.8, $"χ² = {chiSquare} over 19 degrees of freedom (p = 0.001 at 43.8); counts {string.Join(", ", counts)}");

        TransitionBatch third = all.Slice(16, 8);
        Assert.Equal(8, third.Size);
        Assert.Equal(obs[16..24], third.Observations.select(1, 0).data<float>().ToArray());
        Assert.Equal(all.Indices.narrow(0, 16, 8).data<long>().ToArray(), third.Indices.data<long>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => all.Slice(3996, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.SampleBatches(8, 0));
        Assert.Throws<InvalidOperationException>(() => buffer.SampleBatches(21, 2)); // each minibatch still needs that many stored
    }

    [Fact]
    public void DisposedBuffer_RefusesUse()
    {
        var buffer = new ReplayBuffer(Options(numEnvs: 1));
        buffer.Dispose();
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.AddStep([1, 1, 1, 1], [0], [0], [false], [false], [2, 2, 2, 2]));
        Assert.Throws<ObjectDisposedException>(() => buffer.Sample(1));
    }

    [Fact]
    public void BufferBuiltInsideADisposeScope_OutlivesTheScope()
    {
        ReplayBuffer buffer;
        using (NewDisposeScope())
        {
            buffer = new ReplayBuffer(Options(numEnvs: 1));
        }

        using (buffer)
        {
            buffer.AddStep([1, 1, 1, 1], [0], [0], [false], [false], [2, 2, 2, 2]);
            using TransitionBatch batch = buffer.Sample(1);
            Assert.Equal([1f, 1, 1, 1], ReplayAssert.Floats(batch.Observations));
        }
    }
}
