using RlMemory.Agents;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Dqn;

/// <summary>
/// Deep Q-learning (Mnih et al. 2015) with the usual switches: Double DQN, dueling heads, n-step returns,
/// prioritized replay, Huber or MSE loss, hard or Polyak target updates. Train-frequency, gradient-step and
/// target-interval semantics follow Stable-Baselines3's DQN, so rl-baselines3-zoo hyperparameters carry over.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new DqnTrainer(DqnConfig.FromPreset("dqn-cartpole"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("cartpole.rlagent");
/// </code>
/// </example>
public sealed class DqnTrainer : Trainer<DqnConfig, DqnAgent>
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "dqn";

    /// <summary>A DQN run of <paramref name="config"/> (see <see cref="Trainer{TConfig, TAgent}"/> for resuming and what is refused).</summary>
    public DqnTrainer(DqnConfig config, TrainerOptions? options = null)
        : base(Algo, "DQN", DqnConfig.Schema, config, options, c => c.ValidateCombinations(), c => $"DQN on {c.Env} (seed {c.Seed})", (c, context) => new DqnAlgorithm(c, context))
    {
    }

    /// <summary>The online Q-network (what the agent acts with).</summary>
    public QNetwork Network => Dqn.Online;

    private DqnAlgorithm Dqn => (DqnAlgorithm)Algorithm;
}
