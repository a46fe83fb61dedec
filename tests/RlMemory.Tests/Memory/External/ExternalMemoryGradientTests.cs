using RlMemory.Memory.External;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.External;

/// <summary>
/// Autograd through one memory step (parse the interface, usage, allocation, write, read) against central differences
/// at float64, and finite gradients from the all-zero initial state.
/// </summary>
public sealed class ExternalMemoryGradientTests
{
    private const double Step = 1e-6;

    private static ExternalMemory Memory(bool allocation) =>
        new(new ExternalMemoryConfig { Slots = 3, Width = 2, ReadHeads = 2, UseAllocation = allocation });

    /// <summary>A fixed random state (float64) with distinct usages, so the allocation's sort order is locally constant.</summary>
    private static ExternalMemoryState State(Tensor memoryMatrix, Generator g) => new(
        memoryMatrix,
        nn.functional.softmax(randn([2, 2, 3], ScalarType.Float64, generator: g), 2),
        nn.functional.softmax(randn([2, 3], ScalarType.Float64, generator: g), 1) * 0.7,
        tensor(new[] { 0.15, 0.8, 0.45, 0.6, 0.05, 0.3 }, ScalarType.Float64).reshape(2, 3),
        zeros([2, 4], ScalarType.Float64));

    /// <summary>A scalar that depends on everything the step produces: Σ λ ∘ [reads, memory, weights, usage].</summary>
    private static Tensor Objective(ExternalMemory memory, Tensor xi, ExternalMemoryState state, Tensor lambda)
    {
        ExternalMemoryState next = memory.Update(state, memory.ParseInterface(xi));
        Tensor all = cat([next.ReadVectors, next.Memory.flatten(1), next.WriteWeights, next.Usage, next.ReadWeights.flatten(1)], 1);
        return (all * lambda).sum();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Gradients_ToTheInterfaceAndMemory_MatchCentralDifferences(bool allocation)
    {
        ExternalMemory memory = Memory(allocation);
        using var scope = NewDisposeScope();
        using var g = new Generator(17);
        Tensor xi = randn([2, memory.InterfaceSize], ScalarType.Float64, generator: g);
        Tensor m0 = randn([2, 3, 2], ScalarType.Float64, generator: g);
        ExternalMemoryState baseState = State(m0, g);
        Tensor lambda = randn([2, 4 + 6 + 3 + 3 + 6], ScalarType.Float64, generator: g);

        Tensor xiLeaf = xi.clone().requires_grad_(true);
        Tensor mLeaf = m0.clone().requires_grad_(true);
        Tensor objective = Objective(memory, xiLeaf, baseState with { Memory = mLeaf }, lambda);
        var grads = autograd.grad([objective], [xiLeaf, mLeaf]);
        double[] analyticXi = grads[0].data<double>().ToArray();
        double[] analyticM = grads[1].data<double>().ToArray();

        double F(Tensor x, Tensor m)
        {
            using var inner = NewDisposeScope();
            using var noGrad = no_grad();
            return Objective(memory, x, baseState with { Memory = m }, lambda).item<double>();
        }

        double[] numericXi = CentralDifferences(xi, x => F(x, m0));
        double[] numericM = CentralDifferences(m0, m => F(xi, m));
        AssertAgree(analyticXi, numericXi, "ξ");
        AssertAgree(analyticM, numericM, "M");

        // Every piece of the interface gets a gradient: read keys, write key, write vector, strengths, erase (and gates).
        int w = 2, r = 2;
        (string Name, int Start, int Length)[] pieces =
        [
            ("read keys", 0, r * w), ("write key", r * w, w), ("write vector", (r * w) + w, w),
            ("read strengths", (r * w) + (2 * w), r), ("write strength", (r * w) + (2 * w) + r, 1), ("erase", (r * w) + (2 * w) + r + 1, w),
        ];
        if (allocation)
        {
            int gates = (r * w) + (3 * w) + r + 1;
            pieces = [.. pieces, ("free gates", gates, r), ("allocation gate", gates + r, 1), ("write gate", gates + r + 1, 1)];
        }

        foreach (var (name, start, length) in pieces)
        {
            double magnitude = 0;
            for (int row = 0; row < 2; row++)
            {
                for (int k = start; k < start + length; k++)
                {
                    magnitude += Math.Abs(analyticXi[(row * memory.InterfaceSize) + k]);
                }
            }

            Assert.True(magnitude > 1e-6, $"no gradient reaches the {name}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Gradients_FromTheZeroInitialState_AreFinite(bool allocation)
    {
        ExternalMemory memory = Memory(allocation);
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        ExternalMemoryState zero = memory.InitialState(2, dtype: ScalarType.Float64);
        Tensor mLeaf = zero.Memory.clone().requires_grad_(true);
        Tensor usageLeaf = zero.Usage.clone().requires_grad_(true);
        Tensor xi = randn([2, memory.InterfaceSize], ScalarType.Float64, generator: g).requires_grad_(true);

        // Two steps, so that the second step addresses a memory written by the first and reads a zero slot as well.
        MemoryInterface first = memory.ParseInterface(xi);
        ExternalMemoryState s1 = memory.Update(zero with { Memory = mLeaf, Usage = usageLeaf }, first);
        ExternalMemoryState s2 = memory.Update(s1, memory.ParseInterface(xi * 0.5));
        Tensor objective = s2.ReadVectors.sum() + s2.Memory.square().sum() + s2.Usage.sum();
        var grads = autograd.grad([objective], [xi, mLeaf, usageLeaf]);
        foreach (Tensor grad in grads)
        {
            Assert.True(grad.isfinite().all().item<bool>(), $"non-finite gradient: {string.Join(", ", grad.data<double>().ToArray())}");
        }

        Assert.True(grads[0].abs().sum().item<double>() > 0);
        Assert.True(s2.Memory.isfinite().all().item<bool>() && s2.ReadVectors.isfinite().all().item<bool>());
    }

    private static double[] CentralDifferences(Tensor at, Func<Tensor, double> f)
    {
        double[] x = at.data<double>().ToArray();
        long[] shape = at.shape;
        var result = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + Step;
            double plus = f(tensor(x, ScalarType.Float64).reshape(shape));
            x[i] = saved - Step;
            double minus = f(tensor(x, ScalarType.Float64).reshape(shape));
            x[i] = saved;
            result[i] = (plus - minus) / (2 * Step);
        }

        return result;
    }

    private static void AssertAgree(double[] analytic, double[] numeric, string what)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        for (int i = 0; i < analytic.Length; i++)
        {
            double scale = Math.Max(Math.Abs(analytic[i]), Math.Abs(numeric[i]));
            double error = Math.Abs(analytic[i] - numeric[i]);
            Assert.True(error <= (1e-6 * scale) + 1e-9, $"∂/∂{what}[{i}]: autograd {analytic[i]:R}, central difference {numeric[i]:R} (error {error:E2})");
        }
    }
}
