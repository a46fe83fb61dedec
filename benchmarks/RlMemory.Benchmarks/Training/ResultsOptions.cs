using System.Globalization;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// The command line shared by the results modes (<c>dqn-results</c>, <c>r2d2-results</c>, <c>ppo-results</c>):
/// presets, <c>--seeds N</c>, <c>--first-seed S</c>, <c>--set key=value</c> and <c>--env-option key=value</c>, which
/// becomes the override <c>env_options.key=value</c> (one entry of the preset's map, the others kept). R2D2's
/// held-out evaluation adds <c>--episodes N</c> and <c>--progress</c>.
/// </summary>
internal sealed record ResultsOptions(IReadOnlyList<string> Presets, IReadOnlyList<string> Overrides, int Seeds, int FirstSeed, int Episodes, bool Progress)
{
    /// <exception cref="ArgumentException">A flag this mode does not take.</exception>
    public static ResultsOptions Parse(string[] args, int defaultSeeds, bool heldOut = false)
    {
        var presets = new List<string>();
        var overrides = new List<string>();
        int seeds = defaultSeeds;
        int firstSeed = 0;
        int episodes = 100;
        bool progress = false;
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
                    overrides.Add("env_options." + args[++i]);
                    break;
                case "--episodes" when heldOut:
                    episodes = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--progress" when heldOut:
                    progress = true;
                    break;
                case ['-', '-', ..]:
                    throw new ArgumentException($"unknown option {args[i]}; this mode takes --seeds, --first-seed, --set, --env-option{(heldOut ? ", --episodes, --progress" : string.Empty)}.");
                default:
                    presets.Add(args[i]);
                    break;
            }
        }

        return new ResultsOptions(presets, overrides, seeds, firstSeed, episodes, progress);
    }

    /// <summary>The population standard deviation.</summary>
    public static double Std(IReadOnlyCollection<double> xs)
    {
        double m = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / xs.Count);
    }

    /// <summary>The share of episodes with a positive return: on the T-maze, those that entered the signed arm.</summary>
    public static double SuccessRate(IReadOnlyList<double> returns) => returns.Count(x => x > 0) / (double)returns.Count;

    /// <summary>/proc/loadavg, or "unknown".</summary>
    public static string LoadAverage()
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
}
