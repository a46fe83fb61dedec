using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class MemoryCoreTests : IDisposable
{
    private const string Spec =
        "{h [6] Float32, c [6] Float32, memory [4, 3] Float32, read_weights [2, 4] Float32, write_weights [4] Float32, usage [4] Float32, read_vectors [6] Float32}";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-memorycore-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static MemoryCoreConfig Config(bool allocation = true, int[]? encoder = null) => new()
    {
        ObservationSize = 3,
        EncoderSizes = encoder ?? [8],
        HiddenSize = 6,
        Memory = new ExternalMemoryConfig { Slots = 4, Width = 3, ReadHeads = 2, UseAllocation = allocation },
    };

    private static MemoryCore Core(bool allocation = true, int seed = 11)
    {
        manual_seed(seed);
        return new MemoryCore(Config(allocation));
    }

    /// <summary>A state with non-zero values in every part: the state after a few steps from zero.</summary>
    private static RecurrentState Warmed(MemoryCore core, int batch, int steps = 3)
    {
        using var g = new Generator(99);
        var (_, state) = core.Unroll(randn([batch, steps, 3], generator: g), core.InitialState(batch));
        return state;
    }

    private static void AssertSameState(RecurrentState expected, RecurrentState actual, double atol, string what)
    {
        Assert.Equal(expected.Spec, actual.Spec);
        for (int i = 0; i < expected.Spec.Parts.Count; i++)
        {
            Assert.True(allclose(expected.Tensors[i], actual.Tensors[i], rtol: 0, atol: atol), $"{what}: part '{expected.Spec.Parts[i].Name}' differs");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Shapes_FollowTheConfiguration(bool allocation)
    {
        using MemoryCore core = Core(allocation);
        using var scope = NewDisposeScope();
        Assert.Equal(3, core.ObservationSize);
        Assert.Equal(6 + (2 * 3), core.OutputSize);
        Assert.Equal(Spec, core.StateSpec.ToString());
        var (features, state) = core.Step(randn(5, 3), core.InitialState(5));
        Assert.Equal([5L, 12L], features.shape);
        Assert.Equal(core.StateSpec, state.Spec);
        Assert.Equal(5, state.BatchSize);
        var (sequence, last) = core.Unroll(randn(5, 7, 3), state);
        Assert.Equal([5L, 7L, 12L], sequence.shape);
        Assert.Equal(core.StateSpec, last.Spec);

        // Features are h ⊕ read vectors, taken from the state after the step.
        Assert.True(features.narrow(1, 0, 6).equal(state["h"]).all().item<bool>());
        Assert.True(features.narrow(1, 6, 6).equal(state["read_vectors"]).all().item<bool>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Unroll_WithoutResets_EqualsStepByStep(bool allocation)
    {
        using MemoryCore core = Core(allocation);
        using var scope = NewDisposeScope();
        RecurrentState s0 = Warmed(core, 4);
        Tensor x = randn(4, 6, 3);
        var (whole, last) = core.Unroll(x, s0);
        RecurrentState s = s0;
        for (int t = 0; t < 6; t++)
        {
            (Tensor f, s) = core.Step(x.select(1, t), s);
            Assert.True(allclose(f, whole.select(1, t), rtol: 0, atol: 1e-6), $"step {t} differs");
        }

        AssertSameState(s, last, 1e-6, "final state");
    }

    [Fact]
    public void Unroll_WithResets_EqualsSeparateEpisodesFromTheZeroState()
    {
        using MemoryCore core = Core();
        using var scope = NewDisposeScope();
        RecurrentState s0 = Warmed(core, 3);
        Tensor x = randn(3, 8, 3);
        // Row 0 never resets; row 1 starts an episode at step 3; row 2 at steps 0 (the given state is dropped) and 5.
        Tensor resets = zeros(3, 8, ScalarType.Bool);
        resets[1, 3] = tensor(true);
        resets[2, 0] = tensor(true);
        resets[2, 5] = tensor(true);
        var (features, last) = core.Unroll(x, s0, resets);
        var (plain, _) = core.Unroll(x, s0);

        Assert.True(allclose(features[0], plain[0], rtol: 0, atol: 1e-6), "row 0 has no reset");
        Assert.True(allclose(features[1, 0..3], plain[1, 0..3], rtol: 0, atol: 1e-6), "row 1 before its reset");

        void AssertEpisode(int row, int from, int to, bool lastEpisode)
        {
            var (fresh, end) = core.Unroll(x[row..(row + 1), from..to], core.InitialState(1));
            Assert.True(allclose(features[row, from..to], fresh[0], rtol: 0, atol: 1e-6), $"row {row}, steps {from}..{to - 1}");
            if (lastEpisode)
            {
                AssertSameState(end, last.Select(tensor(new long[] { row })), 1e-6, $"row {row} final state");
            }
        }

        AssertEpisode(1, 3, 8, lastEpisode: true);
        AssertEpisode(2, 0, 5, lastEpisode: false);
        AssertEpisode(2, 5, 8, lastEpisode: true);
        Assert.False(allclose(features[1, 3..8], plain[1, 3..8], atol: 1e-3), "the reset changed row 1");
    }

    [Fact]
    public void ResetRows_ReturnsMaskedRowsToTheInitialState_AndLeavesOthersBitIdentical()
    {
        using MemoryCore core = Core();
        using var scope = NewDisposeScope();
        RecurrentState s = Warmed(core, 3);
        using RecurrentState initial = core.InitialState(3);
        RecurrentState reset = s.ResetRows(tensor(new[] { false, true, false }));
        for (int i = 0; i < s.Spec.Parts.Count; i++)
        {
            string name = s.Spec.Parts[i].Name;
            Assert.True(s.Tensors[i][1].abs().sum().item<float>() > 0, $"part '{name}' was zero before the reset: the test would prove nothing");
            Assert.True(reset.Tensors[i][1].equal(initial.Tensors[i][1]).all().item<bool>(), $"part '{name}' of the reset row is not the initial state");
            foreach (int row in new[] { 0, 2 })
            {
                Assert.True(reset.Tensors[i][row].equal(s.Tensors[i][row]).all().item<bool>(), $"part '{name}' of row {row} changed");
            }
        }

        // A reset row then behaves as a fresh episode.
        Tensor x = randn(3, 3);
        var (afterReset, _) = core.Step(x, reset);
        var (fresh, _) = core.Step(x[1..2], core.InitialState(1));
        Assert.True(allclose(afterReset[1..2], fresh, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void GradientsFlowThroughTheMemoryAcrossTime()
    {
        manual_seed(11);
        using var core = new MemoryCore(Config(encoder: []));
        using var scope = NewDisposeScope();
        Tensor x = randn(2, 5, 3, requires_grad: true);
        var (features, _) = core.Unroll(x, core.InitialState(2));
        // The read vectors of the last step depend on the first observation (through h, c and the memory).
        features.select(1, 4).narrow(1, 6, 6).sum().backward();
        Assert.True(x.grad!.select(1, 0).abs().sum().item<float>() > 0);
        foreach (var (name, p) in core.named_parameters())
        {
            Assert.True(p.grad is not null && p.grad.isfinite().all().item<bool>() && p.grad.abs().sum().item<float>() > 0, $"no gradient for {name}");
        }
    }

    [Fact]
    public void BadInput_IsRefusedNamingTheComponentAndValues()
    {
        using MemoryCore core = Core();
        using var scope = NewDisposeScope();
        var obs = Assert.Throws<ArgumentException>(() => core.Step(randn(2, 4), core.InitialState(2)));
        Assert.Contains("MemoryCore: observations must be [batch, 3], got [2, 4]", obs.Message, StringComparison.Ordinal);

        var lstmState = new RecurrentState([("h", zeros(2, 6)), ("c", zeros(2, 6))]);
        var spec = Assert.Throws<ArgumentException>(() => core.Step(randn(2, 3), lstmState));
        Assert.Contains("MemoryCore: the state is {h [6] Float32, c [6] Float32} × 2; expected " + Spec + " × 2", spec.Message, StringComparison.Ordinal);

        var batch = Assert.Throws<ArgumentException>(() => core.Unroll(randn(2, 3, 3), core.InitialState(3)));
        Assert.Contains("× 3; expected " + Spec + " × 2", batch.Message, StringComparison.Ordinal);
        var resets = Assert.Throws<ArgumentException>(() => core.Unroll(randn(2, 3, 3), core.InitialState(2), zeros(2, 4)));
        Assert.Contains("MemoryCore: resets must be [2, 3]", resets.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ArgumentException>(() => core.Unroll(randn(2, 0, 3), core.InitialState(2)));
        Assert.Contains("MemoryCore: sequences must have at least one step, got [2, 0, 3]", empty.Message, StringComparison.Ordinal);

        core.Trace = new MemoryTrace(core.Config.Memory, row: 2);
        var row = Assert.Throws<ArgumentException>(() => core.Step(randn(2, 3), core.InitialState(2)));
        Assert.Contains("MemoryTrace: it records batch row 2, but the batch has 2 rows", row.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_RefusesZeroSizes_NamingTheFieldAndValue()
    {
        var observation = Assert.ThrowsAny<ArgumentException>(() => new MemoryCore(Config() with { ObservationSize = 0 }));
        Assert.Contains("MemoryCoreConfig.ObservationSize must be in [1, 1048576], got 0", observation.Message, StringComparison.Ordinal);
        var hidden = Assert.ThrowsAny<ArgumentException>(() => new MemoryCore(Config() with { HiddenSize = -1 }));
        Assert.Contains("MemoryCoreConfig.HiddenSize must be in [1, 65536], got -1", hidden.Message, StringComparison.Ordinal);
        var encoder = Assert.ThrowsAny<ArgumentException>(() => new MemoryCore(Config(encoder: [8, 0])));
        Assert.Contains("MemoryCoreConfig.EncoderSizes[1] must be in [1, 65536], got 0", encoder.Message, StringComparison.Ordinal);
        var slots = Assert.ThrowsAny<ArgumentException>(() => Config() with { Memory = new ExternalMemoryConfig { Slots = 0 } });
        Assert.Contains("ExternalMemoryConfig.Slots must be in [1, 65536], got 0", slots.Message, StringComparison.Ordinal);
        var json = Assert.ThrowsAny<ArgumentException>(() => MemoryCoreConfig.FromJson("""{"ObservationSize":3,"Memory":{"ReadHeads":0}}"""));
        Assert.Contains("ExternalMemoryConfig.ReadHeads must be in [1, 64], got 0", json.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trace_RecordsTheChosenRowOfEveryStep_AndIsOffByDefault()
    {
        using MemoryCore core = Core();
        Assert.Null(core.Trace);
        using var scope = NewDisposeScope();
        var trace = new MemoryTrace(core.Config.Memory, row: 1);
        core.Trace = trace;
        Tensor x = randn(3, 5, 3);
        RecurrentState s = core.InitialState(3);
        var states = new List<RecurrentState>();
        for (int t = 0; t < 5; t++)
        {
            (_, s) = core.Step(x.select(1, t), s);
            states.Add(s);
        }

        Assert.Equal(5, trace.Count);
        for (int t = 0; t < 5; t++)
        {
            Assert.Equal(states[t]["write_weights"][1].data<float>().ToArray(), trace.WriteWeights(t).ToArray());
            Assert.Equal(states[t]["read_weights"][1, 0].data<float>().ToArray(), trace.ReadWeights(t, 0).ToArray());
            Assert.Equal(states[t]["read_weights"][1, 1].data<float>().ToArray(), trace.ReadWeights(t, 1).ToArray());
            Assert.Equal(states[t]["usage"][1].data<float>().ToArray(), trace.Usage(t).ToArray());
        }

        // Unroll records each of its steps too; after Clear and with the trace off, nothing more is recorded.
        trace.Clear();
        core.Unroll(x, core.InitialState(3));
        Assert.Equal(5, trace.Count);
        // (Unroll encodes all steps in one product, Step one step at a time: the BLAS kernels may round differently.)
        float[] unrolled = trace.WriteWeights(4).ToArray();
        float[] stepped = states[4]["write_weights"][1].data<float>().ToArray();
        Assert.Equal(stepped.Length, unrolled.Length);
        for (int i = 0; i < stepped.Length; i++)
        {
            Assert.True(Math.Abs(unrolled[i] - stepped[i]) <= 1e-6f, $"slot {i}: unrolled {unrolled[i]}, stepped {stepped[i]}");
        }

        core.Trace = null;
        core.Unroll(x, core.InitialState(3));
        Assert.Equal(5, trace.Count);
    }

    [Fact]
    public void ThrowIfNotFinite_NamesMemoryCoreAndThePart()
    {
        using MemoryCore core = Core();
        using var scope = NewDisposeScope();
        RecurrentState s = Warmed(core, 2);
        core.ThrowIfNotFinite(s);
        Tensor h = s["h"].clone();
        h[1, 4] = tensor(float.NaN);
        var broken = new RecurrentState([.. s.Spec.Parts.Select((p, i) => (p.Name, p.Name == "h" ? h : s.Tensors[i]))]);
        var e = Assert.Throws<InvalidOperationException>(() => core.ThrowIfNotFinite(broken));
        Assert.Contains("MemoryCore: the state part 'h' holds 1 NaN or infinite value(s) (first in batch row 1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SaveThenLoad_GivesTheSameConfigurationAndFeatures()
    {
        string path = Path.Combine(_dir, "core.rlmb");
        using MemoryCore original = Core(seed: 3);
        original.Save(path);
        using MemoryCore loaded = MemoryCore.Load(path);
        Assert.Equal((3, 6), (loaded.Config.ObservationSize, loaded.Config.HiddenSize));
        Assert.Equal(original.Config.EncoderSizes, loaded.Config.EncoderSizes);
        Assert.Equal(original.Config.Memory, loaded.Config.Memory);

        using var scope = NewDisposeScope();
        Tensor x = randn(2, 4, 3);
        var (a, _) = original.Unroll(x, original.InitialState(2));
        var (b, _) = loaded.Unroll(x, loaded.InitialState(2));
        Assert.True(a.equal(b).all().item<bool>());

        // The weights do not depend on the number of slots: they load into a core with a larger memory.
        using var larger = new MemoryCore(Config() with { Memory = new ExternalMemoryConfig { Slots = 9, Width = 3, ReadHeads = 2 } });
        larger.LoadWeights(path);
        var (c, _) = larger.Unroll(x, larger.InitialState(2));
        Assert.Equal([2L, 4L, 12L], c.shape);

        // Another architecture (wider slots) is refused before anything changes.
        manual_seed(4);
        using var other = new MemoryCore(Config() with { Memory = new ExternalMemoryConfig { Slots = 4, Width = 5, ReadHeads = 2 } });
        float[] before = other.parameters().Last().data<float>().ToArray();
        var e = Assert.Throws<InvalidDataException>(() => other.LoadWeights(path));
        Assert.Contains("in the file but", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, other.parameters().Last().data<float>().ToArray());
    }

    [Fact]
    public void Config_RoundTripsThroughSourceGeneratedJson()
    {
        MemoryCoreConfig config = Config(allocation: false, encoder: [16, 8]);
        string json = config.ToJson();
        Assert.Contains("\"UseAllocation\":false", json, StringComparison.Ordinal);
        Assert.DoesNotContain("OutputSize", json, StringComparison.Ordinal);
        MemoryCoreConfig back = MemoryCoreConfig.FromJson(json);
        Assert.Equal(config.Memory, back.Memory);
        Assert.Equal([16, 8], back.EncoderSizes);
        Assert.Equal((3, 6), (back.ObservationSize, back.HiddenSize));
        Assert.Throws<ArgumentException>(() => MemoryCoreConfig.FromJson("{not json"));

        // Fields missing from the JSON keep their defaults (not 0 or null, as init-only properties would get).
        MemoryCoreConfig partial = MemoryCoreConfig.FromJson("""{"ObservationSize":5,"Memory":{"ReadHeads":3}}""");
        Assert.Equal((5, 128, 64), (partial.ObservationSize, partial.HiddenSize, partial.EncoderSizes.Single()));
        Assert.Equal(new ExternalMemoryConfig { ReadHeads = 3 }, partial.Memory);
        Assert.Equal((32, 16, true), (partial.Memory.Slots, partial.Memory.Width, partial.Memory.UseAllocation));
    }

    [Fact]
    public void StepAndUnroll_LeaveNoLiveTensorsBehind()
    {
        using MemoryCore core = Core();
        Tensor x = randn(4, 6, 3);
        Tensor resets = zeros(4, 6, ScalarType.Bool);
        resets[2, 3] = tensor(true);
        RecurrentState s = core.InitialState(4);
        void Run()
        {
            for (int t = 0; t < 6; t++)
            {
                using Tensor xt = x.select(1, t);
                var (f, next) = core.Step(xt, s);
                f.Dispose();
                s.Dispose();
                s = next;
            }

            var (features, last) = core.Unroll(x, s, resets);
            features.Dispose();
            last.Dispose();
        }

        Run();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Run();
        Run();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        s.Dispose();
        x.Dispose();
        resets.Dispose();
    }
}
