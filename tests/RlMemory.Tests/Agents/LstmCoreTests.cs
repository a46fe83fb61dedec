using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

/// <remarks>Seeds and draws from torch's global generator: runs alone (<see cref="RlMemory.Tests.Training.SeededTrainingCollection"/>).</remarks>
[Collection(nameof(RlMemory.Tests.Training.SeededTrainingCollection))]
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

    /// <summary>
    /// The LSTM's equations written out (PyTorch's gate order i, f, g, o), from the core's parameters: the reference
    /// that acting (no gradients) and learning (gradients) must both match. Hidden sizes 8, 16, 33 and 100 are among
    /// those where libtorch 2.10's oneDNN inference kernel was wrong on an AVX-512 AMD EPYC (issue 11).
    /// </summary>
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(100)]
    public void WithAndWithoutGradients_StepAndUnroll_FollowTheLstmEquations(int hidden)
    {
        manual_seed(5);
        using var core = new LstmCore(new LstmCoreConfig { ObservationSize = 6, EncoderSizes = [], HiddenSize = hidden });
        using var scope = NewDisposeScope();
        Tensor x = randn(5, 7, 6);
        Tensor h0 = randn(5, hidden).mul(0.5);
        Tensor c0 = randn(5, hidden).mul(0.5);
        Tensor expected = ReferenceLstm(core, x, h0, c0);
        RecurrentState s0 = new([("h", h0), ("c", c0)]);

        Tensor learning = core.Unroll(x, s0).Features.detach();
        Tensor acting, acted;
        using (no_grad())
        {
            acting = core.Unroll(x, s0).Features;
            var steps = new List<Tensor>();
            RecurrentState s = s0;
            for (int t = 0; t < 7; t++)
            {
                (Tensor f, s) = core.Step(x.select(1, t), s);
                steps.Add(f);
            }

            acted = stack(steps, 1);
        }

        Assert.True(allclose(learning, expected, rtol: 1e-5, atol: 1e-5), $"with gradients, max error {(learning - expected).abs().max().item<float>()}");
        Assert.True(allclose(acting, expected, rtol: 1e-5, atol: 1e-5), $"unroll without gradients, max error {(acting - expected).abs().max().item<float>()}");
        Assert.True(allclose(acted, expected, rtol: 1e-5, atol: 1e-5), $"steps without gradients, max error {(acted - expected).abs().max().item<float>()}");
        Assert.NotEqual(LstmInferencePath.Unchecked, core.InferencePath);
    }

    [Fact]
    public void InferenceCheck_RunsOnceOnTheFirstCallWithoutGradients_AndLeavesTheGlobalRandomStreamAlone()
    {
        using LstmCore core = Core();
        using var scope = NewDisposeScope();
        Tensor x = randn(2, 3);
        core.Step(x, core.InitialState(2));
        Assert.Equal(LstmInferencePath.Unchecked, core.InferencePath);

        manual_seed(99);
        Tensor before = randn(4);
        manual_seed(99);
        using (no_grad())
        {
            core.Step(x, core.InitialState(2));
        }

        Tensor after = randn(4);
        Assert.NotEqual(LstmInferencePath.Unchecked, core.InferencePath);
        Assert.True(before.Equals(after), "the check drew from the global generator");
    }

    private static Tensor ReferenceLstm(LstmCore core, Tensor x, Tensor h, Tensor c)
    {
        using var _ = no_grad();
        var p = core.named_parameters().ToDictionary(n => n.name, n => n.parameter);
        Tensor wIh = p["lstm.weight_ih_l0"], wHh = p["lstm.weight_hh_l0"], bIh = p["lstm.bias_ih_l0"], bHh = p["lstm.bias_hh_l0"];
        var outputs = new List<Tensor>();
        for (int t = 0; t < x.shape[1]; t++)
        {
            Tensor[] gates = (x.select(1, t).matmul(wIh.t()) + bIh + h.matmul(wHh.t()) + bHh).chunk(4, 1);
            c = gates[1].sigmoid() * c + gates[0].sigmoid() * gates[2].tanh();
            h = gates[3].sigmoid() * c.tanh();
            outputs.Add(h);
        }

        return stack(outputs, 1);
    }
}
