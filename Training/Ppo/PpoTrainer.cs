using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Memory;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Proximal Policy Optimization (Schulman et al. 2017) for discrete actions, feed-forward or recurrent: rollouts of
/// n_steps × n_envs in a <see cref="RolloutBuffer"/>, GAE(λ), n_epochs of minibatches with the clipped surrogate, a
/// (optionally clipped) value loss and an entropy bonus, gradient clipping and an optional KL early stop. Keys and
/// semantics follow Stable-Baselines3's PPO and sb3-contrib's RecurrentPPO, so rl-baselines3-zoo hyperparameters
/// carry over. A recurrent policy (any <see cref="Agents.Recurrent.RecurrentCore"/>) learns from whole sequences that
/// start from the stored recurrent state and reset it where episodes start inside them. The run finishes the rollout
/// that reaches the step budget.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new PpoTrainer(PpoConfig.FromPreset("ppo-cartpole-novel"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("novel.rlagent");
/// </code>
/// </example>
public sealed class PpoTrainer : Trainer<PpoConfig, PpoAgent>
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "ppo";

    /// <summary>A PPO run of <paramref name="config"/> (see <see cref="Trainer{TConfig, TAgent}"/> for resuming and what is refused).</summary>
    public PpoTrainer(PpoConfig config, TrainerOptions? options = null)
        : base(Algo, "PPO", PpoConfig.Schema, config, options, c => c.ValidateCombinations(), c => $"PPO on {c.Env} (seed {c.Seed})", (c, context) => new PpoAlgorithm(c, context))
    {
    }

    /// <summary>The actor-critic network (what the agent acts with).</summary>
    public ActorCriticNetwork Network => Ppo.Network;

    /// <summary>The rollouts trained on so far.</summary>
    public long Iterations => Ppo.Iterations;

    private PpoAlgorithm Ppo => (PpoAlgorithm)Algorithm;
}
