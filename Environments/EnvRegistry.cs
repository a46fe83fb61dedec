using System.Text.RegularExpressions;
using RlMemory.Environments.Vector;
using RlMemory.Environments.Wrappers;

namespace RlMemory.Environments;

/// <summary>
/// A registered environment: its id, defaults and limits (Gymnasium's <c>EnvSpec</c>).
/// </summary>
public sealed record EnvSpec
{
    internal EnvSpec(string id, Type actionType, EnvOptions defaultOptions, int? maxEpisodeSteps, double? rewardThreshold, string? description)
    {
        Id = id;
        ActionType = actionType;
        _defaultOptions = defaultOptions;
        MaxEpisodeSteps = maxEpisodeSteps;
        RewardThreshold = rewardThreshold;
        Description = description;
        var m = EnvRegistry.IdPattern.Match(id);
        Namespace = m.Groups["ns"].Success ? m.Groups["ns"].Value : null;
        BaseName = m.Groups["name"].Value;
        Version = m.Groups["version"].Success ? int.Parse(m.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The full id, e.g. <c>CartPole-v1</c> or <c>my-lab/GridWalk-v0</c>.</summary>
    public string Id { get; }

    /// <summary>The namespace before a <c>/</c>, if any.</summary>
    public string? Namespace { get; }

    /// <summary>The name without namespace and version, e.g. <c>CartPole</c>.</summary>
    public string BaseName { get; }

    /// <summary>The version number after <c>-v</c>, if any.</summary>
    public int? Version { get; }

    /// <summary>The action type: <see cref="int"/> for discrete actions, <c>float[]</c> for continuous ones.</summary>
    public Type ActionType { get; }

    private readonly EnvOptions _defaultOptions;

    /// <summary>
    /// The options the environment accepts, with their defaults (a copy: changing it changes nothing registered).
    /// <c>Make</c> refuses options not listed here.
    /// </summary>
    public EnvOptions DefaultOptions => _defaultOptions.Merge(null);

    internal IEnumerable<string> OptionNames => _defaultOptions.Keys;

    internal EnvOptions MergedOptions(EnvOptions? overrides) => _defaultOptions.Merge(overrides, Id);

    /// <summary>The time limit <c>Make</c> applies (a <see cref="TimeLimit{TAction}"/> wrapper), or null for none.</summary>
    public int? MaxEpisodeSteps { get; }

    /// <summary>The return at which the task counts as solved, if one is defined.</summary>
    public double? RewardThreshold { get; }

    /// <summary>A one-line description.</summary>
    public string? Description { get; }

    internal Func<EnvOptions, IEnv>? Factory { get; init; }
}

/// <summary>Whether a vector environment steps its environments on the calling thread or on worker threads.</summary>
public enum VectorMode
{
    /// <summary>All environments step one after another on the calling thread (<see cref="SyncVectorEnv{TAction}"/>).</summary>
    Sync,

    /// <summary>Environments step on worker threads (<see cref="ParallelVectorEnv{TAction}"/>): for expensive environments.</summary>
    Parallel,
}

/// <summary>
/// The registry of environments by id (Gymnasium's <c>gymnasium.make</c> and <c>register</c>). Built-in
/// environments are registered on first use; register your own with <see cref="Register{TAction}"/>.
/// Thread-safe.
/// </summary>
public static class EnvRegistry
{
    internal static readonly Regex IdPattern = new(
        @"^(?:(?<ns>[\w:.-]+)/)?(?<name>[\w:.-]+?)(?:-v(?<version>\d+))?\z",
        RegexOptions.CultureInvariant);

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, EnvSpec> Specs = new(StringComparer.Ordinal);

    static EnvRegistry() => BuiltInEnvironments.Register();

    /// <summary>The registered ids, sorted.</summary>
    public static IReadOnlyList<string> Ids
    {
        get
        {
            lock (Gate)
            {
                return Specs.Keys.Order(StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>The registered specs, sorted by id.</summary>
    public static IReadOnlyList<EnvSpec> All
    {
        get
        {
            lock (Gate)
            {
                return Specs.Values.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>
    /// Registers an environment under <paramref name="id"/> (<c>Name-vN</c>, optionally <c>namespace/Name-vN</c>).
    /// </summary>
    /// <param name="id">The id users pass to <c>Make</c>.</param>
    /// <param name="factory">Creates the environment from the merged options (defaults overridden by the caller's).</param>
    /// <param name="defaultOptions">Every option the environment accepts, with its default.</param>
    /// <param name="maxEpisodeSteps">The time limit <c>Make</c> applies, or null for none.</param>
    /// <param name="rewardThreshold">The return at which the task counts as solved, if any.</param>
    /// <param name="description">A one-line description shown by listings.</param>
    /// <param name="replace">Replace an existing registration instead of refusing it.</param>
    /// <exception cref="ArgumentException">The id is malformed or already registered.</exception>
    public static EnvSpec Register<TAction>(
        string id,
        Func<EnvOptions, IEnv<TAction>> factory,
        EnvOptions? defaultOptions = null,
        int? maxEpisodeSteps = null,
        double? rewardThreshold = null,
        string? description = null,
        bool replace = false)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!IdPattern.IsMatch(id))
        {
            throw new ArgumentException(
                $"'{id}' is not a valid environment id: use Name-vN (letters, digits, _ : . -), optionally prefixed by namespace/, e.g. 'GridWalk-v0'.",
                nameof(id));
        }

        if (maxEpisodeSteps is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, $"{id}: maxEpisodeSteps must be positive or null (no limit).");
        }

        var spec = new EnvSpec(id, typeof(TAction), (defaultOptions ?? new EnvOptions()).Merge(null, id), maxEpisodeSteps, rewardThreshold, description)
        {
            Factory = options => factory(options),
        };
        lock (Gate)
        {
            if (!replace && Specs.ContainsKey(id))
            {
                throw new ArgumentException($"An environment is already registered as '{id}'; pass replace: true to replace it.", nameof(id));
            }

            Specs[id] = spec;
        }

        return spec;
    }

    /// <summary>Removes a registration; returns whether there was one.</summary>
    public static bool Unregister(string id)
    {
        lock (Gate)
        {
            return Specs.Remove(id);
        }
    }

    /// <summary>Whether <paramref name="id"/> is registered.</summary>
    public static bool IsRegistered(string id)
    {
        lock (Gate)
        {
            return Specs.ContainsKey(id);
        }
    }

    /// <summary>
    /// The spec registered as <paramref name="id"/>. An id qualified by an assembly, <c>path/MyEnvs.dll:Corridor-v0</c>,
    /// loads that assembly first (<see cref="EnvAssemblies.Load"/>; this runs its code) and names the id inside it.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The id is not registered (the message lists close matches), or its assembly cannot be loaded or does not register it.
    /// </exception>
    public static EnvSpec Spec(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (Gate)
        {
            if (Specs.TryGetValue(id, out EnvSpec? spec))
            {
                return spec;
            }
        }

        if (EnvAssemblies.TrySplit(id, out string assemblyPath, out string envId))
        {
            try
            {
                EnvAssemblies.Load(assemblyPath);
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidOperationException)
            {
                throw new ArgumentException($"'{id}': {e.Message}", nameof(id), e);
            }

            lock (Gate)
            {
                return Specs.TryGetValue(envId, out EnvSpec? loaded)
                    ? loaded
                    : throw new ArgumentException($"'{id}': {assemblyPath} does not register '{envId}'. {DescribeUnknown(envId)}", nameof(id));
            }
        }

        lock (Gate)
        {
            throw new ArgumentException(DescribeUnknown(id), nameof(id));
        }
    }

    /// <summary>
    /// Creates the environment registered as <paramref name="id"/>, with its time limit applied
    /// (Gymnasium's <c>gymnasium.make</c>).
    /// </summary>
    /// <param name="id">A registered id, e.g. <c>CartPole-v1</c>.</param>
    /// <param name="options">Options overriding the registered defaults; unknown names are refused.</param>
    /// <param name="maxEpisodeSteps">Overrides the registered time limit.</param>
    public static IEnv Make(string id, EnvOptions? options = null, int? maxEpisodeSteps = null)
    {
        EnvSpec spec = Spec(id);
        if (maxEpisodeSteps is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, $"{id}: maxEpisodeSteps must be positive.");
        }

        if (options is not null)
        {
            new EnvOptions(options) { Owner = id }.RequireKnownKeys(spec.OptionNames);
        }

        EnvOptions merged = spec.MergedOptions(options);

        IEnv env = spec.Factory!(merged)
            ?? throw new InvalidOperationException($"{id}: the registered factory returned null instead of an environment.");
        if (env is IRegisteredEnv registered)
        {
            registered.AttachSpec(spec);
        }

        int? limit = maxEpisodeSteps ?? spec.MaxEpisodeSteps;
        return limit is int steps ? TimeLimitFor(env, steps) : env;
    }

    /// <summary>Creates the environment registered as <paramref name="id"/>, typed by its action.</summary>
    /// <exception cref="ArgumentException">The environment's actions are not of type <typeparamref name="TAction"/>.</exception>
    public static IEnv<TAction> Make<TAction>(string id, EnvOptions? options = null, int? maxEpisodeSteps = null)
    {
        EnvSpec spec = Spec(id);
        if (spec.ActionType != typeof(TAction))
        {
            throw new ArgumentException(
                $"{id} takes actions of type {TypeName(spec.ActionType)}, not {TypeName(typeof(TAction))}: call Make<{TypeName(spec.ActionType)}>(\"{id}\").",
                nameof(TAction));
        }

        return (IEnv<TAction>)Make(id, options, maxEpisodeSteps);
    }

    /// <summary>
    /// Creates a vector of <paramref name="numEnvs"/> copies of the environment registered as <paramref name="id"/>
    /// (Gymnasium's <c>gymnasium.make_vec</c>).
    /// </summary>
    public static VectorEnv<TAction> MakeVector<TAction>(
        string id, int numEnvs, VectorMode mode = VectorMode.Sync, EnvOptions? options = null, int? maxEpisodeSteps = null)
    {
        if (numEnvs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numEnvs), numEnvs, $"{id}: a vector environment needs numEnvs >= 1.");
        }

        var envs = new IEnv<TAction>[numEnvs];
        try
        {
            for (int i = 0; i < numEnvs; i++)
            {
                envs[i] = Make<TAction>(id, options, maxEpisodeSteps);
            }
        }
        catch
        {
            foreach (var e in envs)
            {
                e?.Dispose();
            }

            throw;
        }

        return mode switch
        {
            VectorMode.Sync => new SyncVectorEnv<TAction>(envs),
            VectorMode.Parallel => new ParallelVectorEnv<TAction>(envs),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "mode must be Sync or Parallel."),
        };
    }

    private static IEnv TimeLimitFor(IEnv env, int steps) => env switch
    {
        IEnv<int> discrete => new TimeLimit<int>(discrete, steps),
        IEnv<float[]> continuous => new TimeLimit<float[]>(continuous, steps),
        _ => throw new NotSupportedException(
            $"{env.Name}: time limits apply to environments with int or float[] actions; {env.GetType().Name} has neither."),
    };

    private static string DescribeUnknown(string id)
    {
        var m = IdPattern.Match(id);
        if (m.Success)
        {
            string ns = m.Groups["ns"].Success ? m.Groups["ns"].Value + "/" : string.Empty;
            string name = m.Groups["name"].Value;
            var versions = Specs.Values
                .Where(s => s.BaseName == name && (s.Namespace is null ? ns.Length == 0 : ns == s.Namespace + "/"))
                .Select(s => s.Id)
                .Order(StringComparer.Ordinal)
                .ToList();
            if (versions.Count > 0)
            {
                return m.Groups["version"].Success
                    ? $"'{id}' is not registered, but other versions of {ns}{name} are: {string.Join(", ", versions)}."
                    : $"'{id}' needs a version: registered are {string.Join(", ", versions)}.";
            }
        }

        var close = Naming.CloseMatches(id, Specs.Keys);
        string hint = close.Count > 0 ? $" Did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : string.Empty;
        return $"No environment is registered as '{id}'.{hint} Registered: {string.Join(", ", Specs.Keys.Order(StringComparer.Ordinal))}.";
    }

    private static string TypeName(Type t) => t == typeof(int) ? "int" : t == typeof(float[]) ? "float[]" : t.Name;
}

/// <summary>Implemented by environments and wrappers that can carry the spec they were made from.</summary>
internal interface IRegisteredEnv
{
    void AttachSpec(EnvSpec spec);
}
