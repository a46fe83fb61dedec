using RlMemory.Agents.Continuous;
using RlMemory.Memory;
using RlMemory.Training.Learning;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Sac;

/// <summary>
/// The learning half of SAC, one gradient step as Stable-Baselines3's <c>SAC.train</c> takes it: sample a ∼ π(·|s);
/// update log α towards the target entropy; the twin critics towards r + γⁿ(1 − terminated)(min Q'(s', a') − α log
/// π(a'|s')), a' ∼ π(·|s'); the policy to minimise α log π(a|s) − min Q(s, a) (with the just-updated critics); then,
/// every <c>target_update_interval</c> steps of a phase, the target critics by Polyak averaging. The policy's noise in
/// gradient steps comes from the learner's own generator (with gSDE, one exploration matrix per gradient step).
/// </summary>
internal sealed class SacLearner : ContinuousLearner
{
    // Host sums between log rows: actor loss, critic loss, α, α loss, steps.
    private const int StepsIndex = 4;

    private readonly GradientStepper _actorOptimizer;
    private readonly GradientStepper _criticOptimizer;
    private readonly GradientStepper? _entropyOptimizer;
    private readonly GradientStepper[] _optimizers;
    private readonly double _fixedEntCoef;
    private readonly double _tau;
    private readonly int _targetUpdateInterval;
    private readonly int _sdeSampleFreq;
    private Tensor? _exploration; // gSDE: the acting exploration matrices [envs, latent, actions]

    /// <param name="actor">The policy's architecture.</param>
    /// <param name="device">The device.</param>
    /// <param name="config">The run's SAC settings.</param>
    public SacLearner(ContinuousActorConfig actor, Device device, SacConfig config)
        : base((ulong)config.Seed + 3, device, StepsIndex + 1, "SAC statistics (actor loss, critic loss, entropy coefficient, its loss, steps)")
    {
        TargetEntropy = config.TargetEntropyFor(actor.ActionSize);
        _fixedEntCoef = config.InitialEntCoef;
        _tau = config.Tau;
        _targetUpdateInterval = config.TargetUpdateInterval;
        _sdeSampleFreq = config.SdeSampleFreq;
        try
        {
            Actor = new SquashedGaussianActor(actor, device);
            Critic = new TwinCritic(actor.ObservationSize, actor.ActionSize, config.NetArch, device);
            CriticTarget = new TwinCritic(actor.ObservationSize, actor.ActionSize, config.NetArch, device);
            TargetNetworks.Start(CriticTarget, Critic);
            EntCoef = new EntropyCoefficient(config.InitialEntCoef, device);

            // SB3 clips no gradient in SAC: an infinite clip leaves them as they are, and a non-finite norm still stops training.
            _actorOptimizer = new GradientStepper(Actor.named_parameters(), config.LearningRate, double.PositiveInfinity, "policy network");
            _criticOptimizer = new GradientStepper(Critic.named_parameters(), config.LearningRate, double.PositiveInfinity, "Q-networks");
            _entropyOptimizer = config.LearnsEntCoef
                ? new GradientStepper(EntCoef.named_parameters(), config.LearningRate, double.PositiveInfinity, "entropy coefficient")
                : null;
            _optimizers = _entropyOptimizer is null ? [_actorOptimizer, _criticOptimizer] : [_actorOptimizer, _criticOptimizer, _entropyOptimizer];
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

    /// <inheritdoc />
    public override long Updates => _criticOptimizer.Updates;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, nn.Module Module)> Networks =>
        [("actor", Actor), ("critic", Critic), ("critic_target", CriticTarget), ("ent_coef", EntCoef)];

    /// <inheritdoc />
    public override IReadOnlyList<string> Columns { get; } =
        ["train/actor_loss", "train/critic_loss", "train/ent_coef", "train/ent_coef_loss", "train/n_updates"];

    /// <inheritdoc />
    protected override IReadOnlyList<GradientStepper> Optimizers => _optimizers;

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

    /// <summary>
    /// gSDE (SB3's <c>reset_noise</c> in <c>collect_rollouts</c>): new exploration matrices, one per environment, at the
    /// start of each block of <c>train_freq</c> steps and every <c>sde_sample_freq</c> steps within it.
    /// </summary>
    public override void BeforeExploring(int stepInBlock, int envs, Generator generator)
    {
        if (!Actor.StateDependentNoise
            || (_exploration is not null && _exploration.shape[0] == envs && stepInBlock != 0 && (_sdeSampleFreq <= 0 || stepInBlock % _sdeSampleFreq != 0)))
        {
            return;
        }

        using (no_grad())
        {
            Tensor drawn = Actor.ExplorationMatrices(envs, generator).DetachFromDisposeScope();
            _exploration?.Dispose();
            _exploration = drawn;
        }
    }

    /// <summary>SAC explores with its stochastic policy: a ∼ π(·|s) (with gSDE, through the held exploration matrices).</summary>
    public override Tensor Explore(Tensor observations, Generator generator) => Actor.Sample(observations, generator, _exploration).Action;

    /// <summary>gSDE's acting exploration matrices (row-major [envs, latent, actions]), or null before the first is drawn or without gSDE.</summary>
    protected override double[]? ExplorationState
    {
        get
        {
            if (_exploration is null)
            {
                return null;
            }

            using Tensor host = _exploration.cpu();
            return [.. host.data<float>().Select(x => (double)x)];
        }

        set
        {
            _exploration?.Dispose();
            _exploration = null;
            if (value is null)
            {
                return;
            }

            long perEnv = (long)Actor.LatentWidth * Actor.Config.ActionSize;
            if (!Actor.StateDependentNoise || value.Length == 0 || value.Length % perEnv != 0 || !Array.TrueForAll(value, double.IsFinite))
            {
                throw new InvalidDataException($"The saved exploration state has {value.Length} values; this SAC policy {(Actor.StateDependentNoise ? $"holds finite gSDE matrices of {perEnv} values per environment" : "has no gSDE matrices")}.");
            }

            float[] values = [.. value.Select(x => (float)x)];
            _exploration = tensor(values, [value.Length / perEnv, Actor.LatentWidth, Actor.Config.ActionSize], device: Actor.parameters().First().device).DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public override void Step(TransitionBatch batch, long envStep, int phaseStep)
    {
        using var scope = NewDisposeScope();

        // gSDE: one exploration matrix per gradient step, for this batch's actions and the next ones (SB3's reset_noise).
        Tensor? exploration = Actor.StateDependentNoise ? Actor.ExplorationMatrices(1, Noise)[0] : null;
        var (actionsPi, logProb) = Actor.Sample(batch.Observations, Noise, exploration);

        // 1. The entropy coefficient, from the current policy's log-probabilities (α itself is taken before its update).
        Tensor alpha;
        double alphaLoss = 0;
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

        // 2. The critics, towards the soft TD target from the target critics (γⁿ is the replay's discount).
        Tensor target;
        using (no_grad())
        {
            var (nextActions, nextLogProb) = Actor.Sample(batch.NextObservations, Noise, exploration);
            var (q0Next, q1Next) = CriticTarget.forward(batch.NextObservations, nextActions);
            Tensor nextQ = minimum(q0Next, q1Next).sub(alpha.mul(nextLogProb));
            using Scalar one = 1.ToScalar();
            target = batch.Rewards.add(batch.Discounts.mul(batch.Terminated.neg().add(one)).mul(nextQ));
        }

        var (q0, q1) = Critic.forward(batch.Observations, batch.Actions);
        using Scalar half = 0.5.ToScalar();
        Tensor criticLoss = functional.mse_loss(q0, target).add(functional.mse_loss(q1, target)).mul(half);
        double criticLossValue = criticLoss.item<float>();
        _criticOptimizer.Step(criticLoss, criticLossValue, envStep, () => GradientStepper.FirstNonFinite(string.Empty,
        [
            ("observations", batch.Observations), ("next observations", batch.NextObservations), ("actions", batch.Actions),
            ("rewards", batch.Rewards), ("TD targets", target),
        ]));

        // 3. The policy, against the updated critics; their own gradients are not needed (nor computed).
        RequireGradients(Critic, false);
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
            RequireGradients(Critic, true);
        }

        if (phaseStep % _targetUpdateInterval == 0)
        {
            TargetNetworks.Update(Critic, CriticTarget, _tau);
        }

        Span<double> sums = Statistics.Host;
        sums[0] += actorLossValue;
        sums[1] += criticLossValue;
        sums[2] += alpha.item<float>();
        sums[3] += alphaLoss;
        sums[StepsIndex]++;
    }

    /// <inheritdoc />
    public override void AddLogValues(ICollection<KeyValuePair<string, double>> row)
    {
        double[] s = Statistics.Take();
        double n = s[StepsIndex];
        row.Add(new("train/actor_loss", n == 0 ? double.NaN : s[0] / n));
        row.Add(new("train/critic_loss", n == 0 ? double.NaN : s[1] / n));
        row.Add(new("train/ent_coef", n == 0 ? double.NaN : s[2] / n));
        if (_entropyOptimizer is not null)
        {
            row.Add(new("train/ent_coef_loss", n == 0 ? double.NaN : s[3] / n));
        }

        row.Add(new("train/n_updates", Updates));
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _actorOptimizer?.Dispose();
        _criticOptimizer?.Dispose();
        _entropyOptimizer?.Dispose();
        Actor?.Dispose();
        Critic?.Dispose();
        CriticTarget?.Dispose();
        EntCoef?.Dispose();
        _exploration?.Dispose();
        base.Dispose();
    }
}
