using RlMemory.Environments.MemoryTasks;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class FirstStepFlagTests
{
    [Fact]
    public void TheResetObservation_EndsWith01_EveryStepObservationWith10_AndTheInnerPartIsUnchanged()
    {
        using var env = new FirstStepFlag<int>(new RepeatFirstEnv(CardTaskDifficulty.Easy));
        using var reference = new RepeatFirstEnv(CardTaskDifficulty.Easy);
        for (int episode = 0; episode < 2; episode++)
        {
            var (flagged, _) = env.Reset(seed: 3 + episode);
            var (plain, _) = reference.Reset(seed: 3 + episode);
            Assert.Equal([.. plain, 0f, 1f], flagged);
            bool done = false;
            int steps = 0;
            while (!done)
            {
                int action = steps % 4;
                var (f, fr, fTerm, fTrunc, _) = env.Step(action);
                var (p, pr, _, _, _) = reference.Step(action);
                Assert.Equal([.. p, 1f, 0f], f);
                Assert.Equal(pr, fr);
                done = fTerm || fTrunc;
                steps++;
            }

            Assert.Equal(51, steps);
        }
    }

    [Fact]
    public void ObservationSpace_AppendsTwoEntriesBetween0And1()
    {
        using var env = new FirstStepFlag<int>(EnvRegistry.Make<int>("CartPole-v1"));
        Box space = env.ObservationSpace;
        Assert.Equal([6], space.Shape);
        Assert.Equal([-4.8f, float.NegativeInfinity, -0.41887903f, float.NegativeInfinity, 0f, 0f], space.Low.ToArray());
        Assert.Equal([4.8f, float.PositiveInfinity, 0.41887903f, float.PositiveInfinity, 1f, 1f], space.High.ToArray());
    }

    [Fact]
    public void TheRegistryOption_AddsTheFlagToBothCardTasks_AndIsOffByDefault()
    {
        using IEnv<int> bare = EnvRegistry.Make<int>("RepeatFirst-v0", new EnvOptions { { "difficulty", "medium" } });
        Assert.Equal(4, bare.ObservationSpace.Size);
        using IEnv<int> first = EnvRegistry.Make<int>("RepeatFirst-v0", new EnvOptions { { "difficulty", "medium" }, { "first_step_flag", "true" } });
        Assert.Equal(6, first.ObservationSpace.Size);
        Assert.Equal(CardTaskDifficulty.Medium, first.Unwrapped<RepeatFirstEnv>().Difficulty);
        var (observation, _) = first.Reset(seed: 0);
        Assert.Equal([0f, 1f], observation[4..]);
        using IEnv<int> previous = EnvRegistry.Make<int>("RepeatPrevious-v0", new EnvOptions { { "first_step_flag", true } });
        Assert.Equal(6, previous.ObservationSpace.Size);
        Assert.Equal(4, previous.Unwrapped<RepeatPreviousEnv>().K);
    }

    [Fact]
    public void ItSavesAndResumesWithTheTaskItWraps()
    {
        using var env = new FirstStepFlag<int>(new RepeatFirstEnv(CardTaskDifficulty.Easy));
        env.Reset(seed: 8);
        for (int i = 0; i < 5; i++)
        {
            env.Step(i % 4);
        }

        using var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            env.SaveState(writer);
        }

        var after = Enumerable.Range(0, 5).Select(i => env.Step((i + 1) % 4)).Select(r => (r.Observation, r.Reward)).ToList();
        using var restored = new FirstStepFlag<int>(new RepeatFirstEnv(CardTaskDifficulty.Easy));
        restored.Reset(seed: 99);
        saved.Position = 0;
        using (var reader = new BinaryReader(saved))
        {
            restored.LoadState(reader);
        }

        var again = Enumerable.Range(0, 5).Select(i => restored.Step((i + 1) % 4)).Select(r => (r.Observation, r.Reward)).ToList();
        Assert.Equal(after.Select(a => a.Reward), again.Select(a => a.Reward));
        for (int i = 0; i < after.Count; i++)
        {
            Assert.Equal(after[i].Observation, again[i].Observation);
            Assert.Equal([1f, 0f], again[i].Observation[4..]);
        }
    }

    [Fact]
    public void AnObservationWithMoreThanOneDimension_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>("inner", () => new FirstStepFlag<int>(new FrameStack<int>(EnvRegistry.Make<int>("CartPole-v1"), 3)));
        Assert.StartsWith("CartPole-v1: FirstStepFlag appends to flat observations; this one has shape [3, 4].", e.Message, StringComparison.Ordinal);
    }
}
