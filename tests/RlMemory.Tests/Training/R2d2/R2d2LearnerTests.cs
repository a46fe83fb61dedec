using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Tests.Memory;
using RlMemory.Training.R2d2;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training.R2d2;

public sealed class R2d2LearnerTests
{
    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(3.0, 1.003)]            // √4 − 1 + 0.003
    [InlineData(-8.0, -2.008)]          // −(√9 − 1) − 0.008
    [InlineData(99.0, 9.099)]           // √100 − 1 + 0.099
    [InlineData(0.44, 0.20044)]         // √1.44 − 1 + 0.00044
    public void ValueRescaling_MatchesHandValues_AndInvertsThem(double x, double h)
    {
        Assert.Equal(h, ValueRescaling.Apply(x), 12);
        Assert.Equal(x, ValueRescaling.Invert(h), 10);
    }

    [Fact]
    public void ValueRescaling_InverseUndoesIt_OverManyMagnitudes_InDoubleAndFloat32()
    {
        double[] xs = [.. Enumerable.Range(-120, 241).Select(i => Math.Sign(i) * Math.Pow(10, (Math.Abs(i) / 10.0) - 7)).Append(0)]; // ±1e-7 … ±1e5
        foreach (double x in xs)
        {
            Assert.Equal(x, ValueRescaling.Invert(ValueRescaling.Apply(x)), Math.Max(1e-12, Math.Abs(x) * 1e-12));
            Assert.Equal(x, ValueRescaling.Apply(ValueRescaling.Invert(x)), Math.Max(1e-12, Math.Abs(x) * 1e-12));
        }

        using var scope = NewDisposeScope();
        Tensor t = tensor(xs.Select(v => (float)v).ToArray());
        float[] back = ValueRescaling.Invert(ValueRescaling.Apply(t)).data<float>().ToArray();
        float[] h = ValueRescaling.Apply(t).data<float>().ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            float x = (float)xs[i];
            Assert.True(Math.Abs(back[i] - x) <= 1e-5 * Math.Abs(x) + 1e-6, $"h⁻¹(h({x})) = {back[i]}");
            Assert.Equal(ValueRescaling.Apply((double)x), h[i], Math.Max(1e-6, Math.Abs(h[i]) * 1e-6));
        }
    }

    /// <summary>
    /// Three sequences of L = 4 learning steps, n = 2, γ = 0.5, bootstrap Q-values b[i] (i = 0..4, the L + 1 positions):
    /// the online network picks action 0 at even positions and 1 at odd ones, so the Double-Q bootstrap is
    /// b = [10, 21, 12, 23, 14]; the target's own maximum is [20, 21, 22, 23, 24].
    /// </summary>
    [Fact]
    public void NStepTargets_OnAHandComputedBatch_CutAtTerminationPaddingAndTheSequenceEnd()
    {
        using var scope = NewDisposeScope();
        var (online, target) = HandQ();
        Tensor rewards = tensor(new float[] { 1, 2, 3, 0, /**/ 1, 1, 1, 1, /**/ 1, 1, 0, 0 }, [3, 4]);
        Tensor terminated = tensor(new float[] { 0, 0, 1, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0 }, [3, 4]);
        Tensor mask = tensor(new float[] { 1, 1, 1, 0, /**/ 1, 1, 1, 1, /**/ 1, 1, 0, 0 }, [3, 4]);

        float[] y = R2d2Learner.NStepTargets(online, target, rewards, terminated, mask, 0.5, 2, doubleQ: true, rescalingEpsilon: null).data<float>().ToArray();

        // Row 0 terminates at its step 2 (step 3 is padding):
        //   t0: 1 + 0.5·2 + 0.25·b[2] = 2 + 3 = 5;  t1: 2 + 0.5·3 = 3.5 (terminal, no bootstrap);  t2: 3.
        Assert.Equal([5f, 3.5f, 3f], y[0..3]);

        // Row 1 is a full sequence: t0: 1.5 + 0.25·12 = 4.5;  t1: 1.5 + 0.25·23 = 7.25;  t2: 1.5 + 0.25·14 = 5;
        //   t3: only one step left in the sequence, 1 + 0.5·b[4] = 8.
        Assert.Equal([4.5f, 7.25f, 5f, 8f], y[4..8]);

        // Row 2 is cut after two steps without termination (truncated): it bootstraps from the final observation at 2.
        //   t0: 1.5 + 0.25·12 = 4.5;  t1: 1 + 0.5·12 = 7.
        Assert.Equal([4.5f, 7f], y[8..10]);

        // Without Double Q the target network's own maximum is used: row 1, t0: 1.5 + 0.25·22 = 7.
        float[] plain = R2d2Learner.NStepTargets(online, target, rewards, terminated, mask, 0.5, 2, doubleQ: false, rescalingEpsilon: null).data<float>().ToArray();
        Assert.Equal(7f, plain[4]);
        Assert.Equal(3f, plain[2]); // a terminal step is unchanged

        // With value rescaling, y = h(G + γ^m · h⁻¹(b)): row 1, t0 = h(1.5 + 0.25 · h⁻¹(12)).
        float[] rescaled = R2d2Learner.NStepTargets(online, target, rewards, terminated, mask, 0.5, 2, doubleQ: true, rescalingEpsilon: 1e-3).data<float>().ToArray();
        Assert.Equal(ValueRescaling.Apply(1.5 + 0.25 * ValueRescaling.Invert(12)), rescaled[4], 3);
        Assert.Equal(ValueRescaling.Apply(3), rescaled[2], 5); // terminal: h of the reward alone
    }

    [Fact]
    public void NStepTargets_WithOneStep_AreTheOneStepTargets()
    {
        using var scope = NewDisposeScope();
        var (online, target) = HandQ();
        Tensor rewards = tensor(new float[] { 1, 2, 3, 4 }, [1, 4]);
        Tensor terminated = tensor(new float[] { 0, 0, 0, 1 }, [1, 4]);
        Tensor mask = ones(1, 4);
        float[] y = R2d2Learner.NStepTargets(online.narrow(0, 0, 1), target.narrow(0, 0, 1), rewards, terminated, mask, 0.5, 1, doubleQ: true, rescalingEpsilon: null).data<float>().ToArray();
        Assert.Equal([1 + 0.5f * 21, 2 + 0.5f * 12, 3 + 0.5f * 23, 4f], y);
    }

    [Fact]
    public void BurnIn_GivesNoGradientToItsSteps_AndTheLearningPartDoes()
    {
        using var learner = Learner(new R2d2Config { NSteps = 2, Dueling = true });
        using var scope = NewDisposeScope();
        manual_seed(5);
        const int burnIn = 3, learning = 2, batch = 2;
        Tensor observations = randn([batch, burnIn + learning + 1, 3], requires_grad: true);
        RecurrentState initial = new([("h", randn(batch, 8)), ("c", randn(batch, 8))]);
        Tensor actions = tensor(new long[] { 0, 1, 0, 1, 0, 1, 1, 0, 1, 0 }, [batch, burnIn + learning]);
        Tensor rewards = randn(batch, burnIn + learning);
        Tensor terminated = zeros(batch, burnIn + learning);
        Tensor mask = ones(batch, burnIn + learning);

        var terms = learner.Loss(observations, initial, actions, rewards, terminated, mask, weights: null, burnIn, learning);
        terms.Loss.backward();

        Tensor grad = observations.grad!;
        Assert.Equal(0f, grad.narrow(1, 0, burnIn).abs().sum().item<float>());
        for (int t = burnIn; t < burnIn + learning; t++)
        {
            Assert.True(grad.select(1, t).abs().sum().item<float>() > 0, $"learning step {t} gets no gradient");
        }

        // The bootstrap observation after the last learning step feeds the targets only (no gradient either).
        Assert.Equal(0f, grad.select(1, burnIn + learning).abs().sum().item<float>());
        Assert.All(learner.Target.parameters(), p => Assert.Null(p.grad));
        Assert.Contains(learner.Online.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);

        // Changing the burn-in observations changes the loss (they warm the state up), but not through gradients.
        using (no_grad())
        {
            Tensor other = observations.detach().clone();
            other.narrow(1, 0, burnIn).add_(1);
            var changed = learner.Loss(other, initial, actions, rewards, terminated, mask, weights: null, burnIn, learning);
            Assert.NotEqual(terms.Loss.item<float>(), changed.Loss.item<float>());
        }
    }

    [Fact]
    public void Targets_AreTheTargetNetworksQ_AfterItsOwnBurnIn()
    {
        // R2D2's targets, written out: each network warms up over the burn-in from the stored state, then evaluates
        // the learning part and its bootstrap observation; the targets are the n-step Double-Q returns of those.
        using var learner = Learner(new R2d2Config { NSteps = 2, Gamma = 0.9, Dueling = true });
        using var scope = NewDisposeScope();
        manual_seed(7);
        using (no_grad())
        {
            foreach (var p in learner.Target.parameters())
            {
                p.add_(randn_like(p).mul(0.3)); // a target network that is not the online one
            }
        }

        const int burnIn = 3, learning = 4, batch = 2;
        Tensor observations = randn(batch, burnIn + learning + 1, 3);
        RecurrentState initial = new([("h", randn(batch, 8)), ("c", randn(batch, 8))]);
        Tensor actions = randint(2, [batch, burnIn + learning]);
        Tensor rewards = randn(batch, burnIn + learning);
        Tensor terminated = zeros(batch, burnIn + learning);
        terminated[1, burnIn + 2] = tensor(1f);
        Tensor mask = ones(batch, burnIn + learning);

        var terms = learner.Loss(observations, initial, actions, rewards, terminated, mask, weights: null, burnIn, learning);
        using (no_grad())
        {
            Tensor burn = observations.narrow(1, 0, burnIn), rest = observations.narrow(1, burnIn, learning + 1);
            var (_, onlineStart) = learner.Online.Unroll(burn, initial);
            var (_, targetStart) = learner.Target.Unroll(burn, initial);
            var (onlineQ, _) = learner.Online.Unroll(rest, onlineStart);
            var (targetQ, _) = learner.Target.Unroll(rest, targetStart);
            Tensor Targets(Tensor bootstrapQ) => R2d2Learner.NStepTargets(
                onlineQ, bootstrapQ, rewards.narrow(1, burnIn, learning), terminated.narrow(1, burnIn, learning), mask.narrow(1, burnIn, learning),
                0.9, 2, doubleQ: true, rescalingEpsilon: ValueRescaling.DefaultEpsilon);
            Tensor expected = Targets(targetQ);
            Assert.True(terms.Targets.allclose(expected, rtol: 1e-5, atol: 1e-6), $"largest difference {(terms.Targets - expected).abs().max().item<float>()}");
            Assert.True(terms.Q.allclose(onlineQ.narrow(1, 0, learning).gather(2, actions.narrow(1, burnIn, learning).unsqueeze(2)).squeeze(2), rtol: 1e-5, atol: 1e-6));

            // Not the target network's Q from the stored state without its burn-in.
            var (coldQ, _) = learner.Target.Unroll(rest, initial);
            Assert.False(terms.Targets.allclose(Targets(coldQ), rtol: 1e-3, atol: 1e-4));
        }
    }

    [Fact]
    public void PaddingAndImportanceWeights_ShapeTheLoss()
    {
        using var learner = Learner(new R2d2Config { NSteps = 1 });
        using var scope = NewDisposeScope();
        manual_seed(3);
        Tensor observations = randn(2, 4, 3);
        RecurrentState initial = learner.Online.InitialState(2);
        Tensor actions = zeros([2, 3], ScalarType.Int64);
        Tensor rewards = randn(2, 3);
        Tensor terminated = zeros(2, 3);
        Tensor mask = tensor(new float[] { 1, 1, 1, /**/ 1, 0, 0 }, [2, 3]);
        var terms = learner.Loss(observations, initial, actions, rewards, terminated, mask, weights: null, 0, 3);
        Tensor squared = (terms.Q - terms.Targets).square();
        double expected = ((squared[0].sum().item<float>() / 3) + squared[1, 0].item<float>()) / 2;
        Assert.Equal(expected, terms.Loss.item<float>(), 5);

        // Whatever a padded step holds (NaN included) is dropped.
        Tensor poisoned = rewards.clone();
        poisoned[1, 2] = tensor(float.NaN);
        var masked = learner.Loss(observations, initial, actions, poisoned, terminated, mask, weights: null, 0, 3);
        Assert.Equal(terms.Loss.item<float>(), masked.Loss.item<float>());

        Tensor weights = tensor(new float[] { 0.5f, 1f });
        var weighted = learner.Loss(observations, initial, actions, rewards, terminated, mask, weights, 0, 3);
        Assert.Equal(((0.5 * squared[0].sum().item<float>() / 3) + squared[1, 0].item<float>()) / 2, weighted.Loss.item<float>(), 5);
    }

    [Fact]
    public void Priorities_SentBack_AreTheEtaMixOfTheLearningTdErrors()
    {
        using var learner = Learner(new R2d2Config { NSteps = 2, PriorityEta = 0.7 });
        var options = new SequenceReplayOptions
        {
            Capacity = 16,
            BurnIn = 2,
            LearningLength = 4,
            Overlap = 3,
            ObservationShape = [3],
            NumEnvs = 1,
            StateSpec = learner.Online.StateSpec,
            Prioritized = true,
            Priority = new PriorityOptions { Alpha = 0.9 },
            Eta = 0.7,
        };
        using var buffer = new SequenceReplayBuffer(options);
        using var actor = new RecurrentQActor(learner.Online, 1, seed: 1);
        var random = new Random(4);
        float[] obs = [0.1f, 0.2f, 0.3f];
        int[] action = new int[1];
        for (int step = 0; step < 20; step++)
        {
            actor.EpsilonGreedy(obs, action, 0.5);
            float[] next = [.. Enumerable.Range(0, 3).Select(_ => (float)random.NextDouble())];
            bool end = step is 8 or 19;
            buffer.AddStep(obs, action, [random.NextDouble()], [end], [false], next, actor.PreviousState);
            actor.ResetRows(buffer.NextStepBeginsEpisode);
            obs = next;
        }

        using var scope = NewDisposeScope();
        SequenceBatch batch = buffer.Sample(4, beta: 0.6);
        Tensor td = learner.Step(batch, envStep: 20);
        Tensor learnMask = batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength);
        buffer.UpdatePriorities(batch.Indices, td, learnMask);

        long[] slots = batch.Indices.data<long>().ToArray();
        float[] errors = td.data<float>().ToArray();
        float[] maskValues = learnMask.contiguous().data<float>().ToArray();
        var sampler = (ManagedPrioritySampler)buffer.Sampler!;
        for (int b = 0; b < slots.Length; b++)
        {
            if (slots.Take(b).Contains(slots[b]) || slots.Skip(b + 1).Contains(slots[b]))
            {
                continue; // repeated indices keep the last value
            }

            double[] valid = [.. Enumerable.Range(0, 4).Where(t => maskValues[(b * 4) + t] > 0).Select(t => (double)Math.Abs(errors[(b * 4) + t]))];
            double p = valid.Length == 0 ? 0 : (0.7 * valid.Max()) + (0.3 * valid.Average());
            Assert.Equal(Math.Pow(p + 1e-6, 0.9), sampler.PriorityOf((int)slots[b]), 5);
        }
    }

    /// <summary>Online and target Q-values [3, 5, 2] of the hand-computed example (the same for the three rows).</summary>
    private static (Tensor Online, Tensor Target) HandQ()
    {
        var online = new float[3 * 5 * 2];
        var target = new float[3 * 5 * 2];
        for (int b = 0; b < 3; b++)
        {
            for (int i = 0; i < 5; i++)
            {
                int k = ((b * 5) + i) * 2;
                online[k + (i % 2)] = 1;          // argmax: action 0 at even positions, 1 at odd ones
                target[k] = 10 + i;
                target[k + 1] = 20 + i;
            }
        }

        return (tensor(online, [3, 5, 2]), tensor(target, [3, 5, 2]));
    }

    private static R2d2Learner Learner(R2d2Config config)
    {
        manual_seed(1);
        var network = new RecurrentQNetworkConfig
        {
            ObservationSize = 3,
            ActionCount = 2,
            Core = new CoreConfig { EncoderSizes = [], HiddenSize = 8 },
            Dueling = config.Dueling,
        };
        return new R2d2Learner(network, CPU, config);
    }
}
