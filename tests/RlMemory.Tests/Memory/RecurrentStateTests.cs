using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

public sealed class RecurrentStateTests
{
    private static RecurrentState Sample()
    {
        Tensor h = arange(6, ScalarType.Float32).reshape(3, 2);          // rows [0 1], [2 3], [4 5]
        Tensor memory = arange(12, ScalarType.Float32).reshape(3, 2, 2);  // 3 rows of 2×2
        return new RecurrentState([("h", h), ("memory", memory)]);
    }

    [Fact]
    public void Spec_DescribesEachPartWithoutTheBatchDimension()
    {
        using RecurrentState s = Sample();
        Assert.Equal(3, s.BatchSize);
        Assert.Equal("{h [2] Float32, memory [2, 2] Float32}", s.Spec.ToString());
        Assert.Equal(s.Spec, new RecurrentStateSpec([new("h", [2], ScalarType.Float32), new("memory", [2, 2], ScalarType.Float32)]));
        Assert.NotEqual(s.Spec, new RecurrentStateSpec([new("h", [3], ScalarType.Float32), new("memory", [2, 2], ScalarType.Float32)]));
    }

    [Fact]
    public void Select_TakesTheGivenRowsOfEveryPart()
    {
        using RecurrentState s = Sample();
        using var scope = NewDisposeScope();
        using RecurrentState picked = s.Select(tensor(new long[] { 2, 0 }));
        Assert.Equal([4f, 5f, 0f, 1f], picked["h"].data<float>().ToArray());
        Assert.Equal([8f, 9f, 10f, 11f, 0f, 1f, 2f, 3f], picked["memory"].data<float>().ToArray());
    }

    [Fact]
    public void ResetRows_ZeroesOrRestoresOnlyTheMaskedRows()
    {
        using RecurrentState s = Sample();
        using var scope = NewDisposeScope();
        using RecurrentState zeroed = s.ResetRows(tensor(new[] { false, true, false }));
        Assert.Equal([0f, 1f, 0f, 0f, 4f, 5f], zeroed["h"].data<float>().ToArray());
        Assert.Equal([0f, 1f, 2f, 3f, 0f, 0f, 0f, 0f, 8f, 9f, 10f, 11f], zeroed["memory"].data<float>().ToArray());

        using RecurrentState initial = new([("h", full(3, 2, 7f)), ("memory", full(3, 2, 2, -1f))]);
        using RecurrentState restored = s.ResetRows(tensor(new float[] { 1, 0, 1 }), initial);
        Assert.Equal([7f, 7f, 2f, 3f, 7f, 7f], restored["h"].data<float>().ToArray());
        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], s["h"].data<float>().ToArray());
    }

    [Fact]
    public void Detach_CutsTheGraph_AndGradientsFlowThroughKeptRows()
    {
        Tensor h = ones(2, 3, requires_grad: true);
        using var s = new RecurrentState([("h", h * 2)]);
        using RecurrentState kept = s.ResetRows(tensor(new[] { true, false }));
        kept["h"].sum().backward();
        Assert.Equal([0f, 0f, 0f, 2f, 2f, 2f], h.grad!.data<float>().ToArray());
        using RecurrentState cut = s.Detach();
        Assert.False(cut["h"].requires_grad);
    }

    [Fact]
    public void Zeros_MatchesTheSpec()
    {
        var spec = new RecurrentStateSpec([new("h", [4], ScalarType.Float32), new("usage", [8], ScalarType.Float64)]);
        using RecurrentState z = RecurrentState.Zeros(spec, 5);
        Assert.Equal([5L, 4L], z["h"].shape);
        Assert.Equal(ScalarType.Float64, z["usage"].dtype);
        Assert.Equal(0.0, z["usage"].sum().item<double>());
        Assert.True(z.IsFinite());
    }

    [Fact]
    public void InconsistentParts_AreRefusedWithClearMessages()
    {
        var batch = Assert.Throws<ArgumentException>(() => new RecurrentState([("h", zeros(3, 2)), ("c", zeros(4, 2))]));
        Assert.Contains("part 'c' has batch size 4, but the first part has 3", batch.Message, StringComparison.Ordinal);
        var duplicate = Assert.Throws<ArgumentException>(() => new RecurrentState([("h", zeros(3, 2)), ("h", zeros(3, 2))]));
        Assert.Contains("distinct", duplicate.Message, StringComparison.Ordinal);
        using RecurrentState s = Sample();
        var mask = Assert.Throws<ArgumentException>(() => s.ResetRows(tensor(new[] { true })));
        Assert.Contains("expected [3]", mask.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<KeyNotFoundException>(() => s["c"]);
        Assert.Contains("parts: h, memory", missing.Message, StringComparison.Ordinal);
    }
}
