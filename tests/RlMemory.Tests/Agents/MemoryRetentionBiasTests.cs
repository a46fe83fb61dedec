using RlMemory.Agents.Recurrent;
using RlMemory.Memory.External;
using RlMemory.Training.Ppo;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

/// <summary><see cref="MemoryCoreConfig.RetentionBias"/>: which biases it sets, what that does to a long sequence, and its checks.</summary>
public sealed class MemoryRetentionBiasTests
{
    private static MemoryCoreConfig Config(double retention, bool allocation = true) => new()
    {
        ObservationSize = 3,
        EncoderSizes = [32],
        HiddenSize = 64,
        Memory = new ExternalMemoryConfig(slots: 16, width: 16, readHeads: 1, useAllocation: allocation),
        RetentionBias = retention,
    };

    private static float[] InterfaceBias(MemoryCore core) =>
        core.named_parameters().Single(p => p.name == "interfaceLayer.bias").parameter.data<float>().ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SetsTheEraseFreeAndWriteGateBiases_AndNothingElse(bool allocation)
    {
        manual_seed(5);
        using var plain = new MemoryCore(Config(0, allocation));
        manual_seed(5);
        using var retaining = new MemoryCore(Config(2.5, allocation));
        float[] before = InterfaceBias(plain), after = InterfaceBias(retaining);

        // ξ with R = 1, W = 16: read key 0–15, write key 16–31, write vector 32–47, strengths 48–49, erase 50–65,
        // then with allocation the free gate 66, the allocation gate 67 and the write gate 68.
        var set = new HashSet<int>(Enumerable.Range(50, 16));
        if (allocation)
        {
            set.UnionWith([66, 68]);
        }

        Assert.Equal(allocation ? 69 : 66, after.Length);
        for (int i = 0; i < after.Length; i++)
        {
            Assert.Equal(set.Contains(i) ? -2.5f : before[i], after[i]);
        }

        // Every other parameter is the same draw.
        foreach (var ((name, p), (_, q)) in plain.named_parameters().Zip(retaining.named_parameters()))
        {
            if (name != "interfaceLayer.bias")
            {
                Assert.True(p.eq(q).all().item<bool>(), name);
            }
        }
    }

    /// <summary>
    /// Two episodes that differ only in the cue at step 0, then 1,000 identical corridor observations: the difference
    /// the cue makes to the read vector at the end. With the plain initialisation every step writes with gate ≈ 0.5
    /// and erases ≈ 0.5, so the cue's word is overwritten (measured ~6e-8); with retention bias 2 it survives
    /// (measured ~6e-4 over these seeds). The thresholds leave an order of magnitude either side.
    /// </summary>
    [Fact]
    public void AtInitialisation_ACueWrittenAtStepZeroStillChangesTheReadAfter1000Steps()
    {
        double Difference(double retention)
        {
            double sum = 0;
            for (int seed = 0; seed < 3; seed++)
            {
                manual_seed(seed);
                using var core = new MemoryCore(Config(retention));
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                const int n = 1000;
                Tensor obs = zeros(2, n + 1, 3);
                obs[0, 0] = tensor(new float[] { 0, 1, 1 });
                obs[1, 0] = tensor(new float[] { 1, 1, 0 });
                obs.narrow(1, 1, n).copy_(tensor(new float[] { 1, 0, 1 }).expand(2, n, 3));
                var (features, _) = core.Unroll(obs, core.InitialState(2));
                Tensor read = features.select(1, n).narrow(1, 64, 16);
                sum += (read[0] - read[1]).norm().item<float>();
            }

            return sum / 3;
        }

        double plain = Difference(0), retaining = Difference(2);
        Assert.True(plain < 1e-5, $"plain initialisation: the cue still changes the read by {plain:E2}");
        Assert.True(retaining > 1e-4, $"retention bias 2: the cue changes the read by only {retaining:E2}");
    }

    [Fact]
    public void BadValues_AreRefusedNamingTheFieldAndValue()
    {
        foreach (double bad in new[] { -0.5, double.NaN, 21.0, double.PositiveInfinity })
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => new MemoryCore(Config(bad)));
            Assert.Contains("MemoryCoreConfig.RetentionBias must be a number in [0, 20]", e.Message, StringComparison.Ordinal);
        }

        var cli = Assert.ThrowsAny<Exception>(() => PpoConfig.FromPreset("ppo-tmaze-memory", "memory_retention_bias=-1"));
        Assert.Contains("memory_retention_bias", cli.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 20]", cli.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RoundTripsThroughJson_AndOldFilesWithoutItGetZero()
    {
        Assert.Equal(1.5, MemoryCoreConfig.FromJson(Config(1.5).ToJson()).RetentionBias);
        Assert.Equal(0, MemoryCoreConfig.FromJson("""{"ObservationSize":5}""").RetentionBias);
        Assert.Equal(2, PpoConfig.FromPreset("ppo-tmaze-memory", "memory_retention_bias=2").CoreConfig!.MemoryRetentionBias);
    }
}
