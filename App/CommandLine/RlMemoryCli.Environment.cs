using System.Collections;
using System.CommandLine;
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;

namespace RlMemory.App;

/// <summary>
/// Which environment <c>eval</c>, <c>record</c> and <c>watch</c> play: <c>--env</c> and <c>--env-option</c>; and the
/// user's own environments for every command: <c>--env-assembly</c>.
/// </summary>
public static partial class RlMemoryCli
{
    /// <summary>
    /// <c>--env-assembly path/MyEnvs.dll</c> (repeatable): loads assemblies of environments (<see cref="EnvAssemblies"/>)
    /// before the command runs. <c>train</c> records an environment from such an assembly by its qualified id
    /// (<c>fullpath.dll:Corridor-v0</c>), so the run folder's agents and checkpoints find it again without the option.
    /// </summary>
    private sealed class EnvAssemblyOption
    {
        private readonly Option<string[]> _option = new("--env-assembly")
        {
            Description = "Load your environments from an assembly (a .dll with a public IEnvRegistration class) before running (repeatable).",
        };

        public void AddTo(Command command) => command.Options.Add(_option);

        /// <summary>Loads the assemblies named on the command line; returns how many.</summary>
        public int Load(ParseResult parse)
        {
            string[] paths = parse.GetValue(_option) ?? [];
            foreach (string path in paths)
            {
                EnvAssemblies.Load(path);
            }

            return paths.Length;
        }
    }


    /// <summary>
    /// The environment options of a command that plays an agent. The id is <c>--env</c>, else the one the agent was
    /// trained on. The options start from the run's <c>env_options</c> (its <c>config.yaml</c>) when the source is a run
    /// folder and <c>--env</c> names no other environment, and each <c>--env-option key=value</c> sets one.
    /// </summary>
    private sealed class EnvironmentOptions
    {
        private readonly Option<string?> _env = new("--env") { Description = "Environment id (default: the one the agent was trained on)." };

        private readonly Option<string[]> _options = new("--env-option")
        {
            Description = "Set an environment option: --env-option corridor_length=50 (repeatable; a run folder's own env_options apply first).",
        };

        private readonly EnvAssemblyOption _assemblies = new();

        public void AddTo(Command command)
        {
            command.Options.Add(_env);
            command.Options.Add(_options);
            _assemblies.AddTo(command);
        }

        /// <summary>The environment id and options for <paramref name="agent"/>, loaded from <paramref name="source"/>.</summary>
        /// <exception cref="ConfigException">No id is known, or an option is not key=value.</exception>
        public (string Id, EnvOptions Options) Resolve(ParseResult parse, string source, IAgent agent)
        {
            _assemblies.Load(parse);
            string? asked = parse.GetValue(_env);
            string id = asked ?? agent.EnvId ?? throw new ConfigException("The agent file does not name its environment; pass --env.");
            var options = new EnvOptions();
            string config = Path.Combine(source, "config.yaml");
            if (Directory.Exists(source) && File.Exists(config))
            {
                Preset run = Presets.Load(config);
                string? runEnv = run.Values.FirstOrDefault(kv => kv.Key == "env").Value as string;
                if (run.Values.FirstOrDefault(kv => kv.Key == "env_options").Value is IDictionary saved && (asked is null || asked == runEnv))
                {
                    foreach (DictionaryEntry entry in saved)
                    {
                        if (entry.Value is not null)
                        {
                            options[entry.Key.ToString()!] = entry.Value;
                        }
                    }
                }
            }

            options = Apply(parse.GetValue(_options), options);
            CheckFits(agent, id, options);
            return (id, options);
        }

        /// <summary>
        /// Refuses an environment whose observations or actions do not fit the agent, before anything is played, in the
        /// command line's terms (the agent's own environment, and --env to choose one).
        /// </summary>
        /// <exception cref="ConfigException">The spaces differ.</exception>
        private static void CheckFits(IAgent agent, string id, EnvOptions options)
        {
            using IEnv env = EnvRegistry.Make(id, options.Count == 0 ? null : options);
            string trained = agent.EnvId is null ? "its environment" : agent.EnvId;
            if (env.ObservationSpace.Size != agent.ObservationSize)
            {
                throw new ConfigException(
                    $"{id} has observations of {env.ObservationSpace.Size} floats ({env.ObservationSpace}), but the agent reads {agent.ObservationSize} "
                    + $"(it was trained on {trained}): play it on an environment like the one it learned, or leave out --env.");
            }

            string? misfit = agent switch
            {
                IDiscreteAgent discreteAgent when env.ActionSpace is not Discrete { Start: 0 } discrete || discrete.N != discreteAgent.ActionCount =>
                    $"the agent chooses among {discreteAgent.ActionCount} discrete actions",
                IContinuousAgent continuous when env.ActionSpace is not Box box || box.Size != continuous.ActionSize =>
                    $"the agent acts with {continuous.ActionSize} continuous values",
                IDiscreteAgent or IContinuousAgent => null,
                _ => $"the agent ({agent.Kind}) acts in a way this command does not know",
            };
            if (misfit is not null)
            {
                throw new ConfigException(
                    $"{id} has the action space {env.ActionSpace}, but {misfit} "
                    + $"(it was trained on {trained}): play it on an environment like the one it learned, or leave out --env.");
            }
        }

        /// <summary>Sets each <c>key=value</c> of <paramref name="assignments"/> in <paramref name="options"/>.</summary>
        /// <exception cref="ConfigException">An assignment is not key=value.</exception>
        public static EnvOptions Apply(string[]? assignments, EnvOptions options)
        {
            foreach (string assignment in assignments ?? [])
            {
                int eq = assignment.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == assignment.Length - 1)
                {
                    throw new ConfigException($"--env-option expects key=value, got '{assignment}'.");
                }

                options[assignment[..eq].Trim()] = YamlValues.ParseInline(assignment[(eq + 1)..]) ?? string.Empty;
            }

            return options;
        }

        /// <summary>Makes the environment, whatever its action type (an unknown id or a bad option is refused by the registry, by name).</summary>
        public static IEnv Make(string id, EnvOptions options) => EnvRegistry.Make(id, options.Count == 0 ? null : options);

        /// <summary>Makes the environment (an unknown id or a bad option is refused by the registry, by name).</summary>
        public static IEnv<TAction> Make<TAction>(string id, EnvOptions options) => EnvRegistry.Make<TAction>(id, options.Count == 0 ? null : options);

        /// <summary>
        /// The agent as one with discrete actions, for <paramref name="command"/>, which plays only those.
        /// </summary>
        /// <exception cref="ConfigException">The agent acts with continuous actions (the message says which commands play it).</exception>
        public static IDiscreteAgent Discrete(IAgent agent, string command) =>
            agent as IDiscreteAgent ?? throw new ConfigException(
                $"{command} plays agents with discrete actions; this {agent.Kind} acts with continuous actions: evaluate it with rlmemory eval, or record it with rlmemory record.");
    }
}
