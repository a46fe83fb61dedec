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
        if (TrainerCatalog.All.FirstOrDefault(d => d.Algo == algo) is { } definition && definition.Trains(spec.ActionType))
        {
            // The algorithm trains these actions with its other trainer (PPO: PpoTrainer and ContinuousPpoTrainer).
            string other = algo == "ppo" ? (spec.ActionType == typeof(float[]) ? "ContinuousPpoTrainer" : "PpoTrainer") : $"{algo}'s trainer for {kind}";
            throw new ConfigException($"env {env} has {kind} ({space}), and this {algo} trainer trains {Kind(actionType)}: use {other} (the command line's {algo} picks it from the environment).");
        }

        string[] able = [.. TrainerCatalog.All.Where(d => d.Trains(spec.ActionType)).Select(d => d.Algo)];
        string[] presets = [.. Presets.Names.Where(p => Presets.Load(p) is var preset && able.Contains(preset.Algo, StringComparer.Ordinal) && PresetActionType(preset) == spec.ActionType)];
        string alternatives = able.Length == 0
            ? $"no algorithm of this version trains {kind}"
            : $"{string.Join(", ", able)} train{(able.Length == 1 ? "s" : string.Empty)} {kind}"
              + (presets.Length == 0 ? string.Empty : $" (presets: {string.Join(", ", presets)}; e.g. rlmemory train {Example(presets, env)} --set env={env})");
        throw new ConfigException(
            $"env {env} has {kind} ({space}), and {algo} trains {Kind(actionType)} only; {alternatives}. "
            + $"Or choose an environment with {Kind(actionType)} (rlmemory list envs).");
    }

    /// <summary>The preset to show as an example: one made for <paramref name="env"/> if there is one, else the first.</summary>
    private static string Example(string[] presets, string env) =>
        presets.FirstOrDefault(p => Presets.Load(p).Values.LastOrDefault(kv => kv.Key == "env").Value as string == env) ?? presets[0];

    /// <summary>The action type of a shipped preset's environment (null when it names none this version registers).</summary>
    private static Type? PresetActionType(Preset preset) =>
        preset.Values.LastOrDefault(kv => kv.Key == "env").Value is string env && EnvRegistry.IsRegistered(env) ? EnvRegistry.Spec(env).ActionType : null;

    /// <summary>The action type of <paramref name="env"/>'s actions (<c>int</c> or <c>float[]</c>).</summary>
    /// <exception cref="ConfigException">The id is not registered (the message lists close matches).</exception>
    public static Type ActionType(string env) => Make(() => EnvRegistry.Spec(env)).ActionType;

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
