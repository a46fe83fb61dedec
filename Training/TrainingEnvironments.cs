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
    /// are not of the type <paramref name="actionType"/> the algorithm trains (the message names, in the command line's
    /// terms, the algorithms and presets that can train it).
    /// </summary>
    /// <param name="env">The configuration's <c>env</c>.</param>
    /// <param name="algo">The algorithm's name, for the message.</param>
    /// <param name="actionType">The action type the algorithm trains: <c>int</c> or <c>float[]</c>.</param>
    public static void RequireTrainable(string env, string algo, Type actionType)
    {
        EnvSpec spec = Make(() => EnvRegistry.Spec(env));
        if (spec.ActionType == actionType)
        {
            return;
        }

        string space;
        using (IEnv made = Make(() => EnvRegistry.Make(env)))
        {
            space = made.ActionSpace.ToString();
        }

        string kind = Kind(spec.ActionType);
        string[] able = [.. TrainerCatalog.All.Where(d => d.ActionType == spec.ActionType).Select(d => d.Algo)];
        string[] presets = [.. Presets.Names.Where(p => able.Contains(Presets.Load(p).Algo, StringComparer.Ordinal))];
        string alternatives = able.Length == 0
            ? $"no algorithm of this version trains {kind}"
            : $"{string.Join(", ", able)} train{(able.Length == 1 ? "s" : string.Empty)} {kind}"
              + (presets.Length == 0 ? string.Empty : $" (presets: {string.Join(", ", presets)}; e.g. rlmemory train {presets[0]} --set env={env})");
        throw new ConfigException(
            $"env {env} has {kind} ({space}), and {algo} trains {Kind(actionType)} only; {alternatives}. "
            + $"Or choose an environment with {Kind(actionType)} (rlmemory list envs).");
    }

    private static string Kind(Type actionType) =>
        actionType == typeof(int) ? "discrete actions" : actionType == typeof(float[]) ? "continuous actions" : $"actions of type {actionType.Name}";

    /// <summary><paramref name="count"/> copies of the run's environment, stepped together.</summary>
    public static VectorEnv<TAction> MakeVector<TAction>(RunConfig config, int count) =>
        Make(() => EnvRegistry.MakeVector<TAction>(config.Env, count, VectorMode.Sync, new EnvOptions(config.EnvOptions)));

    /// <summary>One copy of the run's environment (for evaluation).</summary>
    public static IEnv<TAction> MakeOne<TAction>(RunConfig config) =>
        Make(() => EnvRegistry.Make<TAction>(config.Env, new EnvOptions(config.EnvOptions)));

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
