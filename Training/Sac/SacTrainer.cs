using RlMemory.Agents.Continuous;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Sac;

/// <summary>
/// Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications") for environments with
/// continuous (Box) actions: twin Q-networks with Polyak-averaged targets, a tanh-squashed Gaussian policy rescaled into
/// the Box's bounds, and automatic entropy tuning. Train-frequency, gradient-step and target-interval semantics follow
/// Stable-Baselines3's SAC, so rl-baselines3-zoo hyperparameters carry over.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new SacTrainer(SacConfig.FromPreset("sac-pendulum"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("pendulum.rlagent");
/// </code>
/// </example>
public sealed class SacTrainer : Trainer<SacConfig, SacAgent>
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "sac";

    /// <summary>A SAC run of <paramref name="config"/> (see <see cref="Trainer{TConfig, TAgent}"/> for resuming and what is refused).</summary>
    public SacTrainer(SacConfig config, TrainerOptions? options = null)
        : base(Algo, "SAC", SacConfig.Schema, config, options, c => c.ValidateCombinations(), c => $"SAC on {c.Env} (seed {c.Seed})", (SacConfig c, AlgorithmContext<float[]> context) => new SacAlgorithm(c, context))
    {
    }

    /// <summary>The current entropy coefficient α.</summary>
    public double EntropyCoefficient => Sac.Learner.Alpha;

    /// <summary>The entropy the learned α aims at.</summary>
    public double TargetEntropy => Sac.Learner.TargetEntropy;

    private SacAlgorithm Sac => (SacAlgorithm)Algorithm;
}
