using FsCheck;
using FsCheck.Fluent;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// GAE(λ) with NEXT_STEP autoreset pseudo-steps (hand-computed, against an independent implementation and against
/// Stable-Baselines3's reward-augmentation method), minibatches, recurrent sequences, normalization and bookkeeping.
/// </summary>
public sealed class RolloutBufferTests
{
    private const bool F = false;
    private const bool T = true;

    private static RolloutBufferOptions Options(int steps, int envs, int obs = 3, AdvantageNormalization normalization = AdvantageNormalization.None, RecurrentStateSpec? state = null, int actionDimension = 0, ulong seed = 7) => new()
    {
        NumSteps = steps,
        NumEnvs = envs,
        ObservationShape = [obs],
        Action = actionDimension == 0 ? ActionSpec.Discrete : ActionSpec.Continuous(actionDimension),
        Gamma = 0.9,
        GaeLambda = 0.8,
        AdvantageNormalization = normalization,
        RecurrentState = state,
        Seed = seed,
    };

    // ---------------------------------------------------------------- GAE

    /// <summary>
    /// 2 envs, T = 5, γ = 0.9, λ = 0.8 (γλ = 0.72). Env 0 terminates at t = 1 (t = 2 is its pseudo-step); env 1 is
    /// truncated at t = 1 (t = 2 is its pseudo-step, whose value 4.0 is V(F)) and again at t = 4, the last step, where
    /// lastValues[1] = 2.5 is V(F') of the observation the env returned after it.
    /// </summary>
    [Fact]
    public void Gae_MatchesHandComputedExample_WithTerminationTruncationAndTruncationOnTheLastStep()
    {
        using var buffer = new RolloutBuffer(Options(5, 2, obs: 1));
        float[][] values = [[0.5f, 1.0f], [1.0f, 2.0f], [3.0f, 4.0f], [0.2f, 0.5f], [0.4f, 1.5f]];
        double[][] rewards = [[1, 0], [2, 1], [5, -7] /* pseudo-steps: ignored */, [0.5, 2], [1, -1]];
        bool[][] terminated = [[F, F], [T, F], [T, F] /* ignored */, [F, F], [F, F]];
        bool[][] truncated = [[F, F], [F, T], [F, F], [F, F], [F, T]];
        bool[][] beginsAfter = [[F, F], [F, F], [T, T], [F, F], [F, F]];
        for (int t = 0; t < 5; t++)
        {
            buffer.Add([t, 10 + t], [0, 1], rewards[t], terminated[t], truncated[t], values[t], [-1f, -2f]);
            Assert.Equal(beginsAfter[t], buffer.NextStepBeginsEpisode.ToArray());
        }

        buffer.ComputeReturnsAndAdvantages([0.6f, 2.5f]);

        // Env 0: A4 = 1 + 0.9·0.6 − 0.4 = 1.14; A3 = (0.5 + 0.9·0.4 − 0.2) + 0.72·1.14 = 1.4808; A1 = 2 − 1 = 1 (no
        //        bootstrap); A0 = (1 + 0.9·1 − 0.5) + 0.72·1 = 2.12.
        // Env 1: A4 = −1 + 0.9·2.5 − 1.5 = −0.25 (bootstrap from lastValues, no continuation);
        //        A3 = (2 + 0.9·1.5 − 0.5) + 0.72·(−0.25) = 2.67; A1 = 1 + 0.9·4 − 2 = 2.6 (bootstrap from the
        //        pseudo-step's V(F)); A0 = (0 + 0.9·2 − 1) + 0.72·2.6 = 2.672.
        // Pseudo-steps: A = 0, R = V.
        double[] expectedAdvantages = [2.12, 2.672, 1.0, 2.6, 0, 0, 1.4808, 2.67, 1.14, -0.25];
        double[] expectedReturns = [2.62, 3.672, 2.0, 4.6, 3.0, 4.0, 1.6808, 3.17, 1.54, 1.25];
        AssertClose(expectedAdvantages, RolloutAssert.Advantages(buffer), 1e-6);
        AssertClose(expectedReturns, RolloutAssert.Returns(buffer), 1e-6);
        Assert.Equal([1f, 1, 1, 1, 0, 0, 1, 1, 1, 1], RolloutAssert.Column(buffer, buffer.Table.MaskColumn));
        Assert.Equal([1f, 1, 0, 0, 0, 0, 1, 1, 0, 0], RolloutAssert.Column(buffer, buffer.Table.EpisodeStartColumn));
        Assert.Equal(8, buffer.ValidCount);

        // Env 1 ended on the last step: the next rollout starts with its pseudo-step (the flag is carried).
        Assert.Equal([false, true], buffer.PreviousEnded.ToArray());
        buffer.Clear();
        buffer.Add([5, 15], [0, 0], [1, 99], [F, F], [F, F], [0.1f, 2.5f], [-1f, -1f]);
        Assert.Equal([1f, 0f], RolloutAssert.Column(buffer, buffer.Table.MaskColumn));
        Assert.Equal([0f, 0f], RolloutAssert.Column(buffer, buffer.Table.EpisodeStartColumn));
        Assert.Equal([false, true], buffer.NextStepBeginsEpisode.ToArray());
    }

    /// <summary>One random stream of rollouts for the GAE properties.</summary>
    public sealed record GaeScenario(int Seed, int NumEnvs, int NumSteps, int Rollouts, double PTerminate, double PTruncate, double Gamma, double Lambda)
    {
        public override string ToString() =>
            $"seed {Seed}, {NumEnvs} envs, T {NumSteps}, {Rollouts} rollouts, p(term) {PTerminate}, p(trunc) {PTruncate}, γ {Gamma}, λ {Lambda}";
    }

    private static readonly Gen<GaeScenario> GaeScenarios =
        from seed in Gen.Choose(0, 1_000_000)
        from envs in Gen.Choose(1, 4)
        from steps in Gen.Choose(1, 24)
        from rollouts in Gen.Choose(1, 3)
        from term in Gen.Choose(0, 40)
        from trunc in Gen.Choose(0, 40)
        from gamma in Gen.Elements(0.0, 0.5, 0.9, 0.99, 1.0)
        from lambda in Gen.Elements(0.0, 0.8, 0.95, 1.0)
        select new GaeScenario(seed, envs, steps, rollouts, term / 100.0, trunc / 100.0, gamma, lambda);

    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(80).WithParallelRunConfig(null);

    [Fact]
    public void Gae_EqualsAnIndependentForwardSum_AndStableBaselines3sRewardAugmentation_OnRandomStreams()
    {
        Prop.ForAll(GaeScenarios.ToArbitrary(), s =>
        {
            var options = new RolloutBufferOptions
            {
                NumSteps = s.NumSteps,
                NumEnvs = s.NumEnvs,
                ObservationShape = [3],
                Gamma = s.Gamma,
                GaeLambda = s.Lambda,
                AdvantageNormalization = AdvantageNormalization.None,
            };
            using var buffer = new RolloutBuffer(options);
            var stream = new RolloutStream(s.NumEnvs, 3, s.Seed, s.PTerminate, s.PTruncate);
            for (int r = 0; r < s.Rollouts; r++)
            {
                buffer.Clear();
                stream.NewRollout();
                for (int t = 0; t < s.NumSteps; t++)
                {
                    stream.AddTo(stream.Next(noisyPseudo: true), buffer);
                }

                float[] last = stream.LastValues();
                buffer.ComputeReturnsAndAdvantages(last);
                double[,] forward = GaeReference.ForwardSums(stream.Steps, last, s.Gamma, s.Lambda);
                double[,] sb3 = GaeReference.StableBaselines3(stream.Steps, last, s.Gamma, s.Lambda);
                float[] advantages = RolloutAssert.Advantages(buffer);
                float[] returns = RolloutAssert.Returns(buffer);
                for (int t = 0; t < s.NumSteps; t++)
                {
                    for (int e = 0; e < s.NumEnvs; e++)
                    {
                        int i = t * s.NumEnvs + e;
                        float v = stream.Steps[t].Values[e];
                        if (stream.Steps[t].Pseudo[e])
                        {
                            Assert.Equal(0f, advantages[i]);
                            Assert.Equal(v, returns[i]);
                            continue;
                        }

                        double tolerance = 2e-5 * Math.Max(1, Math.Abs(forward[t, e]));
                        Assert.True(Math.Abs(forward[t, e] - advantages[i]) <= tolerance, $"{s}: A[{t}, {e}] = {advantages[i]}, forward sum {forward[t, e]}");
                        Assert.True(Math.Abs(sb3[t, e] - forward[t, e]) <= 1e-9 * Math.Max(1, Math.Abs(forward[t, e])), $"{s}: SB3 {sb3[t, e]} vs forward sum {forward[t, e]} at [{t}, {e}]");
                        Assert.True(Math.Abs(forward[t, e] + v - returns[i]) <= tolerance, $"{s}: R[{t}, {e}] = {returns[i]}, expected {forward[t, e] + v}");
                    }
                }

                int validExpected = stream.Steps.Sum(st => st.Pseudo.Count(p => !p));
                Assert.Equal(validExpected, buffer.ValidCount);
            }
        }).Check(Quick);
    }

    [Fact]
    public void Gae_TerminatedOnTheLastStep_DoesNotBootstrap_AndTruncatedDoes()
    {
        using var buffer = new RolloutBuffer(Options(1, 2, obs: 1));
        buffer.Add([0, 1], [0, 0], [1, 1], [T, F], [F, T], [0.5f, 0.5f], [0f, 0f]);
        buffer.ComputeReturnsAndAdvantages([100f, 2f]);
        AssertClose([1 - 0.5, 1 + 0.9 * 2 - 0.5], RolloutAssert.Advantages(buffer), 1e-6);
    }

    [Fact]
    public void ComputeReturnsAndAdvantages_TakesATensor_AndMayBeCalledAgain()
    {
        using var buffer = new RolloutBuffer(Options(4, 3));
        var stream = new RolloutStream(3, 3, seed: 4);
        stream.FillRollout(4, buffer);
        float[] last = stream.LastValues();
        buffer.ComputeReturnsAndAdvantages(last);
        float[] fromSpan = RolloutAssert.Advantages(buffer);
        buffer.ComputeReturnsAndAdvantages([0f, 0f, 0f]);
        using (Tensor lastTensor = torch.tensor(last.Select(v => (double)v).ToArray()).reshape(3, 1))
        {
            buffer.ComputeReturnsAndAdvantages(lastTensor);
        }

        Assert.Equal(fromSpan, RolloutAssert.Advantages(buffer));
    }

    // ---------------------------------------------------------------- feed-forward minibatches

    [Fact]
    public void Minibatches_CoverEveryValidEntryExactlyOncePerEpoch_ShuffledAndReproducibleWithTheSeed()
    {
        const int steps = 16, envs = 4;
        using var buffer = new RolloutBuffer(Options(steps, envs, seed: 11));
        using var twin = new RolloutBuffer(Options(steps, envs, seed: 11));
        using var other = new RolloutBuffer(Options(steps, envs, seed: 12));
        var stream = new RolloutStream(envs, 3, seed: 5, pTerminate: 0.15, pTruncate: 0.15);
        stream.FillRollout(steps, buffer, twin, other);
        float[] last = stream.LastValues();
        foreach (RolloutBuffer b in new[] { buffer, twin, other })
        {
            b.ComputeReturnsAndAdvantages(last);
        }

        long[] validEntries = Enumerable.Range(0, steps * envs).Where(i => !stream.Steps[i / envs].Pseudo[i % envs]).Select(i => (long)i).ToArray();
        Assert.True(validEntries.Length < steps * envs, "the stream should contain pseudo-steps");
        Assert.Equal(validEntries.Length, buffer.ValidCount);

        List<long[]> Epoch(RolloutBuffer b, int size, bool dropLast, List<int>? sizes = null)
        {
            var indices = new List<long[]>();
            foreach (RolloutBatch batch in b.Minibatches(size, dropLast))
            {
                using (batch)
                {
                    sizes?.Add(batch.Size);
                    indices.Add(RolloutAssert.Longs(batch.Indices));
                }
            }

            return indices;
        }

        var sizes = new List<int>();
        List<long[]> first = Epoch(buffer, 10, false, sizes);
        long[] firstOrder = [.. first.SelectMany(x => x)];
        Assert.Equal(validEntries, firstOrder.Order());
        Assert.NotEqual(validEntries, firstOrder);                                        // shuffled
        Assert.All(sizes.SkipLast(1), s => Assert.Equal(10, s));
        Assert.Equal(validEntries.Length - 10 * (sizes.Count - 1), sizes[^1]);           // the last one is smaller

        long[] secondOrder = [.. Epoch(buffer, 10, false).SelectMany(x => x)];
        Assert.Equal(validEntries, secondOrder.Order());
        Assert.NotEqual(firstOrder, secondOrder);                                         // each epoch is a new order

        Assert.Equal(firstOrder, Epoch(twin, 10, false).SelectMany(x => x));              // same seed, same orders
        Assert.Equal(secondOrder, Epoch(twin, 10, false).SelectMany(x => x));
        Assert.NotEqual(firstOrder, Epoch(other, 10, false).SelectMany(x => x));          // another seed

        var dropped = new List<int>();
        long[] kept = [.. Epoch(buffer, 10, true, dropped).SelectMany(x => x)];
        Assert.All(dropped, s => Assert.Equal(10, s));
        Assert.Equal(validEntries.Length / 10 * 10, kept.Length);
        Assert.Equal(kept.Length, kept.Distinct().Count());
    }

    [Fact]
    public void Minibatches_CarryWhatWasAdded_ForEachEntry()
    {
        const int steps = 6, envs = 3;
        using var buffer = new RolloutBuffer(Options(steps, envs, obs: 4, actionDimension: 2));
        var stream = new RolloutStream(envs, 4, seed: 8, actionDimension: 2);
        stream.FillRollout(steps, buffer);
        buffer.ComputeReturnsAndAdvantages(stream.LastValues());
        float[] returns = RolloutAssert.Returns(buffer);
        float[] advantages = RolloutAssert.Advantages(buffer);
        int seen = 0;
        foreach (RolloutBatch batch in buffer.Minibatches(5))
        {
            using (batch)
            {
                Assert.Equal([batch.Size, 4L], batch.Observations.shape);
                Assert.Equal([batch.Size, 2L], batch.Actions.shape);
                long[] indices = RolloutAssert.Longs(batch.Indices);
                float[] obs = RolloutAssert.Floats(batch.Observations);
                float[] actions = RolloutAssert.Floats(batch.Actions);
                float[] values = RolloutAssert.Floats(batch.OldValues);
                float[] logProbs = RolloutAssert.Floats(batch.OldLogProbs);
                float[] ret = RolloutAssert.Floats(batch.Returns);
                float[] adv = RolloutAssert.Floats(batch.Advantages);
                for (int b = 0; b < batch.Size; b++)
                {
                    int t = (int)(indices[b] / envs), e = (int)(indices[b] % envs);
                    RolloutStep step = stream.Steps[t];
                    Assert.False(step.Pseudo[e]);
                    Assert.Equal(step.Observations.AsSpan(e * 4, 4).ToArray(), obs.AsSpan(b * 4, 4).ToArray());
                    Assert.Equal(step.ContinuousActions.AsSpan(e * 2, 2).ToArray(), actions.AsSpan(b * 2, 2).ToArray());
                    Assert.Equal(step.Values[e], values[b]);
                    Assert.Equal(step.LogProbs[e], logProbs[b]);
                    Assert.Equal(returns[indices[b]], ret[b]);
                    Assert.Equal(advantages[indices[b]], adv[b]);
                    seen++;
                }
            }
        }

        Assert.Equal(buffer.ValidCount, seen);
    }

    [Fact]
    public void Minibatches_DiscreteActionsComeBackAsInt64_AndMultiDimensionalObservationsKeepTheirShape()
    {
        var options = new RolloutBufferOptions { NumSteps = 3, NumEnvs = 2, ObservationShape = [2, 2], AdvantageNormalization = AdvantageNormalization.None };
        using var buffer = new RolloutBuffer(options);
        for (int t = 0; t < 3; t++)
        {
            buffer.Add([t, 1, 2, 3, t, 5, 6, 7], [t, 4], [1, 1], [F, F], [F, F], [0f, 0f], [0f, 0f]);
        }

        buffer.ComputeReturnsAndAdvantages([0f, 0f]);
        using RolloutBatch batch = buffer.Minibatches(6).Single();
        Assert.Equal(ScalarType.Int64, batch.Actions.dtype);
        Assert.Equal([6L, 2, 2], batch.Observations.shape);
        long[] indices = RolloutAssert.Longs(batch.Indices);
        long[] actions = RolloutAssert.Longs(batch.Actions);
        for (int b = 0; b < 6; b++)
        {
            Assert.Equal(indices[b] % 2 == 0 ? indices[b] / 2 : 4, actions[b]);
        }
    }

    // ---------------------------------------------------------------- recurrent sequences

    [Fact]
    public void SequenceMinibatches_CutEachEnvIntoChunks_WithStoredInitialStates_EpisodeStarts_MasksAndPadding()
    {
        const int steps = 10, envs = 3, length = 4;
        RecurrentStateSpec spec = RolloutAssert.LstmSpec();
        using var buffer = new RolloutBuffer(Options(steps, envs, state: spec));
        var stream = new RolloutStream(envs, 3, seed: 21, pTerminate: 0.15, pTruncate: 0.15, state: spec);
        stream.FillRollout(steps, buffer);
        buffer.ComputeReturnsAndAdvantages(stream.LastValues());
        float[] advantages = RolloutAssert.Advantages(buffer);

        var covered = new List<(int Env, int Step)>();
        var chunks = new List<(long Env, long Start)>();
        foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(length, 2))
        {
            using (batch)
            {
                Assert.Equal(length, batch.Length);
                Assert.Equal([batch.Sequences, (long)length, 3], batch.Observations.shape);
                long[] env = RolloutAssert.Longs(batch.Envs);
                long[] start = RolloutAssert.Longs(batch.StartSteps);
                float[] obs = RolloutAssert.Floats(batch.Observations);
                float[] mask = RolloutAssert.Floats(batch.Mask);
                float[] starts = RolloutAssert.Floats(batch.EpisodeStarts);
                float[] adv = RolloutAssert.Floats(batch.Advantages);
                long[] actions = RolloutAssert.Longs(batch.Actions);
                float[] h = RolloutAssert.Floats(batch.InitialState!["h"]);
                float[] c = RolloutAssert.Floats(batch.InitialState!["c"]);
                Assert.Equal(batch.Sequences, batch.InitialState.BatchSize);
                Assert.Equal((int)mask.Sum(), batch.ValidCount);
                for (int b = 0; b < batch.Sequences; b++)
                {
                    int e = (int)env[b], s0 = (int)start[b];
                    chunks.Add((e, s0));
                    Assert.Equal(0, s0 % length);
                    Assert.Equal(stream.Steps[s0].State![0].AsSpan(e * 3, 3).ToArray(), h.AsSpan(b * 3, 3).ToArray());
                    Assert.Equal(stream.Steps[s0].State![1].AsSpan(e * 3, 3).ToArray(), c.AsSpan(b * 3, 3).ToArray());
                    for (int l = 0; l < length; l++)
                    {
                        int p = b * length + l, t = s0 + l;
                        if (t >= steps)
                        {
                            Assert.Equal((0f, 0f, 0f), (mask[p], starts[p], adv[p]));
                            Assert.Equal([0f, 0f, 0f], obs.AsSpan(p * 3, 3).ToArray());
                            continue;
                        }

                        RolloutStep step = stream.Steps[t];
                        Assert.Equal(step.Observations.AsSpan(e * 3, 3).ToArray(), obs.AsSpan(p * 3, 3).ToArray());
                        Assert.Equal(step.DiscreteActions[e], actions[p]);
                        Assert.Equal(step.Pseudo[e] ? 0f : 1f, mask[p]);
                        Assert.Equal(step.EpisodeStart[e] ? 1f : 0f, starts[p]);
                        Assert.Equal(advantages[t * envs + e], adv[p]);
                        if (!step.Pseudo[e])
                        {
                            covered.Add((e, t));
                        }
                    }
                }
            }
        }

        var expected = Enumerable.Range(0, steps * envs).Where(i => !stream.Steps[i / envs].Pseudo[i % envs]).Select(i => (i % envs, i / envs)).Order().ToList();
        Assert.Equal(expected, covered.Order().ToList());                   // every valid entry exactly once
        Assert.Equal(chunks.Count, chunks.Distinct().Count());
        Assert.NotEqual(chunks.OrderBy(x => x.Env).ThenBy(x => x.Start).ToList(), chunks);   // shuffled
        Assert.Contains(chunks, x => x.Start == 8);                         // the padded last chunk
    }

    /// <summary>
    /// One env, T = 6: the first step after construction begins an episode; step 1 terminates, step 2 is the
    /// pseudo-step (mask 0, no episode start: it continues the ended episode, whose state V(F) needs); step 3 begins the
    /// next episode; step 4 is truncated, step 5 is its pseudo-step.
    /// </summary>
    [Fact]
    public void EpisodeStarts_MarkTheFirstStepAfterAPseudoStep_AndNotThePseudoStepItself()
    {
        using var buffer = new RolloutBuffer(Options(6, 1, obs: 1));
        bool[] term = [F, T, F, F, F, F];
        bool[] trunc = [F, F, F, F, T, F];
        bool[] begins = [F, F, T, F, F, T];
        for (int t = 0; t < 6; t++)
        {
            buffer.Add([t], [0], [1], [term[t]], [trunc[t]], [0f], [0f]);
            Assert.Equal(begins[t], buffer.NextStepBeginsEpisode[0]);
        }

        buffer.ComputeReturnsAndAdvantages([0f]);
        using RolloutSequenceBatch batch = buffer.SequenceMinibatches(6, 1).Single();
        Assert.Equal([1f, 0, 0, 1, 0, 0], RolloutAssert.Floats(batch.EpisodeStarts));
        Assert.Equal([1f, 1, 0, 1, 1, 0], RolloutAssert.Floats(batch.Mask));
        Assert.Equal(4, batch.ValidCount);
        Assert.Null(batch.InitialState);
    }

    [Fact]
    public void SequenceMinibatches_LeaveOutChunksWithoutAValidStep()
    {
        using var buffer = new RolloutBuffer(Options(3, 1, obs: 1));
        buffer.Add([0], [0], [1], [T], [F], [0f], [0f]);
        buffer.Add([1], [0], [0], [F], [F], [0f], [0f]);   // the pseudo-step
        buffer.Add([2], [0], [1], [F], [F], [0f], [0f]);
        buffer.ComputeReturnsAndAdvantages([0f]);
        var starts = new List<long>();
        foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(1, 8))
        {
            using (batch)
            {
                starts.AddRange(RolloutAssert.Longs(batch.StartSteps));
            }
        }

        Assert.Equal([0L, 2L], starts.Order());
    }

    [Fact]
    public void SequenceMinibatches_AreReproducibleWithTheSeed()
    {
        using var a = new RolloutBuffer(Options(8, 4, seed: 3));
        using var b = new RolloutBuffer(Options(8, 4, seed: 3));
        var stream = new RolloutStream(4, 3, seed: 2);
        stream.FillRollout(8, a, b);
        float[] last = stream.LastValues();
        a.ComputeReturnsAndAdvantages(last);
        b.ComputeReturnsAndAdvantages(last);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            Assert.Equal(SequenceStarts(a, 2, 3), SequenceStarts(b, 2, 3));
        }
    }

    // ---------------------------------------------------------------- normalization

    [Fact]
    public void PerMinibatchNormalization_GivesEachMinibatchMean0Std1_OverItsEntries()
    {
        using var buffer = new RolloutBuffer(Options(16, 4, normalization: AdvantageNormalization.PerMinibatch));
        var stream = new RolloutStream(4, 3, seed: 6);
        stream.FillRollout(16, buffer);
        buffer.ComputeReturnsAndAdvantages(stream.LastValues());
        float[] raw = RolloutAssert.Advantages(buffer);
        foreach (RolloutBatch batch in buffer.Minibatches(16))
        {
            using (batch)
            {
                double[] adv = RolloutAssert.Floats(batch.Advantages).Select(x => (double)x).ToArray();
                if (adv.Length < 2)
                {
                    continue;
                }

                (double mean, double std) = MeanStd(adv);
                Assert.True(Math.Abs(mean) < 1e-5, $"mean {mean}");
                Assert.True(Math.Abs(std - 1) < 1e-4, $"std {std}");
                // The same affine map of the raw advantages.
                double[] source = RolloutAssert.Longs(batch.Indices).Select(i => (double)raw[i]).ToArray();
                (double m, double s) = MeanStd(source);
                AssertClose(source.Select(x => (x - m) / (s + 1e-8)).ToArray(), adv.Select(x => (float)x).ToArray(), 1e-4);
            }
        }

        // A minibatch of one is left as it is (its standard deviation is undefined), as SB3 does.
        foreach (RolloutBatch batch in buffer.Minibatches(1).Take(3))
        {
            using (batch)
            {
                Assert.Equal(raw[RolloutAssert.Longs(batch.Indices)[0]], RolloutAssert.Floats(batch.Advantages)[0]);
            }
        }
    }

    [Fact]
    public void PerRolloutNormalization_UsesOnlyValidEntries_AndLeavesPseudoStepsAtZero()
    {
        using var normalized = new RolloutBuffer(Options(16, 4, normalization: AdvantageNormalization.PerRollout));
        using var raw = new RolloutBuffer(Options(16, 4, normalization: AdvantageNormalization.None));
        var stream = new RolloutStream(4, 3, seed: 6, pTerminate: 0.2, pTruncate: 0.2);
        stream.FillRollout(16, normalized, raw);
        float[] last = stream.LastValues();
        normalized.ComputeReturnsAndAdvantages(last);
        raw.ComputeReturnsAndAdvantages(last);

        bool[] valid = Enumerable.Range(0, 64).Select(i => !stream.Steps[i / 4].Pseudo[i % 4]).ToArray();
        float[] a = RolloutAssert.Advantages(normalized);
        float[] r = RolloutAssert.Advantages(raw);
        (double mean, double std) = MeanStd(a.Where((_, i) => valid[i]).Select(x => (double)x).ToArray());
        Assert.True(Math.Abs(mean) < 1e-5 && Math.Abs(std - 1) < 1e-4, $"mean {mean}, std {std}");
        (double rm, double rs) = MeanStd(r.Where((_, i) => valid[i]).Select(x => (double)x).ToArray());
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(valid[i] ? (float)((r[i] - rm) / (rs + 1e-8)) : 0f, a[i], 4);
        }

        // Returns come from the unnormalized advantages.
        Assert.Equal(RolloutAssert.Returns(raw), RolloutAssert.Returns(normalized));

        // Minibatches hand out the rollout-normalized values unchanged.
        foreach (RolloutBatch batch in normalized.Minibatches(7))
        {
            using (batch)
            {
                long[] indices = RolloutAssert.Longs(batch.Indices);
                Assert.Equal(indices.Select(i => a[i]), RolloutAssert.Floats(batch.Advantages));
            }
        }
    }

    [Fact]
    public void PerMinibatchNormalization_OfSequences_IsMaskedAndLeavesMaskedPositionsAtZero()
    {
        using var buffer = new RolloutBuffer(Options(10, 3, normalization: AdvantageNormalization.PerMinibatch));
        var stream = new RolloutStream(3, 3, seed: 9, pTerminate: 0.2, pTruncate: 0.2);
        stream.FillRollout(10, buffer);
        buffer.ComputeReturnsAndAdvantages(stream.LastValues());
        float[] raw = RolloutAssert.Advantages(buffer);
        foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(4, 3))
        {
            using (batch)
            {
                float[] adv = RolloutAssert.Floats(batch.Advantages);
                float[] mask = RolloutAssert.Floats(batch.Mask);
                long[] env = RolloutAssert.Longs(batch.Envs);
                long[] start = RolloutAssert.Longs(batch.StartSteps);
                double[] valid = adv.Where((_, i) => mask[i] == 1).Select(x => (double)x).ToArray();
                Assert.All(adv.Where((_, i) => mask[i] == 0), x => Assert.Equal(0f, x));
                if (valid.Length < 2)
                {
                    continue;
                }

                (double mean, double std) = MeanStd(valid);
                Assert.True(Math.Abs(mean) < 1e-5 && Math.Abs(std - 1) < 1e-4, $"mean {mean}, std {std}");
                var source = new List<double>();
                for (int b = 0; b < batch.Sequences; b++)
                {
                    for (int l = 0; l < batch.Length; l++)
                    {
                        if (mask[b * batch.Length + l] == 1)
                        {
                            source.Add(raw[(start[b] + l) * 3 + env[b]]);
                        }
                    }
                }

                (double m, double s) = MeanStd([.. source]);
                AssertClose(source.Select(x => (x - m) / (s + 1e-8)).ToArray(), valid.Select(x => (float)x).ToArray(), 1e-4);
            }
        }
    }

    // ---------------------------------------------------------------- paths and overloads

    [Fact]
    public void StagedDevicePath_StoresComputesAndBatchesExactlyWhatTheDirectPathDoes()
    {
        RecurrentStateSpec spec = RolloutAssert.LstmSpec();
        RolloutBufferOptions options = Options(9, 3, normalization: AdvantageNormalization.PerMinibatch, state: spec, actionDimension: 2);
        using var direct = new RolloutBuffer(options);
        using var staged = new RolloutBuffer(options, forceStaging: true);
        Assert.True(direct.Table.Direct);
        Assert.False(staged.Table.Direct);
        var stream = new RolloutStream(3, 3, seed: 31, actionDimension: 2, state: spec);
        for (int rollout = 0; rollout < 2; rollout++)
        {
            direct.Clear();
            staged.Clear();
            stream.NewRollout();
            for (int t = 0; t < 9; t++)
            {
                RolloutStep step = stream.Next();
                stream.AddTo(step, direct);
                using RecurrentState? state = stream.StateOf(step);
                using Tensor values = torch.tensor(step.Values);
                using Tensor logProbs = torch.tensor(step.LogProbs).reshape(3, 1);
                staged.Add(step.Observations, step.ContinuousActions, step.Rewards, step.Terminated, step.Truncated, values, logProbs, state);
            }

            float[] last = stream.LastValues();
            direct.ComputeReturnsAndAdvantages(last);
            staged.ComputeReturnsAndAdvantages(last);
            RolloutAssert.Same(direct.Snapshot(), staged.Snapshot());
            Assert.Equal(BatchKeys(direct), BatchKeys(staged));
            Assert.Equal(SequenceKeys(direct), SequenceKeys(staged));
        }
    }

    [Fact]
    public void TensorOverload_EqualsSpanOverload_ForAnyFloatingDtypeAndShape()
    {
        using var spans = new RolloutBuffer(Options(4, 2));
        using var tensors = new RolloutBuffer(Options(4, 2));
        var stream = new RolloutStream(2, 3, seed: 12);
        for (int t = 0; t < 4; t++)
        {
            RolloutStep step = stream.Next();
            stream.AddTo(step, spans);
            using var scope = torch.NewDisposeScope();
            Tensor values = t % 2 == 0 ? torch.tensor(step.Values) : torch.tensor(step.Values.Select(v => (double)v).ToArray()).reshape(2, 1);
            Tensor logProbs = torch.tensor(step.LogProbs).reshape(1, 2).t();          // non-contiguous [2, 1]
            tensors.Add(step.Observations, step.DiscreteActions, step.Rewards, step.Terminated, step.Truncated, values, logProbs);
        }

        RolloutAssert.Same(spans.Snapshot(), tensors.Snapshot());
    }

    [Fact]
    public void ValuesRequiringGrad_AreStoredWithoutJoiningTheGraph()
    {
        using var buffer = new RolloutBuffer(Options(1, 2), forceStaging: true);
        using Tensor values = torch.tensor(new[] { 1f, 2f }, requires_grad: true);
        using Tensor logProbs = torch.tensor(new[] { -1f, -2f }, requires_grad: true);
        buffer.Add([0, 0, 0, 1, 1, 1], [0, 1], [0, 0], [F, F], [F, F], values, logProbs);
        Assert.False(buffer.Table.Tensor.requires_grad);
        Assert.Equal([1f, 2f], RolloutAssert.Column(buffer, buffer.Table.ValueColumn));
    }

    // ---------------------------------------------------------------- rollout boundaries and enumeration

    [Fact]
    public void BeginNewEpisodes_IsRefusedInsideARollout_AndClearsTheFlagsBetweenRollouts()
    {
        using var buffer = new RolloutBuffer(Options(2, 1, obs: 1));
        buffer.Add([0], [0], [1], [T], [F], [0f], [0f]);
        var e = Assert.Throws<InvalidOperationException>(buffer.BeginNewEpisodes);
        Assert.Contains(buffer.Name, e.Message);
        Assert.Contains("1 of 2 steps", e.Message);
        Assert.True(buffer.PreviousEnded[0]);
        Assert.False(buffer.NextStepBeginsEpisode[0]);
    }

    [Fact]
    public void BeginNewEpisodes_BetweenRollouts_MakesTheNextStepARealFirstStep()
    {
        using var buffer = new RolloutBuffer(Options(1, 1, obs: 1));
        buffer.Add([0], [0], [1], [F], [T], [0f], [0f]);
        buffer.Clear();
        Assert.True(buffer.PreviousEnded[0]);
        buffer.BeginNewEpisodes();
        Assert.False(buffer.PreviousEnded[0]);
        Assert.True(buffer.NextStepBeginsEpisode[0]);
        buffer.Add([1], [0], [1], [F], [F], [0f], [0f]);
        Assert.Equal([1f], RolloutAssert.Column(buffer, buffer.Table.MaskColumn));
        Assert.Equal([1f], RolloutAssert.Column(buffer, buffer.Table.EpisodeStartColumn));
    }

    [Fact]
    public void ChangingTheBufferDuringAnEnumeration_IsRefused()
    {
        using var buffer = new RolloutBuffer(Options(4, 2));
        var stream = new RolloutStream(2, 3, seed: 1, pTerminate: 0, pTruncate: 0);
        stream.FillRollout(4, buffer);
        buffer.ComputeReturnsAndAdvantages([0f, 0f]);
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (RolloutBatch batch in buffer.Minibatches(2))
            {
                batch.Dispose();
                buffer.ComputeReturnsAndAdvantages([1f, 1f]);
            }
        });
        Assert.Contains("changed", e.Message);
    }

    // ---------------------------------------------------------------- helpers

    internal static List<string> BatchKeys(RolloutBuffer buffer)
    {
        var keys = new List<string>();
        foreach (RolloutBatch batch in buffer.Minibatches(7))
        {
            using (batch)
            {
                keys.Add(string.Join(",", RolloutAssert.Longs(batch.Indices)) + "|" + string.Join(",", RolloutAssert.Floats(batch.Advantages))
                    + "|" + string.Join(",", RolloutAssert.Floats(batch.Observations)) + "|" + string.Join(",", RolloutAssert.Floats(batch.Returns)));
            }
        }

        return keys;
    }

    internal static List<string> SequenceKeys(RolloutBuffer buffer)
    {
        var keys = new List<string>();
        foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(4, 2))
        {
            using (batch)
            {
                string state = batch.InitialState is null ? "" : string.Join(";", batch.InitialState.Tensors.Select(t => string.Join(",", RolloutAssert.Floats(t))));
                keys.Add(string.Join(",", RolloutAssert.Longs(batch.Envs)) + "|" + string.Join(",", RolloutAssert.Longs(batch.StartSteps))
                    + "|" + string.Join(",", RolloutAssert.Floats(batch.Advantages)) + "|" + string.Join(",", RolloutAssert.Floats(batch.Mask))
                    + "|" + string.Join(",", RolloutAssert.Floats(batch.EpisodeStarts)) + "|" + state);
            }
        }

        return keys;
    }

    private static List<(long, long)> SequenceStarts(RolloutBuffer buffer, int length, int perBatch)
    {
        var starts = new List<(long, long)>();
        foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(length, perBatch))
        {
            using (batch)
            {
                starts.AddRange(RolloutAssert.Longs(batch.Envs).Zip(RolloutAssert.Longs(batch.StartSteps)));
            }
        }

        return starts;
    }

    private static (double Mean, double Std) MeanStd(double[] values)
    {
        double mean = values.Average();
        double variance = values.Sum(x => (x - mean) * (x - mean)) / (values.Length - 1);
        return (mean, Math.Sqrt(variance));
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }
}
