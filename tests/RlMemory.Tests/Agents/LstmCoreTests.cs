using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class LstmCoreTests
{
    private static LstmCore Core()
    {
        manual_seed(11);
        return new LstmCore(new LstmCoreConfig { ObservationSize = 3, EncoderSizes = [8], HiddenSize = 5 });
    }

    [Fact]
    public void Unroll_WithoutResets_EqualsStepByStep()
    {
        using LstmCore core = Core();
        using var scope = NewDisposeScope();
        Tensor x = randn(4, 6, 3);
        RecurrentState s0 = new([("h", randn(4, 5)), ("c", randn(4, 5))]);
        var (whole, last) = core.Unroll(x, s0);
        RecurrentState s = s0;
        for (int t = 0; t < 6; t++)
        {
            (Tensor f, s) = core.Step(x.select(1, t), s);
            Assert.True(allclose(f, whole.select(1, t), rtol: 1e-5, atol: 1e-6), $"step {t} differs");
        }

        Assert.True(allclose(s["h"], last["h"], atol: 1e-6) && allclose(s["c"], last["c"], atol: 1e-6));
        Assert.Equal([4L, 6L, 5L], whole.shape);
    }

    [Fact]
    public void Resets_RestartFlaggedRowsFromTheInitialState_AtTheFlaggedStep()
    {
        using LstmCore core = Core();
        using var scope = NewDisposeScope();
        Tensor x = randn(2, 5, 3);
        RecurrentState s0 = new([("h", randn(2, 5)), ("c", randn(2, 5))]);
        Tensor resets = zeros(2, 5, ScalarType.Bool);
        resets[1, 3] = tensor(true);
        var (features, _) = core.Unroll(x, s0, resets);

        // Row 0 never resets: as the fused path.
        var (plain, _) = core.Unroll(x, s0);
        Assert.True(allclose(features[0], plain[0], atol: 1e-6));

        // Row 1 from step 3 on equals a fresh unroll of steps 3..4 from the zero state.
        var (fresh, _) = core.Unroll(x[1..2, 3..5], core.InitialState(1));
        Assert.True(allclose(features[1, 3..5], fresh[0], atol: 1e-6));
        Assert.False(allclose(features[1, 3..5], plain[1, 3..5], atol: 1e-3));
    }

    [Fact]
    public void GradientsFlowThroughTime()
    {
        // No encoder: a ReLU encoder can be dead for a particular input, which would hide the recurrent path.
        manual_seed(11);
        using var core = new LstmCore(new LstmCoreConfig { ObservationSize = 3, EncoderSizes = [], HiddenSize = 5 });
        using var scope = NewDisposeScope();
        Tensor x = randn(1, 4, 3, requires_grad: true);
        var (features, _) = core.Unroll(x, core.InitialState(1));
        features.select(1, 3).sum().backward();
        Assert.True(x.grad!.select(1, 0).abs().sum().item<float>() > 0, "the last output depends on the first input");
    }

    [Fact]
    public void WrongShapes_AreRefusedNamingTheExpectedShape()
    {
        using LstmCore core = Core();
        using var scope = NewDisposeScope();
        var obs = Assert.Throws<ArgumentException>(() => core.Step(randn(2, 4), core.InitialState(2)));
        Assert.Contains("observations must be [batch, 3], got [2, 4]", obs.Message, StringComparison.Ordinal);
        var state = Assert.Throws<ArgumentException>(() => core.Unroll(randn(2, 3, 3), core.InitialState(3)));
        Assert.Contains("× 3; expected {h [5] Float32, c [5] Float32} × 2", state.Message, StringComparison.Ordinal);
        var resets = Assert.Throws<ArgumentException>(() => core.Unroll(randn(2, 3, 3), core.InitialState(2), zeros(2, 4)));
        Assert.Contains("resets must be [2, 3]", resets.Message, StringComparison.Ordinal);
    }
}
