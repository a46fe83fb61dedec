using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>A configured run, not yet started: what it will train, and how to build its trainer.</summary>
/// <param name="Algo">The algorithm, e.g. <c>dqn</c>.</param>
/// <param name="Title">The algorithm as people write it, e.g. <c>DQN</c>.</param>
/// <param name="Config">The validated configuration.</param>
/// <param name="Create">Builds the trainer (restoring a checkpoint when the options say so).</param>
public sealed record TrainerSetup(string Algo, string Title, RunConfig Config, Func<TrainerOptions, ITrainer> Create);

/// <summary>An algorithm the CLI can train: its preset name, its configuration keys, and how to build its trainer.</summary>
public sealed class TrainerDefinition
{
    private readonly Func<Preset, IReadOnlyList<string>, TrainerSetup> _configure;

    private readonly Func<IReadOnlyList<ConfigKey>> _describe;

    private TrainerDefinition(
        string algo, string title, IReadOnlyList<Type> actionTypes, string defaultEnv, IReadOnlyList<string> keys, Func<Preset, IReadOnlyList<string>, TrainerSetup> configure, Func<IReadOnlyList<ConfigKey>> describe)
    {
        Algo = algo;
        ActionTypes = actionTypes;
        DefaultEnv = defaultEnv;
        Title = title;
        Keys = keys;
        _configure = configure;
        _describe = describe;
    }

    /// <summary>The <c>algo</c> value in presets.</summary>
    public string Algo { get; }

    /// <summary>The algorithm as people write it.</summary>
    public string Title { get; }

    /// <summary>The action type of the environments it trains first: <c>int</c> (discrete) or <c>float[]</c> (continuous).</summary>
    public Type ActionType => ActionTypes[0];

    /// <summary>The action types of the environments it trains (PPO: both; it picks its trainer by the environment).</summary>
    public IReadOnlyList<Type> ActionTypes { get; }

    /// <summary>Whether it trains environments whose actions are of type <paramref name="actionType"/>.</summary>
    public bool Trains(Type actionType) => ActionTypes.Contains(actionType);

    /// <summary>The environment of the algorithm's default configuration (CartPole-v1; Pendulum-v1 for SAC and TD3).</summary>
    public string DefaultEnv { get; }

    /// <summary>The configuration keys, in schema order.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Every configuration key with its default (as YAML writes it) and what it controls, in schema order.</summary>
    public IReadOnlyList<ConfigKey> DescribeKeys() => _describe();

    /// <summary>
    /// Applies <paramref name="preset"/>'s values and then <paramref name="overrides"/> (<c>key=value</c>, e.g.
    /// <c>seed=3</c>, <c>n_timesteps=1000</c>, <c>device=cpu</c>) to the algorithm's defaults.
    /// </summary>
    /// <exception cref="ConfigException">A key the algorithm does not have, or a value out of range.</exception>
    public TrainerSetup Configure(Preset preset, IReadOnlyList<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(overrides);
        if (preset.Algo != Algo)
        {
            throw new ConfigException($"{preset.Source} is a '{preset.Algo}' configuration, not '{Algo}'.");
        }

        return _configure(preset, overrides);
    }

    /// <summary>Defines an algorithm with discrete actions whose configuration record is described by <paramref name="schema"/>.</summary>
    /// <remarks>The schema must have the keys <c>env</c>, <c>seed</c>, <c>n_timesteps</c> and <c>device</c> (the CLI's options set them).</remarks>
    public static TrainerDefinition For<TConfig>(string algo, string title, ConfigSchema<TConfig> schema, Func<TConfig, TrainerOptions, ITrainer> create)
        where TConfig : RunConfig, new() =>
        For(algo, title, typeof(int), schema, create);

    /// <summary>
    /// Defines an algorithm for environments whose actions are of type <paramref name="actionType"/> (<c>int</c> or
    /// <c>float[]</c>) and whose configuration record is described by <paramref name="schema"/>.
    /// </summary>
    /// <remarks>The schema must have the keys <c>env</c>, <c>seed</c>, <c>n_timesteps</c> and <c>device</c> (the CLI's options set them).</remarks>
    public static TrainerDefinition For<TConfig>(string algo, string title, Type actionType, ConfigSchema<TConfig> schema, Func<TConfig, TrainerOptions, ITrainer> create)
        where TConfig : RunConfig, new() =>
        Define(algo, title, [actionType], schema, create);

    /// <summary>
    /// Defines an algorithm that trains both discrete and continuous actions, with a trainer for each
    /// (<paramref name="createDiscrete"/>, <paramref name="createContinuous"/>): a run's environment picks which.
    /// </summary>
    /// <remarks>The schema must have the keys <c>env</c>, <c>seed</c>, <c>n_timesteps</c> and <c>device</c> (the CLI's options set them).</remarks>
    public static TrainerDefinition For<TConfig>(
        string algo, string title, ConfigSchema<TConfig> schema, Func<TConfig, TrainerOptions, ITrainer> createDiscrete, Func<TConfig, TrainerOptions, ITrainer> createContinuous)
        where TConfig : RunConfig, new()
    {
        ArgumentNullException.ThrowIfNull(createDiscrete);
        ArgumentNullException.ThrowIfNull(createContinuous);
        return Define(algo, title, [typeof(int), typeof(float[])], schema, (config, options) =>
        {
            Type actionType = TrainingEnvironments.ActionType(config.Env);
            return actionType == typeof(float[]) ? createContinuous(config, options) : createDiscrete(config, options);
        });
    }

    private static TrainerDefinition Define<TConfig>(string algo, string title, Type[] actionTypes, ConfigSchema<TConfig> schema, Func<TConfig, TrainerOptions, ITrainer> create)
        where TConfig : RunConfig, new()
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(create);
        foreach (string key in new[] { "env", "seed", "n_timesteps", "device" })
        {
            if (!schema.Contains(key))
            {
                throw new ArgumentException($"TrainerDefinition {algo}: the schema has no '{key}' key.", nameof(schema));
            }
        }

        foreach (Type actionType in actionTypes)
        {
            ArgumentNullException.ThrowIfNull(actionType, nameof(actionTypes));
            if (actionType != typeof(int) && actionType != typeof(float[]))
            {
                throw new ArgumentException($"TrainerDefinition {algo}: the action type must be int or float[], got {actionType.Name}.", nameof(actionTypes));
            }
        }

        return new TrainerDefinition(
            algo,
            title,
            actionTypes,
            new TConfig().Env,
            schema.Keys,
            (preset, overrides) =>
            {
                TConfig config = schema.Apply(new TConfig(), preset.Values, preset.Source);
                foreach (string assignment in overrides)
                {
                    config = schema.ApplyOverride(config, assignment);
                }

                return new TrainerSetup(algo, title, config, options => create(config, options));
            },
            () => [.. schema.ToEntries(new TConfig()).Select(e => new ConfigKey(e.Key, YamlValues.Format(e.Value), schema.Describe(e.Key)))]);
    }
}

/// <summary>A configuration key as <c>rlmemory list keys</c> shows it.</summary>
/// <param name="Name">The snake_case key.</param>
/// <param name="Default">Its default value, as YAML writes it.</param>
/// <param name="Description">What it controls.</param>
public sealed record ConfigKey(string Name, string Default, string Description);

