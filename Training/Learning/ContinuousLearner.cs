using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>
/// What SAC's and TD3's learners share, and what <see cref="ContinuousOffPolicyAlgorithm{TLearner, TAgent}"/> drives: the
/// exploring action, one gradient step, the optimizers, a private noise generator, and the statistics between log rows,
/// all of which a checkpoint carries.
/// </summary>
internal abstract class ContinuousLearner : IDisposable
{
    /// <param name="seed">Seeds the learner's noise generator (policy samples, target smoothing).</param>
    /// <param name="device">The learner's device.</param>
    /// <param name="statistics">The number of host sums between log rows (the last is the count of steps).</param>
    /// <param name="what">What the sums are, for messages.</param>
    protected ContinuousLearner(ulong seed, Device device, int statistics, string what)
    {
        Noise = new Generator(seed, CPU);
        Statistics = new StatisticSums(deviceSums: 0, hostSums: statistics, device, what);
    }

    /// <summary>The gradient steps taken (of the Q-networks).</summary>
    public abstract long Updates { get; }

    /// <summary>The networks a checkpoint holds, by name.</summary>
    public abstract IReadOnlyList<(string Name, nn.Module Module)> Networks { get; }

    /// <summary>The log columns of the algorithm.</summary>
    public abstract IReadOnlyList<string> Columns { get; }

    /// <summary>The optimizers, in a fixed order (their states and counters go into checkpoints).</summary>
    protected abstract IReadOnlyList<GradientStepper> Optimizers { get; }

    /// <summary>The learner's own generator.</summary>
    protected Generator Noise { get; }

    /// <summary>Sums between log rows; the last one counts the steps.</summary>
    protected StatisticSums Statistics { get; }

    /// <summary>Exploring actions in [−1, 1], [n, actions], for observations [n, obs], with noise from <paramref name="generator"/> (no gradients).</summary>
    public abstract Tensor Explore(Tensor observations, Generator generator);

    /// <summary>
    /// Before each exploring action: <paramref name="stepInBlock"/> counts the vector steps since the start of the
    /// current block of <c>train_freq</c> steps (0 right after a training phase, where SB3's <c>collect_rollouts</c>
    /// begins); gSDE draws its exploration matrices for <paramref name="envs"/> environments here from
    /// <paramref name="generator"/>.
    /// </summary>
    public virtual void BeforeExploring(int stepInBlock, int envs, Generator generator)
    {
    }

    /// <summary>One gradient step on <paramref name="batch"/> (actions in [−1, 1]); <paramref name="phaseStep"/> counts the steps of this training phase from 0.</summary>
    /// <exception cref="TrainingDivergedException">A loss or gradient norm is not finite; that network was not updated.</exception>
    public abstract void Step(TransitionBatch batch, long envStep, int phaseStep);

    /// <summary>The episode of environment <paramref name="env"/> ended (or every environment restarted, <paramref name="env"/> −1): a noise process with memory starts over.</summary>
    public virtual void EpisodeEnded(int env)
    {
    }

    /// <summary>The exploration process's state, for checkpoints (null when exploration keeps none).</summary>
    protected virtual double[]? ExplorationState
    {
        get => null;
        set
        {
        }
    }

    /// <summary>The values of a log row since the last one (its <see cref="Columns"/> but the learning rate).</summary>
    public abstract void AddLogValues(ICollection<KeyValuePair<string, double>> row);

    /// <summary>The learner's state for a checkpoint (the optimizers' states go to a file of their own).</summary>
    public ContinuousLearnerState GetState()
    {
        using Tensor noise = Noise.get_state();
        return new ContinuousLearnerState([.. Optimizers.Select(o => o.Updates)], noise.bytes.ToArray(), Statistics.Read(), ExplorationState);
    }

    /// <summary>The optimizers' states, in <see cref="Optimizers"/> order.</summary>
    public byte[][] OptimizerStates() => [.. Optimizers.Select(o => o.GetState())];

    /// <summary>Restores <see cref="GetState"/> and <see cref="OptimizerStates"/>.</summary>
    /// <exception cref="InvalidDataException">The state is for other optimizers or parameters, or is not finite.</exception>
    public void Restore(ContinuousLearnerState state, byte[][] optimizers)
    {
        if (state.Updates.Length != Optimizers.Count || optimizers.Length != Optimizers.Count)
        {
            throw new InvalidDataException($"The saved learner has {state.Updates.Length} optimizer counters and {optimizers.Length} optimizer states; this configuration has {Optimizers.Count} optimizers.");
        }

        for (int i = 0; i < Optimizers.Count; i++)
        {
            Optimizers[i].SetState(optimizers[i], state.Updates[i]);
        }

        Statistics.Restore(state.Statistics, state.Statistics.Length - 1);
        TorchGeneratorState.Set(Noise, state.Noise, "the saved learner noise generator state");
        ExplorationState = state.Exploration;
    }

    /// <summary>Switches gradients of <paramref name="module"/>'s parameters on or off (a critic while the policy learns through it).</summary>
    protected static void RequireGradients(nn.Module module, bool on)
    {
        foreach (var p in module.parameters())
        {
            p.requires_grad = on;
        }
    }

    /// <summary>Disposes the networks and optimizers (the derived learner's) and the generator and sums.</summary>
    public virtual void Dispose()
    {
        Noise.Dispose();
        Statistics.Dispose();
    }
}

/// <summary>A <see cref="ContinuousLearner"/>'s state in a checkpoint.</summary>
/// <param name="Updates">Each optimizer's step counter.</param>
/// <param name="Noise">The learner's generator.</param>
/// <param name="Statistics">The sums since the last log row.</param>
/// <param name="Exploration">The exploration process's state (Ornstein-Uhlenbeck noise, gSDE's exploration matrices), or null.</param>
internal sealed record ContinuousLearnerState(long[] Updates, byte[] Noise, double[] Statistics, double[]? Exploration = null)
{
    public string? Problem() =>
        Updates is null || Noise is null || Statistics is null || Statistics.Length == 0 ? "lacks the optimizer counters, the generator state or the statistics"
        : Updates.Any(u => u < 0) ? "has a negative counter"
        : null;
}
