using System.CommandLine;
using System.Globalization;
using RlMemory.Environments;
using RlMemory.Training;

// The `rlmemory` command-line tool. Exit codes: 0 success, 1 invalid command line, 2 invalid input (bad id, option or
// value), 3 unexpected failure. Errors print one line on stderr.
var root = new RootCommand("RlMemory: reinforcement learning for .NET with memory at its centre.");

var envArgument = new Argument<string>("env")
{
    Description = "The environment id (see `rlmemory list envs`).",
    DefaultValueFactory = _ => "CartPole-v1",
};
var episodesOption = new Option<int>("--episodes", "-n")
{
    Description = "Number of episodes to play.",
    DefaultValueFactory = _ => 1,
};
var seedOption = new Option<int>("--seed")
{
    Description = "Seed of the first episode (episode k uses seed + k) and of the random actions.",
    DefaultValueFactory = _ => 0,
};
var randomCommand = new Command("random", "Play episodes with uniformly random actions and print their returns.")
{
    envArgument, episodesOption, seedOption,
};
randomCommand.SetAction(parse => Cli.Run(() =>
{
    string id = parse.GetValue(envArgument)!;
    int episodes = parse.GetValue(episodesOption);
    int seed = parse.GetValue(seedOption);
    if (episodes < 1)
    {
        throw new ArgumentException($"--episodes must be at least 1, got {episodes}.");
    }

    if (seed < 0)
    {
        throw new ArgumentException($"--seed must be non-negative, got {seed}.");
    }

    using IEnv env = EnvRegistry.Make(id);
    var results = RandomAgent.Play(env, episodes, seed);
    for (int k = 0; k < results.Count; k++)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id} random agent, episode {k + 1} (seed {seed + k}): return {results[k].Return:0.###}, length {results[k].Length}"));
    }

    if (results.Count > 1)
    {
        double mean = results.Average(r => r.Return);
        double sd = Math.Sqrt(results.Sum(r => (r.Return - mean) * (r.Return - mean)) / results.Count);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean return over {results.Count} episodes: {mean:0.###} ± {sd:0.###}"));
    }
}));

var listWhat = new Argument<string>("what")
{
    Description = "What to list: envs.",
};
listWhat.AcceptOnlyFromAmong("envs");
var listCommand = new Command("list", "List registered environments.") { listWhat };
listCommand.SetAction(parse => Cli.Run(() =>
{
    foreach (EnvSpec spec in EnvRegistry.All)
    {
        string limit = spec.MaxEpisodeSteps is int m ? m.ToString(CultureInfo.InvariantCulture) : "none";
        string threshold = spec.RewardThreshold is double t ? t.ToString(CultureInfo.InvariantCulture) : "-";
        string actions = spec.ActionType == typeof(int) ? "discrete" : "continuous";
        Console.WriteLine($"{spec.Id,-22} {actions,-10} max steps {limit,-5} solved at {threshold,-6} {spec.Description}");
    }
}));

root.Subcommands.Add(randomCommand);
root.Subcommands.Add(listCommand);
return root.Parse(args).Invoke();

/// <summary>Runs a command body, turning user errors into one-line messages and exit codes.</summary>
internal static class Cli
{
    public static int Run(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (ArgumentException e)
        {
            string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
            Console.Error.WriteLine($"error: {message}");
            return 2;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
