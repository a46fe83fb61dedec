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
        var presets = new List<string>();
        var overrides = new List<string>();
        var envOptions = new Dictionary<string, object>();
        int seeds = 3;
        int firstSeed = 0;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seeds":
                    seeds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--first-seed":
                    firstSeed = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--set":
                    overrides.Add(args[++i]);
                    break;
                case "--env-option":
                    string[] option = args[++i].Split('=', 2);
                    envOptions[option[0]] = YamlValues.ParseInline(option[1])!;
                    break;
                default:
                    presets.Add(args[i]);
                    break;
            }
        }

        if (presets.Count == 0)
        {
            presets.AddRange(["ppo-cartpole", "ppo-cartpole-novel", "ppo-tmaze"]);
        }

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; load average at start: {LoadAverage()}");
        Console.WriteLine("| preset | seed | steps | final eval | success | best eval | first ≥ threshold at | steps/s | peak RSS |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string name in presets)
        {
            PpoConfig baseConfig = PpoConfig.FromPreset(name, [.. overrides]);
            if (envOptions.Count > 0)
            {
                baseConfig = baseConfig with { EnvOptions = new Dictionary<string, object>(baseConfig.EnvOptions.Concat(envOptions).GroupBy(kv => kv.Key).Select(g => g.Last())) };
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
                double success = finalEvaluation.Returns.Count(x => x > 0) / (double)finalEvaluation.Returns.Count;
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
                $"| **{name}** | mean | | **{finals.Average():0.##}** ± {Std(finals):0.##} | {rates.Average():P0} | | {reached}/{seeds} seeds reached {threshold} | {speeds.Average():N0} | |"));
            Console.WriteLine($"load average after {name}: {LoadAverage()}");
        }
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static double Std(List<double> xs)
    {
        double m = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / xs.Count);
    }
}
