using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Torch;

/// <summary>
/// The native TorchSharp libraries load and compute (on Debian 12 this needs the build's patch of libLibTorchSharp.so):
/// elementwise and matrix arithmetic against hand-computed values, the seeded generator, and an LSTM forward pass.
/// </summary>
public sealed class TorchSharpLoadTests
{
    [Fact]
    public void ElementwiseAdd_OnePlusTwo_IsThree()
    {
        using DisposeScope scope = NewDisposeScope();

        Tensor sum = ones(4).add(full(4, 2f));

        Assert.Equal([3f, 3f, 3f, 3f], sum.data<float>().ToArray());
    }

    [Fact]
    public void Matmul_MatchesHandComputedProduct()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Tensor b = tensor(new float[] { 7, 8, 9, 10, 11, 12 }, [3, 2]);

        Tensor product = a.matmul(b);

        // [1 2 3; 4 5 6] x [7 8; 9 10; 11 12] = [58 64; 139 154]
        Assert.Equal([2L, 2L], product.shape);
        Assert.Equal([58f, 64f, 139f, 154f], product.data<float>().ToArray());
    }

    [Fact]
    public void SeededGenerator_ReproducesPyTorchsStream()
    {
        using DisposeScope scope = NewDisposeScope();
        using var generator = new Generator(42);

        float[] values = rand(3, generator: generator).data<float>().ToArray();

        // torch.manual_seed(42); torch.rand(3) in PyTorch: 0.8823, 0.9150, 0.3829
        Assert.Equal(0.8823f, values[0], 0.0001f);
        Assert.Equal(0.9150f, values[1], 0.0001f);
        Assert.Equal(0.3829f, values[2], 0.0001f);
    }

    [Fact]
    public void LstmForward_HasExpectedShapes_AndFiniteBoundedOutputs()
    {
        const int batch = 3, steps = 5, inputSize = 4, hiddenSize = 8, layers = 2;
        using DisposeScope scope = NewDisposeScope();
        manual_seed(1234);
        using var lstm = nn.LSTM(inputSize, hiddenSize, numLayers: layers, batchFirst: true);
        Tensor x = randn(batch, steps, inputSize);

        (Tensor y, Tensor h, Tensor c) = lstm.forward(x);

        Assert.Equal([(long)batch, steps, hiddenSize], y.shape);
        Assert.Equal([(long)layers, batch, hiddenSize], h.shape);
        Assert.Equal([(long)layers, batch, hiddenSize], c.shape);
        Assert.True(y.isfinite().all().item<bool>(), "LSTM outputs contain NaN or infinity.");
        Assert.True(c.isfinite().all().item<bool>(), "LSTM cell states contain NaN or infinity.");
        // h = o * tanh(c) with o in (0, 1): every output lies strictly inside (-1, 1).
        Assert.True(y.abs().max().item<float>() < 1f, "An LSTM output lies outside (-1, 1).");
        // The top layer's final hidden state is the output at the last step.
        Assert.True(h[layers - 1].allclose(y[.., steps - 1, ..]), "h_n of the top layer differs from the last output.");
        // Nonzero input yields a nonzero output.
        Assert.True(y.abs().sum().item<float>() > 0f);
    }
}
