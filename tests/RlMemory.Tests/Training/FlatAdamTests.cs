using RlMemory.Agents;
using RlMemory.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

public sealed class FlatAdamTests
{
    private static QNetwork Net(int seed)
    {
        manual_seed(seed);
        return new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 3, HiddenSizes = [32, 16], Dueling = true });
    }

    private static float[][] Snapshot(QNetwork n) => [.. n.parameters().Select(p => p.data<float>().ToArray())];

    [Fact]
    public void Steps_MatchTorchSharpsAdam_ToFloatRounding()
    {
        // 40 steps of the fused CPU kernel against TorchSharp's Adam: differences stay at float32 rounding of the
        // update (lr·1e-6), far below one step's size (lr).
        using QNetwork a = Net(3);
        using QNetwork b = Net(3);
        using var reference = optim.Adam(a.parameters(), lr: 2.3e-3);
        using var flat = new FlatAdam(b.parameters(), 2.3e-3);
        manual_seed(9);
        for (int i = 0; i < 40; i++)
        {
            using var scope = NewDisposeScope();
            Tensor x = randn(16, 4);
            reference.zero_grad();
            a.forward(x).pow(2).mean().backward();
            reference.step();
            flat.ZeroGrad();
            b.forward(x).pow(2).mean().backward();
            flat.Step();
        }

        float[] expected = [.. Snapshot(a).SelectMany(x => x)];
        float[] actual = [.. Snapshot(b).SelectMany(x => x)];
        float[] initial = [.. Snapshot(Net(3)).SelectMany(x => x)];
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst < 2.3e-3 * 1e-3, $"largest difference {worst}");
        Assert.True(expected.Zip(initial).Count(p => Math.Abs(p.First - p.Second) > 1e-3) > expected.Length / 2, "the parameters moved");
        Assert.Equal(40, flat.Steps);
        Assert.Equal(a.parameters().Sum(p => p.numel()), flat.Count);
    }

    [Fact]
    public void Kernel_OnEveryTailLength_MatchesTheScalarFormula()
    {
        var random = new Random(5);
        for (int n = 1; n <= 40; n++)
        {
            float[] p = [.. Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f)];
            float[] g = [.. Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f)];
            float[] m = [.. Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 0.1f)];
            float[] v = [.. Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 0.01f)];
            float[] p0 = [.. p], m0 = [.. m], v0 = [.. v];
            AdamKernel.Step(p, g, m, v, 0.9f, 0.999f, 1e-8f, -0.01f / (1 - 0.9f * 0.9f), MathF.Sqrt(1 - (0.999f * 0.999f)));
            for (int i = 0; i < n; i++)
            {
                double mi = (0.9 * m0[i]) + (0.1 * g[i]);
                double vi = (0.999 * v0[i]) + (0.001 * g[i] * g[i]);
                double pi = p0[i] - (0.01 / (1 - 0.81) * mi / ((Math.Sqrt(vi) / Math.Sqrt(1 - (0.999 * 0.999))) + 1e-8));
                Assert.Equal(mi, m[i], 1e-6);
                Assert.Equal(vi, v[i], 1e-7);
                Assert.Equal(pi, p[i], 1e-5);

                // Every SIMD width computes the same float operations per element as the scalar tail: the same bits.
                float mf = (m0[i] * 0.9f) + (g[i] * (1 - 0.9f));
                float vf = (v0[i] * 0.999f) + (g[i] * g[i] * (1 - 0.999f));
                float pf = p0[i] + (-0.01f / (1 - (0.9f * 0.9f)) * (mf / ((MathF.Sqrt(vf) / MathF.Sqrt(1 - (0.999f * 0.999f))) + 1e-8f)));
                Assert.Equal(mf, m[i]);
                Assert.Equal(vf, v[i]);
                Assert.Equal(pf, p[i]);
            }

            double squares = g.Sum(x => (double)x * x);
            Assert.Equal(squares, AdamKernel.SumOfSquares(g), squares * 1e-6); // float lanes
            float[] scaled = [.. g];
            AdamKernel.Scale(scaled, 0.5f);
            Assert.Equal(g.Select(x => x * 0.5f), scaled);
        }

        float[] many = [.. Enumerable.Repeat(0.1f, 100_003)];
        double exact = 100_003 * ((double)0.1f * 0.1f);
        Assert.Equal(exact, AdamKernel.SumOfSquares(many), exact * 1e-6); // short float runs per lane, then double
    }

    [Fact]
    public void ClipGradNorm_ReturnsTheNorm_AndScalesLikeClipGradNorm()
    {
        using QNetwork a = Net(4);
        using QNetwork b = Net(4);
        using var flat = new FlatAdam(b.parameters(), 1e-3);
        using var scope = NewDisposeScope();
        Tensor x = randn(8, 4) * 10;
        a.forward(x).pow(2).sum().backward();
        double expected = nn.utils.clip_grad_norm_(a.parameters(), 0.5);
        flat.ZeroGrad();
        b.forward(x).pow(2).sum().backward();
        double norm = flat.ClipGradNorm(0.5);
        Assert.Equal(expected, norm, expected * 1e-5);
        foreach (var (p, q) in a.parameters().Zip(b.parameters()))
        {
            Assert.True(torch.allclose(p.grad!, q.grad!, rtol: 1e-5, atol: 1e-7));
        }

        double total = Math.Sqrt(b.parameters().Sum(p => p.grad!.pow(2).sum().item<float>()));
        Assert.Equal(0.5, total, 1e-4);
    }

    [Fact]
    public void State_RoundTrips_SoTrainingContinuesIdentically()
    {
        using QNetwork a = Net(5);
        using var optA = new FlatAdam(a.parameters(), 1e-2);
        manual_seed(1);
        Tensor[] inputs = [.. Enumerable.Range(0, 20).Select(_ => randn(8, 4))];
        void Train(QNetwork n, FlatAdam o, int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                using var scope = NewDisposeScope();
                o.ZeroGrad();
                n.forward(inputs[i]).pow(2).mean().backward();
                o.Step();
            }
        }

        Train(a, optA, 0, 10);
        byte[] state = optA.GetState();
        using QNetwork b = Net(6);
        using (no_grad())
        {
            foreach (var (p, q) in b.parameters().Zip(a.parameters()))
            {
                p.copy_(q);
            }
        }

        using var optB = new FlatAdam(b.parameters(), 1e-2);
        optB.SetState(state);
        Train(a, optA, 10, 20);
        Train(b, optB, 10, 20);
        Assert.Equal(Snapshot(a), Snapshot(b));

        using QNetwork small = new(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [4] });
        using var other = new FlatAdam(small.parameters(), 1e-3);
        var e = Assert.Throws<InvalidDataException>(() => other.SetState(state));
        Assert.Contains("this optimizer has", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => other.SetState(state[..10]));
    }
}

/// <summary>
/// FlatAdam's constructor leaves no tensor to the finalizer. TorchSharp hands a tensor's native handle to libtorch as a
/// bare pointer, so a temporary that is unreachable once its handle is read (<c>a.narrow(…).view(…)</c>) can be
/// finalized on the finalizer thread while libtorch still uses it: a use-after-free that the loader fuzzer found as rare
/// crashes inside this constructor (docs/benchmarks.md, "Loader fuzzing"). Every temporary must belong to a dispose
/// scope, which keeps it reachable until the scope ends on the calling thread.
/// </summary>
public sealed class FlatAdamTemporariesTests
{
    [Fact]
    public void Construction_ReleasesEveryTemporaryOnTheCallingThread()
    {
        manual_seed(1);
        using var net = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 3, HiddenSizes = [16, 16], Dueling = true });
        using var outer = NewDisposeScope();
        using (var adam = new FlatAdam(net.parameters(), 1e-3))
        {
            // Nothing reached the caller's scope (so nothing would have reached the finalizer without one), and the
            // parameters still alias the flat buffers after the views were released.
            Assert.Equal(0, outer.DisposablesCount);
            float[] before = [.. net.parameters().SelectMany(p => p.data<float>().ToArray())];
            using (var step = NewDisposeScope())
            {
                net.forward(randn(8, 4)).pow(2).sum().backward();
            }

            Assert.True(adam.ClipGradNorm(1e9) > 0, "the gradients land in the flat buffer");
            adam.Step();
            float[] after = [.. net.parameters().SelectMany(p => p.data<float>().ToArray())];
            Assert.True(before.Zip(after).Count(p => p.First != p.Second) > before.Length / 4, "the step moved the parameters through the flat buffer");
        }
    }
}
