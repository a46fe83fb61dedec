using System.Diagnostics;
using System.Globalization;
using RlMemory.Training;
using RlMemory.Training.Configuration;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// Trains any presets (every algorithm of <see cref="TrainerCatalog"/>) over several seeds and prints a markdown table:
/// final and best evaluation returns, how many seeds end at or above the preset's threshold, throughput (environment
/// steps per second, learning and evaluation included), wall time and peak process memory. Long runs: a benchmark,
/// not a test.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- results sac-pendulum td3-pendulum [--seeds N] [--first-seed S] [--set key=value ...] [--env-option key=value ...]</c>
/// (5 seeds by default).
/// </remarks>
internal static class PresetResults
{
    /// <summary>The return a final evaluation must reach to count (issue targets; rl-baselines3-zoo's benchmark for Pendulum-v1 is about −150 at 20k steps).</summary>
    private static readonly Dictionary<string, double> Thresholds = new(StringComparer.Ordinal)
    {
        ["sac-pendulum"] = -200,
        ["td3-pendulum"] = -200,
        ["td3-mountaincar-continuous"] = 90,
    };

    public static void Run(string[] args)
    {
        ResultsOptions options = ResultsOptions.Parse(args, defaultSeeds: 5);
        if (options.Presets.Count == 0)
        {
            throw new ArgumentException("results needs at least one preset, e.g. results sac-pendulum td3-pendulum.");
        }

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; load average at start: {ResultsOptions.LoadAverage()}");
        Console.WriteLine($"overrides: {(options.Overrides.Count == 0 ? "none" : string.Join(" ", options.Overrides))}");
        Console.WriteLine("| preset | seed | steps | final eval | best eval | steps/s | time | peak RSS |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string name in options.Presets)
        {
            double threshold = Thresholds.GetValueOrDefault(name, double.PositiveInfinity);
            var finals = new List<double>();
            var speeds = new List<double>();
            for (int seed = options.FirstSeed; seed < options.FirstSeed + options.Seeds; seed++)
            {
                TrainerSetup setup = TrainerCatalog.Configure(name, [.. options.Overrides, $"seed={seed}"]);
                using ITrainer trainer = setup.Create(new TrainerOptions { Quiet = true });
                TrainingResult r = trainer.Learn();
                double final = r.FinalEvaluation!.MeanReturn;
                finals.Add(final);
                speeds.Add(r.StepsPerSecond);
                double peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {seed} | {r.Steps:N0} | {final:0.##} ± {r.FinalEvaluation.StdReturn:0.#} | {r.BestMeanReturn:0.##} | {r.StepsPerSecond:N0} | {r.Seconds:0} s | {peak:0} MB |"));
            }

            int passed = finals.Count(f => f >= threshold);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| **{name}** | mean | | **{finals.Average():0.##}** ± {ResultsOptions.Std(finals):0.##} | {passed}/{finals.Count} seeds end ≥ {threshold} | {speeds.Average():N0} | | |"));
            Console.WriteLine($"load average after {name}: {ResultsOptions.LoadAverage()}");
        }
    }
}
