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
    private static void Fill(ReplayBuffer buffer, int steps, int first = 0)
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
        using var buffer = new ReplayBuffer(Options(), new PriorityOptions { Alpha = 1.0, Epsilon = 1e-6 });
        Fill(buffer, 10);
        Assert.Equal(20, buffer.Count);
        Assert.Equal(20, buffer.PrioritySampler!.Count);

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
        using var buffer = new ReplayBuffer(Options(), new PriorityOptions { Alpha = 0.6, Epsilon = 0.01 });
        Fill(buffer, 8);
        using (var scope = NewDisposeScope())
        {
            long[] slots = [.. Enumerable.Range(0, 16).Select(i => (long)i)];
            double[] errors = [.. Enumerable.Range(0, 16).Select(i => 0.1 * (i + 1))];
            buffer.UpdatePriorities(tensor(slots), tensor(errors));
        }

        var sampler = (ManagedPrioritySampler)buffer.PrioritySampler!;
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
        using var buffer = new ReplayBuffer(Options(nSteps: 3), new PriorityOptions());
        Fill(buffer, 10);
        Assert.Equal(16, buffer.Count); // the first two steps of each env are still in their windows
        Assert.Equal(16, buffer.PrioritySampler!.Count);
        using var scope = NewDisposeScope();
        using TransitionBatch b = buffer.Sample(8, beta: 1);
        Assert.All(b.Discounts.data<float>().ToArray(), d => Assert.Equal(0.9f * 0.9f * 0.9f, d, 6));
    }

    [Fact]
    public void SaveThenLoad_ContinuesWithIdenticalSamplesAndPriorities()
    {
        using var original = new ReplayBuffer(Options(nSteps: 2), new PriorityOptions());
        Fill(original, 12);
        using (var scope = NewDisposeScope())
        {
            using TransitionBatch b = original.Sample(8, 0.4);
            original.UpdatePriorities(b.Indices, arange(8, ScalarType.Float64) * 0.3);
        }

        original.Save(_dir);
        using var loaded = ReplayBuffer.Load(_dir);
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
        using (var buffer = new ReplayBuffer(Options(), new PriorityOptions()))
        {
            Fill(buffer, 5);
            buffer.Save(_dir);
        }

        string path = Path.Combine(_dir, ReplayBufferFile.PrioritizedFileName);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(_dir));
    }

    [Fact]
    public void BadInput_IsRefused_AndChangesNothing()
    {
        var memorySaving = Assert.Throws<ArgumentException>(() => new ReplayBuffer(Options() with { MemorySaving = true }, new PriorityOptions()));
        Assert.Contains("memory-saving mode is not available", memorySaving.Message, StringComparison.Ordinal);

        using var buffer = new ReplayBuffer(Options(), new PriorityOptions());
        var empty = Assert.Throws<InvalidOperationException>(() => buffer.Sample(4, 0.5));
        Assert.Contains("empty buffer", empty.Message, StringComparison.Ordinal);
        Fill(buffer, 2);
        var tooMany = Assert.Throws<InvalidOperationException>(() => buffer.Sample(5, 0.5));
        Assert.Contains("the buffer holds 4", tooMany.Message, StringComparison.Ordinal);

        using var twin = new ReplayBuffer(Options(), new PriorityOptions());
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

    [Fact]
    public void TheSamplerIsChosenAtConstruction_AndShowsThroughTheSharedInterface()
    {
        using var uniform = new ReplayBuffer(Options());
        using var prioritized = new ReplayBuffer(Options(), new PriorityOptions { Alpha = 1.0 });
        Fill(uniform, 10);
        Fill(prioritized, 10);
        IReplayBuffer<TransitionBatch>[] buffers = [uniform, prioritized];
        Assert.Equal([false, true], buffers.Select(b => b.Prioritized));
        Assert.Equal([20L, 20L], buffers.Select(b => b.Count));
        Assert.Null(uniform.PrioritySampler);
        Assert.Equal(20, prioritized.PrioritySampler!.Count);
        Assert.StartsWith("PrioritizedReplayBuffer(", prioritized.Name);

        using (var scope = NewDisposeScope())
        {
            // Uniform sampling has no weights, and a priority update changes nothing it draws.
            TransitionBatch a = uniform.Sample(4, 0.5);
            Assert.Null(a.Weights);
            uniform.UpdatePriorities(a.Indices, ones(4, ScalarType.Float64));

            // Prioritized sampling follows the updated priorities: one slot at 1000, the others at ε.
            TransitionBatch b = prioritized.Sample(4, 1.0);
            Assert.NotNull(b.Weights);
            var errors = full(20, 1e-9, ScalarType.Float64);
            errors[7] = tensor(1000.0, ScalarType.Float64);
            prioritized.UpdatePriorities(arange(20, ScalarType.Int64), errors);
            TransitionBatch c = prioritized.Sample(16, 1.0);
            Assert.True(c.Indices.eq(7).sum().item<long>() >= 15, "slot 7 holds almost all the priority mass");
        }

        // Drawing several minibatches at once is uniform-only: priorities change between gradient steps.
        Assert.Contains("uniform sampling", Assert.Throws<InvalidOperationException>(() => prioritized.SampleBatches(4, 2)).Message);
        using TransitionBatch all = uniform.SampleBatches(4, 3);
        Assert.Equal(12, all.Size);
    }

    [Fact]
    public void Load_ComparesTheSampling_AndRefusesADirectoryWithBothKinds()
    {
        using (var prioritized = new ReplayBuffer(Options(), new PriorityOptions { Alpha = 0.5 }))
        {
            Fill(prioritized, 3);
            prioritized.Save(_dir);
        }

        Assert.Equal([ReplayBufferFile.PrioritizedFileName], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Contains("sampling prioritized (α 0.5", Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(_dir, Options())).Message);
        Assert.Contains("α 0.6", Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(_dir, Options(), new PriorityOptions { Alpha = 0.6 })).Message);
        using (ReplayBuffer same = ReplayBuffer.Load(_dir, Options(), new PriorityOptions { Alpha = 0.5 }))
        {
            Assert.True(same.Prioritized);
            Assert.Equal(6, same.Count);
        }

        using (var uniform = new ReplayBuffer(Options()))
        {
            uniform.Save(_dir);
        }

        Assert.Contains("holds both", Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(_dir)).Message);
    }

    [Fact]
    public void ActionsOfAnotherType_AreRefusedNamingTheType()
    {
        using var buffer = new ReplayBuffer(Options());
        ArgumentException e = Assert.Throws<ArgumentException>(() => buffer.Add(new RlMemory.Environments.Vector.VectorStep<double>(new float[6], new double[2], new double[2], new bool[2], new bool[2], new float[6])));
        Assert.Contains("got actions of type Double", e.Message);
        Assert.Contains("pass them as int", e.Message);
        Assert.Equal(0, buffer.Count);
    }
}
