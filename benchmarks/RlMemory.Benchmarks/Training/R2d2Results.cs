using System.Diagnostics;
using System.Globalization;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.R2d2;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// Trains R2D2 presets over several seeds and prints a markdown table: the final and best evaluation returns of the
/// run, a held-out evaluation of the final agent (100 episodes by default, seeds 50,000 + k, never seen in training
/// or in the run's evaluations) with its success rate on the T-maze (return &gt; 0, i.e. the signed arm), the step at
/// which the run's threshold was first reached, throughput (environment steps per second, learning and evaluation
/// included), wall time and peak process memory. Long runs: this is a benchmark, not a test.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- r2d2-results [preset ...] [--seeds N] [--first-seed S] [--episodes N] [--progress] [--set key=value ...] [--env-option key=value ...]</c>
/// (default presets: r2d2-cartpole-novel, r2d2-tmaze; 3 seeds). Peak RSS is the process's peak so far, so with several
/// runs in one process it is the largest of them.
/// </remarks>
internal static class R2d2Results
{
    private static readonly Dictionary<string, double> Thresholds = new(StringComparer.Ordinal)
    {
        ["r2d2-cartpole-novel"] = 475,
        ["r2d2-tmaze"] = 3.5,
        ["r2d2-tmaze-memory"] = 3.5,
        ["r2d2-repeat-first"] = 0.9,
        ["r2d2-repeat-previous"] = 0.9,
        ["r2d2-memory-length"] = 0.9,
        ["r2d2-copy"] = 0.9,
    };

    public static void Run(string[] args)
    {
        ResultsOptions parsed = ResultsOptions.Parse(args, defaultSeeds: 3, heldOut: true);
        var presets = parsed.Presets.ToList();
        var overrides = parsed.Overrides;
        int seeds = parsed.Seeds;
        int firstSeed = parsed.FirstSeed;
        int episodes = parsed.Episodes;
        bool progress = parsed.Progress;

        if (presets.Count == 0)
        {
            presets.AddRange(["r2d2-cartpole-novel", "r2d2-tmaze"]);
        }

        Console.WriteLine($"overrides: {(overrides.Count == 0 ? "none" : string.Join(" ", overrides))}; held-out evaluation: {episodes} episodes");
        Console.WriteLine("| preset | env options | seed | steps | final eval | best eval | held-out mean | held-out success | first ≥ threshold at | steps/s | time | peak RSS |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string name in presets)
        {
            R2d2Config baseConfig = R2d2Config.FromPreset(name, [.. overrides]);
            double threshold = Thresholds.GetValueOrDefault(name, double.PositiveInfinity);
            string options = baseConfig.EnvOptions.Count == 0 ? "-" : string.Join(", ", baseConfig.EnvOptions.Select(kv => $"{kv.Key}={kv.Value}"));
            bool maze = baseConfig.Env == "TMaze-v0";
            var heldOut = new List<double>();
            var successes = new List<double>();
            int reached = 0;
            for (int seed = firstSeed; seed < firstSeed + seeds; seed++)
            {
                using var trainer = new R2d2Trainer(baseConfig with { Seed = seed }, new TrainerOptions { Quiet = !progress });
                TrainingResult r = trainer.Learn();
                double final = r.FinalEvaluation!.MeanReturn;
                long? first = trainer.Evaluations.FirstOrDefault(e => e.MeanReturn >= threshold)?.Step;
                reached += first is null ? 0 : 1;

                var envOptions = new EnvOptions(baseConfig.EnvOptions);
                using var evaluator = new Evaluator(() => EnvRegistry.Make<int>(baseConfig.Env, envOptions), episodes, seed: 50_000);
                using var agent = trainer.Agent;
                using var actor = agent.Begin(episodes);
                EvaluationResult test = evaluator.Run(r.Steps, actor);
                double success = ResultsOptions.SuccessRate(test.Returns);
                heldOut.Add(test.MeanReturn);
                successes.Add(success);

                double peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {options} | {seed} | {r.Steps:N0} | {final:0.##} | {r.BestMeanReturn:0.##} | {test.MeanReturn:0.##} | {(maze ? $"{success:P0}" : "-")} | {(first is long s ? s.ToString("N0", CultureInfo.InvariantCulture) : "not reached")} | {r.StepsPerSecond:N0} | {r.Seconds:0} s | {peak:0} MB |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| **{name}** | {options} | mean | | | | **{heldOut.Average():0.##}** ± {ResultsOptions.Std(heldOut):0.##} | {(maze ? $"**{successes.Average():P0}**" : "-")} | {reached}/{seeds} seeds reached {threshold} | | | |"));
        }
    }
}
