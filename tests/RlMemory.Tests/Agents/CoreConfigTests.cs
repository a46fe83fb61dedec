using RlMemory.Agents.Recurrent;

namespace RlMemory.Tests.Agents;

public sealed class CoreConfigTests
{
    [Fact]
    public void Create_BuildsTheNamedCore_WithTheConfiguredSizes()
    {
        using RecurrentCore lstm = new CoreConfig { Kind = "lstm", EncoderSizes = [16], HiddenSize = 24 }.Create(observationSize: 3);
        Assert.IsType<LstmCore>(lstm);
        Assert.Equal((3, 24), (lstm.ObservationSize, lstm.OutputSize));

        using RecurrentCore memory = new CoreConfig { Kind = "memory", EncoderSizes = [16], HiddenSize = 24, MemorySlots = 8, MemoryWidth = 5, ReadHeads = 2 }.Create(observationSize: 3);
        var core = Assert.IsType<MemoryCore>(memory);
        Assert.Equal(24 + (2 * 5), core.OutputSize); // controller output ⊕ R read vectors of width W
        Assert.Equal((8, 5, 2), (core.Config.Memory.Slots, core.Config.Memory.Width, core.Config.Memory.ReadHeads));
    }

    [Fact]
    public void Validate_RefusesUnknownKindsAndZeroSizes_NamingThem()
    {
        var kind = Assert.Throws<ArgumentException>(() => new CoreConfig { Kind = "gru" }.Validate());
        Assert.Contains("'gru'", kind.Message);
        Assert.Contains("lstm, memory", kind.Message);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => new CoreConfig { Kind = "memory", MemorySlots = 0 }.Validate());
        Assert.Contains("memory_slots", zero.Message);
    }
}
