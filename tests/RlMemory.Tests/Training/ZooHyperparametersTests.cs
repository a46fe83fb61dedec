using RlMemory.App;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;
using RlMemory.Training.Ppo;

namespace RlMemory.Tests.Training;

/// <summary>
/// rl-baselines3-zoo hyperparameter files read as they are: entries per environment, <c>!!float</c> numbers,
/// <c>policy</c>, <c>policy_kwargs</c> as a Python <c>dict(...)</c>, <c>lin_</c> schedules, <c>normalize</c>.
/// </summary>
public sealed class ZooHyperparametersTests : IDisposable
{
    // Written in the zoo's format (its keys, tags and Python expressions), values chosen for the test.
    private const string DqnFile = """
        atari:
          env_wrapper:
            - stable_baselines3.common.atari_wrappers.AtariWrapper
          frame_stack: 4
          policy: 'CnnPolicy'

        # A comment, as the zoo writes them
        CartPole-v1:
          n_timesteps: !!float 4e4
          policy: 'MlpPolicy'
          learning_rate: !!float 1.5e-3
          batch_size: 32
          train_freq: 128
          gradient_steps: 64
          exploration_final_eps: 0.05
          policy_kwargs: "dict(net_arch=[128, 128])"

        Acrobot-v1:
          n_timesteps: 1000
          policy: 'MlpPolicy'
          learning_rate: lin_1e-3
        """;

    private const string PpoLstmFile = """
        CartPoleNoVel-v1:
          normalize: True
          n_envs: 4
          n_timesteps: !!float 2e4
          policy: 'MlpLstmPolicy'
          n_steps: 16
          batch_size: 32
          gamma: 0.97
          learning_rate: lin_0.002
          clip_range: lin_0.1
          policy_kwargs: "dict(
                            ortho_init=False,
                            activation_fn=nn.ReLU,
                            lstm_hidden_size=48,
                            enable_critic_lstm=False,
                            net_arch=dict(pi=[32], vf=[32])
                          )"
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-zoo-{Guid.NewGuid():N}");

    public ZooHyperparametersTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ADqnEntry_BecomesTheSameDqnConfiguration()
    {
        Assert.True(ZooHyperparameters.IsZooFile(DqnFile));
        Preset preset = ZooHyperparameters.Parse(DqnFile, "dqn.yml", "dqn", "CartPole-v1");
        Assert.Equal("dqn", preset.Algo);
        Assert.Empty(preset.Notes);
        var config = (DqnConfig)TrainerCatalog.Find("dqn").Configure(preset, []).Config;
        Assert.Equal("CartPole-v1", config.Env);
        Assert.Equal(40_000, config.TotalTimesteps);
        Assert.Equal(1.5e-3, config.LearningRate);
        Assert.Equal(32, config.BatchSize);
        Assert.Equal(128, config.TrainFreq);
        Assert.Equal(64, config.GradientSteps);
        Assert.Equal(0.05, config.ExplorationFinalEps);
        Assert.Equal([128, 128], config.NetArch);
    }

    [Fact]
    public void SacAndTd3Entries_BecomeTheSameConfigurations_AndGsdeIsRefusedForTd3()
    {
        // rl-baselines3-zoo 2.4's hyperparams/sac.yml and td3.yml entries, as they are.
        const string sac = """
            MountainCarContinuous-v0:
              n_timesteps: !!float 50000
              policy: 'MlpPolicy'
              learning_rate: !!float 3e-4
              buffer_size: 50000
              batch_size: 512
              ent_coef: 0.1
              train_freq: 32
              gradient_steps: 32
              gamma: 0.9999
              tau: 0.01
              learning_starts: 0
              use_sde: True
              policy_kwargs: "dict(log_std_init=-3.67, net_arch=[64, 64])"

            Pendulum-v1:
              n_timesteps: 20000
              policy: 'MlpPolicy'
              learning_rate: !!float 1e-3
            """;
        const string td3 = """
            MountainCarContinuous-v0:
              n_timesteps: 300000
              policy: 'MlpPolicy'
              noise_type: 'ornstein-uhlenbeck'
              noise_std: 0.5
              gradient_steps: 1
              train_freq: 1
              learning_rate: !!float 1e-3
              batch_size: 256
              policy_kwargs: "dict(net_arch=[400, 300])"
            """;
        var sacConfig = (RlMemory.Training.Sac.SacConfig)TrainerCatalog.Find("sac").Configure(ZooHyperparameters.Parse(sac, "sac.yml", "sac", "Pendulum-v1"), []).Config;
        Assert.Equal(("Pendulum-v1", 20_000L, 1e-3), (sacConfig.Env, sacConfig.TotalTimesteps, sacConfig.LearningRate));
        Assert.Equal(Entries(RlMemory.Training.Sac.SacConfig.Schema, RlMemory.Training.Sac.SacConfig.FromPreset("sac-pendulum") with { EvalFreq = sacConfig.EvalFreq }), Entries(RlMemory.Training.Sac.SacConfig.Schema, sacConfig));

        var sacMcc = (RlMemory.Training.Sac.SacConfig)TrainerCatalog.Find("sac").Configure(ZooHyperparameters.Parse(sac, "sac.yml", "sac", "MountainCarContinuous-v0"), []).Config;
        Assert.Equal(Entries(RlMemory.Training.Sac.SacConfig.Schema, RlMemory.Training.Sac.SacConfig.FromPreset("sac-mountaincar-continuous") with { EvalFreq = sacMcc.EvalFreq }), Entries(RlMemory.Training.Sac.SacConfig.Schema, sacMcc));
        Assert.Equal((true, -3.67, "0.1"), (sacMcc.UseSde, sacMcc.LogStdInit, sacMcc.EntCoef));

        var td3Config = (RlMemory.Training.Td3.Td3Config)TrainerCatalog.Find("td3").Configure(ZooHyperparameters.Parse(td3, "td3.yml", "td3", null), []).Config;
        Assert.Equal(Entries(RlMemory.Training.Td3.Td3Config.Schema, RlMemory.Training.Td3.Td3Config.FromPreset("td3-mountaincar-continuous") with { EvalFreq = td3Config.EvalFreq }), Entries(RlMemory.Training.Td3.Td3Config.Schema, td3Config));
        Assert.Equal(("ornstein-uhlenbeck", 0.5), (td3Config.NoiseType, td3Config.NoiseStd));

        var e = Assert.Throws<ConfigException>(() => ZooHyperparameters.Parse(td3.Replace("gradient_steps: 1", "use_sde: True", StringComparison.Ordinal), "td3.yml", "td3", null));
        Assert.Contains("'use_sde' has no counterpart in RlMemory's td3 (gSDE is in its ppo and sac)", e.Message, StringComparison.Ordinal);
    }

    private static string[] Entries<TConfig>(ConfigSchema<TConfig> schema, TConfig config)
        where TConfig : RlMemory.Training.RunConfig =>
        [.. schema.ToEntries(config).Select(e => $"{e.Key}: {YamlValues.Format(e.Value)}")];

    [Fact]
    public void APpoLstmEntry_MapsPolicySchedulesAndPolicyKwargs_AndNormalizesRewardsAsTheZooDoes()
    {
        Preset preset = ZooHyperparameters.Parse(PpoLstmFile, "ppo_lstm.yml", "ppo_lstm", env: null);
        Assert.Equal("ppo", preset.Algo);
        var config = (PpoConfig)TrainerCatalog.Find("ppo").Configure(preset, []).Config;
        Assert.Equal("CartPoleNoVel-v1", config.Env);
        Assert.Equal(4, config.NumEnvs);
        Assert.Equal(20_000, config.TotalTimesteps);
        Assert.Equal(0.97, config.Gamma);
        Assert.Equal(0.002, config.LearningRate);
        Assert.Equal("linear", config.LearningRateSchedule);
        Assert.Equal(0.1, config.ClipRange);
        Assert.Equal("linear", config.ClipRangeSchedule);
        Assert.Equal("lstm", config.Core);
        Assert.Empty(config.EncoderSizes);
        Assert.Equal(48, config.HiddenSize);
        Assert.Equal("mlp", config.Critic); // enable_critic_lstm=False
        Assert.Equal([32], config.NetArch);
        Assert.Equal("relu", config.ActivationFn);
        Assert.False(config.OrthoInit);
        Assert.True(config.NormalizeObservations);
        Assert.True(config.NormalizeReward); // the zoo's normalize: true is VecNormalize's defaults, norm_reward included
        Assert.Empty(preset.Notes);
    }

    [Fact]
    public void TheContinuousEntries_OfPpoAndPpoLstm_BecomeTheShippedPresets()
    {
        // rl-baselines3-zoo 2.4's hyperparams/ppo.yml and ppo_lstm.yml entries, as they are.
        const string ppo = """
            Pendulum-v1:
              n_envs: 4
              n_timesteps: !!float 1e5
              policy: 'MlpPolicy'
              n_steps: 1024
              gae_lambda: 0.95
              gamma: 0.9
              n_epochs: 10
              ent_coef: 0.0
              learning_rate: !!float 1e-3
              clip_range: 0.2
              use_sde: True
              sde_sample_freq: 4
            """;
        const string ppoLstm = """
            PendulumNoVel-v1:
              normalize: True
              n_envs: 4
              n_timesteps: !!float 1e5
              policy: 'MlpLstmPolicy'
              n_steps: 1024
              gae_lambda: 0.95
              gamma: 0.9
              n_epochs: 10
              ent_coef: 0.0
              learning_rate: !!float 1e-3
              clip_range: 0.2
              use_sde: True
              sde_sample_freq: 4
              policy_kwargs: "dict(
                                ortho_init=False,
                                activation_fn=nn.ReLU,
                                lstm_hidden_size=64,
                                enable_critic_lstm=True,
                                net_arch=dict(pi=[64], vf=[64])
                              )"
            """;
        const string mountainCar = """
            MountainCarContinuous-v0:
              normalize: true
              n_envs: 1
              n_timesteps: !!float 20000
              policy: 'MlpPolicy'
              batch_size: 256
              n_steps: 8
              gamma: 0.9999
              learning_rate: !!float 7.77e-05
              ent_coef: 0.00429
              clip_range: 0.1
              n_epochs: 10
              gae_lambda: 0.9
              max_grad_norm: 5
              vf_coef: 0.19
              use_sde: True
              policy_kwargs: "dict(log_std_init=-3.29, ortho_init=False)"
            """;
        foreach (var (text, file, algo, preset) in new[]
        {
            (ppo, "ppo.yml", "ppo", "ppo-pendulum"), (ppoLstm, "ppo_lstm.yml", "ppo_lstm", "ppo-pendulum-novel"),
            (mountainCar, "ppo.yml", "ppo", "ppo-mountaincar-continuous"),
        })
        {
            var config = (PpoConfig)TrainerCatalog.Find("ppo").Configure(ZooHyperparameters.Parse(text, file, algo, null), []).Config;
            Assert.True(config.UseSde);
            Assert.Equal(Entries(PpoConfig.Schema, PpoConfig.FromPreset(preset) with { EvalFreq = config.EvalFreq, EvalEpisodes = config.EvalEpisodes }), Entries(PpoConfig.Schema, config));
        }

        var logStd = (PpoConfig)TrainerCatalog.Find("ppo").Configure(ZooHyperparameters.Parse(mountainCar, "ppo.yml", "ppo", null), []).Config;
        Assert.Equal((-3.29, true, -1), (logStd.LogStdInit, logStd.NormalizeReward, logStd.SdeSampleFreq));
    }

    [Theory]
    [InlineData("dqn", "atari", "policy 'CnnPolicy' has no counterpart here")]
    [InlineData("dqn", null, "has hyperparameters for 2 environments; choose one with --env: CartPole-v1, Acrobot-v1")]
    [InlineData("dqn", "Pong-v5", "has no entry for 'Pong-v5'; it has: CartPole-v1, Acrobot-v1")]
    [InlineData("dqn", "Acrobot-v1", "learning_rate: lin_1e-3 is a linear schedule, which RlMemory's dqn does not have")]
    [InlineData("a2c", "CartPole-v1", "the zoo algorithm 'a2c' has no counterpart here")]
    public void WhatHasNoCounterpart_IsRefusedByName(string algo, string? env, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ZooHyperparameters.Parse(DqnFile, "dqn.yml", algo, env));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frame_stack: 4", "'frame_stack' has no counterpart in RlMemory")]
    [InlineData("policy_kwargs: \"dict(net_arch=dict(pi=[64], vf=[32]))\"", "gives the policy and the value heads the same widths")]
    [InlineData("policy_kwargs: \"dict(activation_fn=nn.ELU)\"", "activation_fn nn.ELU has no counterpart here")]
    [InlineData("policy_kwargs: \"dict(net_arch=[64, 64]\"", "expected ')' at position")]
    [InlineData("policy_kwargs: \"dict(features_extractor_class=NatureCNN)\"", "policy_kwargs features_extractor_class=NatureCNN has no counterpart in RlMemory's ppo")]
    public void BadPpoEntries_AreRefusedNamingTheKey(string line, string message)
    {
        string yaml = $"CartPole-v1:\n  policy: 'MlpPolicy'\n  {line}\n";
        var e = Assert.Throws<ConfigException>(() => ZooHyperparameters.Parse(yaml, "ppo.yml", "ppo", "CartPole-v1"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("ppo.yml [CartPole-v1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_TakesAZooFileAsItIs()
    {
        string file = Path.Combine(_dir, "dqn.yml");
        File.WriteAllText(file, DqnFile);
        string run = Path.Combine(_dir, "run");
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RlMemoryCli.Run(
            ["train", "--algo", "dqn", "--env", "CartPole-v1", "-f", file, "--steps", "600", "--set", "learning_starts=100", "--set", "eval_episodes=2", "--out", run, "--quiet"],
            output, error);
        Assert.True(code == 0, error.ToString());
        string saved = File.ReadAllText(Path.Combine(run, "config.yaml"));
        Assert.Contains("net_arch: [128, 128]", saved, StringComparison.Ordinal);
        Assert.Contains("learning_rate: 0.0015", saved, StringComparison.Ordinal);

        // The file given as the preset works too (the algorithm from its name); a wrong --algo is refused.
        var bad = new StringWriter();
        Assert.Equal(RlMemoryCli.InvalidInput, RlMemoryCli.Run(["train", file, "--algo", "a2c", "--env", "CartPole-v1", "--out", Path.Combine(_dir, "x")], new StringWriter(), bad));
        Assert.Contains("the zoo algorithm 'a2c' has no counterpart here", bad.ToString(), StringComparison.Ordinal);
    }
}
