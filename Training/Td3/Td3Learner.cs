using System.Runtime.InteropServices;
using RlMemory.Agents.Continuous;
using RlMemory.Memory;
using RlMemory.Training.Learning;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Training.Td3;

/// <summary>
/// The learning half of TD3, one gradient step as Stable-Baselines3's <c>TD3.train</c> takes it: the twin critics
/// towards r + γⁿ(1 − terminated)·min Q'(s', clip(μ'(s') + clip(ε, −c, c), −1, 1)), ε ∼ N(0, σ²) (target policy
/// smoothing); every <c>policy_delay</c>-th update, the policy to maximise Q₀(s, μ(s)), then the target policy and
/// critics by Polyak averaging. The smoothing noise comes from the learner's own generator.
/// </summary>
internal sealed class Td3Learner : ContinuousLearner
{
    // Host sums between log rows: actor loss, actor updates, critic loss, steps.
    private const int StepsIndex = 3;

    private readonly GradientStepper _actorOptimizer;
    private readonly GradientStepper _criticOptimizer;
    private readonly GradientStepper[] _optimizers;
    private readonly Td3Config _config;
    private readonly double[] _ou;

    /// <param name="actor">The policy's architecture.</param>
    /// <param name="device">The device.</param>
    /// <param name="config">The run's TD3 settings.</param>
    public Td3Learner(ContinuousActorConfig actor, Device device, Td3Config config)
        : base((ulong)config.Seed + 3, device, StepsIndex + 1, "TD3 statistics (actor loss, actor updates, critic loss, steps)")
    {
        _config = config;
        _ou = new double[config.NoiseType == "ornstein-uhlenbeck" ? config.NumEnvs * actor.ActionSize : 0];
        try
        {
            Actor = new DeterministicActor(actor, device);
            ActorTarget = new DeterministicActor(actor, device);
            TargetNetworks.Start(ActorTarget, Actor);
            Critic = new TwinCritic(actor.ObservationSize, actor.ActionSize, config.NetArch, device);
            CriticTarget = new TwinCritic(actor.ObservationSize, actor.ActionSize, config.NetArch, device);
            TargetNetworks.Start(CriticTarget, Critic);

            // SB3 clips no gradient in TD3: an infinite clip leaves them as they are, and a non-finite norm still stops training.
            _actorOptimizer = new GradientStepper(Actor.named_parameters(), config.LearningRate, double.PositiveInfinity, "policy network");
            _criticOptimizer = new GradientStepper(Critic.named_parameters(), config.LearningRate, double.PositiveInfinity, "Q-networks");
            _optimizers = [_actorOptimizer, _criticOptimizer];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The policy.</summary>
    public DeterministicActor Actor { get; }

    /// <summary>The target policy (Polyak average of <see cref="Actor"/>).</summary>
    public DeterministicActor ActorTarget { get; }

    /// <summary>The twin Q-networks.</summary>
    public TwinCritic Critic { get; }

    /// <summary>The target Q-networks (Polyak averages of <see cref="Critic"/>).</summary>
    public TwinCritic CriticTarget { get; }

    /// <inheritdoc />
    public override long Updates => _criticOptimizer.Updates;

    /// <summary>The policy updates taken.</summary>
    public long PolicyUpdates => _actorOptimizer.Updates;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, nn.Module Module)> Networks =>
        [("actor", Actor), ("actor_target", ActorTarget), ("critic", Critic), ("critic_target", CriticTarget)];

    /// <inheritdoc />
    public override IReadOnlyList<string> Columns { get; } = ["train/actor_loss", "train/critic_loss", "train/n_updates"];

    /// <inheritdoc />
    protected override IReadOnlyList<GradientStepper> Optimizers => _optimizers;

    /// <summary>
    /// TD3 explores with its deterministic policy plus noise, clipped to [−1, 1]: none, Gaussian, or Stable-Baselines3's
    /// Ornstein-Uhlenbeck process per environment (θ = 0.15, dt = 0.01, σ = <c>noise_std</c>: x ← x − θ·x·dt + σ√dt·ε,
    /// from 0 at every episode's start).
    /// </summary>
    public override Tensor Explore(Tensor observations, Generator generator)
    {
        using var scope = NewDisposeScope();
        Tensor actions = Actor.forward(observations);
        switch (_config.NoiseType)
        {
            case "normal":
                using (Scalar std = _config.NoiseStd.ToScalar())
                {
                    actions = actions.add(randn(actions.shape, actions.dtype, actions.device, generator: generator).mul_(std)).clamp_(-1, 1);
                }

                break;
            case "ornstein-uhlenbeck":
                const double theta = 0.15, dt = 1e-2;
                using (Tensor draws = randn([_ou.Length], ScalarType.Float64, CPU, generator: generator))
                {
                    ReadOnlySpan<double> epsilon = MemoryMarshal.Cast<byte, double>(draws.bytes);
                    double scale = _config.NoiseStd * Math.Sqrt(dt);
                    for (int i = 0; i < _ou.Length; i++)
                    {
                        _ou[i] += (theta * (0 - _ou[i]) * dt) + (scale * epsilon[i]);
                    }
                }

                Tensor noise = tensor(_ou, actions.shape, ScalarType.Float64).to(actions.dtype, actions.device);
                actions = actions.add(noise).clamp_(-1, 1);
                break;
        }

        return actions.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override void EpisodeEnded(int env)
    {
        int d = _ou.Length / Math.Max(_config.NumEnvs, 1);
        if (env < 0)
        {
            Array.Clear(_ou);
        }
        else if (_ou.Length > 0)
        {
            Array.Clear(_ou, env * d, d);
        }
    }

    /// <inheritdoc />
    protected override double[]? ExplorationState
    {
        get => _ou.Length == 0 ? null : (double[])_ou.Clone();
        set
        {
            if ((value?.Length ?? 0) != _ou.Length || (value is not null && !value.All(double.IsFinite)))
            {
                throw new InvalidDataException($"The saved exploration noise has {value?.Length ?? 0} values; this configuration's has {_ou.Length} (finite).");
            }

            value?.CopyTo(_ou, 0);
        }
    }

    /// <inheritdoc />
    public override void Step(TransitionBatch batch, long envStep, int phaseStep)
    {
        using var scope = NewDisposeScope();

        // 1. The critics, towards the clipped double-Q target of the smoothed target policy (γⁿ is the replay's discount).
        Tensor target;
        using (no_grad())
        {
            using Scalar sigma = _config.TargetPolicyNoise.ToScalar(), one = 1.ToScalar();
            Tensor noise = randn(batch.Actions.shape, batch.Actions.dtype, batch.Actions.device, generator: Noise).mul_(sigma).clamp_(-_config.TargetNoiseClip, _config.TargetNoiseClip);
            Tensor nextActions = ActorTarget.forward(batch.NextObservations).add(noise).clamp_(-1, 1);
            var (q0Next, q1Next) = CriticTarget.forward(batch.NextObservations, nextActions);
            target = batch.Rewards.add(batch.Discounts.mul(batch.Terminated.neg().add(one)).mul(minimum(q0Next, q1Next)));
        }

        var (q0, q1) = Critic.forward(batch.Observations, batch.Actions);
        Tensor criticLoss = functional.mse_loss(q0, target).add(functional.mse_loss(q1, target));
        double criticLossValue = criticLoss.item<float>();
        _criticOptimizer.Step(criticLoss, criticLossValue, envStep, () => GradientStepper.FirstNonFinite(string.Empty,
        [
            ("observations", batch.Observations), ("next observations", batch.NextObservations), ("actions", batch.Actions),
            ("rewards", batch.Rewards), ("TD targets", target),
        ]));

        Span<double> sums = Statistics.Host;
        sums[2] += criticLossValue;
        sums[StepsIndex]++;

        // 2. Every policy_delay-th update (SB3 counts from 1): the policy through Q₀, then every target network.
        if (_criticOptimizer.Updates % _config.PolicyDelay != 0)
        {
            return;
        }

        RequireGradients(Critic, false);
        try
        {
            var (q0Pi, _) = Critic.forward(batch.Observations, Actor.forward(batch.Observations));
            Tensor actorLoss = q0Pi.mean().neg();
            double actorLossValue = actorLoss.item<float>();
            _actorOptimizer.Step(actorLoss, actorLossValue, envStep, () => "the policy's Q-values are not finite");
            sums[0] += actorLossValue;
            sums[1]++;
        }
        finally
        {
            RequireGradients(Critic, true);
        }

        TargetNetworks.Update(Critic, CriticTarget, _config.Tau);
        TargetNetworks.Update(Actor, ActorTarget, _config.Tau);
    }

    /// <inheritdoc />
    public override void AddLogValues(ICollection<KeyValuePair<string, double>> row)
    {
        double[] s = Statistics.Take();
        if (s[1] > 0)
        {
            row.Add(new("train/actor_loss", s[0] / s[1]));
        }

        row.Add(new("train/critic_loss", s[StepsIndex] == 0 ? double.NaN : s[2] / s[StepsIndex]));
        row.Add(new("train/n_updates", Updates));
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _actorOptimizer?.Dispose();
        _criticOptimizer?.Dispose();
        Actor?.Dispose();
        ActorTarget?.Dispose();
        Critic?.Dispose();
        CriticTarget?.Dispose();
        base.Dispose();
    }
}
