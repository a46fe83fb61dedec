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
    /// <summary>Throws when <paramref name="env"/> is not a registered id (the message lists close matches).</summary>
    public static void RequireRegistered(string env)
    {
        if (!EnvRegistry.IsRegistered(env))
        {
            Make(() => EnvRegistry.Spec(env));
        }
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
