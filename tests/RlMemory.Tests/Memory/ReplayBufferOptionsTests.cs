using RlMemory.Memory;
using TorchSharp;

namespace RlMemory.Tests.Memory;

public sealed class ReplayBufferOptionsTests
{
    [Theory]
    [InlineData("Capacity", 0, "[1, 2147483647]")]
    [InlineData("Capacity", -5, "[1, 2147483647]")]
    [InlineData("NumEnvs", 0, "[1, 65536]")]
    [InlineData("NumEnvs", 70000, "[1, 65536]")]
    [InlineData("NSteps", 0, "[1, 1000]")]
    [InlineData("NSteps", 1001, "[1, 1000]")]
    public void IntegerField_OutOfRange_IsRefused_NamingFieldValueAndRange(string field, int value, string range)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => field switch
        {
            "Capacity" => new ReplayBufferOptions { Capacity = value, ObservationShape = [4] },
            "NumEnvs" => new ReplayBufferOptions { Capacity = 10, ObservationShape = [4], NumEnvs = value },
            _ => new ReplayBufferOptions { Capacity = 10, ObservationShape = [4], NSteps = value },
        });

        Assert.Equal(field, e.ParamName);
        Assert.Contains($"ReplayBufferOptions.{field}", e.Message);
        Assert.Contains(range, e.Message);
        Assert.Contains($"got {value}", e.Message);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Gamma_OutsideZeroOne_IsRefused(double gamma)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayBufferOptions { Capacity = 10, ObservationShape = [4], Gamma = gamma });
        Assert.Equal("Gamma", e.ParamName);
        Assert.Contains("[0, 1]", e.Message);
    }

    [Fact]
    public void ObservationShape_Invalid_IsRefused()
    {
        Assert.Contains("1 to 8 dimensions", Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayBufferOptions { Capacity = 10, ObservationShape = [] }).Message);
        Assert.Contains("[84, 0]", Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayBufferOptions { Capacity = 10, ObservationShape = [84, 0] }).Message);
        Assert.Throws<ArgumentNullException>(() => new ReplayBufferOptions { Capacity = 10, ObservationShape = null! });
        Assert.Contains("more than", Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayBufferOptions { Capacity = 10, ObservationShape = [1 << 14, 1 << 14] }).Message);
    }

    [Fact]
    public void ObservationShape_IsCopied()
    {
        int[] shape = [84, 84];
        var options = new ReplayBufferOptions { Capacity = 10, ObservationShape = shape };
        shape[0] = 1;
        Assert.Equal([84, 84], options.ObservationShape);
        Assert.Equal(84 * 84, options.ObservationSize);
    }

    [Fact]
    public void ContinuousAction_NeedsAPositiveDimension()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ActionSpec.Continuous(0));
        Assert.Contains("[1, 65536]", e.Message);
        Assert.Equal(3, ActionSpec.Continuous(3).Dimension);
        Assert.Equal(ActionSpec.Continuous(3), ActionSpec.Continuous(3));
        Assert.NotEqual(ActionSpec.Continuous(3), ActionSpec.Discrete);
    }

    [Fact]
    public void CrossFieldRules_AreCheckedWhenABufferIsBuilt()
    {
        var tooSmallForMemorySaving = new ReplayBufferOptions { Capacity = 7, ObservationShape = [4], NumEnvs = 4, MemorySaving = true };
        var e1 = Assert.Throws<ArgumentException>(() => new ReplayBuffer(tooSmallForMemorySaving));
        Assert.Contains("Capacity ≥ 2 × NumEnvs (8)", e1.Message);
        Assert.Contains("Capacity = 7", e1.Message);

        var nStepMemorySaving = new ReplayBufferOptions { Capacity = 100, ObservationShape = [4], NSteps = 3, MemorySaving = true };
        Assert.Contains("NSteps = 3", Assert.Throws<ArgumentException>(() => new ReplayBuffer(nStepMemorySaving)).Message);

        var smallerThanOneStep = new ReplayBufferOptions { Capacity = 3, ObservationShape = [4], NumEnvs = 4 };
        Assert.Contains("Capacity (3) must be at least NumEnvs (4)", Assert.Throws<ArgumentException>(() => new ReplayBuffer(smallerThanOneStep)).Message);
    }

    [Fact]
    public void Equality_ComparesShapesByValue_AndDevicesByTypeAndIndex()
    {
        var a = new ReplayBufferOptions { Capacity = 10, ObservationShape = [2, 3], Device = torch.CPU };
        var b = new ReplayBufferOptions { Capacity = 10, ObservationShape = [2, 3] };
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { ObservationShape = [3, 2] });
        Assert.NotEqual(a, b with { Seed = 1 });
        Assert.Contains("ObservationShape = [2, 3]", a.ToString());
    }
}
