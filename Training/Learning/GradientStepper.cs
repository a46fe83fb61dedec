using RlMemory.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>
/// One optimizer step as every learner takes it: refuse a loss that is not finite, back-propagate, clip the gradients'
/// norm, refuse a norm that is not finite (the weights stay as they were), then Adam's step. Counts the steps.
/// </summary>
internal sealed class GradientStepper : IDisposable
{
    private readonly FlatAdam _adam;
    private readonly double _maxGradNorm;
    private readonly string _network;
    private readonly (string Name, Parameter Parameter)[] _named;

    /// <param name="parameters">The parameters to train with their names (taken over by <see cref="FlatAdam"/>); the names appear in divergence messages.</param>
    /// <param name="learningRate">Adam's step size.</param>
    /// <param name="maxGradNorm">The gradient norm clip.</param>
    /// <param name="network">The network's name in divergence messages, e.g. <c>online network</c>.</param>
    /// <param name="epsilon">Adam's ε (SB3's PPO uses 1e-5).</param>
    public GradientStepper(IEnumerable<(string Name, Parameter Parameter)> parameters, double learningRate, double maxGradNorm, string network, double epsilon = 1e-8)
    {
        _named = [.. parameters];
        _adam = new FlatAdam(_named.Select(p => p.Parameter), learningRate, epsilon: epsilon);
        _maxGradNorm = maxGradNorm;
        _network = network;
    }

    /// <summary>The gradient steps taken.</summary>
    public long Updates { get; private set; }

    /// <summary>Adam's step size (schedules change it between phases).</summary>
    public double LearningRate
    {
        get => _adam.LearningRate;
        set => _adam.LearningRate = value;
    }

    /// <summary>
    /// Takes one step on <paramref name="loss"/>, whose value <paramref name="lossValue"/> the caller read.
    /// </summary>
    /// <param name="loss">The scalar loss with its graph.</param>
    /// <param name="lossValue">Its value on the host.</param>
    /// <param name="envStep">The environment step, for messages.</param>
    /// <param name="describeLoss">Says which input made a non-finite loss (called only then).</param>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is not finite; the weights are unchanged.</exception>
    public void Step(Tensor loss, double lossValue, long envStep, Func<string> describeLoss)
    {
        if (!double.IsFinite(lossValue))
        {
            throw new TrainingDivergedException(envStep, Updates, "loss", lossValue, describeLoss());
        }

        _adam.ZeroGrad();
        try
        {
            loss.backward();
        }
        catch (System.Runtime.InteropServices.ExternalException e) when (Agents.Recurrent.MemoryCore.TakeFusedBackwardError() is Exception cause)
        {
            _adam.ZeroGrad();
            throw new InvalidOperationException($"The {_network}'s memory core could not back-propagate at environment step {envStep}: {cause.Message}", new AggregateException(cause, e));
        }

        double norm = _adam.ClipGradNorm(_maxGradNorm);
        if (!double.IsFinite(norm))
        {
            string detail = NonFiniteGradients();
            _adam.ZeroGrad();
            throw new TrainingDivergedException(envStep, Updates, "gradient norm", norm, $"a gradient of the {_network} is not finite ({detail})");
        }

        _adam.Step();
        Updates++;
    }

    /// <summary>Names the parameters whose gradient holds NaN or infinity, e.g. <c>core.interfaceLayer.bias: 3 of 69 values</c>.</summary>
    private string NonFiniteGradients()
    {
        var parts = new List<string>();
        foreach (var (name, p) in _named)
        {
            using Tensor? grad = p.grad;
            if (grad is null)
            {
                continue;
            }

            using Tensor bad = grad.isfinite().logical_not().sum();
            long count = bad.item<long>();
            if (count > 0)
            {
                parts.Add($"{name}: {count} of {grad.numel()} values");
            }
        }

        return parts.Count == 0 ? "no single gradient is, their norm overflowed" : string.Join("; ", parts);
    }

    /// <summary>Adam's state (moments and step count) as bytes.</summary>
    public byte[] GetState() => _adam.GetState();

    /// <summary>Restores Adam's state and the step counter.</summary>
    /// <exception cref="InvalidDataException">The state is for other parameters.</exception>
    public void SetState(byte[] state, long updates)
    {
        _adam.SetState(state);
        Updates = updates;
    }

    /// <summary>Which of <paramref name="tensors"/> is not finite, as "the sampled {what} {name} contain NaN or infinity".</summary>
    public static string FirstNonFinite(string what, IEnumerable<(string Name, Tensor Value)> tensors)
    {
        foreach (var (name, value) in tensors)
        {
            if (value.is_floating_point() && !value.isfinite().all().item<bool>())
            {
                return $"the sampled {what}{name} contain NaN or infinity";
            }
        }

        return "the loss overflowed";
    }

    /// <inheritdoc />
    public void Dispose() => _adam.Dispose();
}
