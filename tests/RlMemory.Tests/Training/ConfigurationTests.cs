using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.R2d2;

namespace RlMemory.Tests.Training;

public sealed class ConfigurationTests
{
    [Fact]
    public void EveryShippedPreset_AppliesToItsSchemaWithoutError()
    {
        Assert.Contains("dqn-cartpole", Presets.Names);
        Assert.Contains("dqn-mountaincar", Presets.Names);
        Assert.Contains("dqn-acrobot", Presets.Names);
        foreach (Preset preset in Presets.All.Where(p => p.Algo == "dqn"))
        {
            DqnConfig config = DqnConfig.Schema.Apply(new DqnConfig(), preset.Values, preset.Source);
            Assert.False(string.IsNullOrWhiteSpace(preset.Description), $"{preset.Name} has no description comment");
            Assert.True(config.TotalTimesteps > 0);
        }
    }

    [Fact]
    public void CartPolePreset_HasTheZooHyperparameters()
    {
        Preset preset = Presets.Load("dqn-cartpole");
        DqnConfig c = DqnConfig.Schema.Apply(new DqnConfig(), preset.Values, preset.Source);
        Assert.Equal(("CartPole-v1", 50_000L, 2.3e-3, 64, 100_000, 1000L, 0.99), (c.Env, c.TotalTimesteps, c.LearningRate, c.BatchSize, c.BufferSize, c.LearningStarts, c.Gamma));
        Assert.Equal((10, 256, 128, 0.16, 0.04), (c.TargetUpdateInterval, c.TrainFreq, c.GradientSteps, c.ExplorationFraction, c.ExplorationFinalEps));
        Assert.Equal([256, 256], c.NetArch);
    }

    [Fact]
    public void UnknownKey_IsRefused_NamingCloseMatchesAndEveryValidKey()
    {
        var e = Assert.Throws<ConfigException>(() => DqnConfig.Schema.Apply(new DqnConfig(), [new("learnin_rate", "0.1")], "my.yaml"));
        Assert.Contains("my.yaml: unknown dqn key 'learnin_rate'. Did you mean 'learning_rate'?", e.Message, StringComparison.Ordinal);
        Assert.Contains("Valid keys: env, env_options, n_envs,", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gamma=1.5", "--set: gamma = '1.5' is out of range: must be a number in [0, 1].")]
    [InlineData("batch_size=0", "--set: batch_size = '0' is out of range: must be an integer in [1, 1048576].")]
    [InlineData("batch_size=abc", "--set: batch_size = 'abc' is invalid: expected an integer")]
    [InlineData("loss=l1", "--set: loss = 'l1' is out of range: must be one of huber, mse.")]
    [InlineData("gradient_steps=0", "--set: gradient_steps = '0' is out of range: must be -1 or an integer >= 1.")]
    [InlineData("net_arch=[64, -1]", "--set: net_arch = ['64', '-1'] is out of range: must be a list like [256, 256] of integers in [1, 65536] (or []).")]
    [InlineData("device=gpu", "--set: device = 'gpu' is out of range: must be cpu, cuda or cuda:N.")]
    [InlineData("learning_rate", "--set expects key=value, got 'learning_rate'.")]
    public void InvalidOverrides_AreRefused_NamingKeyValueAndAllowedRange(string assignment, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => DqnConfig.Schema.ApplyOverride(new DqnConfig(), assignment));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overrides_ParseNumbersListsBooleansAndNull()
    {
        var schema = DqnConfig.Schema;
        DqnConfig c = new DqnConfig() with { StopAtReturn = 10 };
        c = schema.ApplyOverride(c, "learning_rate=2.3e-3");
        c = schema.ApplyOverride(c, "n_timesteps=1_000_000");
        c = schema.ApplyOverride(c, "net_arch=[64, 32]");
        c = schema.ApplyOverride(c, "double_q=true");
        c = schema.ApplyOverride(c, "stop_at_return=null");
        c = schema.ApplyOverride(c, "net_arch=[]");
        Assert.Equal((2.3e-3, 1_000_000L, true, (double?)null), (c.LearningRate, c.TotalTimesteps, c.DoubleQ, c.StopAtReturn));
        Assert.Empty(c.NetArch);
    }

    [Fact]
    public void Overrides_SetAWholeMap_OrOneEntryOfIt()
    {
        R2d2Config preset = R2d2Config.FromPreset("r2d2-tmaze", "env_options={corridor_length: 50, west_penalty: 0.05}");
        Assert.Equal(["corridor_length", "west_penalty"], preset.EnvOptions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("50", "0.05"), (preset.EnvOptions["corridor_length"], preset.EnvOptions["west_penalty"]));

        // A dotted key changes one entry and keeps the rest.
        var schema = DqnConfig.Schema;
        DqnConfig c = new DqnConfig() with { EnvOptions = new Dictionary<string, object> { ["corridor_length"] = 10, ["time_limit_factor"] = 2 } };
        c = schema.ApplyOverride(c, "env_options.corridor_length=200");
        c = schema.ApplyOverride(c, "env_options.west_penalty=0.05");
        Assert.Equal("200", c.EnvOptions["corridor_length"]);
        Assert.Equal(2, c.EnvOptions["time_limit_factor"]);
        Assert.Equal("0.05", c.EnvOptions["west_penalty"]);
        Assert.Empty(schema.ApplyOverride(c, "env_options={}").EnvOptions);
    }

    [Theory]
    [InlineData("seed.x=1", "--set: 'seed' is not a map, so 'seed.x' cannot set an entry of it; write --set seed=value.")]
    [InlineData("env_options.=1", "--set: 'env_options.=1' needs an entry name after 'env_options.' and a value, like env_options.name=value.")]
    [InlineData("env_optons.a=1", "--set: unknown dqn key 'env_optons'. Did you mean 'env_options'?")]
    [InlineData("env_options={: 3}", "'{: 3}' is not a map of name: value entries (at ': 3').")]
    public void BadMapOverrides_AreRefusedNamingTheKey(string assignment, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => DqnConfig.Schema.ApplyOverride(new DqnConfig(), assignment));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_RoundTripThroughTheSchema()
    {
        var original = new DqnConfig() with { Env = "Acrobot-v1", NetArch = [32], DoubleQ = true, StopAtReturn = -90, EnvOptions = new Dictionary<string, object> { ["g"] = 9.8 } };
        DqnConfig copy = DqnConfig.Schema.Apply(new DqnConfig(), DqnConfig.Schema.ToEntries(original), "entries");
        Assert.Equal(original.Env, copy.Env);
        Assert.Equal(original.NetArch, copy.NetArch);
        Assert.Equal(original.StopAtReturn, copy.StopAtReturn);
        Assert.Equal(9.8, copy.EnvOptions["g"]);
        Assert.Equal(DqnConfig.Schema.Keys.Count, DqnConfig.Schema.ToEntries(copy).Count);
    }

    [Fact]
    public void Yaml_WithEnvOptionsAndScientificNumbers_IsRead()
    {
        Preset p = Presets.Parse("# mine\nalgo: dqn\nenv: TMaze-v0\nenv_options: {length: 10}\nlearning_rate: !!float 1e-3\n", "mine", "mine.yaml");
        DqnConfig c = DqnConfig.Schema.Apply(new DqnConfig(), p.Values, p.Source);
        Assert.Equal(("dqn", "mine", 1e-3), (p.Algo, p.Description, c.LearningRate));
        Assert.Equal("10", c.EnvOptions["length"]);
    }

    [Theory]
    [InlineData("", "x.yaml: the file is empty")]
    [InlineData("env: CartPole-v1\n", "x.yaml: missing 'algo' key")]
    [InlineData("algo: dqn\nenv: [unclosed\n", "x.yaml: invalid YAML at line")]
    public void BadFiles_AreRefusedWithTheirSource(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Presets.Parse(yaml, "x", "x.yaml"));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownPresetName_ListsThePresets()
    {
        var e = Assert.Throws<ConfigException>(() => Presets.Load("dqn-cartpol"));
        Assert.Contains("No preset named 'dqn-cartpol'", e.Message, StringComparison.Ordinal);
        Assert.Contains("dqn-cartpole", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PresetFiles_LoadFromAPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rlmemory-preset-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "algo: dqn\nenv: Acrobot-v1\nn_timesteps: 500\n");
        try
        {
            Preset p = Presets.Load(path);
            DqnConfig c = DqnConfig.Schema.Apply(new DqnConfig(), p.Values, p.Source);
            Assert.Equal(("Acrobot-v1", 500L), (c.Env, c.TotalTimesteps));
        }
        finally
        {
            File.Delete(path);
        }

        var missing = Assert.Throws<ConfigException>(() => Presets.Load("/nonexistent/dir/x.yaml"));
        Assert.Contains("Cannot read the configuration file '/nonexistent/dir/x.yaml'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryKey_IsDocumentedInTrainingMdAndR2d2Md()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "RlMemory.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("RlMemory.sln not found above the test folder.");
        }

        string doc = File.ReadAllText(Path.Combine(root, "docs", "training.md"));
        foreach (string key in DqnConfig.Schema.Keys)
        {
            Assert.Contains($"| `{key}` |", doc, StringComparison.Ordinal);
        }

        string r2d2 = File.ReadAllText(Path.Combine(root, "docs", "r2d2.md"));
        foreach (string key in R2d2Config.Schema.Keys)
        {
            Assert.Contains($"| `{key}` |", r2d2, StringComparison.Ordinal);
        }
    }
}
