using RlMemory.Training.Logging;

namespace RlMemory.Tests.Training;

public sealed class ThroughputWatchTests
{
    [Fact]
    public void ASlowWindow_IsReportedOnce_NamingTheRatesAndABusyMachine()
    {
        var watch = new ThroughputWatch(cores: 2, torchThreads: 2, () => 3.4);

        // The first window (warm-up) is left out of the reference, whatever its rate.
        Assert.Null(watch.Observe(100));
        foreach (double rate in new[] { 3000.0, 3200, 2800 })
        {
            Assert.Null(watch.Observe(rate));
        }

        // 1,400 is 47 % of the median 3,000: below half.
        string? message = watch.Observe(1400);
        Assert.NotNull(message);
        Assert.Contains("Throughput fell to 1,400 env steps/s, 47 % of this run's earlier 3,000", message, StringComparison.Ordinal);
        Assert.Contains("load average 3.4 on 2 cores, about 1.4 beyond this run's own threads", message, StringComparison.Ordinal);
        Assert.Contains("--set torch_threads=1", message, StringComparison.Ordinal);

        // Quiet for the next windows however slow, and the slow window did not lower the reference.
        for (int i = 0; i < ThroughputWatch.Quiet; i++)
        {
            Assert.Null(watch.Observe(900));
        }

        Assert.NotNull(watch.Observe(1400));
    }

    [Fact]
    public void ARateAboveHalf_OrTooLittleHistory_IsNotReported()
    {
        var watch = new ThroughputWatch(cores: 2, torchThreads: 1, () => 0.5);
        Assert.Null(watch.Observe(1000));
        Assert.Null(watch.Observe(1000));
        Assert.Null(watch.Observe(100)); // one earlier window only: no reference yet
        Assert.Null(watch.Observe(1000));
        Assert.Null(watch.Observe(1000));
        Assert.Null(watch.Observe(510)); // 51 % of the median 1,000
        Assert.Null(watch.Observe(double.NaN));
        Assert.Null(watch.Observe(0));
    }

    [Fact]
    public void WithoutOtherLoad_TheMessageSaysTheRunItselfSlowed_AndGivesNoThreadAdvice()
    {
        // One torch thread and a load of 1.2: about this run's own thread, nothing else.
        var watch = new ThroughputWatch(cores: 2, torchThreads: 1, () => 1.2);
        foreach (double rate in new[] { 500.0, 2000, 2000, 2000 })
        {
            watch.Observe(rate);
        }

        string message = watch.Observe(600)!;
        Assert.Contains("load average 1.2 on 2 cores", message, StringComparison.Ordinal);
        Assert.Contains("no other load is visible", message, StringComparison.Ordinal);
        Assert.DoesNotContain("torch_threads", message, StringComparison.Ordinal);

        var noLoad = new ThroughputWatch(cores: 2, torchThreads: 2, () => null);
        foreach (double rate in new[] { 500.0, 2000, 2000, 2000 })
        {
            noLoad.Observe(rate);
        }

        Assert.Contains("no load average on this system", noLoad.Observe(600)!, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSystemLoadAverage_IsReadWhereThereIsOne()
    {
        double? load = ThroughputWatch.SystemLoadAverage();
        if (File.Exists("/proc/loadavg"))
        {
            Assert.NotNull(load);
            Assert.True(load >= 0);
        }
        else
        {
            Assert.Null(load);
        }
    }
}

public sealed class LearningThreadsTests
{
    [Fact]
    public void MoreThreadsThanCores_UseTheCores_WithANote()
    {
        Assert.Equal(2, RlMemory.Training.TrainingRun.LearningThreads(8, 2, out string? note));
        Assert.Equal("torch_threads 8 exceeds the 2 cores this process may use; using 2 (more threads than cores only wait for each other).", note);
        Assert.Equal(1, RlMemory.Training.TrainingRun.LearningThreads(3, 1, out note));
        Assert.Contains("the 1 core this process", note, StringComparison.Ordinal);
    }

    [Fact]
    public void UpToTheCores_AreUsedAsAsked()
    {
        Assert.Equal(2, RlMemory.Training.TrainingRun.LearningThreads(2, 2, out string? note));
        Assert.Null(note);
        Assert.Equal(1, RlMemory.Training.TrainingRun.LearningThreads(1, 16, out note));
        Assert.Null(note);
    }

    [Fact]
    public void NegativeThreads_AreRefusedByTheConfiguration_AndZeroChoosesFromTheCores()
    {
        var e = Assert.ThrowsAny<Exception>(() => RlMemory.Training.Dqn.DqnConfig.FromPreset("dqn-cartpole", "torch_threads=-1"));
        Assert.Contains("torch_threads", e.Message, StringComparison.Ordinal);
        Assert.Contains("must be an integer in [0, 256]", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, RlMemory.Training.Dqn.DqnConfig.FromPreset("dqn-cartpole", "torch_threads=0").TorchThreads);
        Assert.Equal(0, RlMemory.Training.Dqn.DqnConfig.FromPreset("dqn-cartpole").TorchThreads);   // no preset fixes it
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]      // a second spinning thread costs two thirds of the rate when another process is busy
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    [InlineData(8, 4)]
    [InlineData(64, 4)]
    public void ZeroThreads_AreHalfTheCores_From1To4(int cores, int threads)
    {
        Assert.Equal(threads, RlMemory.Training.TrainingRun.AutoThreads(cores));
        Assert.Equal(threads, RlMemory.Training.TrainingRun.LearningThreads(0, cores, out string? note));
        Assert.Null(note);
    }
}
