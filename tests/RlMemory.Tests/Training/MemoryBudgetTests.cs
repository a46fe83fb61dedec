using System.Runtime.InteropServices;
using RlMemory.Training;
using RlMemory.Training.Configuration;

namespace RlMemory.Tests.Training;

/// <summary>
/// Issue 12: net_arch [65536, 65536], buffer_size 2³⁰ and hidden_size 65536 were accepted and then killed for memory
/// or ended in a torch stack trace. Each trainer estimates its memory before allocating and refuses what cannot fit.
/// </summary>
public sealed class MemoryBudgetTests
{
    [Theory]
    [InlineData("dqn-cartpole", "net_arch=[65536, 65536]", "Lower buffer_size or net_arch")]
    [InlineData("dqn-cartpole", "buffer_size=1073741824", "replay 64 GB")]
    [InlineData("ppo-cartpole-novel", "hidden_size=65536", "Lower n_steps, n_envs, hidden_size")]
    [InlineData("r2d2-cartpole-novel", "hidden_size=65536", "Lower buffer_size, sequence_length, hidden_size")]
    public void AConfigurationThatCannotFit_IsRefusedWithTheEstimate_BeforeAllocating(string preset, string set, string expected)
    {
        if (MemoryBudget.AvailableBytes() > 64L << 30)
        {
            return; // these configurations would fit on this machine
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        TrainerSetup setup = TrainerCatalog.Configure(preset, set);
        var e = Assert.Throws<ConfigException>(() => setup.Create(new TrainerOptions { Quiet = true }).Dispose());
        Assert.Contains("This configuration needs about", e.Message, StringComparison.Ordinal);
        Assert.Contains("available", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the refusal came after an attempt to allocate");
    }

    [Fact]
    public void TheShippedPresets_FitTheirEstimates()
    {
        foreach (Preset preset in Presets.All)
        {
            TrainerSetup setup = TrainerCatalog.Find(preset.Algo).Configure(preset, []);
            using ITrainer trainer = setup.Create(new TrainerOptions { Quiet = true });
            Assert.Equal(0, trainer.Step);
        }
    }

    [Fact]
    public void AnAllocationFailureFromTorch_BecomesTheSameMessage()
    {
        var estimate = new MemoryEstimate([("networks and Adam", 3L << 30), ("replay", 5L << 20)]);
        Assert.Equal("about 3 GB (networks and Adam 3 GB, replay 5 MB)", estimate.ToString());
        var e = Assert.Throws<ConfigException>(() => MemoryBudget.Allocate<int>(
            () => throw new ExternalException("[enforce fail at alloc_cpu.cpp:124] DefaultCPUAllocator: can't allocate memory: you tried to allocate 2199023254528 bytes."),
            estimate,
            "buffer_size"));
        Assert.StartsWith("Out of memory while allocating: this configuration needs about 3 GB", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("Lower buffer_size.", e.Message, StringComparison.Ordinal);

        // Other torch errors pass through unchanged.
        Assert.Throws<ExternalException>(() => MemoryBudget.Allocate<int>(() => throw new ExternalException("shape mismatch"), estimate, "x"));
        Assert.Equal(long.MaxValue, MemoryBudget.Multiply(long.MaxValue / 2, 3));
    }
}
