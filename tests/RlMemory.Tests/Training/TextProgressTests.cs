using RlMemory.Training.Logging;

namespace RlMemory.Tests.Training;

public sealed class TextProgressTests
{
    [Fact]
    public void PlainOutput_PrintsAtMostOneLinePerInterval_AndTheFinalState()
    {
        var output = new StringWriter();
        int result = new TextProgress(output, TimeSpan.FromHours(1)).Run("DQN test", 1000, sink =>
        {
            for (int s = 100; s <= 1000; s += 100)
            {
                sink.Update(new TrainingProgress(s, 1000, 2500, s >= 500 ? 42.5 : null, s / 100));
            }

            sink.Message("eval: mean return 500");
            return 7;
        });

        Assert.Equal(7, result);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("eval: mean return 500", lines[0].TrimEnd());
        Assert.StartsWith("[DQN test] 100% 1,000/1,000 steps, 2,500 steps/s, return 42.5 (10 episodes), elapsed ", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void PlainOutput_WithAZeroInterval_PrintsEveryUpdate_WithAnEta()
    {
        var output = new StringWriter();
        new TextProgress(output, TimeSpan.Zero).Run("run", 1000, sink =>
        {
            sink.Update(new TrainingProgress(250, 1000, 250, null, 0));
            sink.Update(new TrainingProgress(500, 1000, 250, 10, 3));
            return 0;
        });

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("25% 250/1,000 steps, 250 steps/s, no episode finished yet", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("ETA 00:00:03", lines[0].TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("50% 500/1,000 steps, 250 steps/s, return 10 (3 episodes)", lines[1], StringComparison.Ordinal);
    }
}
