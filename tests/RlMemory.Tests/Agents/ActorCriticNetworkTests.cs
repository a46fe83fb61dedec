using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Memory.External;
using static TorchSharp.torch;

namespace RlMemory.Tests.Agents;

public sealed class ActorCriticNetworkTests
{
    private static ActorCriticConfig Recurrent(string critic = "shared", bool normalize = false) => new()
    {
        ObservationSize = 3,
        ActionCount = 4,
        Core = new CoreConfig { EncoderSizes = [8], HiddenSize = 6 },
        NetArch = [5],
        Activation = "relu",
        Critic = critic,
        NormalizeObservations = normalize,
    };

    private static ActorCriticNetwork Network(ActorCriticConfig config, int seed = 5)
    {
        manual_seed(seed);
        return new ActorCriticNetwork(config);
    }

    [Theory]
    [InlineData("shared")]
    [InlineData("separate")]
    [InlineData("mlp")]
    public void UnrollSequences_WithEpisodeStarts_EqualsEachEpisodeUnrolledOnItsOwn(string critic)
    {
        using ActorCriticNetwork network = Network(Recurrent(critic, normalize: true));
        network.SetObservationStatistics([0.1, -0.2, 0.3], [2.0, 0.5, 1.0]);
        using var scope = NewDisposeScope();
        Tensor observations = randn(3, 7, 3);
        RecurrentState initial = new([.. network.StateSpec!.Parts.Select(p => (p.Name, randn(3, 6)))]);

        // Sequence 0: episodes start at steps 2 and 5; sequence 1: none; sequence 2: its first step starts one.
        Tensor starts = zeros(3, 7);
        starts[0, 2] = tensor(1f);
        starts[0, 5] = tensor(1f);
        starts[2, 0] = tensor(1f);
        var (logits, values) = network.UnrollSequences(observations, initial, starts);
        Assert.Equal([3L, 7L, 4L], logits.shape);
        Assert.Equal([3L, 7L], values.shape);

        // Reference: each episode played step by step with Step, from the sequence's state or from zeros.
        (int Sequence, int From, int To, bool Fresh)[] episodes = [(0, 0, 2, false), (0, 2, 5, true), (0, 5, 7, true), (1, 0, 7, false), (2, 0, 7, true)];
        foreach (var (b, from, to, fresh) in episodes)
        {
            RecurrentState state = fresh ? network.InitialState(1)! : initial.Select(tensor(new long[] { b }));
            for (int t = from; t < to; t++)
            {
                var (l, v, next) = network.Step(observations[b, t].unsqueeze(0), state);
                Assert.True(allclose(l[0], logits[b, t], rtol: 1e-5, atol: 1e-5), $"logits of sequence {b} step {t} differ");
                Assert.True(allclose(v[0], values[b, t], rtol: 1e-5, atol: 1e-5), $"value of sequence {b} step {t} differs");
                state = next!;
            }
        }
    }

    [Fact]
    public void SegmentedUnroll_EqualsTheCoresOwnUnrollWithResets()
    {
        manual_seed(2);
        using var core = new LstmCore(new LstmCoreConfig { ObservationSize = 2, EncoderSizes = [], HiddenSize = 4 });
        using var scope = NewDisposeScope();
        Tensor observations = randn(4, 9, 2);
        RecurrentState state = new([("h", randn(4, 4)), ("c", randn(4, 4))]);
        Tensor resets = rand(4, 9).lt(0.25);
        var (expected, _) = core.Unroll(observations, state, resets);
        Tensor features = SegmentedUnroll.Features(core, observations, state, resets);
        Assert.True(allclose(expected, features, rtol: 1e-5, atol: 1e-6));

        // Without resets it is the plain unroll.
        Assert.True(allclose(core.Unroll(observations, state).Features, SegmentedUnroll.Features(core, observations, state, zeros(4, 9)), atol: 1e-6));
    }

    [Fact]
    public void SegmentedUnroll_GivesTheFusedMemoryCoreItsResets_AndMatchesTheCutSegments()
    {
        // The fused kernel resets rows within its pass, so the sequences go through uncut (no padded segments); the
        // tensor path is cut at the resets. Both compute the same features.
        manual_seed(4);
        using var core = new MemoryCore(new MemoryCoreConfig(2, [3], 5, new ExternalMemoryConfig(slots: 4, width: 3, readHeads: 1, useAllocation: true)));
        using var scope = NewDisposeScope();
        Tensor observations = randn(4, 9, 2);
        RecurrentState state = core.InitialState(4);
        Tensor resets = rand(4, 9).lt(0.25);
        Assert.True(core.UnrollsResetsInOnePass);
        Tensor fused = SegmentedUnroll.Features(core, observations, state, resets);
        Assert.True(core.Unroll(observations, state, resets).Features.eq(fused).all().item<bool>(), "fused: the core's own unroll with resets, bit for bit");
        core.UseFusedKernel = false;
        Assert.False(core.UnrollsResetsInOnePass);
        Tensor cut = SegmentedUnroll.Features(core, observations, state, resets);
        Assert.True(allclose(cut, fused, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void SegmentedUnroll_PassesGradientsToEverySegmentsInputs()
    {
        manual_seed(3);
        using var core = new LstmCore(new LstmCoreConfig { ObservationSize = 2, EncoderSizes = [], HiddenSize = 4 });
        using var scope = NewDisposeScope();
        Tensor observations = randn(2, 6, 2, requires_grad: true);
        Tensor resets = zeros(2, 6);
        resets[0, 3] = tensor(1f);
        SegmentedUnroll.Features(core, observations, core.InitialState(2), resets).sum().backward();
        Tensor grad = observations.grad!;
        for (int t = 0; t < 6; t++)
        {
            Assert.True(grad[0, t].abs().sum().item<float>() > 0, $"no gradient at step {t}");
        }
    }

    [Fact]
    public void AFeedForwardNetwork_HasNoState_AndHeadsOfTheConfiguredShape()
    {
        var config = new ActorCriticConfig { ObservationSize = 4, ActionCount = 2, NetArch = [64, 64] };
        using ActorCriticNetwork network = Network(config);
        using var scope = NewDisposeScope();
        Assert.False(network.IsRecurrent);
        Assert.Null(network.InitialState(3));
        var (logits, values, state) = network.Step(randn(3, 4), null);
        Assert.Null(state);
        Assert.Equal([3L, 2L], logits.shape);
        Assert.Equal([3L], values.shape);

        // SB3's initialization: the logits start near zero (gain 0.01), so the first policy is nearly uniform.
        Assert.True(logits.abs().max().item<float>() < 0.1);
        Assert.Contains("policyHead.weight", network.state_dict().Keys);
        Assert.Throws<InvalidOperationException>(() => network.UnrollSequences(randn(1, 2, 4), RecurrentState.Zeros(new RecurrentStateSpec([new("h", [1], ScalarType.Float32)]), 1), null));
    }

    [Fact]
    public void ObservationStatistics_NormalizeAndClip_AndAreSavedWithTheWeights()
    {
        var config = new ActorCriticConfig { ObservationSize = 2, ActionCount = 2, NetArch = [], NormalizeObservations = true };
        using ActorCriticNetwork network = Network(config);
        using ActorCriticNetwork reference = Network(config with { NormalizeObservations = false });
        network.SetObservationStatistics([1.0, -2.0], [4.0, 1e-6]);
        using var scope = NewDisposeScope();

        // (3 − 1)/2 = 1; (−2 + 1)/√(1e-6 + 1e-8) ≈ 995 → clipped to 10.
        var (logits, _) = network.Forward(tensor(new float[] { 3, -1 }, [1, 2]));
        var (expected, _) = reference.Forward(tensor(new float[] { 1, 10 }, [1, 2]));
        Assert.True(allclose(logits, expected, atol: 1e-5));
        Assert.Contains("observationMean", network.state_dict().Keys);
        Assert.Throws<InvalidOperationException>(() => reference.SetObservationStatistics([0.0, 0.0], [1.0, 1.0]));
    }
}
