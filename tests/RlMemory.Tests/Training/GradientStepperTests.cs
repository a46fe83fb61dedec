using RlMemory.Training;
using RlMemory.Training.Learning;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

public sealed class GradientStepperTests
{
    /// <summary>
    /// A finite loss whose gradient is not: d√b/db at b = 0 is +∞. The step is refused, the message names the parameter
    /// and how many of its values are affected, and no weight moves.
    /// </summary>
    [Fact]
    public void ANonFiniteGradient_IsRefused_NamingTheParameterAndLeavingTheWeights()
    {
        using var a = new Parameter(tensor(new float[] { 1, 2, 3 }));
        using var b = new Parameter(tensor(new float[] { 4, 0 }));
        using var stepper = new GradientStepper([("encoder.weight", a), ("interface.bias", b)], 0.1, 10, "test network");
        using Tensor loss = (a * a).sum() + b.sqrt().sum();
        double value = loss.item<float>();
        Assert.True(double.IsFinite(value));

        var e = Assert.Throws<TrainingDivergedException>(() => stepper.Step(loss, value, envStep: 1234, () => "unused"));
        Assert.Contains("gradient norm", e.Message, StringComparison.Ordinal);
        Assert.Contains("1234", e.Message, StringComparison.Ordinal);
        Assert.Contains("a gradient of the test network is not finite (interface.bias: 1 of 2 values)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("encoder.weight", e.Message, StringComparison.Ordinal);
        Assert.Equal([1f, 2f, 3f], a.data<float>().ToArray());
        Assert.Equal([4f, 0f], b.data<float>().ToArray());
        Assert.Equal(0, stepper.Updates);
    }

    [Fact]
    public void AMemoryCoreWhoseBackwardFails_IsReportedWithItsCause_AndNothingMoves()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var core = new RlMemory.Agents.Recurrent.MemoryCore(new RlMemory.Agents.Recurrent.MemoryCoreConfig(
            3, [4], 5, new RlMemory.Memory.External.ExternalMemoryConfig(slots: 4, width: 3, readHeads: 1, useAllocation: true)));
        (string Name, Parameter Parameter)[] named = [.. core.named_parameters().Select(p => (p.name, p.parameter))];
        using var stepper = new GradientStepper(named, 0.1, 10, "online network");
        var (features, _) = core.Unroll(randn(2, 3, 3), core.InitialState(2));
        Tensor loss = features.pow(2).sum();
        Parameter hh = named.First(p => p.Name.Contains("weight_hh", StringComparison.Ordinal)).Parameter;
        using (no_grad())
        {
            hh.add_(0.5); // a saved weight changed between the forward and the backward
        }

        float[] before = hh.data<float>().ToArray();
        var e = Assert.Throws<InvalidOperationException>(() => stepper.Step(loss, loss.item<float>(), envStep: 77, () => "unused"));
        Assert.StartsWith("The online network's memory core could not back-propagate at environment step 77: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("modified by an inplace operation", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, hh.data<float>().ToArray());
        Assert.Equal(0, stepper.Updates);
    }

    [Fact]
    public void AFiniteGradient_Steps()
    {
        using var a = new Parameter(tensor(new float[] { 1, -1 }));
        using var stepper = new GradientStepper([("w", a)], 0.1, 10, "test network");
        using Tensor loss = (a * a).sum();
        stepper.Step(loss, loss.item<float>(), envStep: 1, () => "unused");

        // Adam's first step moves each weight by the learning rate against the gradient's sign.
        Assert.Equal(0.9f, a.data<float>()[0], 5);
        Assert.Equal(-0.9f, a.data<float>()[1], 5);
        Assert.Equal(1, stepper.Updates);
    }
}
