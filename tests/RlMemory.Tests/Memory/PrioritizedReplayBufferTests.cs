using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

public sealed class PrioritizedReplayBufferTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-per-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static ReplayBufferOptions Options(int capacity = 64, int numEnvs = 2, int nSteps = 1, ulong seed = 5) => new()
    {
        Capacity = capacity,
        ObservationShape = [3],
        NumEnvs = numEnvs,
        NSteps = nSteps,
        Gamma = 0.9,
        Seed = seed,
    };

    /// <summary>Adds <paramref name="steps"/> steps of two environments; observation = [step, env, 0], no episode ends.</summary>
    private static void Fill(PrioritizedReplayBuffer buffer, int steps, int first = 0)
    {
        int n = buffer.Options.NumEnvs;
        for (int t = first; t < first + steps; t++)
        {
            var obs = new float[n * 3];
            var next = new float[n * 3];
            for (int e = 0; e < n; e++)
            {
                obs[e * 3] = t;
                obs[(e * 3) + 1] = e;
                next[e * 3] = t + 1;
                next[(e * 3) + 1] = e;
            }

            buffer.AddStep(obs, new int[n], new double[n], new bool[n], new bool[n], next);
        }
    }

    [Fact]
    public void NewTransitions_GetTheMaxPriority_AndSamplingFollowsUpdatedPriorities()
    {
        using var buffer = new PrioritizedReplayBuffer(Options(), new PriorityOptions { Alpha = 1.0, Epsilon = 1e-6 });
        Fill(buffer, 10);
        Assert.Equal(20, buffer.Count);
        Assert.Equal(20, buffer.Sampler.Count);

        // Give slot 3 a large error and every other slot a small one: P(3) = 10 / (10 + 19 * 1).
        using (var scope = NewDisposeScope())
        {
            long[] slots = [.. Enumerable.Range(0, 20).Select(i => (long)i)];
            double[] errors = [.. Enumerable.Range(0, 20).Select(i => i == 3 ? 10.0 - 1e-6 : 1.0 - 1e-6)];
            buffer.UpdatePriorities(tensor(slots), tensor(errors));
        }

        int hits = 0;
        const int rounds = 800, batch = 16;
        for (int r = 0; r < rounds; r++)
        {
            using var scope = NewDisposeScope();
            using TransitionBatch b = buffer.Sample(batch, beta: 0.5);
            hits += b.Indices.data<long>().ToArray().Count(i => i == 3);
        }

        double p = 10.0 / 29.0, n = rounds * batch;
        double se = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(hits, n * p - 5 * se, n * p + 5 * se);
    }

    [Fact]
    public void Weights_AreThePriorityRatioToTheMinimum_RaisedToBeta()
    {
        using var buffer = new PrioritizedReplayBuffer(Options(), new PriorityOptions { Alpha = 0.6, Epsilon = 0.01 });
        Fill(buffer, 8);
        using (var scope = NewDisposeScope())
        {
            long[] slots = [.. Enumerable.Range(0, 16).Select(i => (long)i)];
            double[] errors = [.. Enumerable.Range(0, 16).Select(i => 0.1 * (i + 1))];
            buffer.UpdatePriorities(tensor(slots), tensor(errors));
        }

        var sampler = (ManagedPrioritySampler)buffer.Sampler;
        double pMin = Enumerable.Range(0, 16).Min(sampler.PriorityOf);
        using var scope2 = NewDisposeScope();
        using TransitionBatch b = buffer.Sample(16, beta: 0.7);
        long[] indices = b.Indices.data<long>().ToArray();
        float[] weights = b.Weights!.data<float>().ToArray();
        for (int k = 0; k < indices.Length; k++)
        {
            double expected = Math.Pow(pMin / sampler.PriorityOf((int)indices[k]), 0.7);
            Assert.Equal(expected, weights[k], 5);
        }

        // The gathered rows are the slots' transitions: observation [t, e, 0] with slot = 2 t + e here.
        float[] obs = b.Observations.data<float>().ToArray();
        for (int k = 0; k < indices.Length; k++)
        {
            Assert.Equal(indices[k], (long)(obs[k * 3] * 2 + obs[(k * 3) + 1]));
        }
    }

    [Fact]
    public void NStepTransitions_AreAddedAtMaxPriority()
    {
        using var buffer = new PrioritizedReplayBuffer(Options(nSteps: 3));
        Fill(buffer, 10);
        Assert.Equal(16, buffer.Count); // the first two steps of each env are still in their windows
        Assert.Equal(16, buffer.Sampler.Count);
        using var scope = NewDisposeScope();
        using TransitionBatch b = buffer.Sample(8, beta: 1);
        Assert.All(b.Discounts.data<float>().ToArray(), d => Assert.Equal(0.9f * 0.9f * 0.9f, d, 6));
    }

    [Fact]
    public void SaveThenLoad_ContinuesWithIdenticalSamplesAndPriorities()
    {
        using var original = new PrioritizedReplayBuffer(Options(nSteps: 2));
        Fill(original, 12);
        using (var scope = NewDisposeScope())
        {
            using TransitionBatch b = original.Sample(8, 0.4);
            original.UpdatePriorities(b.Indices, arange(8, ScalarType.Float64) * 0.3);
        }

        original.Save(_dir);
        using var loaded = PrioritizedReplayBuffer.Load(_dir);
        Fill(original, 3, first: 12);
        Fill(loaded, 3, first: 12);
        for (int r = 0; r < 5; r++)
        {
            using var scope = NewDisposeScope();
            using TransitionBatch a = original.Sample(16, 0.6);
            using TransitionBatch c = loaded.Sample(16, 0.6);
            Assert.Equal(a.Indices.data<long>().ToArray(), c.Indices.data<long>().ToArray());
            Assert.Equal(a.Weights!.data<float>().ToArray(), c.Weights!.data<float>().ToArray());
            Assert.Equal(a.Observations.data<float>().ToArray(), c.Observations.data<float>().ToArray());
            Assert.Equal(a.Rewards.data<float>().ToArray(), c.Rewards.data<float>().ToArray());
        }
    }

    [Fact]
    public void ACorruptedFile_IsRefused()
    {
        using (var buffer = new PrioritizedReplayBuffer(Options()))
        {
            Fill(buffer, 5);
            buffer.Save(_dir);
        }

        string path = Path.Combine(_dir, PrioritizedReplayBuffer.FileName);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => PrioritizedReplayBuffer.Load(_dir));
    }

    [Fact]
    public void BadInput_IsRefused_AndChangesNothing()
    {
        var memorySaving = Assert.Throws<ArgumentException>(() => new PrioritizedReplayBuffer(Options() with { MemorySaving = true }));
        Assert.Contains("memory-saving mode is not available", memorySaving.Message, StringComparison.Ordinal);

        using var buffer = new PrioritizedReplayBuffer(Options());
        var empty = Assert.Throws<InvalidOperationException>(() => buffer.Sample(4, 0.5));
        Assert.Contains("empty buffer", empty.Message, StringComparison.Ordinal);
        Fill(buffer, 2);
        var tooMany = Assert.Throws<InvalidOperationException>(() => buffer.Sample(5, 0.5));
        Assert.Contains("the buffer holds 4", tooMany.Message, StringComparison.Ordinal);

        using var twin = new PrioritizedReplayBuffer(Options());
        Fill(twin, 2);
        using (var scope = NewDisposeScope())
        {
            Assert.ThrowsAny<ArgumentException>(() => buffer.UpdatePriorities(tensor(new long[] { 0, 1 }), tensor(new[] { 1.0, double.NaN })));
            Assert.ThrowsAny<ArgumentException>(() => buffer.UpdatePriorities(tensor(new long[] { 0, 99 }), tensor(new[] { 1.0, 1.0 })));
            Assert.ThrowsAny<ArgumentException>(() => buffer.UpdatePriorities(tensor(new long[] { 0 }), tensor(new[] { -1.0 })));
            using TransitionBatch a = buffer.Sample(4, 0.5);
            using TransitionBatch b = twin.Sample(4, 0.5);
            Assert.Equal(a.Indices.data<long>().ToArray(), b.Indices.data<long>().ToArray());
            Assert.Equal(a.Weights!.data<float>().ToArray(), b.Weights!.data<float>().ToArray());
        }
    }
}
