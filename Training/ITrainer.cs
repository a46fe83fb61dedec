using RlMemory.Agents;

namespace RlMemory.Training;

/// <summary>A training run that scripts, the command line and callbacks can drive without knowing the algorithm.</summary>
public interface ITrainer : IDisposable
{
    /// <summary>The algorithm's name in presets and checkpoints, e.g. <c>dqn</c>.</summary>
    string Algo { get; }

    /// <summary>What trains, for titles: e.g. <c>R2D2 (memory core) on TMaze-v0 (seed 3)</c>.</summary>
    string Title { get; }

    /// <summary>The environment id trained on.</summary>
    string EnvId { get; }

    /// <summary>Environment steps taken so far (restored from a checkpoint when resuming).</summary>
    long Step { get; }

    /// <summary>The step budget of the run.</summary>
    long TotalTimesteps { get; }

    /// <summary>The gradient steps taken so far.</summary>
    long Updates { get; }

    /// <summary>
    /// The greedy agent that acts with the trainer's current weights: the same object on every call, sharing the
    /// weights (it sees every update) and owned by the trainer, which disposes it.
    /// </summary>
    IAgent Agent { get; }

    /// <summary>Every evaluation of the run so far.</summary>
    IReadOnlyList<EvaluationResult> Evaluations { get; }

    /// <summary>Every finished training episode: the environment step at which it ended and its return.</summary>
    IReadOnlyList<(long Step, double Return)> EpisodeReturns { get; }

    /// <summary>Trains until the budget is spent, a callback stops it, or <paramref name="cancellationToken"/> fires (then it checkpoints).</summary>
    TrainingResult Learn(CancellationToken cancellationToken = default);
}
