using RlMemory.Agents.Continuous;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.Td3;

/// <summary>
/// Twin Delayed DDPG (Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods") for
/// environments with continuous (Box) actions: twin Q-networks (clipped double Q), delayed policy and target updates,
/// target policy smoothing, a deterministic tanh policy rescaled into the Box's bounds, Gaussian exploration noise.
/// Semantics follow Stable-Baselines3's TD3, so rl-baselines3-zoo hyperparameters carry over.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new Td3Trainer(Td3Config.FromPreset("td3-pendulum"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("pendulum.rlagent");
/// </code>
/// </example>
public sealed class Td3Trainer : Trainer<Td3Config, Td3Agent>
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "td3";

    /// <summary>A TD3 run of <paramref name="config"/> (see <see cref="Trainer{TConfig, TAgent}"/> for resuming and what is refused).</summary>
    public Td3Trainer(Td3Config config, TrainerOptions? options = null)
        : base(Algo, "TD3", Td3Config.Schema, config, options, c => c.ValidateCombinations(), c => $"TD3 on {c.Env} (seed {c.Seed})", (Td3Config c, AlgorithmContext<float[]> context) => new Td3Algorithm(c, context))
    {
    }

    /// <summary>The policy updates taken (one per <c>policy_delay</c> Q-network updates).</summary>
    public long PolicyUpdates => ((Td3Algorithm)Algorithm).Learner.PolicyUpdates;
}
