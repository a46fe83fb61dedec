using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>
/// How streams are cut into sequences, against hand-computed examples (T = 4: burn-in 2, learning 2, overlap 2, so a
/// sequence starts every 2 steps) and against a naive reference model on random streams.
/// </summary>
public sealed class SequenceCuttingTests
{
    private static SequenceReplayOptions Options(int numEnvs = 1, int capacity = 32, int minLength = 1, int burnIn = 2, int learning = 2, int overlap = 2, int actionDimension = 0, bool bytes = false) => new()
    {
        Capacity = capacity,
        BurnIn = burnIn,
        LearningLength = learning,
        Overlap = overlap,
        ObservationShape = [3],
        ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        Action = actionDimension == 0 ? ActionSpec.Discrete : ActionSpec.Continuous(actionDimension),
        NumEnvs = numEnvs,
        StateSpec = SequenceDriver.Spec,
        MinSequenceLength = minLength,
    };

    /// <summary>
    /// The sequence of env <paramref name="env"/>, episode <paramref name="episode"/>, starting at episode step
    /// <paramref name="start"/> (global step <paramref name="startGlobal"/>) with <paramref name="valid"/> valid steps,
    /// as <see cref="ScriptedVectorEnv"/> produces it (T = 4).
    /// </summary>
    private static SequenceRecord Seq(int env, int episode, int start, int valid, EpisodeEnd? end, int startGlobal, int actionDimension = 0)
    {
        const int t = 4;
        int d = Math.Max(1, actionDimension);
        var obs = new float[(t + 1) * 3];
        var actions = new float[t * d];
        var rewards = new float[t];
        var terminated = new float[t];
        var truncated = new float[t];
        var mask = new float[t];
        for (int i = 0; i <= valid; i++)
        {
            ScriptedVectorEnv.Obs(env, episode, start + i).CopyTo(obs, i * 3);
        }

        for (int i = 0; i < valid; i++)
        {
            ScriptedVectorEnv.Action(env, start + i, actionDimension).CopyTo(actions, i * d);
            rewards[i] = ScriptedVectorEnv.Reward(env, episode, start + i);
            mask[i] = 1;
        }

        if (end == EpisodeEnd.Terminated)
        {
            terminated[valid - 1] = 1;
        }
        else if (end == EpisodeEnd.Truncated)
        {
            truncated[valid - 1] = 1;
        }

        double[] h = [SequenceDriver.StateValue(env, startGlobal, 0), SequenceDriver.StateValue(env, startGlobal, 1)];
        return new SequenceRecord(valid, obs, actions, rewards, terminated, truncated, mask, [h, [-h[0], -h[1]]]);
    }

    private static SequenceReplayBuffer Run(SequenceReplayOptions options, ScriptedVectorEnv env, int steps)
    {
        var buffer = new SequenceReplayBuffer(options);
        var driver = new SequenceDriver(env, options);
        for (int g = 0; g < steps; g++)
        {
            driver.Step(buffer);
        }

        // The reference model agrees with the hand-computed examples too.
        Assert.Equal(driver.ExpectedBySlot(options.Capacity), SequenceAssert.StoredKeys(buffer));
        return buffer;
    }

    [Fact]
    public void OneEnv_SevenStepEpisodeEndingInTermination_IsCutIntoOverlappingAndPaddedSequences()
    {
        // Episode 0: steps 0..6 (global 0..6), terminated; global 7 is the pseudo-step; episode 1: steps 0..1 (global 8, 9),
        // terminated; global 10 pseudo-step; episode 2 endless (global 11).
        var env = new ScriptedVectorEnv(0, [(7, EpisodeEnd.Terminated), (2, EpisodeEnd.Terminated)]);
        using SequenceReplayBuffer buffer = Run(Options(), env, steps: 12);

        List<StoredSequence> stored = buffer.Storage.Enumerate();
        Assert.Equal(5, buffer.Count);

        // Slot 0: steps 0..3, full, written at step 3. Observations 0..4 (the fifth is step 3's next observation).
        StoredSequence s0 = stored[0];
        Assert.Equal(4, s0.Length);
        Assert.Equal([0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4], s0.Observations);
        Assert.Equal([0, 1, 2, 3], s0.Actions);
        Assert.Equal([0.5f, 1.5f, 2.5f, 3.5f], s0.Rewards);
        Assert.Equal([0, 0, 0, 0], s0.Terminated);
        Assert.Equal([1, 1, 1, 1], s0.Mask);
        Assert.Equal([0.0, 1.0], s0.InitialState[0]);     // h before step 0 (global 0)
        Assert.Equal([-0.0, -1.0], s0.InitialState[1]);   // c

        // Slot 1: steps 2..5, full, written at step 5; its state is the one passed at step 2.
        StoredSequence s1 = stored[1];
        Assert.Equal([0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0, 6], s1.Observations);
        Assert.Equal([2, 3, 0, 1], s1.Actions);
        Assert.Equal([2.5f, 3.5f, 4.5f, 5.5f], s1.Rewards);
        Assert.Equal([20.0, 21.0], s1.InitialState[0]);

        // Slot 2: steps 4..6 (3 valid), padded; the slot after step 6 holds the final observation [0, 0, 7].
        StoredSequence s2 = stored[2];
        Assert.Equal(3, s2.Length);
        Assert.Equal([0, 0, 4, 0, 0, 5, 0, 0, 6, 0, 0, 7, 0, 0, 0], s2.Observations);
        Assert.Equal([0, 1, 2, 0], s2.Actions);
        Assert.Equal([4.5f, 5.5f, 6.5f, 0], s2.Rewards);
        Assert.Equal([0, 0, 1, 0], s2.Terminated);
        Assert.Equal([0, 0, 0, 0], s2.Truncated);
        Assert.Equal([1, 1, 1, 0], s2.Mask);
        Assert.Equal([40.0, 41.0], s2.InitialState[0]);

        // Slot 3: step 6 alone (it started a sequence), padded.
        StoredSequence s3 = stored[3];
        Assert.Equal(1, s3.Length);
        Assert.Equal([0, 0, 6, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0], s3.Observations);
        Assert.Equal([2, 0, 0, 0], s3.Actions);
        Assert.Equal([6.5f, 0, 0, 0], s3.Rewards);
        Assert.Equal([1, 0, 0, 0], s3.Terminated);
        Assert.Equal([1, 0, 0, 0], s3.Mask);
        Assert.Equal([60.0, 61.0], s3.InitialState[0]);

        // Slot 4: episode 1 (global 8, 9): the pseudo-step at global 7 was skipped, and the initial state is the one the
        // actor passed at the episode's first step (global 8), not anything from episode 0.
        Assert.Equal(Seq(0, 1, 0, 2, EpisodeEnd.Terminated, startGlobal: 8).Key, SequenceRecord.From(stored[4]).Key);
        Assert.Equal([0, 1, 0, 0, 1, 1, 0, 1, 2, 0, 0, 0, 0, 0, 0], stored[4].Observations);
        Assert.Equal([80.0, 81.0], stored[4].InitialState[0]);
    }

    [Fact]
    public void EpisodeEndingInTruncation_MarksTheLastValidStepTruncated_AndKeepsTheFinalObservation()
    {
        var env = new ScriptedVectorEnv(0, [(7, EpisodeEnd.Truncated)]);
        using SequenceReplayBuffer buffer = Run(Options(), env, steps: 9);
        List<StoredSequence> stored = buffer.Storage.Enumerate();
        Assert.Equal(
            [
                Seq(0, 0, 0, 4, null, 0).Key,
                Seq(0, 0, 2, 4, null, 2).Key,
                Seq(0, 0, 4, 3, EpisodeEnd.Truncated, 4).Key,
                Seq(0, 0, 6, 1, EpisodeEnd.Truncated, 6).Key,
            ],
            stored.Select(s => SequenceRecord.From(s).Key));
        Assert.Equal([0, 0, 1, 0], stored[2].Truncated);
        Assert.Equal([0, 0, 0, 0], stored[2].Terminated);
        Assert.Equal([0, 0, 7], stored[2].Observations[9..12]);   // bootstrap from the final observation
    }

    [Fact]
    public void MinSequenceLength_DropsShorterPartialSequences_ButNeverFullOnes()
    {
        var env = new ScriptedVectorEnv(0, [(7, EpisodeEnd.Terminated), (2, EpisodeEnd.Truncated)]);
        using SequenceReplayBuffer buffer = Run(Options(minLength: 3), env, steps: 12);
        Assert.Equal(
            [
                Seq(0, 0, 0, 4, null, 0).Key,
                Seq(0, 0, 2, 4, null, 2).Key,
                Seq(0, 0, 4, 3, EpisodeEnd.Terminated, 4).Key,
            ],
            SequenceAssert.StoredKeys(buffer));
    }

    [Fact]
    public void TwoEnvsOutOfPhase_AreCutIndependently_InEnvOrderPerStep()
    {
        // Env 0: episodes of 3 (terminated) and 5 (truncated) steps, then endless; env 1: 5 steps (truncated), then endless.
        var env = new ScriptedVectorEnv(0, [(3, EpisodeEnd.Terminated), (5, EpisodeEnd.Truncated)], [(5, EpisodeEnd.Truncated)]);
        using SequenceReplayBuffer buffer = Run(Options(numEnvs: 2), env, steps: 12);
        Assert.Equal(
            [
                Seq(0, 0, 0, 3, EpisodeEnd.Terminated, 0).Key,   // global 2: env 0 ends
                Seq(0, 0, 2, 1, EpisodeEnd.Terminated, 2).Key,
                Seq(1, 0, 0, 4, null, 0).Key,                    // global 3: env 1 full (env 0 pseudo-step)
                Seq(1, 0, 2, 3, EpisodeEnd.Truncated, 2).Key,    // global 4: env 1 ends
                Seq(1, 0, 4, 1, EpisodeEnd.Truncated, 4).Key,
                Seq(0, 1, 0, 4, null, 4).Key,                    // global 7: env 0 episode 1 full
                Seq(0, 1, 2, 3, EpisodeEnd.Truncated, 6).Key,    // global 8: env 0 ends
                Seq(0, 1, 4, 1, EpisodeEnd.Truncated, 8).Key,
                Seq(1, 1, 0, 4, null, 6).Key,                    // global 9: env 1 episode 1 (started at 6, after the pseudo-step at 5)
                Seq(1, 1, 2, 4, null, 8).Key,                    // global 11
            ],
            SequenceAssert.StoredKeys(buffer));
    }

    [Fact]
    public void ContinuousActions_AreStoredPerStep()
    {
        var env = new ScriptedVectorEnv(2, [(3, EpisodeEnd.Terminated)]);
        using SequenceReplayBuffer buffer = Run(Options(actionDimension: 2), env, steps: 4);
        StoredSequence s = buffer.Storage.Enumerate()[0];
        Assert.Equal([0, 0, 1, 0, 2, 0, 0, 0], s.Actions.Select(a => a + 0f));   // [t, −env] per valid step, zeros after
        Assert.Equal(Seq(0, 0, 0, 3, EpisodeEnd.Terminated, 0, actionDimension: 2).Key, SequenceRecord.From(s).Key);
    }

    [Fact]
    public void StatesAreRecordedOnlyAtSequenceStarts_OtherRowsAreNeitherKeptNorChecked()
    {
        SequenceReplayOptions options = Options();
        using var buffer = new SequenceReplayBuffer(options);
        float[] obs = [0, 0, 0];
        for (int t = 0; t < 6; t++)
        {
            float[] next = [0, 0, t + 1];
            // Odd steps start no sequence (stride 2): their state rows are NaN and must be ignored.
            float value = t % 2 == 0 ? 7 * t : float.NaN;
            using var state = new RecurrentState([("h", full(1, 2, value)), ("c", full(1, 2, -value))]);
            buffer.AddStep(obs, [t], [1.0], [false], [false], next, state);
            obs = next;
        }

        List<StoredSequence> stored = buffer.Storage.Enumerate();
        Assert.Equal(2, stored.Count);                  // starts 0 and 2 are full; 4 is open
        Assert.Equal([0.0, 0.0], stored[0].InitialState[0]);
        Assert.Equal([14.0, 14.0], stored[1].InitialState[0]);
        Assert.Equal(2, buffer.Storage.States.TensorBytes / (4 * 2 * 2) - buffer.Capacity);   // K = 2 snapshot rows per env
    }

    [Fact]
    public void BeginNewEpisodes_FlushesOpenSequencesWithoutFlags_AndStartsFreshSequences()
    {
        SequenceReplayOptions options = Options();
        var env = new ScriptedVectorEnv(0, [(100, EpisodeEnd.Terminated)]);
        using var buffer = new SequenceReplayBuffer(options);
        var driver = new SequenceDriver(env, options);
        for (int g = 0; g < 5; g++)
        {
            driver.Step(buffer);
        }

        driver.ResetOutOfBand(buffer);   // env back to [0, 0, 0]
        driver.Step(buffer);
        driver.Step(buffer);
        driver.Step(buffer);
        driver.Step(buffer);
        Assert.Equal(
            [
                Seq(0, 0, 0, 4, null, 0).Key,
                Seq(0, 0, 2, 3, null, 2).Key,    // flushed: steps 2..4, no flag, bootstraps from [0, 0, 5]
                Seq(0, 0, 4, 1, null, 4).Key,
                Seq(0, 0, 0, 4, null, 5).Key,    // the episode after the reset (same observations), state from global 5
            ],
            SequenceAssert.StoredKeys(buffer));
        Assert.Equal(driver.ExpectedBySlot(options.Capacity), SequenceAssert.StoredKeys(buffer));
    }

    [Fact]
    public void BeginNewEpisodes_AfterAnEpisodeEnd_TreatsTheNextEntryAsReal()
    {
        SequenceReplayOptions options = Options();
        var env = new ScriptedVectorEnv(0, [(2, EpisodeEnd.Terminated), (100, EpisodeEnd.Terminated)]);
        using var buffer = new SequenceReplayBuffer(options);
        var driver = new SequenceDriver(env, options);
        driver.Step(buffer);
        driver.Step(buffer);             // episode ends: the next entry would be a pseudo-step
        driver.ResetOutOfBand(buffer);   // … but the vector env was reset, so it is a real first step
        for (int g = 0; g < 4; g++)
        {
            driver.Step(buffer);
        }

        Assert.Equal(2, buffer.Count);
        Assert.Equal(driver.ExpectedBySlot(options.Capacity), SequenceAssert.StoredKeys(buffer));
    }

    public static TheoryData<int, int, int, int, int, bool, bool, int> RandomCases() => new()
    {
        // burnIn, learning, overlap, numEnvs, minLength, continuous, bytes, capacity
        { 2, 2, 2, 1, 1, false, false, 500 },
        { 3, 5, 4, 3, 1, false, false, 500 },
        { 0, 5, 0, 4, 1, true, false, 500 },      // no overlap, no burn-in
        { 2, 3, 4, 2, 3, false, true, 500 },      // stride 1 (every step starts a sequence), bytes
        { 40, 40, 40, 2, 41, false, false, 500 }, // R2D2's shape; drop burn-in-only tails
        { 1, 3, 2, 5, 2, true, false, 7 },        // the ring wraps many times
    };

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void RandomStreams_MatchTheReferenceModel(int burnIn, int learning, int overlap, int numEnvs, int minLength, bool continuous, bool bytes, int capacity)
    {
        SequenceReplayOptions options = Options(numEnvs, capacity, minLength, burnIn, learning, overlap, continuous ? 2 : 0, bytes) with { ObservationShape = [4] };
        var env = new RandomVectorEnv(new FakeVectorEnv(numEnvs, 4, seed: burnIn + (7 * learning) + overlap, pTerminate: 0.6 / options.SequenceLength, pTruncate: 0.4 / options.SequenceLength, actionDimension: continuous ? 2 : 0));
        using var buffer = new SequenceReplayBuffer(options);
        using var staged = new SequenceReplayBuffer(options, forceDevicePath: true);
        var driver = new SequenceDriver(env, options);
        int steps = Math.Max(400, 20 * options.SequenceLength);
        for (int g = 0; g < steps; g++)
        {
            driver.Step(buffer, staged);
            if (g == steps * 2 / 3)
            {
                driver.ResetOutOfBand(buffer, staged);
            }
        }

        Assert.True(driver.Expected.Count > 20, $"only {driver.Expected.Count} sequences");
        List<string> expected = driver.ExpectedBySlot(capacity);
        Assert.Equal(expected, SequenceAssert.StoredKeys(buffer));
        // The device path (staging tensors, tensor copies of states) stores exactly the same.
        Assert.Equal(expected, SequenceAssert.StoredKeys(staged));
    }

    [Fact]
    public void StridedOrOtherTypedStateTensors_TakeTheTensorPath_AndStoreTheSameStates()
    {
        SequenceReplayOptions options = Options(numEnvs: 3);
        using var buffer = new SequenceReplayBuffer(options);
        float[] obs = new float[9];
        for (int t = 0; t < 4; t++)
        {
            // A transposed view is not contiguous: the state rows are copied with tensor operations.
            using Tensor hT = arange(6, ScalarType.Float32).add(100 * t).reshape(2, 3);
            using Tensor h = hT.t();
            using Tensor c = h.neg();
            using var state = new RecurrentState([("h", h), ("c", c)]);
            buffer.AddStep(obs, [0, 0, 0], [0, 0, 0], [false, false, false], [false, false, false], obs, state);
        }

        List<StoredSequence> stored = buffer.Storage.Enumerate();
        Assert.Equal(3, stored.Count);
        Assert.Equal([0.0, 3.0], stored[0].InitialState[0]);   // env 0's row of the transposed [3, 2] view
        Assert.Equal([1.0, 4.0], stored[1].InitialState[0]);
        Assert.Equal([-2.0, -5.0], stored[2].InitialState[1]);
    }

    [Fact]
    public void NextStepBeginsEpisode_IsSetAfterThePseudoStep_NotRightAfterTheEpisodesLastStep()
    {
        SequenceReplayOptions options = Options(numEnvs: 2);
        // Env 0: an episode of 2 steps, then endless; env 1 endless.
        var env = new ScriptedVectorEnv(0, [(2, EpisodeEnd.Terminated)], []);
        using var buffer = new SequenceReplayBuffer(options);
        var driver = new SequenceDriver(env, options);
        Assert.Equal([true, true], buffer.NextStepBeginsEpisode.ToArray());
        driver.Step(buffer);                                                  // step 0
        Assert.Equal([false, false], buffer.NextStepBeginsEpisode.ToArray());
        driver.Step(buffer);                                                  // env 0's last step: next is its pseudo-step
        Assert.Equal([false, false], buffer.NextStepBeginsEpisode.ToArray());
        driver.Step(buffer);                                                  // env 0's pseudo-step
        Assert.Equal([true, false], buffer.NextStepBeginsEpisode.ToArray());
        driver.Step(buffer);                                                  // env 0's new episode
        Assert.Equal([false, false], buffer.NextStepBeginsEpisode.ToArray());
        driver.ResetOutOfBand(buffer);
        Assert.Equal([true, true], buffer.NextStepBeginsEpisode.ToArray());
    }
}
