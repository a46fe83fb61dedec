using System.Diagnostics;
using System.Globalization;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// Trains presets over several seeds and prints a markdown table of final and best evaluation returns, the step at
/// which the threshold was first reached, throughput (environment steps per second, learning and evaluation
/// included) and peak process memory. Long runs: this is a benchmark, not a test.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- dqn-results [preset ...] [--seeds N] [--set key=value ...]</c>
/// (default presets: dqn-cartpole, dqn-mountaincar, dqn-acrobot; 5 seeds).
/// </remarks>
internal static class TrainingResults
{
    private static readonly Dictionary<string, double> Thresholds = new(StringComparer.Ordinal)
    {
        ["dqn-cartpole"] = 475,
        ["dqn-mountaincar"] = -110,
        ["dqn-acrobot"] = -90,
        ["dqn-cartpole-novel"] = 475,
    };

    public static void Dqn(string[] args)
    {
        ResultsOptions options = ResultsOptions.Parse(args, defaultSeeds: 5);
        var presets = options.Presets.ToList();
        var overrides = options.Overrides;
        int seeds = options.Seeds;
        int firstSeed = options.FirstSeed;

        if (presets.Count == 0)
        {
            presets.AddRange(["dqn-cartpole", "dqn-mountaincar", "dqn-acrobot"]);
        }

        Console.WriteLine($"overrides: {(overrides.Count == 0 ? "none" : string.Join(" ", overrides))}");
        Console.WriteLine("| preset | seed | steps | final eval | success | best eval | first ≥ threshold at | steps/s | peak RSS |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string name in presets)
        {
            Preset preset = Presets.Load(name);
            DqnConfig baseConfig = DqnConfig.Schema.Apply(new DqnConfig(), preset.Values, preset.Source);
            foreach (string o in overrides)
            {
                baseConfig = DqnConfig.Schema.ApplyOverride(baseConfig, o);
            }

            double threshold = Thresholds.GetValueOrDefault(name, double.PositiveInfinity);
            var finals = new List<double>();
            int reached = 0;
            var successes = new List<double>();
            for (int seed = firstSeed; seed < firstSeed + seeds; seed++)
            {
                using var trainer = new DqnTrainer(baseConfig with { Seed = seed }, new TrainerOptions { Quiet = true });
                TrainingResult r = trainer.Learn();
                double final = r.FinalEvaluation!.MeanReturn;
                long? first = trainer.Evaluations.FirstOrDefault(e => e.MeanReturn >= threshold)?.Step;
                reached += first is null ? 0 : 1;
                finals.Add(final);

                // On the T-maze an episode succeeds when it enters the goal arm: the only way to a positive return.
                string success = "-";
                if (baseConfig.Env.StartsWith("TMaze", StringComparison.Ordinal))
                {
                    double rate = ResultsOptions.SuccessRate(r.FinalEvaluation.Returns);
                    successes.Add(rate);
                    success = rate.ToString("P0", CultureInfo.InvariantCulture);
                }

                double peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {seed} | {r.Steps:N0} | {final:0.##} | {success} | {r.BestMeanReturn:0.##} | {(first is long s ? s.ToString("N0", CultureInfo.InvariantCulture) : "not reached")} | {r.StepsPerSecond:N0} | {peak:0} MB |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| **{name}** | mean | | **{finals.Average():0.##}** ± {ResultsOptions.Std(finals):0.##} | {(successes.Count > 0 ? successes.Average().ToString("P0", CultureInfo.InvariantCulture) : "-")} | | {reached}/{seeds} seeds reached {threshold} | | |"));
        }
    }
}
