using RlMemory.App.Viewer;

namespace RlMemory.Tests.Viewer;

public sealed class ProgressCurveTests
{
    [Fact]
    public void Parse_ReadsTrainingReturnsAndEvaluations_SkippingRowsThatDoNotParse()
    {
        ProgressCurve curve = ProgressCurve.Parse(
        [
            "time/total_timesteps,time/fps,rollout/ep_rew_mean,eval/mean_reward,eval/std_reward",
            "1000,500,12.5,,",
            "1000,,,100,5",
            "2000,480,NaN,,",
            "2000,480,oops,,",
            "3000,470,30",           // a row still being written: too few cells
            "3000,470,30,,\r",
        ]);
        Assert.Equal([(1000L, 12.5), (3000L, 30.0)], curve.Training);
        Assert.Equal([(1000L, 100.0, 5.0)], curve.Evaluations);
    }

    [Fact]
    public void AMissingFileOrColumn_GivesAnEmptyCurve()
    {
        Assert.Same(ProgressCurve.Empty, ProgressCurve.Read("/no/such/progress.csv"));
        Assert.Same(ProgressCurve.Empty, ProgressCurve.Read(null));
        Assert.Same(ProgressCurve.Empty, ProgressCurve.Parse(["a,b", "1,2"]));
        Assert.Same(ProgressCurve.Empty, ProgressCurve.Parse([]));
    }

    [Fact]
    public void LongCurves_AreThinnedEvenly_KeepingTheEnds()
    {
        var lines = new List<string> { "time/total_timesteps,rollout/ep_rew_mean" };
        for (int i = 1; i <= 10_000; i++)
        {
            lines.Add($"{i},{i}");
        }

        ProgressCurve curve = ProgressCurve.Parse(lines, maxPoints: 100);
        Assert.Equal(100, curve.Training.Count);
        Assert.Equal(1, curve.Training[0].Step);
        Assert.Equal(10_000, curve.Training[^1].Step);
    }

    [Fact]
    public void Read_WorksWhileTheFileIsOpenForWriting()
    {
        using var dir = new TempDir();
        string path = dir.File("progress.csv");
        using var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
        writer.WriteLine("time/total_timesteps,rollout/ep_rew_mean");
        writer.WriteLine("5,1.5");
        writer.Flush();
        Assert.Equal([(5L, 1.5)], ProgressCurve.Read(path).Training);
    }
}
