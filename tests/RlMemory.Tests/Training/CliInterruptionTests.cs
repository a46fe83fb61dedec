using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using RlMemory.Memory.Persistence;

namespace RlMemory.Tests.Training;

/// <summary>
/// Issue 12: SIGTERM during recurrent training crashed the process with native heap corruption in about one try in ten,
/// and no checkpoint was written. The short version of the benchmarks' interrupt-stress: the real <c>rlmemory</c>
/// process, interrupted with SIGTERM or SIGINT while it trains, exits with 130 after checkpointing, and
/// <c>--resume</c> ends with the same final model as an uninterrupted run.
/// </summary>
[Collection(nameof(SeededTrainingCollection))]
public sealed class CliInterruptionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-interrupt-{Guid.NewGuid():N}");

    public CliInterruptionTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("ppo-cartpole-novel", 15, new[] { "--steps", "3072", "--set", "eval_freq=0", "--set", "eval_episodes=1" })]
    [InlineData("r2d2-cartpole-novel", 2, new[] { "--steps", "1600", "--set", "eval_freq=0", "--set", "eval_episodes=1", "--set", "learning_starts=400" })]
    [InlineData("dqn-cartpole", 15, new[] { "--steps", "4000", "--set", "eval_freq=0", "--set", "eval_episodes=1", "--set", "learning_starts=500" })]
    public void ASignalWhileTraining_EndsWith130AndACheckpoint_AndTheResumedRunMatchesAnUninterruptedOne(string preset, int signal, string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string cli = CliPath();
        string straight = Path.Combine(_dir, "straight");
        var clock = Stopwatch.StartNew();
        var (code, output) = Train(cli, preset, args, straight, resume: false, signalAfter: null, signal);
        Assert.True(code == 0, output);
        double seconds = clock.Elapsed.TotalSeconds;

        // Signalled half-way through the uninterrupted run's time (after start-up, while it learns).
        string interrupted = Path.Combine(_dir, "interrupted");
        (code, output) = Train(cli, preset, args, interrupted, resume: false, signalAfter: TimeSpan.FromSeconds(seconds / 2), signal);
        Assert.True(code is 130 or 0, $"exit {code}: {output}");
        if (code == 130)
        {
            Assert.Contains("Interrupted at step", output, StringComparison.Ordinal);
            Assert.True(Directory.Exists(Path.Combine(interrupted, "checkpoints")), "no checkpoint after the interruption");
            (code, output) = Train(cli, preset, args, interrupted, resume: true, signalAfter: null, signal);
            Assert.True(code == 0, output);
        }

        Assert.True(SameModel(straight, interrupted), "the resumed run's final model differs from the uninterrupted run's");
    }

    private static (int Code, string Output) Train(string cli, string preset, string[] args, string run, bool resume, TimeSpan? signalAfter, int signal)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { cli, "train", preset, "--seed", "3", "--out", run, "--quiet" }.Concat(args).Concat(resume ? ["--resume"] : []))
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (signalAfter is TimeSpan delay && !process.WaitForExit(delay))
        {
            Assert.Equal(0, kill(process.Id, signal));
        }

        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "the run did not end");
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static bool SameModel(string a, string b)
    {
        using BufferFileReader x = BufferFileReader.Open(Path.Combine(a, "final_model.rlagent"));
        using BufferFileReader y = BufferFileReader.Open(Path.Combine(b, "final_model.rlagent"));
        if (x.Sections.Count != y.Sections.Count)
        {
            return false;
        }

        foreach (BufferSection s in x.Sections)
        {
            using var left = TorchSharp.torch.empty([.. s.Shape], s.DType);
            using var right = TorchSharp.torch.empty([.. s.Shape], s.DType);
            x.ReadInto(s.Name, left);
            y.ReadInto(s.Name, right);
            if (!left.bytes.SequenceEqual(right.bytes))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The rlmemory CLI the solution build made, in this test assembly's configuration.</summary>
    internal static string CliPath()
    {
        string configuration = typeof(CliInterruptionTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "App", "bin", configuration, "net10.0", RuntimeInformation.RuntimeIdentifier, "rlmemory.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("The rlmemory CLI is not built; build the solution (dotnet build RlMemory.sln) first.");
    }

    [DllImport("libc")]
    private static extern int kill(int pid, int signal);
}
