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
    public void Steps_MatchTorchSharpsAdam_BitForBit()
    {
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

        Assert.Equal(Snapshot(a), Snapshot(b));
        Assert.Equal(40, flat.Steps);
        Assert.Equal(a.parameters().Sum(p => p.numel()), flat.Count);
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
