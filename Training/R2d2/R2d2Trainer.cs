using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using RlMemory.Training.Configuration;

namespace RlMemory.Training.R2d2;

/// <summary>
/// R2D2 (Kapturowski et al. 2019, "Recurrent Experience Replay in Distributed Reinforcement Learning") on one machine:
/// a recurrent Q-network acts ε-greedily in vector environments, carrying a recurrent state per environment; the steps
/// are cut into overlapping sequences stored with the actor's state at their start (<see cref="SequenceReplayBuffer"/>);
/// the learner samples sequences by priority, burns the state in without gradients, and learns on n-step Double-Q
/// targets through the invertible value rescaling, sending η-mixed sequence priorities back. Any recurrent core works
/// (<see cref="CoreConfig"/>). The loop's counting conventions are those of <see cref="Dqn.DqnTrainer"/>.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new R2d2Trainer(R2d2Config.FromPreset("r2d2-tmaze", "seed=1"));
/// TrainingResult result = trainer.Learn();
/// trainer.Agent.Save("tmaze.rlagent");
/// </code>
/// </example>
public sealed class R2d2Trainer : Trainer<R2d2Config, RecurrentDqnAgent>
{
    /// <summary>The algorithm name in checkpoints and presets.</summary>
    public const string Algo = "r2d2";

    /// <summary>An R2D2 run of <paramref name="config"/> (see <see cref="Trainer{TConfig, TAgent}"/> for resuming and what is refused).</summary>
    public R2d2Trainer(R2d2Config config, TrainerOptions? options = null)
        : base(Algo, "R2D2", R2d2Config.Schema, config, options, c => c.ValidateCombinations(), c => $"R2D2 ({c.CoreConfig}) on {c.Env} (seed {c.Seed})", (c, context) => new R2d2Algorithm(c, context))
    {
    }

    /// <summary>The online recurrent Q-network (what the agent acts with).</summary>
    public RecurrentQNetwork Network => R2d2.Online;

    /// <summary>The sequences in replay.</summary>
    public int ReplayCount => R2d2.SequenceCount;

    private R2d2Algorithm R2d2 => (R2d2Algorithm)Algorithm;
}
