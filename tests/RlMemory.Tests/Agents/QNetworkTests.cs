using RlMemory.Agents;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class QNetworkTests
{
    [Fact]
    public void Forward_MapsABatchOfObservationsToOneQValuePerAction()
    {
        manual_seed(0);
        using var net = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 3, HiddenSizes = [8, 8] });
        using var scope = NewDisposeScope();
        Tensor q = net.forward(randn(5, 4));
        Assert.Equal([5L, 3L], q.shape);
        Assert.True(q.isfinite().all().item<bool>());
    }

    [Fact]
    public void ParameterCount_IsThatOfTheDescribedMlp()
    {
        using var plain = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [256, 256] });
        long expected = (4 * 256 + 256) + (256 * 256 + 256) + (256 * 2 + 2);
        Assert.Equal(expected, plain.parameters().Sum(p => p.numel()));

        using var dueling = new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [16], Dueling = true });
        long expectedDueling = (4 * 16 + 16) + (16 * 1 + 1) + (16 * 2 + 2);
        Assert.Equal(expectedDueling, dueling.parameters().Sum(p => p.numel()));
        Assert.Equal("MLP 4-16-2 (dueling)", dueling.Config.Description);
    }

    [Fact]
    public void DuelingHead_ComputesValuePlusCentredAdvantages_OnHandSetWeights()
    {
        // Linear Q-function (no hidden layer): V(s) = s0 + 1, A(s, a) = [s0, 2 s1, 0] so mean A = (s0 + 2 s1) / 3.
        using var net = new QNetwork(new QNetworkConfig { ObservationSize = 2, ActionCount = 3, HiddenSizes = [], Dueling = true });
        var parameters = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            parameters["value.weight"].copy_(tensor(new float[] { 1, 0 }).reshape(1, 2));
            parameters["value.bias"].copy_(tensor(new float[] { 1 }));
            parameters["advantage.weight"].copy_(tensor(new float[] { 1, 0, 0, 2, 0, 0 }).reshape(3, 2));
            parameters["advantage.bias"].zero_();
        }

        using var scope = NewDisposeScope();
        float[] q = net.forward(tensor(new float[] { 3, 6 }).reshape(1, 2)).data<float>().ToArray();
        // V = 4, A = [3, 12, 0], mean A = 5 → Q = [2, 11, -1]
        Assert.Equal([2f, 11f, -1f], q);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(4, 0)]
    public void Config_RefusesEmptySizes_NamingTheField(int obs, int actions)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new QNetworkConfig { ObservationSize = obs, ActionCount = actions }.Validate());
        Assert.Contains(obs < 1 ? "ObservationSize" : "ActionCount", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_RefusesANonPositiveHiddenWidth()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [64, 0] }.Validate());
        Assert.Contains("HiddenSizes[1]", e.Message, StringComparison.Ordinal);
    }
}
