using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>
/// What DQN's and R2D2's learners share: the online and target networks (the target frozen, starting as a copy), the
/// gradient step, target updates, and the loss and mean-Q statistics between log rows. A derived learner computes its
/// loss and calls <see cref="Apply"/>.
/// </summary>
/// <typeparam name="TNetwork">The Q-network.</typeparam>
internal abstract class QLearner<TNetwork> : IDisposable
    where TNetwork : nn.Module
{
    // Device: the sum of each step's mean Q. Host: the sum of the losses, the steps.
    private readonly StatisticSums _statistics;

    /// <param name="create">Builds a network (called twice: online, then target).</param>
    /// <param name="device">The device of the networks.</param>
    /// <param name="learningRate">Adam's step size.</param>
    /// <param name="maxGradNorm">The gradient norm clip.</param>
    /// <param name="name">The algorithm, for messages.</param>
    protected QLearner(Func<TNetwork> create, Device device, double learningRate, double maxGradNorm, string name)
    {
        Online = create();
        try
        {
            Target = create();
            TargetNetworks.Start(Target, Online);
            Optimizer = new GradientStepper(Online.named_parameters(), learningRate, maxGradNorm, "online network");
            _statistics = new StatisticSums(deviceSums: 1, hostSums: 2, device, $"{name} statistics (Q sum, loss sum, steps)");
        }
        catch
        {
            Target?.Dispose();
            Optimizer?.Dispose();
            Online.Dispose();
            throw;
        }
    }

    /// <summary>The network that learns and acts.</summary>
    public TNetwork Online { get; }

    /// <summary>The network the targets bootstrap from.</summary>
    public TNetwork Target { get; }

    /// <summary>The gradient steps taken.</summary>
    public long Updates => Optimizer.Updates;

    /// <summary>The optimizer.</summary>
    protected GradientStepper Optimizer { get; }

    /// <summary>Moves the target network towards the online one: θ' ← τθ + (1 − τ)θ' (τ = 1: a copy).</summary>
    public void UpdateTarget(double tau = 1) => TargetNetworks.Update(Online, Target, tau);

    /// <summary>Mean loss and mean Q since the last call (NaN when no step ran), then starts over.</summary>
    public (double Loss, double Q) TakeStatistics()
    {
        double[] sums = _statistics.Take();
        return sums[2] == 0 ? (double.NaN, double.NaN) : (sums[1] / sums[2], sums[0] / sums[2]);
    }

    /// <summary>The statistics since the last <see cref="TakeStatistics"/>, for checkpoints.</summary>
    public double[] StatisticsState() => _statistics.Read();

    /// <summary>Restores statistics saved by <see cref="StatisticsState"/>.</summary>
    /// <exception cref="InvalidDataException">They are not three finite numbers with a non-negative step count.</exception>
    public void RestoreStatistics(double[] state) => _statistics.Restore(state, 2);

    /// <summary>The optimizer's state as bytes.</summary>
    public byte[] OptimizerState() => Optimizer.GetState();

    /// <summary>Restores the optimizer's state and the update counter.</summary>
    public void RestoreOptimizer(byte[] state, long updates) => Optimizer.SetState(state, updates);

    /// <summary>Takes a gradient step on <paramref name="loss"/> and records it with the step's mean Q.</summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is not finite; nothing was updated.</exception>
    protected void Apply(Tensor loss, Tensor meanQ, long envStep, Func<string> describeLoss)
    {
        double lossValue = loss.item<float>();
        Optimizer.Step(loss, lossValue, envStep, describeLoss);
        using (no_grad())
        {
            _statistics.Device.add_(meanQ.detach(), HeldScalars.One);
        }

        _statistics.Host[0] += lossValue;
        _statistics.Host[1]++;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Optimizer.Dispose();
        Online.Dispose();
        Target.Dispose();
        _statistics.Dispose();
    }
}
