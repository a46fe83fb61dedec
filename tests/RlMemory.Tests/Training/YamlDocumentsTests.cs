using System.Diagnostics;
using RlMemory.Training.Configuration;

namespace RlMemory.Tests.Training;

/// <summary>Issue 12: a YAML alias bomb ran out of memory, and duplicate keys were accepted silently (the last won).</summary>
public sealed class YamlDocumentsTests
{
    [Fact]
    public void ABillionLaughs_IsRefusedQuickly()
    {
        var yaml = new System.Text.StringBuilder("algo: dqn\na0: &a0 [64, 64, 64, 64, 64, 64, 64, 64, 64, 64]\n");
        for (int i = 1; i < 10; i++)
        {
            yaml.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }

        yaml.Append("net_arch: *a9\n");
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ConfigException>(() => Presets.Parse(yaml.ToString(), "bomb", "bomb.yaml"));
        Assert.Contains("expands to more than 100,000 values", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void ADuplicateKey_IsRefusedNamingTheKeyAndBothLines()
    {
        var e = Assert.Throws<ConfigException>(() => Presets.Parse("algo: dqn\nlearning_rate: 0.001\ngamma: 0.9\nlearning_rate: 0.1\n", "dup", "dup.yaml"));
        Assert.Contains("the key 'learning_rate' appears twice in one map (lines 2 and 4)", e.Message, StringComparison.Ordinal);

        var nested = Assert.Throws<ConfigException>(() => Presets.Parse("algo: ppo\nenv_options:\n  corridor_length: 5\n  corridor_length: 6\n", "dup", "dup.yaml"));
        Assert.Contains("'corridor_length' appears twice", nested.Message, StringComparison.Ordinal);

        // The same key in two different maps is fine, and so are lists of maps.
        Preset ok = Presets.Parse("algo: ppo\nenv: TMaze-v0\nenv_options: {env: 1}\nnet_arch: [64, 64]\n", "ok", "ok.yaml");
        Assert.Equal("ppo", ok.Algo);
    }

    [Fact]
    public void HugeOrDeeplyNestedFiles_AreRefused()
    {
        var big = Assert.Throws<ConfigException>(() => Presets.Parse("algo: dqn\n# " + new string('x', YamlDocuments.MaxBytes), "big", "big.yaml"));
        Assert.Contains("a configuration may have at most", big.Message, StringComparison.Ordinal);
        var deep = Assert.Throws<ConfigException>(() => Presets.Parse("algo: dqn\nnet_arch: " + new string('[', 5000) + new string(']', 5000) + "\n", "deep", "deep.yaml"));
        Assert.Contains("nested more than 32 deep", deep.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MergeKeys_AsTheZooWritesThem_AreApplied()
    {
        const string zoo = "defaults: &defaults\n  policy: 'MlpPolicy'\n  n_timesteps: 1000\nCartPole-v1:\n  <<: *defaults\n  learning_rate: 0.001\n";
        Preset preset = ZooHyperparameters.Parse(zoo, "dqn.yml", "dqn", "CartPole-v1");
        Assert.Contains(preset.Values, kv => kv.Key == "n_timesteps" && kv.Value as string == "1000");
        Assert.Contains(preset.Values, kv => kv.Key == "learning_rate");
    }
}
