using System.Collections;
using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace RlMemory.Training.Configuration;

/// <summary>
/// Reads rl-baselines3-zoo's hyperparameter files as they are (<c>hyperparams/dqn.yml</c>, <c>ppo.yml</c>,
/// <c>ppo_lstm.yml</c>, <c>sac.yml</c>, <c>td3.yml</c>): a map from environment id to that environment's hyperparameters, with <c>policy</c>,
/// <c>policy_kwargs</c> (a Python <c>dict(...)</c> expression), <c>lin_…</c> schedules, <c>normalize</c> and
/// <c>!!float</c> numbers. One entry becomes a <see cref="Preset"/> of RlMemory's keys (docs/training.md, "Zoo files").
/// </summary>
/// <remarks>
/// What has no counterpart here is refused by name (Atari wrappers, frame stacking, gSDE for TD3, callbacks); what
/// differs slightly is translated and reported in <see cref="Preset.Notes"/>.
/// </remarks>
public static class ZooHyperparameters
{
    /// <summary>The zoo's file names (its algorithm names) that RlMemory can train, and the algorithm they map to.</summary>
    public static IReadOnlyDictionary<string, string> Algorithms { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["dqn"] = "dqn",
        ["ppo"] = "ppo",
        ["ppo_lstm"] = "ppo",
        ["sac"] = "sac",
        ["td3"] = "td3",
    };

    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "env_wrapper", "frame_stack", "callback", "vec_env_wrapper", "replay_buffer_class", "replay_buffer_kwargs",
        "n_critics", "her_kwargs",
    };

    /// <summary>
    /// Whether <paramref name="yaml"/> is a zoo file: a map without an <c>algo</c> key whose values are all maps
    /// (one per environment).
    /// </summary>
    public static bool IsZooFile(string yaml)
    {
        Dictionary<string, object?>? map = Read(yaml, "the file");
        return map is { Count: > 0 } && !map.ContainsKey("algo") && map.Values.All(v => v is IDictionary);
    }

    /// <summary>
    /// The entry for <paramref name="env"/> of the zoo file at <paramref name="path"/>, for <paramref name="algo"/> (the
    /// zoo's name: dqn, ppo or ppo_lstm; null takes the file's name), as a preset of RlMemory's keys.
    /// </summary>
    /// <exception cref="ConfigException">
    /// The file cannot be read, the algorithm or the environment is not in it, or a key has no counterpart here.
    /// </exception>
    public static Preset Load(string path, string? algo, string? env)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Cannot read the hyperparameter file '{path}': {e.Message}", e);
        }

        return Parse(text, path, algo ?? Path.GetFileNameWithoutExtension(path), env);
    }

    /// <summary>Like <see cref="Load"/>, from the file's text (<paramref name="source"/> names it in messages).</summary>
    public static Preset Parse(string yaml, string source, string algo, string? env)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(algo);
        if (!Algorithms.TryGetValue(algo, out string? ours))
        {
            throw new ConfigException(
                $"{source}: the zoo algorithm '{algo}' has no counterpart here; RlMemory reads the zoo's {string.Join(", ", Algorithms.Keys)} files (pass --algo when the file name is not one of them).");
        }

        Dictionary<string, object?> map = Read(yaml, source) ?? throw new ConfigException($"{source}: the file is empty.");
        var entries = map.Where(kv => kv.Value is IDictionary && kv.Key != "atari").Select(kv => kv.Key).ToList();
        if (env is null)
        {
            env = entries.Count == 1
                ? entries[0]
                : throw new ConfigException($"{source} has hyperparameters for {entries.Count} environments; choose one with --env: {string.Join(", ", entries)}.");
        }

        if (!map.TryGetValue(env, out object? entry) || entry is not IDictionary hyperparameters)
        {
            throw new ConfigException($"{source} has no entry for '{env}'; it has: {string.Join(", ", entries)}.");
        }

        var values = new List<KeyValuePair<string, object?>> { new("env", env) };
        var notes = new List<string>();
        string where = $"{source} [{env}]";
        var items = new List<DictionaryEntry>();
        foreach (DictionaryEntry item in hyperparameters)
        {
            items.Add(item);
        }

        // The policy first: its defaults (sb3-contrib's separate critic LSTM) give way to policy_kwargs.
        foreach (DictionaryEntry item in items.OrderBy(e => e.Key.ToString() == "policy" ? 0 : 1))
        {
            string key = item.Key.ToString()!;
            Translate(key, item.Value, ours, algo, where, values, notes);
        }

        return new Preset($"{algo}-{env}", ours, $"{env} with rl-baselines3-zoo's {algo} hyperparameters ({source})", source, values) { Notes = notes };
    }

    private static void Translate(string key, object? value, string ours, string algo, string where, List<KeyValuePair<string, object?>> values, List<string> notes)
    {
        if (Unsupported.Contains(key))
        {
            throw new ConfigException($"{where}: '{key}' has no counterpart in RlMemory; remove it from the entry (or use an RlMemory preset).");
        }

        switch (key)
        {
            case "use_sde" or "sde_sample_freq" or "use_sde_at_warmup" when ours is not ("ppo" or "sac") || (ours == "ppo" && key == "use_sde_at_warmup"):
                throw new ConfigException($"{where}: '{key}' has no counterpart in RlMemory's {algo} (gSDE is in its ppo and sac); remove it from the entry.");
            case "policy":
                Policy(Text(value), ours, where, values);
                return;
            case "policy_kwargs":
                foreach (var (name, argument) in PythonLiteral.ParseDict(Text(value), $"{where} policy_kwargs"))
                {
                    PolicyArgument(name, argument, ours, where, values);
                }

                return;
            case "normalize":
                Normalize(value, ours, where, values, notes);
                return;
            case "env_kwargs":
                values.Add(new("env_options", value is string s ? PythonLiteral.ParseDict(s, $"{where} env_kwargs").ToDictionary(kv => kv.Key, kv => kv.Value) : value));
                return;
            case "learning_rate" or "clip_range" when value is string schedule && schedule.StartsWith("lin_", StringComparison.Ordinal):
                if (ours != "ppo")
                {
                    throw new ConfigException($"{where}: {key}: {schedule} is a linear schedule, which RlMemory's {algo} does not have; give a number.");
                }

                values.Add(new(key, schedule["lin_".Length..]));
                values.Add(new($"{key}_schedule", "linear"));
                return;
            default:
                values.Add(new(key, value));
                return;
        }
    }

    private static void Policy(string policy, string ours, string where, List<KeyValuePair<string, object?>> values)
    {
        switch (policy)
        {
            case "MlpPolicy":
                if (ours == "ppo")
                {
                    values.Add(new("core", "mlp"));
                }

                return;
            case "MlpLstmPolicy" when ours == "ppo":
                // sb3-contrib feeds the observations to the LSTM directly.
                values.Add(new("core", "lstm"));
                values.Add(new("encoder_sizes", new List<object?>()));
                values.Add(new("critic", "separate"));
                return;
            default:
                throw new ConfigException($"{where}: policy '{policy}' has no counterpart here (RlMemory's {ours} takes MlpPolicy{(ours == "ppo" ? " or MlpLstmPolicy" : string.Empty)}).");
        }
    }

    private static void PolicyArgument(string name, object? argument, string ours, string where, List<KeyValuePair<string, object?>> values)
    {
        switch (name)
        {
            case "net_arch":
                values.Add(new("net_arch", NetArch(argument, where)));
                return;
            case "activation_fn":
                string activation = Text(argument) switch
                {
                    "nn.ReLU" or "torch.nn.ReLU" => "relu",
                    "nn.Tanh" or "torch.nn.Tanh" => "tanh",
                    string other => throw new ConfigException($"{where}: activation_fn {other} has no counterpart here (nn.ReLU or nn.Tanh)."),
                };
                if (ours == "ppo")
                {
                    values.Add(new("activation_fn", activation));
                }
                else if (activation != "relu")
                {
                    throw new ConfigException($"{where}: RlMemory's {ours} uses ReLU (as SB3's does); activation_fn {Text(argument)} is not offered.");
                }

                return;
            case "ortho_init" when ours == "ppo":
                values.Add(new("ortho_init", argument));
                return;
            case "log_std_init" when ours is "ppo" or "sac":
                values.Add(new("log_std_init", argument));
                return;
            case "lstm_hidden_size" when ours == "ppo":
                values.Add(new("hidden_size", argument));
                return;
            case "enable_critic_lstm" when ours == "ppo":
                values.Add(new("critic", argument is true ? "separate" : "mlp"));
                return;
            case "shared_lstm" when ours == "ppo":
                if (argument is true)
                {
                    values.Add(new("critic", "shared"));
                }

                return;
            case "n_lstm_layers" when ours == "ppo" && argument is 1L:
                return;
            default:
                throw new ConfigException($"{where}: policy_kwargs {name}={PythonLiteral.Format(argument)} has no counterpart in RlMemory's {ours}.");
        }
    }

    private static List<object?> NetArch(object? argument, string where) => argument switch
    {
        List<object?> widths => widths,
        Dictionary<string, object?> heads when heads.TryGetValue("pi", out object? pi) && heads.TryGetValue("vf", out object? vf)
            && PythonLiteral.Format(pi) == PythonLiteral.Format(vf) && pi is List<object?> same => same,
        _ => throw new ConfigException(
            $"{where}: net_arch {PythonLiteral.Format(argument)} is not supported: RlMemory gives the policy and the value heads the same widths (a list, or dict(pi=X, vf=X))."),
    };

    private static void Normalize(object? value, string ours, string where, List<KeyValuePair<string, object?>> values, List<string> notes)
    {
        bool observations, rewards;
        switch (value)
        {
            case bool b:
                (observations, rewards) = (b, b);
                break;
            case string s when bool.TryParse(s, out bool b):
                (observations, rewards) = (b, b);
                break;
            case string s:
                Dictionary<string, object?> flags = PythonLiteral.ParseDict(s, $"{where} normalize").ToDictionary(kv => kv.Key, kv => kv.Value);
                observations = !flags.TryGetValue("norm_obs", out object? o) || o is true;
                rewards = !flags.TryGetValue("norm_reward", out object? r) || r is true;
                break;
            default:
                throw new ConfigException($"{where}: normalize must be true, false or \"dict(norm_obs=..., norm_reward=...)\", got {value}.");
        }

        if (ours != "ppo")
        {
            if (observations || rewards)
            {
                throw new ConfigException($"{where}: normalize has no counterpart in RlMemory's {ours}.");
            }

            return;
        }

        values.Add(new("normalize_observations", observations));
        values.Add(new("normalize_reward", rewards));
    }

    private static string Text(object? value) => value?.ToString()?.Trim() ?? string.Empty;

    private static Dictionary<string, object?>? Read(string yaml, string source) => YamlDocuments.ReadMap(yaml, source);

    /// <summary>
    /// The Python literals the zoo writes in <c>policy_kwargs</c>: <c>dict(name=value, ...)</c> of numbers, True, False,
    /// None, strings, lists, nested dicts and dotted names (<c>nn.ReLU</c>, kept as text). Nothing is evaluated.
    /// </summary>
    internal static class PythonLiteral
    {
        public static IReadOnlyList<KeyValuePair<string, object?>> ParseDict(string text, string where)
        {
            var parser = new Parser(text, where);
            var result = parser.ParseValue();
            parser.End();
            return result is Dictionary<string, object?> dict
                ? [.. dict]
                : throw new ConfigException($"{where}: expected dict(name=value, ...), got '{text.Trim()}'.");
        }

        public static string Format(object? value) => value switch
        {
            null => "None",
            true => "True",
            false => "False",
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            Dictionary<string, object?> d => "dict(" + string.Join(", ", d.Select(kv => $"{kv.Key}={Format(kv.Value)}")) + ")",
            List<object?> l => "[" + string.Join(", ", l.Select(Format)) + "]",
            _ => value.ToString() ?? string.Empty,
        };

        private sealed class Parser(string text, string where)
        {
            private int _at;

            public object? ParseValue()
            {
                Skip();
                if (_at >= text.Length)
                {
                    throw Fail("a value");
                }

                char c = text[_at];
                if (c == '[' || c == '(')
                {
                    char close = c == '[' ? ']' : ')';
                    _at++;
                    var list = new List<object?>();
                    while (!TryTake(close))
                    {
                        list.Add(ParseValue());
                        if (!TryTake(','))
                        {
                            Expect(close);
                            break;
                        }
                    }

                    return list;
                }

                if (c == '{')
                {
                    _at++;
                    var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                    while (!TryTake('}'))
                    {
                        string key = ParseValue() as string ?? throw Fail("a string key");
                        Expect(':');
                        dict[key] = ParseValue();
                        if (!TryTake(','))
                        {
                            Expect('}');
                            break;
                        }
                    }

                    return dict;
                }

                if (c == '"' || c == '\'')
                {
                    int end = text.IndexOf(c, _at + 1);
                    if (end < 0)
                    {
                        throw Fail("a closing quote");
                    }

                    string s = text[(_at + 1)..end];
                    _at = end + 1;
                    return s;
                }

                string word = Word();
                if (word == "dict" && TryTake('('))
                {
                    var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                    while (!TryTake(')'))
                    {
                        string name = Word();
                        if (name.Length == 0)
                        {
                            throw Fail("a name");
                        }

                        Expect('=');
                        dict[name] = ParseValue();
                        if (!TryTake(','))
                        {
                            Expect(')');
                            break;
                        }
                    }

                    return dict;
                }

                return word switch
                {
                    "" => throw Fail("a value"),
                    "True" => true,
                    "False" => false,
                    "None" => null,
                    _ when long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long i) => i,
                    _ when double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
                    _ => word,
                };
            }

            public void End()
            {
                Skip();
                if (_at < text.Length)
                {
                    throw Fail("the end");
                }
            }

            private string Word()
            {
                Skip();
                var word = new StringBuilder();
                while (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] is '_' or '.' or '-' or '+'))
                {
                    word.Append(text[_at++]);
                }

                return word.ToString();
            }

            private bool TryTake(char c)
            {
                Skip();
                if (_at < text.Length && text[_at] == c)
                {
                    _at++;
                    return true;
                }

                return false;
            }

            private void Expect(char c)
            {
                if (!TryTake(c))
                {
                    throw Fail($"'{c}'");
                }
            }

            private void Skip()
            {
                while (_at < text.Length && char.IsWhiteSpace(text[_at]))
                {
                    _at++;
                }
            }

            private ConfigException Fail(string expected) =>
                new($"{where}: expected {expected} at position {_at + 1} of '{text.Trim()}'.");
        }
    }
}
