using RlMemory.Memory;
using RlMemory.Memory.External;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.External;

/// <summary>
/// The memory's equations against hand-computed examples (N = 3 slots, W = 2), retrieval, and the configuration's
/// refusals. Gradients are checked in <see cref="ExternalMemoryGradientTests"/>.
/// </summary>
public sealed class ExternalMemoryTests
{
    private static Tensor T(params float[] values) => tensor(values);

    private static void AssertClose(float[] expected, Tensor actual, double tolerance = 1e-5)
    {
        float[] got = actual.contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - got[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {got[i]} (all: [{string.Join(", ", got)}])");
        }
    }

    [Fact]
    public void ContentAddressing_AndRead_MatchAHandComputedExample()
    {
        using var scope = NewDisposeScope();
        // M = [[1, 0], [0, 1], [1, 1]], key k = [1, 0], β = 2.
        // Cosine similarities: slot 0: 1/(1·1) = 1; slot 1: 0; slot 2: 1/(1·√2) = 0.7071068 (ε = 1e-6 moves them by < 1e-6).
        // β·D = [2, 0, 1.4142136]; exp = [7.3890561, 1, 4.1132504], sum 12.5023065.
        // w = [0.5910152, 0.0799854, 0.3289995].
        // Read r = wᵀM = [w0 + w2, w1 + w2] = [0.9200146, 0.4089848].
        Tensor memory = T(1, 0, 0, 1, 1, 1).reshape(1, 3, 2);
        Tensor key = T(1, 0).reshape(1, 1, 2);
        Tensor beta = T(2).reshape(1, 1);
        Tensor weights = ExternalMemory.ContentWeights(memory, key, beta);
        Assert.Equal([1L, 1L, 3L], weights.shape);
        AssertClose([0.5910152f, 0.0799854f, 0.3289995f], weights);
        AssertClose([0.9200146f, 0.4089848f], ExternalMemory.Read(memory, weights));
    }

    [Fact]
    public void ContentAddressing_OfSeveralHeads_IsBatched_AndZeroMemoryGivesUniformWeights()
    {
        using var scope = NewDisposeScope();
        // Two rows, two heads. Row 0 is the example above (head 1 uses key [0, 1] and β = 1: sims [0, 1, 0.7071068],
        // exp = [1, 2.7182818, 2.0281150], sum 5.7463968 → [0.1740221, 0.4730413, 0.3529366]).
        // Row 1 is a zero memory: every similarity is 0 (not NaN), so the weights are uniform, 1/3 each.
        Tensor memory = stack([T(1, 0, 0, 1, 1, 1).reshape(3, 2), zeros(3, 2)]);
        Tensor keys = stack([T(1, 0, 0, 1).reshape(2, 2), T(1, 0, 0, 1).reshape(2, 2)]);
        Tensor beta = T(2, 1, 2, 1).reshape(2, 2);
        Tensor weights = ExternalMemory.ContentWeights(memory, keys, beta);
        Assert.Equal([2L, 2L, 3L], weights.shape);
        AssertClose([0.5910152f, 0.0799854f, 0.3289995f, 0.1740221f, 0.4730413f, 0.3529366f], weights[0]);
        AssertClose([1 / 3f, 1 / 3f, 1 / 3f, 1 / 3f, 1 / 3f, 1 / 3f], weights[1]);
    }

    [Fact]
    public void Write_ErasesThenAdds_AsComputedByHand()
    {
        using var scope = NewDisposeScope();
        // M = [[1, 2], [3, 4], [5, 6]], w = [1, 0, 0.5], e = [1, 0.5], v = [10, 20].
        // slot 0: [1·(1 − 1), 2·(1 − 0.5)] + 1·v = [0, 1] + [10, 20] = [10, 21]
        // slot 1: w = 0, unchanged: [3, 4]
        // slot 2: [5·(1 − 0.5), 6·(1 − 0.25)] + 0.5·v = [2.5, 4.5] + [5, 10] = [7.5, 14.5]
        Tensor memory = T(1, 2, 3, 4, 5, 6).reshape(1, 3, 2);
        Tensor written = ExternalMemory.Write(memory, T(1, 0, 0.5f).reshape(1, 3), T(1, 0.5f).reshape(1, 2), T(10, 20).reshape(1, 2));
        AssertClose([10, 21, 3, 4, 7.5f, 14.5f], written, 1e-6);
        AssertClose([1, 2, 3, 4, 5, 6], memory, 0);
    }

    [Fact]
    public void Allocation_FavoursTheLeastUsedSlot_AsComputedByHand()
    {
        using var scope = NewDisposeScope();
        // u = [0.9, 0.1, 0.5]: ascending order φ = [1, 2, 0].
        // a[1] = (1 − 0.1)                 = 0.9
        // a[2] = (1 − 0.5) · 0.1           = 0.05
        // a[0] = (1 − 0.9) · 0.1 · 0.5     = 0.005
        // Row 1: an unused memory allocates all to slot 0 (ties keep index order); row 2: a full memory allocates nothing.
        Tensor usage = T(0.9f, 0.1f, 0.5f, 0, 0, 0, 1, 1, 1).reshape(3, 3);
        Tensor allocation = ExternalMemory.AllocationWeights(usage);
        AssertClose([0.005f, 0.9f, 0.05f, 1, 0, 0, 0, 0, 0], allocation, 1e-6);
    }

    [Fact]
    public void Usage_FollowsTheDncUpdate_AsComputedByHand()
    {
        using var scope = NewDisposeScope();
        // u = [0.5, 0.2, 0], w^w = [0.5, 0, 1] → u + w − u∘w = [0.75, 0.2, 1].
        // Read heads w^r1 = [1, 0, 0], w^r2 = [0, 0.5, 0.5], free gates f = [0.5, 1]:
        // ψ = (1 − 0.5·[1, 0, 0]) ∘ (1 − 1·[0, 0.5, 0.5]) = [0.5, 1, 1] ∘ [1, 0.5, 0.5] = [0.5, 0.5, 0.5].
        // u' = [0.375, 0.1, 0.5]; without free gates u' = [0.75, 0.2, 1].
        Tensor usage = T(0.5f, 0.2f, 0).reshape(1, 3);
        Tensor write = T(0.5f, 0, 1).reshape(1, 3);
        Tensor reads = T(1, 0, 0, 0, 0.5f, 0.5f).reshape(1, 2, 3);
        AssertClose([0.375f, 0.1f, 0.5f], ExternalMemory.Usage(usage, write, reads, T(0.5f, 1).reshape(1, 2)), 1e-6);
        AssertClose([0.75f, 0.2f, 1], ExternalMemory.Usage(usage, write, reads, null), 1e-6);
    }

    [Fact]
    public void Update_WithAllocation_BlendsAllocationAndContent_AsComputedByHand()
    {
        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 3, Width = 2, ReadHeads = 1, UseAllocation = true });
        // State: M = [[1, 0], [0, 1], [1, 1]], u = [0.9, 0.1, 0.5], previous write and read weights 0 (so u stays).
        // Write key [1, 0], β^w = 2 → c^w = [0.5910152, 0.0799854, 0.3289995] (see the content test).
        // Allocation a = [0.005, 0.9, 0.05]; g^a = 0.5, g^w = 0.8:
        // w^w = 0.8·(0.5·a + 0.5·c^w) = 0.4·[0.5960152, 0.9799854, 0.3789995] = [0.2384061, 0.3919942, 0.1515998].
        // Erase e = [0, 0] and v = [0, 0]: memory unchanged; the read (key [0, 1], β = 1) gives
        // [0.1740221, 0.4730413, 0.3529366] and r = [0.5269587, 0.8259779].
        var state = new ExternalMemoryState(
            T(1, 0, 0, 1, 1, 1).reshape(1, 3, 2), zeros(1, 1, 3), zeros(1, 3), T(0.9f, 0.1f, 0.5f).reshape(1, 3), zeros(1, 2));
        var input = new MemoryInterface(
            readKeys: T(0, 1).reshape(1, 1, 2),
            readStrengths: T(1).reshape(1, 1),
            writeKey: T(1, 0).reshape(1, 2),
            writeStrength: T(2).reshape(1, 1),
            erase: zeros(1, 2),
            writeVector: zeros(1, 2),
            freeGates: T(0.3f).reshape(1, 1),
            allocationGate: T(0.5f).reshape(1, 1),
            writeGate: T(0.8f).reshape(1, 1));
        ExternalMemoryState next = memory.Update(state, input);
        AssertClose([0.9f, 0.1f, 0.5f], next.Usage, 1e-6);
        AssertClose([0.2384061f, 0.3919942f, 0.1515998f], next.WriteWeights);
        AssertClose([1, 0, 0, 1, 1, 1], next.Memory, 1e-6);
        AssertClose([0.1740221f, 0.4730413f, 0.3529366f], next.ReadWeights);
        AssertClose([0.5269587f, 0.8259779f], next.ReadVectors);
    }

    [Fact]
    public void WrittenVector_IsReadBackByItsKey_AndTheNextWriteGoesToAFreshSlot()
    {
        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 4, Width = 3, ReadHeads = 1, UseAllocation = true });
        ExternalMemoryState state = memory.InitialState(1);
        MemoryInterface Writing(float[] v, float[] readKey, float writeGate = 1) => new(
            readKeys: tensor(readKey).reshape(1, 1, 3),
            readStrengths: T(50).reshape(1, 1),
            writeKey: zeros(1, 3),
            writeStrength: ones(1, 1),
            erase: ones(1, 3),
            writeVector: tensor(v).reshape(1, 3),
            freeGates: zeros(1, 1),
            allocationGate: ones(1, 1),
            writeGate: full(1, 1, writeGate));

        // Unused memory: allocation puts the whole write in slot 0; the key of the written vector finds it again.
        state = memory.Update(state, Writing([3, -1, 2], [3, -1, 2]));
        AssertClose([1, 0, 0, 0], state.WriteWeights, 1e-6);
        Assert.True(state.ReadWeights[0, 0, 0].item<float>() > 0.999f, $"read weights {string.Join(", ", state.ReadWeights.data<float>().ToArray())}");
        AssertClose([3, -1, 2], state.ReadVectors, 1e-3);

        // Slot 0 is now used (u = [1, 0, 0, 0]): the next write goes to slot 1, and either vector is found by its key.
        state = memory.Update(state, Writing([-2, 0, 1], [3, -1, 2]));
        AssertClose([1, 0, 0, 0], state.Usage, 1e-6);
        AssertClose([0, 1, 0, 0], state.WriteWeights, 1e-6);
        AssertClose([3, -1, 2], state.ReadVectors, 1e-3);

        // A closed write gate writes nothing.
        state = memory.Update(state, Writing([5, 5, 5], [-2, 0, 1], writeGate: 0));
        AssertClose([0, 0, 0, 0], state.WriteWeights, 1e-6);
        AssertClose([-2, 0, 1], state.ReadVectors, 1e-3);
    }

    [Fact]
    public void ParseInterface_SplitsAndSquashesTheInterfaceVector()
    {
        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 3, Width = 2, ReadHeads = 2, UseAllocation = true });
        // R·W + 3W + R + 1 + R + 2 = 4 + 6 + 3 + 4 = 17.
        Assert.Equal(17, memory.InterfaceSize);
        Assert.Equal(13, new ExternalMemory(new ExternalMemoryConfig { Slots = 3, Width = 2, ReadHeads = 2, UseAllocation = false }).InterfaceSize);
        // ξ = [k^r (4) | k^w (2) | v (2) | β̂ (2 + 1) | ê (2) | f̂ (2) | ĝ^a | ĝ^w] = 0, 1, …, 16, then row 2 = −ξ.
        Tensor xi = arange(17, ScalarType.Float32).reshape(1, 17);
        xi = cat([xi, -xi]);
        MemoryInterface parsed = memory.ParseInterface(xi);
        AssertClose([0, 1, 2, 3], parsed.ReadKeys[0], 0);
        Assert.Equal([2L, 2L, 2L], parsed.ReadKeys.shape);
        AssertClose([4, 5], parsed.WriteKey[0], 0);
        AssertClose([6, 7], parsed.WriteVector[0], 0);
        static float Oneplus(float x) => 1 + (float)Math.Log(1 + Math.Exp(x));
        static float Sigmoid(float x) => 1 / (1 + (float)Math.Exp(-x));
        AssertClose([Oneplus(8), Oneplus(9), Oneplus(-8), Oneplus(-9)], parsed.ReadStrengths);
        AssertClose([Oneplus(10), Oneplus(-10)], parsed.WriteStrength);
        AssertClose([Sigmoid(11), Sigmoid(12)], parsed.Erase[0]);
        AssertClose([Sigmoid(13), Sigmoid(14)], parsed.FreeGates![0]);
        AssertClose([Sigmoid(15), Sigmoid(-15)], parsed.AllocationGate!);
        AssertClose([Sigmoid(16), Sigmoid(-16)], parsed.WriteGate!);
        Assert.True(parsed.ReadStrengths.min().item<float>() >= 1);
    }

    [Fact]
    public void ContentOnlyWrites_FromTheZeroState_WriteEverySlotAlike()
    {
        // The documented reason allocation is on by default: from a uniform memory, content weights are uniform, so
        // every slot receives the same write and stays equal to the others.
        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 4, Width = 3, ReadHeads = 1, UseAllocation = false });
        manual_seed(3);
        ExternalMemoryState state = memory.InitialState(2);
        for (int t = 0; t < 3; t++)
        {
            state = memory.Update(state, memory.ParseInterface(randn(2, memory.InterfaceSize)));
        }

        Tensor m = state.Memory;
        Assert.True(m.abs().sum().item<float>() > 0);
        Assert.True(allclose(m, m[.., 0..1].expand_as(m), atol: 1e-6));
    }

    [Theory]
    [InlineData("Slots", 0)]
    [InlineData("Width", -3)]
    [InlineData("ReadHeads", 0)]
    [InlineData("Slots", 70000)]
    public void Config_RefusesBadSizes_NamingTheFieldAndValue(string field, int value)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => field switch
        {
            "Slots" => new ExternalMemoryConfig { Slots = value },
            "Width" => new ExternalMemoryConfig { Width = value },
            _ => new ExternalMemoryConfig { ReadHeads = value },
        });
        Assert.Contains($"ExternalMemoryConfig.{field} must be in [1, ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"got {value}", e.Message, StringComparison.Ordinal);
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Config_RefusesAnOversizedMatrix_AndBadShapesAreNamed()
    {
        var size = Assert.ThrowsAny<ArgumentException>(() => new ExternalMemory(new ExternalMemoryConfig { Slots = 65536, Width = 1024 }));
        Assert.Contains("ExternalMemoryConfig: Slots × Width must be at most 16777216 floats per row, got 65536 × 1024", size.Message, StringComparison.Ordinal);

        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 3, Width = 2, ReadHeads = 2 });
        var xi = Assert.Throws<ArgumentException>(() => memory.ParseInterface(zeros(4, 16)));
        Assert.Contains("ExternalMemory: the interface vector must be [batch, 17], got [4, 16]", xi.Message, StringComparison.Ordinal);

        ExternalMemoryState state = memory.InitialState(4);
        MemoryInterface ok = memory.ParseInterface(zeros(4, 17));
        var usage = Assert.Throws<ArgumentException>(() => memory.Update(state with { Usage = zeros(4, 5) }, ok));
        Assert.Contains("ExternalMemory: 'usage' must be [4, 3], got [4, 5]", usage.Message, StringComparison.Ordinal);
        var noGates = new MemoryInterface(ok.ReadKeys, ok.ReadStrengths, ok.WriteKey, ok.WriteStrength, ok.Erase, ok.WriteVector);
        var gates = Assert.Throws<ArgumentException>(() => memory.Update(state, noGates));
        Assert.Contains("UseAllocation is True, but the interface lacks the allocation gates", gates.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThrowIfNotFinite_NamesTheComponentPartAndRow()
    {
        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 3, Width = 2, ReadHeads = 1 });
        ExternalMemoryState s = memory.InitialState(3);
        using var fine = new RecurrentState([.. s.Parts()]);
        ExternalMemory.ThrowIfNotFinite(fine);

        Tensor m = zeros(3, 3, 2);
        m[2, 1, 0] = tensor(float.NaN);
        m[2, 0, 1] = tensor(float.PositiveInfinity);
        using var broken = new RecurrentState([.. (s with { Memory = m }).Parts()]);
        var e = Assert.Throws<InvalidOperationException>(() => ExternalMemory.ThrowIfNotFinite(broken));
        Assert.Contains("ExternalMemory: the state part 'memory' holds 2 NaN or infinite value(s) (first in batch row 2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StateParts_DescribeTheInitialState()
    {
        using var scope = NewDisposeScope();
        var memory = new ExternalMemory(new ExternalMemoryConfig { Slots = 5, Width = 4, ReadHeads = 3 });
        using var state = new RecurrentState([.. memory.InitialState(2).Parts()]);
        Assert.Equal(new RecurrentStateSpec(memory.StateParts), state.Spec);
        Assert.Equal(
            "{memory [5, 4] Float32, read_weights [3, 5] Float32, write_weights [5] Float32, usage [5] Float32, read_vectors [12] Float32}",
            state.Spec.ToString());
        Assert.Equal(0f, state.Tensors.Sum(t => t.abs().sum().item<float>()));
    }
}
