using RlMemory.Agents.Continuous;
using RlMemory.Memory;
using RlMemory.Training.Learning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Sac;

/// <summary>
/// The learning half of SAC, one gradient step as Stable-Baselines3's <c>SAC.train</c> takes it: sample a ∼ π(·|s);
/// update log α towards the target entropy; the twin critics towards r + γⁿ(1 − terminated)(min Q'(s', a') − α log
/// π(a'|s')), a' ∼ π(·|s'); the policy to minimise α log π(a|s) − min Q(s, a) (with the just-updated critics); then the
/// target critics by Polyak averaging. The policy's noise comes from the learner's own generator (saved in checkpoints).
/// </summary>
internal sealed class SacLearner : IDisposable
{
    // Host sums between log rows: actor loss, critic loss, α, α loss, steps.
    private const int StepsIndex = 4;

    private readonly GradientStepper _actorOptimizer;
    private readonly GradientStepper _criticOptimizer;
    private readonly GradientStepper? _entropyOptimizer;
    private readonly Generator _noise;
    private readonly double _fixedEntCoef;
    private readonly StatisticSums _statistics;
    private readonly Parameter[] _criticParameters;

    /// <param name="actor">The policy's architecture.</param>
    /// <param name="device">The device.</param>
    /// <param name="config">The run's SAC settings.</param>
    public SacLearner(SquashedGaussianActorConfig actor, Device device, SacConfig config)
    {
        TargetEntropy = config.TargetEntropyFor(actor.ActionSize);
        _fixedEntCoef = config.InitialEntCoef;
        Actor = new SquashedGaussianActor(actor, device);
        try
        {
            Critic = new TwinCritic(actor.ObservationSize, actor.ActionSize, config.NetArch, device);
            CriticTarget = new TwinCritic(actor.ObservationSize, actor.ActionSize, config.NetArch, device);
            CriticTarget.load_state_dict(Critic.state_dict());
            foreach (var p in CriticTarget.parameters())
            {
                p.requires_grad = false;
            }

            EntCoef = new EntropyCoefficient(config.InitialEntCoef, device);
            _criticParameters = [.. Critic.parameters()];

            // SB3 clips no gradient in SAC: an infinite clip leaves them as they are, and a non-finite norm still stops training.
            _actorOptimizer = new GradientStepper(Actor.named_parameters(), config.LearningRate, double.PositiveInfinity, "policy network");
            _criticOptimizer = new GradientStepper(Critic.named_parameters(), config.LearningRate, double.PositiveInfinity, "Q-networks");
            _entropyOptimizer = config.LearnsEntCoef
                ? new GradientStepper(EntCoef.named_parameters(), config.LearningRate, double.PositiveInfinity, "entropy coefficient")
                : null;
            _noise = new Generator((ulong)config.Seed + 3, CPU);
            _statistics = new StatisticSums(deviceSums: 0, hostSums: 5, device, "SAC statistics (actor loss, critic loss, entropy coefficient, its loss, steps)");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The policy.</summary>
    public SquashedGaussianActor Actor { get; }

    /// <summary>The twin Q-networks.</summary>
    public TwinCritic Critic { get; }

    /// <summary>The target Q-networks (Polyak averages of <see cref="Critic"/>).</summary>
    public TwinCritic CriticTarget { get; }

    /// <summary>log α (learned when the configuration says <c>auto</c>).</summary>
    public EntropyCoefficient EntCoef { get; }

    /// <summary>The entropy the learned α aims at.</summary>
    public double TargetEntropy { get; }

    /// <summary>The gradient steps taken (of the Q-networks).</summary>
    public long Updates => _criticOptimizer.Updates;

    /// <summary>The current α.</summary>
    public double Alpha
    {
        get
        {
            if (_entropyOptimizer is null)
            {
                return _fixedEntCoef;
            }

            using var scope = NewDisposeScope();
            return EntCoef.LogValue.detach().exp().item<float>();
        }
    }

    /// <summary>One gradient step on <paramref name="batch"/> (actions in [−1, 1]).</summary>
    /// <exception cref="TrainingDivergedException">A loss or gradient norm is not finite; that network was not updated.</exception>
    public void Step(TransitionBatch batch, long envStep)
    {
        using var scope = NewDisposeScope();
        var (actionsPi, logProb) = Actor.Sample(batch.Observations, _noise);

        // 1. The entropy coefficient, from the current policy's log-probabilities (α itself is taken before its update).
        Tensor alpha;
        double alphaLoss = double.NaN;
        if (_entropyOptimizer is not null)
        {
            alpha = EntCoef.LogValue.detach().exp();
            using Scalar targetEntropy = TargetEntropy.ToScalar();
            Tensor loss = EntCoef.LogValue.mul(logProb.detach().add(targetEntropy)).mean().neg();
            alphaLoss = loss.item<float>();
            _entropyOptimizer.Step(loss, alphaLoss, envStep, () => "the policy's log-probabilities are not finite");
        }
        else
        {
            alpha = tensor(_fixedEntCoef, ScalarType.Float32, batch.Observations.device);
        }

        // 2. The critics, towards the soft TD target from the target critics.
        Tensor target;
        using (no_grad())
        {
            var (nextActions, nextLogProb) = Actor.Sample(batch.NextObservations, _noise);
            var (q0Next, q1Next) = CriticTarget.forward(batch.NextObservations, nextActions);
            Tensor nextQ = minimum(q0Next, q1Next).sub(alpha.mul(nextLogProb));
            using Scalar one = 1.ToScalar();
            target = batch.Rewards.add(batch.Discounts.mul(batch.Terminated.neg().add(one)).mul(nextQ));
        }

        var (q0, q1) = Critic.forward(batch.Observations, batch.Actions);
        using Scalar halfScalar = 0.5.ToScalar();
        Tensor criticLoss = functional.mse_loss(q0, target).add(functional.mse_loss(q1, target)).mul(halfScalar);
        double criticLossValue = criticLoss.item<float>();
        _criticOptimizer.Step(criticLoss, criticLossValue, envStep, () => GradientStepper.FirstNonFinite(string.Empty,
        [
            ("observations", batch.Observations), ("next observations", batch.NextObservations), ("actions", batch.Actions),
            ("rewards", batch.Rewards), ("TD targets", target),
        ]));

        // 3. The policy, against the updated critics; their own gradients are not needed (nor computed).
        SetCriticGradients(false);
        double actorLossValue;
        try
        {
            var (q0Pi, q1Pi) = Critic.forward(batch.Observations, actionsPi);
            Tensor actorLoss = alpha.mul(logProb).sub(minimum(q0Pi, q1Pi)).mean();
            actorLossValue = actorLoss.item<float>();
            _actorOptimizer.Step(actorLoss, actorLossValue, envStep, () => "the policy's log-probabilities or Q-values are not finite");
        }
        finally
        {
            SetCriticGradients(true);
        }

        Span<double> sums = _statistics.Host;
        sums[0] += actorLossValue;
        sums[1] += criticLossValue;
        sums[2] += alpha.item<float>();
        sums[3] += double.IsNaN(alphaLoss) ? 0 : alphaLoss;
        sums[StepsIndex]++;
    }

    /// <summary>Moves the target critics towards the critics: θ' ← τθ + (1 − τ)θ'.</summary>
    public void UpdateTarget(double tau)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            using Scalar keep = (1 - tau).ToScalar(), take = tau.ToScalar();
            foreach (var (t, o) in CriticTarget.parameters().Zip(Critic.parameters()))
            {
                t.mul_(keep).add_(o, alpha: take);
            }
        }
    }

    /// <summary>Mean actor loss, critic loss, α and α loss since the last call (NaN when no step ran), then starts over.</summary>
    public (double ActorLoss, double CriticLoss, double EntCoef, double EntCoefLoss) TakeStatistics()
    {
        double[] s = _statistics.Take();
        double n = s[StepsIndex];
        return n == 0 ? (double.NaN, double.NaN, double.NaN, double.NaN) : (s[0] / n, s[1] / n, s[2] / n, s[3] / n);
    }

    /// <summary>The statistics since the last <see cref="TakeStatistics"/>, for checkpoints.</summary>
    public double[] StatisticsState() => _statistics.Read();

    /// <summary>Restores statistics saved by <see cref="StatisticsState"/>.</summary>
    /// <exception cref="InvalidDataException">They are not five finite numbers with a non-negative step count.</exception>
    public void RestoreStatistics(double[] state) => _statistics.Restore(state, StepsIndex);

    /// <summary>The three optimizers' states (policy, critics, entropy coefficient; the last empty when α is fixed).</summary>
    public byte[][] OptimizerStates() => [_actorOptimizer.GetState(), _criticOptimizer.GetState(), _entropyOptimizer?.GetState() ?? []];

    /// <summary>Restores the optimizers' states and their step counters.</summary>
    /// <exception cref="InvalidDataException">A state is for other parameters, or there are not three.</exception>
    public void RestoreOptimizers(byte[][] states, long actorUpdates, long criticUpdates, long entropyUpdates)
    {
        if (states is null || states.Length != 3)
        {
            throw new InvalidDataException("The saved SAC optimizer state must hold three optimizers (policy, Q-networks, entropy coefficient).");
        }

        _actorOptimizer.SetState(states[0], actorUpdates);
        _criticOptimizer.SetState(states[1], criticUpdates);
        _entropyOptimizer?.SetState(states[2], entropyUpdates);
    }

    /// <summary>The step counters of the three optimizers.</summary>
    public (long Actor, long Critic, long Entropy) UpdateCounts => (_actorOptimizer.Updates, _criticOptimizer.Updates, _entropyOptimizer?.Updates ?? 0);

    /// <summary>The learner's noise generator state (for checkpoints).</summary>
    public byte[] GetNoiseState()
    {
        using Tensor state = _noise.get_state();
        return state.bytes.ToArray();
    }

    /// <summary>Restores the learner's noise generator.</summary>
    public void SetNoiseState(ReadOnlySpan<byte> state) => TorchGeneratorState.Set(_noise, state, "SAC: the saved learner noise generator state");

    private void SetCriticGradients(bool on)
    {
        foreach (Parameter p in _criticParameters)
        {
            p.requires_grad = on;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _actorOptimizer?.Dispose();
        _criticOptimizer?.Dispose();
        _entropyOptimizer?.Dispose();
        _noise?.Dispose();
        _statistics?.Dispose();
        Actor?.Dispose();
        Critic?.Dispose();
        CriticTarget?.Dispose();
        EntCoef?.Dispose();
    }
}
