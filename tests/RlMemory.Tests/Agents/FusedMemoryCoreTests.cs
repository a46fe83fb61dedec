using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

/// <summary>
/// The fused memory core (the recurrence written in C#) against the tensor path (the reference): outputs, states and
/// every gradient for random weights, inputs, states and resets; and the fused backward at float64 against central
/// differences.
/// </summary>
public sealed class FusedMemoryCoreTests
{
    private static MemoryCore Core(bool allocation, int readHeads, long seed, ScalarType dtype = ScalarType.Float32, int slots = 5, int width = 3, int hidden = 7)
    {
        manual_seed(seed);
        var core = new MemoryCore(new MemoryCoreConfig(5, [6], hidden, new ExternalMemoryConfig(slots: slots, width: width, readHeads: readHeads, useAllocation: allocation)));
        if (dtype != ScalarType.Float32)
        {
            core.to(dtype);
        }

        // Larger weights than the default initialization, so the memory's softmaxes and gates leave their flat regions.
        using (no_grad())
        {
            foreach (var (_, p) in core.named_parameters())
            {
                p.mul_(2.5);
            }
        }

        return core;
    }

    /// <summary>A random state with valid parts: memory and h, c, reads any values; weights on the simplex (scaled); usage in (0, 1).</summary>
    private static RecurrentState RandomState(MemoryCore core, int batch, Generator g, ScalarType dtype)
    {
        var parts = new List<(string, Tensor)>();
        foreach (RecurrentStatePart part in core.StateSpec.Parts)
        {
            long[] shape = [batch, .. part.Shape];
            Tensor value = part.Name switch
            {
                ExternalMemory.ReadWeightsPart => nn.functional.softmax(randn(shape, dtype, generator: g) * 2, -1),
                ExternalMemory.WriteWeightsPart => nn.functional.softmax(randn(shape, dtype, generator: g) * 2, -1) * 0.8,
                ExternalMemory.UsagePart => rand(shape, dtype, generator: g) * 0.9 + 0.05,
                _ => randn(shape, dtype, generator: g),
            };
            parts.Add((part.Name, value));
        }

        return new RecurrentState(parts);
    }

    /// <summary>Features, final state and the gradients of a random linear objective with respect to everything.</summary>
    private static (Tensor[] Outputs, Tensor[] Gradients) Run(MemoryCore core, bool fused, Tensor observations, RecurrentState state, Tensor? resets, long seed)
    {
        core.UseFusedKernel = fused;
        Assert.Equal(fused, core.RunsFused);
        core.zero_grad();
        Tensor x = observations.detach().clone().requires_grad_(true);
        var leaves = state.Tensors.Select(t => t.detach().clone().requires_grad_(true)).ToArray();
        var start = new RecurrentState([.. state.Spec.Parts.Select((p, i) => (p.Name, leaves[i]))]);
        var (features, next) = core.Unroll(x, start, resets);
        using var g = new Generator((ulong)seed);
        Tensor objective = (features * randn(features.shape, features.dtype, generator: g)).sum();
        foreach (Tensor part in next.Tensors)
        {
            objective += (part * randn(part.shape, part.dtype, generator: g)).sum();
        }

        objective.backward();
        Tensor[] outputs = [features.detach(), .. next.Tensors.Select(t => t.detach())];
        // Without allocation the read weights before a step reach nothing (the usage needs no free gates): autograd leaves
        // their gradient undefined, the fused path returns zeros.
        Tensor[] gradients = [x.grad!.clone(), .. leaves.Select(l => l.grad?.clone() ?? zeros_like(l)), .. core.parameters().Select(p => p.grad!.clone())];
        return (outputs, gradients);
    }

    [Theory]
    [InlineData(true, 2, false, 5, 3, 7)]
    [InlineData(true, 1, true, 5, 3, 7)]
    [InlineData(false, 2, true, 5, 3, 7)]
    [InlineData(false, 1, false, 5, 3, 7)]
    // The presets' sizes (whole vectors in the memory step and the products), and sizes with element-by-element tails
    // everywhere. Not allocation after resets at these sizes: a reset leaves every usage zero, so the next steps' usages
    // tie in exact arithmetic and the allocation's order among them (a discontinuous choice) then follows each path's
    // rounding; the small sizes above test resets with allocation.
    [InlineData(true, 1, false, 16, 16, 64)]
    [InlineData(false, 1, true, 16, 16, 64)]
    [InlineData(true, 2, false, 17, 19, 37)]
    public void FusedAndTensorPaths_Agree_OnOutputsStatesAndEveryGradient(bool allocation, int readHeads, bool withResets, int slots, int width, int hidden)
    {
        using var scope = NewDisposeScope();
        MemoryCore core = Core(allocation, readHeads, 11, slots: slots, width: width, hidden: hidden);
        using var g = new Generator(5);
        const int batch = 3, steps = 7;
        Tensor observations = randn([batch, steps, 5], generator: g);
        RecurrentState state = RandomState(core, batch, g, ScalarType.Float32);
        Tensor? resets = withResets ? tensor(new bool[] { false, false, true, false, false, false, false, true, false, false, false, true, false, false, false, false, false, false, false, false, true }).reshape(batch, steps) : null;

        var (fusedOutputs, fusedGradients) = Run(core, true, observations, state, resets, 3);
        var (tensorOutputs, tensorGradients) = Run(core, false, observations, state, resets, 3);
        Assert.Equal(tensorOutputs.Length, fusedOutputs.Length);
        for (int i = 0; i < tensorOutputs.Length; i++)
        {
            AssertClose(tensorOutputs[i], fusedOutputs[i], $"output {i}");
        }

        Assert.Equal(tensorGradients.Length, fusedGradients.Length);
        string[] names = ["observations", .. state.Spec.Parts.Select(p => "state " + p.Name), .. core.named_parameters().Select(p => p.name)];
        for (int i = 0; i < tensorGradients.Length; i++)
        {
            AssertClose(tensorGradients[i], fusedGradients[i], names[i]);
        }

        // Zero exactly where the reference is zero (the read weights without allocation, a usage chain cut by resets),
        // and most gradients are not.
        int nonzero = 0;
        for (int i = 0; i < fusedGradients.Length; i++)
        {
            bool reaches = tensorGradients[i].abs().max().item<float>() > 0;
            Assert.Equal(reaches, fusedGradients[i].abs().max().item<float>() > 0);
            nonzero += reaches ? 1 : 0;
        }

        Assert.True(nonzero >= fusedGradients.Length - 3, $"only {nonzero} of {fusedGradients.Length} gradients are nonzero");
    }

    [Fact]
    public void AfterTheWeightsChangeInPlace_TheFusedStepUsesTheNewWeights()
    {
        // The fused kernel keeps the weights' rearranged layout while they hold the same values (acting between updates);
        // an optimizer changes them in place, and the next step must see that, for every weight it rearranges.
        using var scope = NewDisposeScope();
        MemoryCore core = Core(true, 1, 6);
        using var g = new Generator(9);
        Tensor observations = randn([2, 5], generator: g);
        RecurrentState state = RandomState(core, 2, g, ScalarType.Float32);
        using var noGrad = no_grad();
        core.UseFusedKernel = true;
        var (before, _) = core.Step(observations, state);
        foreach (var (name, parameter) in core.named_parameters())
        {
            if (name.Contains("weight", StringComparison.Ordinal))
            {
                parameter.add_(randn(parameter.shape, generator: g) * 0.5);
                var (fused, reference) = StepBothWays(core, observations, state);
                AssertClose(reference.Features, fused.Features, $"features after changing {name}");
            }
        }

        core.UseFusedKernel = true;
        var (after, _) = core.Step(observations, state);
        Assert.True((after - before).abs().max().item<float>() > 1e-3, "the changes should change the features");
    }

    [Fact]
    public void AFailingBackward_IsAnErrorAtBackward_NotTheEndOfTheProcess()
    {
        // Changing a saved weight in place between the forward and backward() makes autograd refuse the saved tensors
        // inside the fused backward. That exception cannot cross libtorch's engine (it used to end the process); it now
        // surfaces as libtorch's error at backward(), and TakeFusedBackwardError gives its cause, once.
        using var scope = NewDisposeScope();
        MemoryCore core = Core(true, 1, 14);
        using var g = new Generator(2);
        Tensor observations = randn([2, 4, 5], generator: g);
        RecurrentState state = RandomState(core, 2, g, ScalarType.Float32);
        var (features, _) = core.Unroll(observations, state);
        using (no_grad())
        {
            core.named_parameters().First(p => p.name.Contains("weight_hh", StringComparison.Ordinal)).parameter.add_(1.0);
        }

        var e = Assert.Throws<System.Runtime.InteropServices.ExternalException>(() => features.sum().backward());
        Assert.Contains("returned an invalid gradient", e.Message, StringComparison.Ordinal);
        Exception? cause = MemoryCore.TakeFusedBackwardError();
        Assert.NotNull(cause);
        Assert.Contains("modified by an inplace operation", cause.Message, StringComparison.Ordinal);
        Assert.Null(MemoryCore.TakeFusedBackwardError());

        // The kernel still works afterwards.
        var (again, _) = core.Unroll(observations, state);
        again.sum().backward();
        Assert.All(core.parameters(), p => Assert.NotNull(p.grad));
    }

    [Fact]
    public void ABackward_UsesItsOwnForwardsWeights_AfterForwardsOfAnotherNetworkOfTheSameSize()
    {
        // The rearranged weights are kept per thread and a kept layout is rewritten in place for other weights of the same
        // size (a learner's next update, R2D2's target network), but never while a sequence that has not run its
        // backward holds it: here a forward with gradients, then two forwards of another core of the same size (one
        // with gradients, one without), then the first backward must give the gradients of its own weights, bit for bit.
        using var scope = NewDisposeScope();
        MemoryCore core = Core(true, 1, 12), other = Core(true, 1, 13);
        core.UseFusedKernel = true;
        other.UseFusedKernel = true;
        using var g = new Generator(4);
        Tensor observations = randn([2, 6, 5], generator: g);
        RecurrentState state = RandomState(core, 2, g, ScalarType.Float32);
        Tensor weights = randn([2, 6, core.OutputSize], generator: g);
        Tensor InputGradient(MemoryCore network, Action? between)
        {
            Tensor x = observations.detach().clone().requires_grad_(true);
            var (features, _) = network.Unroll(x, state);
            between?.Invoke();
            (features * weights).sum().backward();
            return x.grad!.clone();
        }

        Tensor expected = InputGradient(core, null);
        Tensor afterOthers = InputGradient(core, () =>
        {
            var (features, _) = other.Unroll(observations.detach().clone().requires_grad_(true), state);
            Assert.True(features.requires_grad);
            using (no_grad())
            {
                other.Unroll(observations, state);
            }
        });
        Assert.Equal(expected.data<float>().ToArray(), afterOthers.data<float>().ToArray());

        // The other core's weights give other gradients (so the equality above is not vacuous).
        Assert.True((InputGradient(other, null) - expected).abs().max().item<float>() > 1e-3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheMemoryStepsBackward_FromWhatTheForwardKept_EqualsItsRecomputation_BitForBit(bool allocation)
    {
        // The fused sequence keeps each step's write content weighting and allocation order so the backward need not
        // derive them again; they are the same values, so every gradient must be the same bits.
        var config = new ExternalMemoryConfig(slots: 6, width: 5, readHeads: 2, useAllocation: allocation);
        var kernel = new MemoryStepKernel<float>(config);
        var random = new Random(3);
        float[] Values(int count, float scale = 1f) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale)];
        float[] Simplex(int rows, int count) => [.. Enumerable.Range(0, rows).SelectMany(_ => { var w = Values(count).Select(v => Math.Abs(v) + 0.1f).ToArray(); float sum = w.Sum(); return w.Select(v => v / sum * 0.9f); })];
        int n = config.Slots, w = config.Width, r = config.ReadHeads;
        float[] xi = Values(kernel.InterfaceSize, 2f), memory = Values(n * w), readWeights = Simplex(r, n), writeWeights = Simplex(1, n);
        float[] usage = [.. Values(n).Select(v => (v + 1) / 2)];
        float[] nextMemory = new float[n * w], nextRead = new float[r * n], nextWrite = new float[n], nextUsage = new float[n], reads = new float[r * w];
        float[] content = new float[n];
        int[] order = new int[n];
        kernel.Forward(xi, memory, readWeights, writeWeights, usage, nextMemory, nextRead, nextWrite, nextUsage, reads, content, order);
        Assert.Contains(content, v => v > 0);

        float[] dNextRead = Values(r * n), dNextWrite = Values(n), dNextUsage = Values(n), dReads = Values(r * w), dNextMemory = Values(n * w);
        float[][] Backward(bool kept)
        {
            float[] dMemoryNext = (float[])dNextMemory.Clone();
            float[] dXi = new float[xi.Length], dMemory = new float[n * w], dRead = new float[r * n], dWrite = new float[n], dUsage = new float[n];
            kernel.Backward(
                xi, memory, readWeights, writeWeights, usage, nextMemory, nextRead, dMemoryNext, dNextRead, dNextWrite, dNextUsage, dReads,
                dXi, dMemory, dRead, dWrite, dUsage, kept ? content : default, kept ? order : default);
            return [dXi, dMemory, dRead, dWrite, dUsage, dMemoryNext];
        }

        float[][] recomputed = Backward(false);

        // Another step through the same kernel first, so nothing of the first one is left in its scratch space.
        float[] otherUsage = [.. Values(n).Select(v => (v + 1) / 4)];
        kernel.Forward(Values(kernel.InterfaceSize, 2f), Values(n * w), Simplex(r, n), Simplex(1, n), otherUsage, new float[n * w], new float[r * n], new float[n], new float[n], new float[r * w]);
        float[][] fromKept = Backward(true);
        for (int i = 0; i < recomputed.Length; i++)
        {
            Assert.Equal(recomputed[i].Select(BitConverter.SingleToInt32Bits), fromKept[i].Select(BitConverter.SingleToInt32Bits));
        }

        Assert.Contains(recomputed[0], v => v != 0);
    }

    [Fact]
    public void FusedStep_MatchesTheTensorStep_WithoutGradients()
    {
        using var scope = NewDisposeScope();
        MemoryCore core = Core(true, 2, 4);
        using var g = new Generator(8);
        Tensor observations = randn([4, 5], generator: g);
        RecurrentState state = RandomState(core, 4, g, ScalarType.Float32);
        using var noGrad = no_grad();
        var (fused, reference) = StepBothWays(core, observations, state);
        AssertClose(reference.Features, fused.Features, "features");
        for (int i = 0; i < reference.State.Tensors.Count; i++)
        {
            AssertClose(reference.State.Tensors[i], fused.State.Tensors[i], state.Spec.Parts[i].Name);
        }
    }

    /// <summary>One <c>Step</c> with the fused kernel and one on the tensor path (the reference); the fused kernel is left on.</summary>
    private static ((Tensor Features, RecurrentState State) Fused, (Tensor Features, RecurrentState State) Reference) StepBothWays(
        MemoryCore core, Tensor observations, RecurrentState state)
    {
        core.UseFusedKernel = false;
        var reference = core.Step(observations, state);
        core.UseFusedKernel = true;
        return (core.Step(observations, state), reference);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FusedBackward_AtFloat64_MatchesCentralDifferences(bool allocation)
    {
        using var scope = NewDisposeScope();
        var config = new ExternalMemoryConfig(slots: 5, width: 3, readHeads: 2, useAllocation: allocation);
        var memory = new ExternalMemory(config);
        const int batch = 2, steps = 4, encoded = 4, hidden = 5;
        using var g = new Generator(9);
        Tensor Random(params long[] shape) => randn(shape, ScalarType.Float64, generator: g);
        Tensor x = Random(batch, steps, encoded);
        Tensor[] state =
        [
            Random(batch, hidden), Random(batch, hidden), Random(batch, 5, 3),
            nn.functional.softmax(Random(batch, 2, 5) * 2, -1), nn.functional.softmax(Random(batch, 5) * 2, -1) * 0.8,
            (rand([batch, 5], ScalarType.Float64, generator: g) * 0.9) + 0.05, Random(batch, 6),
        ];
        Tensor weightIh = Random(4 * hidden, encoded + 6) * 0.8, weightHh = Random(4 * hidden, hidden) * 0.8;
        Tensor biasIh = Random(4 * hidden) * 0.5, biasHh = Random(4 * hidden) * 0.5;
        Tensor interfaceWeight = Random(memory.InterfaceSize, hidden), interfaceBias = Random(memory.InterfaceSize);
        bool[] resets = [true, false, false, false, false, false, true, false]; // row 0 starts an episode at step 0, row 1 at step 2
        Tensor lambda = Random(batch, steps, hidden + 6);
        Tensor[] lambdaState = [.. state.Select(s => Random(s.shape))];

        Tensor[] inputs = [x, .. state, weightIh, weightHh, biasIh, biasHh, interfaceWeight, interfaceBias];
        double Objective(Tensor[] values)
        {
            using var inner = NewDisposeScope();
            var (features, next) = FusedMemoryFunction.Run(values[0], values[1..8], values[8], values[9], values[10], values[11], values[12], values[13], config, resets);
            Tensor total = (features * lambda).sum();
            for (int i = 0; i < next.Length; i++)
            {
                total += (next[i] * lambdaState[i]).sum();
            }

            return total.item<double>();
        }

        // Analytic: the fused backward.
        Tensor[] leaves = [.. inputs.Select(t => t.clone().requires_grad_(true))];
        var (f, n) = FusedMemoryFunction.Run(leaves[0], leaves[1..8], leaves[8], leaves[9], leaves[10], leaves[11], leaves[12], leaves[13], config, resets);
        Tensor objective = (f * lambda).sum();
        for (int i = 0; i < n.Length; i++)
        {
            objective += (n[i] * lambdaState[i]).sum();
        }

        objective.backward();
        string[] names = ["x", "h0", "c0", "memory0", "read_weights0", "write_weights0", "usage0", "read_vectors0", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "interface weight", "interface bias"];
        using var noGrad = no_grad();
        for (int k = 0; k < inputs.Length; k++)
        {
            double[] analytic = leaves[k].grad!.contiguous().view(-1).data<double>().ToArray();
            Tensor flat = inputs[k].view(-1);
            for (long i = 0; i < flat.shape[0]; i += Math.Max(1, flat.shape[0] / 25))
            {
                const double h = 1e-6;
                double original = flat[i].item<double>();
                flat[i] = original + h;
                double up = Objective(inputs);
                flat[i] = original - h;
                double down = Objective(inputs);
                flat[i] = original;
                double numeric = (up - down) / (2 * h);
                Assert.True(
                    Math.Abs(numeric - analytic[i]) <= 1e-6 + (1e-5 * Math.Abs(numeric)),
                    $"{names[k]}[{i}]: fused backward {analytic[i]:R}, central difference {numeric:R}");
            }
        }

        // The rows reset before step 0 get no gradient in their initial state.
        Assert.Equal(0.0, leaves[1].grad![0].abs().sum().item<double>());
        Assert.True(leaves[1].grad![1].abs().sum().item<double>() > 0);
    }

    [Fact]
    public void ASecondBackwardThroughTheSameGraph_GivesTheSameGradientsAgain()
    {
        // The tape goes back to the pool after the first backward; with retain_graph a second backward rebuilds it.
        using var scope = NewDisposeScope();
        MemoryCore core = Core(true, 2, 13);
        using var g = new Generator(6);
        Tensor observations = randn([2, 5, 5], generator: g);
        RecurrentState state = RandomState(core, 2, g, ScalarType.Float32);
        core.zero_grad();
        var (features, _) = core.Unroll(observations, state);
        Tensor loss = features.pow(2).sum();
        loss.backward(retain_graph: true);
        Tensor[] once = [.. core.parameters().Select(p => p.grad!.clone())];
        loss.backward();
        Tensor[] twice = [.. core.parameters().Select(p => p.grad!.clone())];
        for (int i = 0; i < once.Length; i++)
        {
            AssertClose(once[i] * 2, twice[i], $"parameter {i}");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 80, 256)]
    [InlineData(7, 13, 37)]
    [InlineData(9, 64, 69)]
    [InlineData(64, 256, 80)]
    [InlineData(8, 5, 20)]
    [InlineData(5, 3, 16)]
    [InlineData(1, 7, 87)]
    [InlineData(3, 9, 150)]
    [InlineData(2, 5, 64)]
    [InlineData(32, 64, 69)]
    [InlineData(8, 80, 256)]
    [InlineData(13, 9, 23)]
    [InlineData(6, 3, 8)]
    [InlineData(10, 4, 7)]
    [InlineData(14, 2, 9)]
    public void TheBlockedMatrixProduct_AddsExactlyTheNaiveProduct(int m, int k, int n)
    {
        // Integer-valued floats make every product and sum exact, so any order of accumulation gives the same result.
        var random = new Random(m * 1000 + n);
        float[] a = [.. Enumerable.Range(0, m * k).Select(_ => (float)random.Next(-8, 9))];
        float[] b = [.. Enumerable.Range(0, k * n).Select(_ => (float)random.Next(-8, 9))];
        float[] c = [.. Enumerable.Range(0, m * n).Select(_ => (float)random.Next(-8, 9))];
        float[] expected = (float[])c.Clone();
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int p = 0; p < k; p++)
                {
                    expected[(i * n) + j] += a[(i * k) + p] * b[(p * n) + j];
                }
            }
        }

        float[] vector = (float[])c.Clone();
        double[] vectorDouble = [.. c.Select(x => (double)x)];
        FusedMemorySequence<float>.MultiplyAdd(a, m, k, b, n, c);
        Assert.Equal(expected, c);

        // The Vector<T> product (the one without AVX-512) runs here whatever this machine has, at both precisions.
        VectorProduct<float>.MultiplyAdd(a, m, k, b, n, vector);
        Assert.Equal(expected, vector);

        // Integer values are exact at both precisions: the double product must give the float expectation too.
        VectorProduct<double>.MultiplyAdd([.. a.Select(x => (double)x)], m, k, [.. b.Select(x => (double)x)], n, vectorDouble);
        Assert.Equal(expected.Select(x => (double)x).ToArray(), vectorDouble);
    }

    [Theory]
    [InlineData(32, 80, 256)]
    [InlineData(32, 64, 69)]
    [InlineData(8, 256, 80)]
    [InlineData(11, 17, 29)]
    public void TheVectorProduct_AccumulatesEachElementInOrder_WhateverItsBlock(int m, int k, int n)
    {
        // Real-valued operands round at every step, so this holds only if each element is c + a[i,0] b[0,j] + a[i,1] b[1,j]
        // + … one fused multiply-add at a time: the order of the scalar loop, in every block (6 rows, 4, 1; pairs of
        // vectors, one vector, the overlapping last one). Row i alone gives the same bits.
        var random = new Random(m * 7919 + n);
        float[] a = [.. Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] b = [.. Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] c = [.. Enumerable.Range(0, m * n).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] expected = (float[])c.Clone();
        for (int i = 0; i < m; i++)
        {
            VectorProduct<float>.ScalarColumns(a.AsSpan(i * k, k), b, n, 0, expected.AsSpan(i * n, n));
        }

        float[] blocked = (float[])c.Clone();
        VectorProduct<float>.MultiplyAdd(a, m, k, b, n, blocked);
        Assert.Equal(expected, blocked);
        for (int i = 0; i < m; i++)
        {
            float[] row = c[(i * n)..((i + 1) * n)];
            VectorProduct<float>.MultiplyAdd(a.AsSpan(i * k, k), 1, k, b, n, row);
            Assert.Equal(expected[(i * n)..((i + 1) * n)], row);
        }
    }

    [Fact]
    public void SequencesWhoseTablesExceedDotNetArrays_RunOnTheTensorPath()
    {
        var presets = new ExternalMemoryConfig(slots: 16, width: 16, readHeads: 1);
        Assert.True(FusedMemorySequence<float>.Fits(64, 80, 64, presets));

        // The memory after each step is T·B·N·W values: 2¹⁶ × 2⁸ slots of 2⁸ floats for 4 steps is 2³⁴, beyond 2³¹.
        var huge = new ExternalMemoryConfig(slots: 1 << 8, width: 1 << 8, readHeads: 1);
        Assert.False(FusedMemorySequence<float>.Fits(1 << 16, 4, 64, huge));
        Assert.True(FusedMemorySequence<float>.Fits(1 << 10, 4, 64, huge));
        Assert.False(FusedMemorySequence<float>.Fits(0, 4, 64, presets));
    }

    private static RecurrentState Replace(RecurrentState state, params (string Name, Tensor Value)[] changes) =>
        new([.. state.Spec.Parts.Select((p, i) => (p.Name, changes.FirstOrDefault(c => c.Name == p.Name).Value ?? state.Tensors[i]))]);

    private static void AssertClose(Tensor expected, Tensor actual, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        double difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        double scale = Math.Max(1, expected.abs().max().to(ScalarType.Float64).item<double>());
        Assert.True(difference <= 1e-5 * scale, $"{name}: fused and tensor paths differ by {difference:G3} (largest value {scale:G3})");
    }
}
