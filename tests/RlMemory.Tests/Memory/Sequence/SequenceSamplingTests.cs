using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>Sampling (uniform and prioritized) and R2D2's η-mixed sequence priorities.</summary>
public sealed class SequenceSamplingTests
{
    private static SequenceReplayOptions Options(int capacity, bool prioritized = false, int[]? shape = null, bool continuous = false, bool bytes = false, PriorityOptions? priority = null, double eta = 0.9) => new()
    {
        Capacity = capacity,
        BurnIn = 2,
        LearningLength = 3,
        Overlap = 2,
        ObservationShape = shape ?? [4],
        ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        Action = continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
        NumEnvs = 3,
        StateSpec = SequenceDriver.Spec,
        Prioritized = prioritized,
        Priority = priority ?? new PriorityOptions { Alpha = 0.9 },
        Eta = eta,
        Seed = 5,
    };

    private static SequenceDriver Fill(SequenceReplayOptions options, int steps, params SequenceReplayBuffer[] buffers)
    {
        int continuous = options.Action.IsDiscrete ? 0 : options.Action.Dimension;
        var env = new RandomVectorEnv(new FakeVectorEnv(options.NumEnvs, options.ObservationSize, seed: 3, pTerminate: 0.06, pTruncate: 0.04, actionDimension: continuous));
        var driver = new SequenceDriver(env, options);
        for (int g = 0; g < steps; g++)
        {
            driver.Step(buffers);
        }

        return driver;
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public void Sample_GathersTheStoredSequences_WithTheDocumentedShapesAndTypes(bool continuous, bool bytes, bool prioritized)
    {
        SequenceReplayOptions options = Options(capacity: 40, prioritized, shape: [2, 2], continuous, bytes);
        using var buffer = new SequenceReplayBuffer(options);
        Fill(options, 60, buffer);
        List<StoredSequence> stored = buffer.Storage.Enumerate();

        using var scope = NewDisposeScope();
        SequenceBatch batch = buffer.Sample(8, beta: 0.5);
        const int t = 5;
        Assert.Equal(8, batch.Size);
        Assert.Equal((2, 3, 5), (batch.BurnIn, batch.LearningLength, batch.SequenceLength));
        Assert.Equal([8L, t + 1, 2, 2], batch.Observations.shape);
        Assert.Equal(ScalarType.Float32, batch.Observations.dtype);
        Assert.Equal(continuous ? [8L, t, 2] : [8L, t], batch.Actions.shape);
        Assert.Equal(continuous ? ScalarType.Float32 : ScalarType.Int64, batch.Actions.dtype);
        foreach (Tensor field in new[] { batch.Rewards, batch.Terminated, batch.Truncated, batch.Mask })
        {
            Assert.Equal([8L, t], field.shape);
            Assert.Equal(ScalarType.Float32, field.dtype);
        }

        Assert.Equal([8L, 2], batch.InitialState["h"].shape);
        Assert.Equal([8L], batch.Indices.shape);
        Assert.Equal(ScalarType.Int64, batch.Indices.dtype);
        Assert.Equal(prioritized, batch.Weights is not null);

        long[] indices = SequenceAssert.Longs(batch.Indices);
        float[] obs = SequenceAssert.Floats(batch.Observations);
        float[] actions = SequenceAssert.Floats(batch.Actions);
        float[] rewards = SequenceAssert.Floats(batch.Rewards);
        float[] terminated = SequenceAssert.Floats(batch.Terminated);
        float[] mask = SequenceAssert.Floats(batch.Mask);
        float[] h = SequenceAssert.Floats(batch.InitialState["h"]);
        float[] c = SequenceAssert.Floats(batch.InitialState["c"]);
        int ov = (t + 1) * 4;
        int ad = t * (continuous ? 2 : 1);
        for (int i = 0; i < 8; i++)
        {
            StoredSequence s = stored[(int)indices[i]];
            Assert.Equal(s.Observations, obs.AsSpan(i * ov, ov).ToArray());
            Assert.Equal(s.Actions, actions.AsSpan(i * ad, ad).ToArray());
            Assert.Equal(s.Rewards, rewards.AsSpan(i * t, t).ToArray());
            Assert.Equal(s.Terminated, terminated.AsSpan(i * t, t).ToArray());
            Assert.Equal(s.Mask, mask.AsSpan(i * t, t).ToArray());
            Assert.Equal(s.InitialState[0], h.AsSpan(i * 2, 2).ToArray().Select(x => (double)x));
            Assert.Equal(s.InitialState[1], c.AsSpan(i * 2, 2).ToArray().Select(x => (double)x));
        }
    }

    [Fact]
    public void WritingIntoABatch_NeverChangesTheBuffer()
    {
        SequenceReplayOptions options = Options(capacity: 20);
        using var buffer = new SequenceReplayBuffer(options);
        Fill(options, 40, buffer);
        List<string> before = SequenceAssert.StoredKeys(buffer);
        using (SequenceBatch batch = buffer.Sample(5))
        {
            batch.Observations.fill_(-1);
            batch.Rewards.fill_(-1);
            batch.InitialState["h"].fill_(-1);
        }

        Assert.Equal(before, SequenceAssert.StoredKeys(buffer));
    }

    [Fact]
    public void UniformSampling_DrawsEveryStoredSequenceEquallyOften_ChiSquare()
    {
        SequenceReplayOptions options = Options(capacity: 10);
        using var buffer = new SequenceReplayBuffer(options);
        Fill(options, 60, buffer);
        Assert.Equal(10, buffer.Count);
        long[] counts = new long[10];
        const int draws = 20_000;
        for (int round = 0; round < draws / 10; round++)
        {
            using SequenceBatch batch = buffer.Sample(10);
            foreach (long i in SequenceAssert.Longs(batch.Indices))
            {
                counts[i]++;
            }
        }

        double expected = draws / 10.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // χ² with 9 degrees of freedom: P(χ² > 27.877) = 0.001.
        Assert.True(chi2 < 27.877, $"χ² = {chi2:F1}; counts {string.Join(", ", counts)}");
    }

    [Fact]
    public void UniformSampling_IsReproducibleFromTheSeed_AndDrawsOnlyStoredSlots()
    {
        SequenceReplayOptions options = Options(capacity: 50);
        using var a = new SequenceReplayBuffer(options);
        using var b = new SequenceReplayBuffer(options);
        using var other = new SequenceReplayBuffer(options with { Seed = 6 });
        Fill(options, 20, a, b, other);
        Assert.InRange(a.Count, 5, 49);
        bool differs = false;
        for (int i = 0; i < 5; i++)
        {
            using SequenceBatch x = a.Sample(4);
            using SequenceBatch y = b.Sample(4);
            using SequenceBatch z = other.Sample(4);
            long[] xi = SequenceAssert.Longs(x.Indices);
            Assert.Equal(xi, SequenceAssert.Longs(y.Indices));
            Assert.All(xi, s => Assert.InRange(s, 0, a.Count - 1));
            differs |= !xi.SequenceEqual(SequenceAssert.Longs(z.Indices));
        }

        Assert.True(differs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UpdatePriorities_MixesMaxAndMeanOverValidLearningSteps_AsHandComputed(bool devicePath)
    {
        SequenceReplayOptions options = Options(capacity: 8, prioritized: true, priority: new PriorityOptions { Alpha = 1.0, Epsilon = 1e-6 });
        using var buffer = new SequenceReplayBuffer(options, devicePath);
        Fill(options, 40, buffer);
        Assert.Equal(8, buffer.Count);

        // L = 3. Row 0: all valid → 0.9·3 + 0.1·(1 + 3 + 2)/3 = 2.9. Row 1: the NaN is masked → 0.9·2 + 0.1·1.5 = 1.95.
        // Row 2: no valid learning step → 0. Row 3: |−4| is the max → 0.9·4 + 0.1·(4 + 1)/2 = 3.85.
        using Tensor indices = tensor(new long[] { 0, 1, 2, 3 });
        using Tensor td = tensor(new float[] { 1, -3, 2, 2, 1, float.NaN, 0.5f, 0.5f, 0.5f, -4, 1, 7 }, [4, 3]);
        using Tensor mask = tensor(new float[] { 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0 }, [4, 3]);
        buffer.UpdatePriorities(indices, td, mask);

        double[] priorities = buffer.Sampler!.ExportState().Priorities;
        double[] expected = [2.9, 1.95, 0, 3.85];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i] + 1e-6, priorities[i], 6);
        }

        Assert.Equal(3.85 + 1e-6, buffer.Sampler.MaxPriority, 6);

        // The host reference agrees (it is what the docs show).
        Assert.Equal(2.9, SequencePriorities.Of([1, -3, 2], [true, true, true], 0.9), 12);
        Assert.Equal(1.95, SequencePriorities.Of([2, 1, double.NaN], [true, true, false], 0.9), 12);

        // A bool mask gives the same; η = 1 is the max, η = 0 the mean.
        using Tensor boolMask = mask.to(ScalarType.Bool);
        buffer.UpdatePriorities(indices, td, boolMask);
        Assert.Equal(priorities.Take(4), buffer.Sampler.ExportState().Priorities.Take(4));
    }

    [Theory]
    [InlineData(0.0, 2.0)]
    [InlineData(1.0, 3.0)]
    public void Eta_ZeroIsTheMean_OneIsTheMax(double eta, double expected)
    {
        SequenceReplayOptions options = Options(capacity: 4, prioritized: true, priority: new PriorityOptions { Alpha = 1.0 }, eta: eta);
        using var buffer = new SequenceReplayBuffer(options);
        Fill(options, 30, buffer);
        using Tensor indices = tensor(new long[] { 1 });
        using Tensor td = tensor(new double[] { 1, -2, 3 }, [1, 3]);
        using Tensor mask = ones(1, 3);
        buffer.UpdatePriorities(indices, td, mask);
        Assert.Equal(expected + 1e-6, ((ManagedPrioritySampler)buffer.Sampler!).PriorityOf(1), 9);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 8)]
    [InlineData(true, 8)]
    public void PrioritizedSampling_FrequenciesAreProportionalToPriorityToTheAlpha_ChiSquare(bool devicePath, int batchSize)
    {
        var priority = new PriorityOptions { Alpha = 0.6, Epsilon = 1e-3 };
        SequenceReplayOptions options = Options(capacity: 8, prioritized: true, priority: priority);
        using var buffer = new SequenceReplayBuffer(options, devicePath);
        Fill(options, 40, buffer);
        double[] p = [0.05, 0.2, 0.8, 3.2, 0.0, 1.0, 6.4, 0.4];
        using (Tensor indices = arange(8, ScalarType.Int64))
        using (Tensor td = tensor(p.SelectMany(x => new[] { x, -x, x }).ToArray(), [8, 3]))
        using (Tensor mask = ones(8, 3))
        {
            buffer.UpdatePriorities(indices, td, mask);
        }

        const int draws = 38_400;
        long[] counts = new long[8];
        for (int round = 0; round < draws / batchSize; round++)
        {
            using SequenceBatch batch = buffer.Sample(batchSize, beta: 0.4);
            foreach (long i in SequenceAssert.Longs(batch.Indices))
            {
                counts[i]++;
            }
        }

        double[] Probabilities(double alpha)
        {
            double[] w = [.. p.Select(x => Math.Pow(x + priority.Epsilon, alpha))];
            double total = w.Sum();
            return [.. w.Select(x => x / total)];
        }

        double ChiSquare(double[] probabilities) => counts.Select((c, i) => (c - (draws * probabilities[i])) * (c - (draws * probabilities[i])) / (draws * probabilities[i])).Sum();

        // χ² with 7 degrees of freedom: P(χ² > 24.322) = 0.001; the same counts reject uniform sampling and α = 1.
        Assert.True(ChiSquare(Probabilities(0.6)) < 24.322, $"χ² = {ChiSquare(Probabilities(0.6)):F1}; counts {string.Join(", ", counts)}");
        Assert.True(ChiSquare(Probabilities(0)) > 24.322);
        Assert.True(ChiSquare(Probabilities(1)) > 24.322);
    }

    [Fact]
    public void PrioritizedBatch_CarriesImportanceWeights_AndNewSequencesGetTheMaxPriority()
    {
        var priority = new PriorityOptions { Alpha = 0.5, Epsilon = 1e-6 };
        SequenceReplayOptions options = Options(capacity: 30, prioritized: true, priority: priority);
        using var buffer = new SequenceReplayBuffer(options);
        SequenceDriver driver = Fill(options, 15, buffer);
        int before = buffer.Count;
        var sampler = (ManagedPrioritySampler)buffer.Sampler!;
        using (Tensor indices = arange(before, ScalarType.Int64))
        using (Tensor td = arange(before * 3, ScalarType.Float32).reshape(before, 3).add(1))
        using (Tensor mask = ones(before, 3))
        {
            buffer.UpdatePriorities(indices, td, mask);
        }

        using (SequenceBatch batch = buffer.Sample(6, beta: 0.7))
        {
            long[] slots = SequenceAssert.Longs(batch.Indices);
            float[] weights = SequenceAssert.Floats(batch.Weights!);
            for (int i = 0; i < slots.Length; i++)
            {
                Assert.Equal(Math.Pow(sampler.MinPriority / sampler.PriorityOf((int)slots[i]), 0.7), weights[i], 5);
            }
        }

        while (buffer.Count == before)
        {
            driver.Step(buffer);
        }

        Assert.Equal(Math.Pow(sampler.MaxPriority, 0.5), sampler.PriorityOf(buffer.Count - 1), 12);
    }

    [Fact]
    public void UpdatePriorities_TakesTheBatchsOwnLearningMaskAndTdErrors()
    {
        SequenceReplayOptions options = Options(capacity: 30, prioritized: true, priority: new PriorityOptions { Alpha = 1.0 });
        using var buffer = new SequenceReplayBuffer(options);
        Fill(options, 60, buffer);
        using var scope = NewDisposeScope();
        SequenceBatch batch = buffer.Sample(10, beta: 0.4);
        Tensor mask = batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength);   // a strided view
        Tensor td = batch.Rewards.narrow(1, batch.BurnIn, batch.LearningLength).mul(2).sub(1);
        buffer.UpdatePriorities(batch.Indices, td, mask);

        long[] slots = SequenceAssert.Longs(batch.Indices);
        float[] tdHost = SequenceAssert.Floats(td);
        float[] maskHost = SequenceAssert.Floats(mask);
        var sampler = (ManagedPrioritySampler)buffer.Sampler!;
        var last = new Dictionary<long, double>();
        for (int i = 0; i < slots.Length; i++)
        {
            last[slots[i]] = SequencePriorities.Of(
                [.. tdHost.AsSpan(i * 3, 3).ToArray().Select(x => (double)x)],
                [.. maskHost.AsSpan(i * 3, 3).ToArray().Select(x => x != 0)],
                0.9);
        }

        foreach ((long slot, double p) in last)
        {
            Assert.Equal(p + 1e-6, sampler.PriorityOf((int)slot), 5);
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32, ScalarType.Float32)]
    [InlineData(ScalarType.Float64, ScalarType.Bool)]
    [InlineData(ScalarType.Float32, ScalarType.Float64)]
    public void PriorityComputation_OnTheHostAndWithTensors_Agree(ScalarType tdType, ScalarType maskType)
    {
        var random = new Random(17);
        const int b = 32;
        const int l = 7;
        double[] td = new double[b * l];
        bool[] valid = new bool[b * l];
        for (int i = 0; i < td.Length; i++)
        {
            valid[i] = i / l % 5 != 0 && random.NextDouble() < 0.7;   // every fifth row has no valid step
            td[i] = valid[i] ? (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 4)) : double.NaN;
        }

        using var scope = NewDisposeScope();
        Tensor tdTensor = tensor(td, [b, l]).to(tdType);
        Tensor maskTensor = tensor(valid, [b, l]).to(maskType);
        double[] host = new double[b];
        double[] device = new double[b];
        SequencePriorities.Compute("test", tdTensor, maskTensor, 0.9, b, l, host, allowHostPath: true);
        SequencePriorities.Compute("test", tdTensor, maskTensor, 0.9, b, l, device, allowHostPath: false);
        double[] rounded = [.. td.Select(x => tdType == ScalarType.Float32 ? (double)(float)x : x)];
        for (int r = 0; r < b; r++)
        {
            double expected = SequencePriorities.Of(rounded.AsSpan(r * l, l), valid.AsSpan(r * l, l), 0.9);
            Assert.Equal(expected, host[r], 12);
            Assert.Equal(expected, device[r], 12);
        }
    }
}
