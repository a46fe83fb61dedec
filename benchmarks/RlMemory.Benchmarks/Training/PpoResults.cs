using System.Diagnostics;
using System.Globalization;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Ppo;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// Trains PPO presets over several seeds and prints a markdown table: final and best evaluation return (and, on the
/// T-maze, the final success rate: the share of evaluation episodes that reached the goal, return &gt; 0), the step at
/// which the threshold was first reached, throughput (environment steps per second, learning and evaluation
/// included), and peak process memory. Long runs: this is a benchmark, not a test.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- ppo-results [preset ...] [--seeds N] [--first-seed S] [--set key=value ...] [--env-option key=value ...]</c>
/// (default presets: ppo-cartpole, ppo-cartpole-novel, ppo-tmaze; 3 seeds).
/// </remarks>
internal static class PpoResults
{
    private static readonly Dictionary<string, double> Thresholds = new(StringComparer.Ordinal)
    {
        ["ppo-cartpole"] = 475,
        ["ppo-cartpole-novel"] = 475,
        ["ppo-tmaze"] = 3.9,
        ["ppo-tmaze-memory"] = 3.9,
        ["ppo-repeat-first"] = 0.9,
        ["ppo-repeat-previous"] = 0.9,
        ["ppo-memory-length"] = 0.9,
        ["ppo-copy"] = 0.9,
    };

    public static void Run(string[] args)
    {
        ResultsOptions options = ResultsOptions.Parse(args, defaultSeeds: 3);
        var presets = options.Presets.ToList();
        int seeds = options.Seeds;
        int firstSeed = options.FirstSeed;
        bool envOptionsSet = options.Overrides.Any(o => o.StartsWith("env_options", StringComparison.Ordinal));

        if (presets.Count == 0)
        {
            presets.AddRange(["ppo-cartpole", "ppo-cartpole-novel", "ppo-tmaze"]);
        }

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; load average at start: {ResultsOptions.LoadAverage()}");
        Console.WriteLine("| preset | seed | steps | final eval | success | best eval | first ≥ threshold at | steps/s | peak RSS |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string name in presets)
        {
            PpoConfig baseConfig = PpoConfig.FromPreset(name, [.. options.Overrides]);
            if (envOptionsSet)
            {
                Console.WriteLine($"{name}: env_options {YamlValues.Format(baseConfig.EnvOptions)}");
            }

            double threshold = Thresholds.GetValueOrDefault(name, double.PositiveInfinity);
            var finals = new List<double>();
            var rates = new List<double>();
            var speeds = new List<double>();
            int reached = 0;
            for (int seed = firstSeed; seed < firstSeed + seeds; seed++)
            {
                using var trainer = new PpoTrainer(baseConfig with { Seed = seed }, new TrainerOptions { Quiet = true });
                TrainingResult r = trainer.Learn();
                EvaluationResult finalEvaluation = r.FinalEvaluation!;
                double final = finalEvaluation.MeanReturn;
                double success = ResultsOptions.SuccessRate(finalEvaluation.Returns);
                long? first = trainer.Evaluations.FirstOrDefault(e => e.MeanReturn >= threshold)?.Step;
                reached += first is null ? 0 : 1;
                finals.Add(final);
                rates.Add(success);
                speeds.Add(r.StepsPerSecond);
                double peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
                string successText = baseConfig.Env.StartsWith("TMaze", StringComparison.Ordinal) ? success.ToString("P0", CultureInfo.InvariantCulture) : "-";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {seed} | {r.Steps:N0} | {final:0.##} | {successText} | {r.BestMeanReturn:0.##} | {(first is long s ? s.ToString("N0", CultureInfo.InvariantCulture) : "not reached")} | {r.StepsPerSecond:N0} | {peak:0} MB |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| **{name}** | mean | | **{finals.Average():0.##}** ± {ResultsOptions.Std(finals):0.##} | {rates.Average():P0} | | {reached}/{seeds} seeds reached {threshold} | {speeds.Average():N0} | |"));
            Console.WriteLine($"load average after {name}: {ResultsOptions.LoadAverage()}");
        }
    }
}
