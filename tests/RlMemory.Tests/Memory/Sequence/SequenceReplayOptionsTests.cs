using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

public sealed class SequenceReplayOptionsTests
{
    private static readonly RecurrentStateSpec Lstm = new([new("h", [128], ScalarType.Float32), new("c", [128], ScalarType.Float32)]);

    private static SequenceReplayOptions Valid() => new() { Capacity = 100, ObservationShape = [4], StateSpec = Lstm };

    [Fact]
    public void Defaults_AreR2D2s()
    {
        SequenceReplayOptions o = Valid();
        Assert.Equal((40, 40, 40, 80, 40), (o.BurnIn, o.LearningLength, o.Overlap, o.SequenceLength, o.Stride));
        Assert.Equal(0.9, o.Eta);
        Assert.Equal(0.9, o.Priority.Alpha);
        Assert.False(o.Prioritized);
        Assert.Equal(1, o.MinSequenceLength);
        o.Validate();
    }

    [Theory]
    [InlineData("Capacity", 0, "[1, 2147483647]")]
    [InlineData("BurnIn", -1, "[0, 65535]")]
    [InlineData("LearningLength", 0, "[1, 65536]")]
    [InlineData("Overlap", -1, "[0, SequenceLength − 1]")]
    [InlineData("NumEnvs", 0, "[1, 65536]")]
    [InlineData("NumEnvs", 70000, "[1, 65536]")]
    [InlineData("MinSequenceLength", 0, "[1, SequenceLength]")]
    public void IntegerField_OutOfRange_IsRefused_NamingFieldValueAndRange(string field, int value, string range)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => field switch
        {
            "Capacity" => Valid() with { Capacity = value },
            "BurnIn" => Valid() with { BurnIn = value },
            "LearningLength" => Valid() with { LearningLength = value },
            "Overlap" => Valid() with { Overlap = value },
            "NumEnvs" => Valid() with { NumEnvs = value },
            _ => Valid() with { MinSequenceLength = value },
        });
        Assert.Equal(field, e.ParamName);
        Assert.Contains($"SequenceReplayOptions.{field}", e.Message);
        Assert.Contains(range, e.Message);
        Assert.Contains($"got {value}", e.Message);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void Eta_OutsideZeroOne_IsRefused(double eta)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Valid() with { Eta = eta });
        Assert.Equal("Eta", e.ParamName);
        Assert.Contains("[0, 1]", e.Message);
    }

    [Fact]
    public void RulesBetweenFields_AreCheckedByValidate()
    {
        Assert.Contains("Overlap must be in [0, 79]", Assert.Throws<ArgumentException>(() => (Valid() with { Overlap = 80 }).Validate()).Message);
        Assert.Contains("MinSequenceLength must be in [1, 6]", Assert.Throws<ArgumentException>(() => (Valid() with { BurnIn = 2, LearningLength = 4, Overlap = 0, MinSequenceLength = 7 }).Validate()).Message);
        Assert.Contains("exceeds 65536", Assert.Throws<ArgumentException>(() => (Valid() with { BurnIn = 65535, LearningLength = 2 }).Validate()).Message);
        Assert.Contains("values", Assert.Throws<ArgumentException>(() => (Valid() with { ObservationShape = [1 << 24] }).Validate()).Message);
        Assert.Throws<ArgumentException>(() => new SequenceReplayBuffer(Valid() with { Overlap = 90 }));
    }

    [Fact]
    public void StateSpec_MustHaveStorablePartsWithElements()
    {
        Assert.Throws<ArgumentNullException>(() => Valid() with { StateSpec = null! });
        Assert.Contains("at least one part", Assert.Throws<ArgumentException>(() => new RecurrentStateSpec([])).Message);
        Assert.Contains("type Float16", Assert.Throws<ArgumentOutOfRangeException>(() => Valid() with { StateSpec = new RecurrentStateSpec([new("h", [4], ScalarType.Float16)]) }).Message);
        Assert.Contains("1 to 67108864 elements", Assert.Throws<ArgumentOutOfRangeException>(() => Valid() with { StateSpec = new RecurrentStateSpec([new("h", [0], ScalarType.Float32)]) }).Message);
        _ = Valid() with { StateSpec = new RecurrentStateSpec([new("memory", [16, 8], ScalarType.Float64), new("step", [1], ScalarType.Int64)]) };
    }

    [Fact]
    public void ObservationShape_IsValidatedAndCopied()
    {
        Assert.Contains("1 to 8 dimensions", Assert.Throws<ArgumentOutOfRangeException>(() => Valid() with { ObservationShape = [] }).Message);
        Assert.Contains("[84, 0]", Assert.Throws<ArgumentOutOfRangeException>(() => Valid() with { ObservationShape = [84, 0] }).Message);
        int[] shape = [84, 84];
        SequenceReplayOptions o = Valid() with { ObservationShape = shape };
        shape[0] = 1;
        Assert.Equal([84, 84], o.ObservationShape);
        Assert.Equal(84 * 84, o.ObservationSize);
    }

    [Fact]
    public void Equality_IsByValue()
    {
        Assert.Equal(Valid(), Valid() with { ObservationShape = [4], StateSpec = new RecurrentStateSpec([new("h", [128], ScalarType.Float32), new("c", [128], ScalarType.Float32)]) });
        Assert.Equal(Valid().GetHashCode(), (Valid() with { ObservationShape = [4] }).GetHashCode());
        Assert.NotEqual(Valid(), Valid() with { Eta = 0.5 });
        Assert.NotEqual(Valid(), Valid() with { Priority = new PriorityOptions { Alpha = 0.6 } });
        Assert.Contains("Overlap = 40", Valid().ToString());
    }
}
