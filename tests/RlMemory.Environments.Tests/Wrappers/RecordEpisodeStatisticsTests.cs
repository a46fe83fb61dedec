using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments.Tests.Wrappers;

public sealed class RecordEpisodeStatisticsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(25)]
    public void EndOfEpisode_ReportsReturnAndLength_AndOtherStepsReportNothing(int length)
    {
        // CountingEnv rewards step t with t, so an episode of L steps returns L (L + 1) / 2.
        using var env = new RecordEpisodeStatistics<int>(new CountingEnv(terminateAt: length));
        env.Reset(seed: 0);
        for (int t = 1; t < length; t++)
        {
            StepResult r = env.Step(0, new float[3]);
            Assert.Null(r.Info.Episode);
            Assert.Equal(t, env.CurrentLength);
            Assert.Equal(t * (t + 1) / 2.0, env.CurrentReturn);
        }

        StepResult last = env.Step(0, new float[3]);
        EpisodeStatistics stats = Assert.IsType<EpisodeStatistics>(last.Info.Episode);
        Assert.Equal(length * (length + 1) / 2.0, stats.Return);
        Assert.Equal(length, stats.Length);
        Assert.True(stats.Seconds >= 0);
        Assert.Same(stats, last.Info[Info.EpisodeKey]);
        Assert.Equal(1, env.EpisodeCount);
        Assert.Equal([stats], env.RecentEpisodes);
    }

    [Fact]
    public void TruncatedEpisodes_AreRecordedToo()
    {
        using var env = new RecordEpisodeStatistics<int>(new TimeLimit<int>(new CountingEnv(), 3));
        env.Reset(seed: 0);
        env.Step(0, new float[3]);
        env.Step(0, new float[3]);
        StepResult r = env.Step(0, new float[3]);
        Assert.True(r.Truncated);
        Assert.Equal(new EpisodeStatistics(6, 3, r.Info.Episode!.Seconds), r.Info.Episode);
    }

    [Fact]
    public void EpisodesCutShortByReset_AreNotRecorded()
    {
        using var env = new RecordEpisodeStatistics<int>(new CountingEnv());
        for (int episode = 1; episode <= 5; episode++)
        {
            env.Reset(seed: episode);
            for (int t = 1; t <= episode; t++)
            {
                Assert.Null(env.Step(0, new float[3]).Info.Episode);
            }
        }

        Assert.Equal(0, env.EpisodeCount);
        Assert.Empty(env.RecentEpisodes);
    }

    [Fact]
    public void RecentEpisodes_IsBoundedAndCountsEveryEpisode()
    {
        var lengths = new[] { 1, 2, 3, 4, 5 };
        using var env = new RecordEpisodeStatistics<int>(new LengthScheduleEnv(lengths), bufferLength: 3);
        foreach (int length in lengths)
        {
            env.Reset(seed: 0);
            StepResult r;
            do
            {
                r = env.Step(0, new float[3]);
            }
            while (!r.Done);
        }

        Assert.Equal(5, env.EpisodeCount);
        Assert.Equal([3, 4, 5], env.RecentEpisodes.Select(e => e.Length));
        Assert.Equal([6.0, 10.0, 15.0], env.RecentEpisodes.Select(e => e.Return));
    }

    [Fact]
    public void Reset_StartsANewTally()
    {
        using var env = new RecordEpisodeStatistics<int>(new CountingEnv(terminateAt: 3));
        env.Reset(seed: 0);
        env.Step(0, new float[3]);
        env.Step(0, new float[3]);
        env.Reset();
        Assert.Equal(0, env.CurrentLength);
        Assert.Equal(0, env.CurrentReturn);
        env.Step(0, new float[3]);
        env.Step(0, new float[3]);
        EpisodeStatistics stats = env.Step(0, new float[3]).Info.Episode!;
        Assert.Equal(3, stats.Length);
        Assert.Equal(6, stats.Return);
    }

    [Fact]
    public void Constructor_RefusesANonPositiveBufferLength()
    {
        Assert.Throws<ArgumentOutOfRangeException>("bufferLength", () => new RecordEpisodeStatistics<int>(new CountingEnv(), 0));
    }

    /// <summary>Episode k (0-based) terminates after <c>lengths[k]</c> steps; the reward of step t is t.</summary>
    private sealed class LengthScheduleEnv(int[] lengths) : Env<int>(new Box(0f, 100f, 3), new Discrete(1))
    {
        private int _episode = -1;
        private int _step;

        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            _episode++;
            _step = 0;
            observation.Clear();
            return Info.Empty;
        }

        protected override StepResult StepCore(int action, Span<float> observation)
        {
            _step++;
            observation.Clear();
            return new StepResult(_step, _step == lengths[_episode], false);
        }
    }
}
