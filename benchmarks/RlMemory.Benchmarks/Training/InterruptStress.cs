using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RlMemory.Memory.Persistence;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// Interrupts <c>rlmemory train</c> with SIGTERM or SIGINT at random moments, many times, across DQN, R2D2 and
/// recurrent PPO, and checks each interruption end to end: the process exits with 130 after writing a checkpoint,
/// <c>train --resume</c> finishes the run, and its final model is bitwise equal to an uninterrupted run's.
/// </summary>
/// <remarks>
/// <c>interrupt-stress [--trials N] [--seed S] [--cli PATH]</c> (default 200 trials, the CLI built in Release). Prints a
/// line per failure and a summary: crashes (any exit other than 130, or 0 when the run had already finished),
/// interruptions without a checkpoint, failed resumes and final models that differ.
/// </remarks>
internal static class InterruptStress
{
    private static readonly (string Preset, string[] Args)[] Runs =
    [
        ("ppo-cartpole-novel", ["--steps", "6144", "--set", "eval_freq=2048", "--set", "eval_episodes=2", "--set", "checkpoint_freq=2048"]),
        ("r2d2-cartpole-novel", ["--steps", "3000", "--set", "eval_freq=1000", "--set", "eval_episodes=2", "--set", "learning_starts=500"]),
        ("dqn-cartpole", ["--steps", "8000", "--set", "eval_freq=4000", "--set", "eval_episodes=2", "--set", "learning_starts=1000"]),
    ];

    public static int Run(string[] args)
    {
        int trials = (int)CommandOptions.Number(args, "--trials", 200);
        var random = new Random((int)CommandOptions.Number(args, "--seed", 1));
        string cli = CommandOptions.Text(args, "--cli") ?? DefaultCli();
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"interrupt-stress: {cli} does not exist; build it first (dotnet build -c Release App) or pass --cli.");
            return 2;
        }

        // A benchmark started in the background by a shell inherits SIGINT ignored, and so would the runs: restore it.
        if (OperatingSystem.IsLinux())
        {
            _ = signal(2, IntPtr.Zero);
        }

        string root = Path.Combine(Path.GetTempPath(), $"rlmemory-interrupts-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        try
        {
            var references = new Dictionary<string, (byte[][] Model, double Seconds)>();
            foreach (var (preset, runArgs) in Runs)
            {
                string run = Path.Combine(root, $"{preset}-reference");
                var clock = Stopwatch.StartNew();
                int exit = Train(cli, preset, runArgs, run, resume: false, signalAfter: null, out _);
                if (exit != 0)
                {
                    Console.Error.WriteLine($"interrupt-stress: the uninterrupted {preset} run failed (exit {exit}).");
                    return 1;
                }

                references[preset] = (Model(run), clock.Elapsed.TotalSeconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{preset}: uninterrupted run {clock.Elapsed.TotalSeconds:0.0} s"));
            }

            int crashes = 0, noCheckpoint = 0, resumeFailures = 0, mismatches = 0, interrupted = 0, finishedFirst = 0;
            for (int trial = 1; trial <= trials; trial++)
            {
                var (preset, runArgs) = Runs[trial % Runs.Length];
                var (reference, seconds) = references[preset];
                string run = Path.Combine(root, $"trial-{trial}");
                int signalNumber = trial % 2 == 0 ? 15 : 2;
                double at = 0.3 + (random.NextDouble() * Math.Max(0.5, seconds));
                int exit = Train(cli, preset, runArgs, run, resume: false, signalAfter: (at, signalNumber), out string error);
                string name = signalNumber == 15 ? "SIGTERM" : "SIGINT";
                if (exit == 0)
                {
                    finishedFirst++;
                }
                else if (exit != 130)
                {
                    crashes++;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trial {trial}: {preset}, {name} after {at:0.00} s: exit {exit}: {Last(error)}"));
                    continue;
                }
                else
                {
                    interrupted++;
                    if (!Directory.Exists(Path.Combine(run, "checkpoints")))
                    {
                        noCheckpoint++;
                        Console.WriteLine($"trial {trial}: {preset}: exit 130 without a checkpoint");
                        continue;
                    }

                    int resumed = Train(cli, preset, runArgs, run, resume: true, signalAfter: null, out error);
                    if (resumed != 0)
                    {
                        resumeFailures++;
                        Console.WriteLine($"trial {trial}: {preset}: the resume exited {resumed}: {Last(error)}");
                        continue;
                    }
                }

                if (!Same(reference, Model(run)))
                {
                    mismatches++;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trial {trial}: {preset}, {name} after {at:0.00} s: the final model differs from the uninterrupted run's"));
                }

                Directory.Delete(run, recursive: true);
                if (trial % 10 == 0)
                {
                    Console.WriteLine($"{trial}/{trials} trials: {crashes} crashes, {noCheckpoint} without checkpoint, {resumeFailures} failed resumes, {mismatches} different models");
                }
            }

            Console.WriteLine(
                $"interrupt-stress: {trials} trials ({interrupted} interrupted, {finishedFirst} finished before the signal): {crashes} crashes, "
                + $"{noCheckpoint} interruptions without a checkpoint, {resumeFailures} failed resumes, {mismatches} final models different from the uninterrupted run's.");
            return crashes + noCheckpoint + resumeFailures + mismatches == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static int Train(string cli, string preset, string[] runArgs, string run, bool resume, (double Seconds, int Signal)? signalAfter, out string error)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { cli, "train", preset, "--seed", "5", "--out", run, "--quiet" }.Concat(runArgs).Concat(resume ? ["--resume"] : []))
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        if (signalAfter is var (seconds, signalNumber))
        {
            if (!process.WaitForExit(TimeSpan.FromSeconds(seconds)))
            {
                _ = kill(process.Id, signalNumber);
            }
        }

        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            error = "timed out after 5 minutes";
            return -1;
        }

        error = stderr.Result + stdout.Result;
        return process.ExitCode;
    }

    /// <summary>The tensors of a run's final model, section by section.</summary>
    private static byte[][] Model(string run)
    {
        using BufferFileReader reader = BufferFileReader.Open(Path.Combine(run, "final_model.rlagent"));
        return [.. reader.Sections.Select(s =>
        {
            using var t = TorchSharp.torch.empty([.. s.Shape], s.DType);
            reader.ReadInto(s.Name, t);
            return t.bytes.ToArray();
        })];
    }

    private static bool Same(byte[][] a, byte[][] b) => a.Length == b.Length && a.Zip(b).All(p => p.First.AsSpan().SequenceEqual(p.Second));

    private static string Last(string text) => text.Trim().Split('\n').LastOrDefault()?.Trim() ?? string.Empty;

    private static string DefaultCli() =>
        CommandOptions.RepositoryRoot() is string root
            ? Path.Combine(root, "App", "bin", "Release", "net10.0", RuntimeInformation.RuntimeIdentifier, "rlmemory.dll")
            : "rlmemory.dll";

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc")]
    private static extern IntPtr signal(int signum, IntPtr handler);
}
