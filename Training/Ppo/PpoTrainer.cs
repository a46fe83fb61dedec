using RlMemory.Agents;
using RlMemory.Agents.ActorCritic;
using RlMemory.Memory;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Proximal Policy Optimization (Schulman et al. 2017) for discrete actions (for continuous ones:
/// <see cref="ContinuousPpoTrainer"/>; the command line's <c>ppo</c> picks by the environment), feed-forward or recurrent: rollouts of
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
        : base(Algo, "PPO", PpoConfig.Schema, config, options, c => c.ValidateCombinations(discrete: true), c => $"PPO on {c.Env} (seed {c.Seed})", (c, context) => new PpoAlgorithm(c, context))
    {
    }

    /// <summary>The actor-critic network (what the agent acts with).</summary>
    public ActorCriticNetwork Network => Ppo.Network;

    /// <summary>The rollouts trained on so far.</summary>
    public long Iterations => Ppo.Iterations;

    private PpoAlgorithm Ppo => (PpoAlgorithm)Algorithm;
}

/// <summary>
/// Proximal Policy Optimization for continuous (Box) actions: the same loop, learner and keys as <see cref="PpoTrainer"/>,
/// with a diagonal Gaussian policy whose log standard deviations are parameters independent of the state (SB3's
/// default), or generalized state-dependent exploration (<c>use_sde</c>, <c>sde_sample_freq</c>). As SB3, the actions
/// drawn are learned from as drawn and the environments receive them clipped to the Box's bounds; the agent plays the
/// mean. Feed-forward or recurrent (LSTM or memory core).
/// </summary>
/// <example>
/// <code>
/// using var trainer = new ContinuousPpoTrainer(PpoConfig.FromPreset("ppo-pendulum"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("pendulum.rlagent");
/// </code>
/// </example>
public sealed class ContinuousPpoTrainer : Trainer<PpoConfig, ContinuousPpoAgent>
{
    /// <summary>A PPO run of <paramref name="config"/> on an environment with continuous actions (see <see cref="Trainer{TConfig, TAgent}"/> for resuming and what is refused).</summary>
    public ContinuousPpoTrainer(PpoConfig config, TrainerOptions? options = null)
        : base(PpoTrainer.Algo, "PPO", PpoConfig.Schema, config, options, c => c.ValidateCombinations(discrete: false), c => $"PPO on {c.Env} (seed {c.Seed})", (PpoConfig c, AlgorithmContext<float[]> context) => new ContinuousPpoAlgorithm(c, context))
    {
    }

    /// <summary>The actor-critic network (what the agent acts with).</summary>
    public ActorCriticNetwork Network => ((ContinuousPpoAlgorithm)Algorithm).Network;

    /// <summary>The rollouts trained on so far.</summary>
    public long Iterations => ((ContinuousPpoAlgorithm)Algorithm).Iterations;
}
