using RlMemory.Training.Ppo;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

public sealed class PpoLossTests
{
    // Two entries, two actions, worked out by hand:
    //   entry 0: logits [0, 0]     → π = [1/2, 1/2]; a = 0, log π = ln 1/2; π_old(a) = 0.4 → r = 1.25; A = +2.
    //   entry 1: logits [ln 3, 0]  → π = [3/4, 1/4]; a = 1, log π = ln 1/4; π_old(a) = 0.3 → r = 5/6;  A = −1.
    // Surrogates (ε = 0.2): min(2·1.25, 2·1.2) = 2.4 (clipped); min(−5/6, −1·5/6) = −5/6 (inside the range).
    //   policy-gradient loss = −(2.4 − 5/6)/2 = −0.7833333; clip fraction = 1/2.
    // approx KL = mean((r − 1) − ln r) = ((0.25 − ln 1.25) + (−1/6 − ln 5/6))/2 = 0.0212557.
    // Entropies: ln 2 = 0.6931472 and −(3/4 ln 3/4 + 1/4 ln 1/4) = 0.5623351 → entropy loss = −0.6277411.
    // Values V = [1, 0], V_old = [0.5, 0.2], R = [2, −1]:
    //   unclipped value loss = ((2 − 1)² + (−1 − 0)²)/2 = 1;
    //   ε_vf = 0.3: V_pred = [0.5 + 0.3, 0.2 − 0.2] = [0.8, 0] → ((1.2)² + 1²)/2 = 1.22.
    private static (Tensor Logits, Tensor Actions, Tensor OldLogProbs, Tensor Advantages, Tensor Values, Tensor OldValues, Tensor Returns) Tiny() =>
    (
        tensor(new float[] { 0, 0, MathF.Log(3), 0 }, [2, 2]),
        tensor(new long[] { 0, 1 }),
        tensor(new[] { MathF.Log(0.4f), MathF.Log(0.3f) }),
        tensor(new float[] { 2, -1 }),
        tensor(new float[] { 1, 0 }),
        tensor(new float[] { 0.5f, 0.2f }),
        tensor(new float[] { 2, -1 })
    );

    private static double Value(Tensor t) => t.item<float>();

    [Fact]
    public void Terms_MatchHandComputedValues()
    {
        using var scope = NewDisposeScope();
        var (logits, actions, oldLogProbs, advantages, values, oldValues, returns) = Tiny();
        PpoLossTerms terms = PpoLoss.Compute(logits, actions, oldLogProbs, advantages, values, oldValues, returns, mask: null, clipRange: 0.2, clipRangeVf: null, entCoef: 0.01, vfCoef: 0.5);

        Assert.Equal(-0.7833333, Value(terms.PolicyGradientLoss), 5);
        Assert.Equal(0.5, Value(terms.ClipFraction), 6);
        Assert.Equal(0.0212557, Value(terms.ApproxKl), 5);
        Assert.Equal(-0.6277411, Value(terms.EntropyLoss), 5);
        Assert.Equal(1.0, Value(terms.ValueLoss), 6);
        Assert.Equal(-0.7833333 + 0.01 * -0.6277411 + 0.5 * 1.0, Value(terms.Loss), 5);
    }

    [Fact]
    public void ValueClipping_ClipsThePredictionAroundTheRolloutsValue()
    {
        using var scope = NewDisposeScope();
        var (logits, actions, oldLogProbs, advantages, values, oldValues, returns) = Tiny();
        PpoLossTerms terms = PpoLoss.Compute(logits, actions, oldLogProbs, advantages, values, oldValues, returns, mask: null, clipRange: 0.2, clipRangeVf: 0.3, entCoef: 0, vfCoef: 1);
        Assert.Equal(1.22, Value(terms.ValueLoss), 5);
        Assert.Equal(-0.7833333 + 1.22, Value(terms.Loss), 5);
    }

    [Fact]
    public void MaskedEntries_CountForNothing()
    {
        using var scope = NewDisposeScope();
        var (logits, actions, oldLogProbs, advantages, values, oldValues, returns) = Tiny();

        // The same two entries as a [1, 3] sequence with a third, masked entry holding other numbers.
        Tensor l = cat([logits, tensor(new float[] { 5, -5 }, [1, 2])]).unsqueeze(0);
        Tensor a = cat([actions, tensor(new long[] { 1 })]).unsqueeze(0);
        Tensor Extend(Tensor t, float x) => cat([t, tensor(new[] { x })]).unsqueeze(0);
        Tensor mask = tensor(new float[] { 1, 1, 0 }).unsqueeze(0);
        PpoLossTerms masked = PpoLoss.Compute(
            l, a, Extend(oldLogProbs, -3), Extend(advantages, 7), Extend(values, 4), Extend(oldValues, -2), Extend(returns, 9), mask,
            clipRange: 0.2, clipRangeVf: 0.3, entCoef: 0.01, vfCoef: 0.5);
        PpoLossTerms plain = PpoLoss.Compute(logits, actions, oldLogProbs, advantages, values, oldValues, returns, mask: null, clipRange: 0.2, clipRangeVf: 0.3, entCoef: 0.01, vfCoef: 0.5);

        Assert.Equal(Value(plain.Loss), Value(masked.Loss), 6);
        Assert.Equal(Value(plain.ApproxKl), Value(masked.ApproxKl), 6);
        Assert.Equal(Value(plain.ClipFraction), Value(masked.ClipFraction), 6);
        Assert.Equal(Value(plain.EntropyLoss), Value(masked.EntropyLoss), 6);
    }

    [Fact]
    public void TheGradient_FlowsOnlyThroughTheUnclippedSide()
    {
        // Entry 0 is clipped (r = 1.25 > 1.2 with A > 0): its surrogate is constant, so its logits get no policy gradient.
        using var scope = NewDisposeScope();
        var (logits, actions, oldLogProbs, advantages, values, oldValues, returns) = Tiny();
        logits.requires_grad = true;
        PpoLossTerms terms = PpoLoss.Compute(logits, actions, oldLogProbs, advantages, values, oldValues, returns, mask: null, clipRange: 0.2, clipRangeVf: null, entCoef: 0, vfCoef: 0);
        terms.Loss.backward();
        Tensor grad = logits.grad!;
        Assert.Equal(0, grad[0].abs().sum().item<float>(), 6);
        Assert.True(grad[1].abs().sum().item<float>() > 0.1);
    }
}
