using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>
/// Makes a run's environments from its configuration (<c>env</c>, <c>env_options</c>). The registry refuses an unknown
/// id or a bad option with an <see cref="ArgumentException"/>; for a trainer that is a configuration error, so it
/// becomes a <see cref="ConfigException"/> with the same message (whether the configuration came from a preset, the
/// command line or a checkpoint).
/// </summary>
internal static class TrainingEnvironments
{
    /// <summary>
    /// Throws when <paramref name="env"/> is not a registered id (the message lists close matches), or when its actions
    /// are not the discrete actions every algorithm here trains (the message says so in the command line's terms).
    /// </summary>
    /// <param name="env">The configuration's <c>env</c>.</param>
    /// <param name="algo">The algorithm's name, for the message.</param>
    public static void RequireTrainable(string env, string algo)
    {
        EnvSpec spec = Make(() => EnvRegistry.Spec(env));
        if (spec.ActionType == typeof(int))
        {
            return;
        }

        string space;
        using (IEnv made = Make(() => EnvRegistry.Make(env)))
        {
            space = made.ActionSpace.ToString();
        }

        string kind = spec.ActionType == typeof(float[]) ? "continuous actions" : $"actions of type {spec.ActionType.Name}";
        throw new ConfigException(
            $"env {env} has {kind} ({space}), and {algo} trains environments with discrete actions (Discrete(n)) only, as "
            + $"every algorithm of this version does ({string.Join(", ", TrainerCatalog.All.Select(d => d.Algo))}); continuous control "
            + "(SAC, TD3, PPO with Gaussian actions) is not available yet. Choose an environment with discrete actions "
            + "(rlmemory list envs), or, from C#, wrap it in DiscretizeAction to train it with these algorithms.");
    }

    /// <summary><paramref name="count"/> copies of the run's environment, stepped together.</summary>
    public static VectorEnv<int> MakeVector(RunConfig config, int count) =>
        Make(() => EnvRegistry.MakeVector<int>(config.Env, count, VectorMode.Sync, new EnvOptions(config.EnvOptions)));

    /// <summary>One copy of the run's environment (for evaluation).</summary>
    public static IEnv<int> MakeOne(RunConfig config) =>
        Make(() => EnvRegistry.Make<int>(config.Env, new EnvOptions(config.EnvOptions)));

    private static T Make<T>(Func<T> make)
    {
        try
        {
            return make();
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal), e);
        }
    }
}
