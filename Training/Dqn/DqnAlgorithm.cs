using RlMemory.Agents;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;
using static TorchSharp.torch;

namespace RlMemory.Training.Dqn;

/// <summary>
/// DQN as the run loop drives it: ε-greedy actions from one batched forward pass, transitions into a uniform or
/// prioritized replay (n-step returns assembled by the buffer), and training phases of <c>gradient_steps</c> updates.
/// </summary>
internal sealed class DqnAlgorithm : QLearningAlgorithm<QNetwork, TransitionBatch>
{
    /// <summary>
    /// Torch threads while acting and evaluating: one small forward pass per vector step, where handing work to a
    /// second thread costs more than it saves. Learning uses <see cref="RunConfig.TorchThreads"/>.
    /// </summary>
    private const int SingleThread = 1;

    private readonly DqnConfig _config;
    private readonly DqnLearner _learner;
    private readonly ReplayBufferOptions _replayOptions;
    private readonly PriorityOptions? _priorities;
    private readonly BatchedActor _actor;
    private ReplayBuffer _replay;
    private readonly LinearSchedule _beta;
    private readonly int _gradientSteps;

    public DqnAlgorithm(DqnConfig config, AlgorithmContext<int> context)
        : base(config, config, config.Tau, "DqnNetworks", SingleThread)
    {
        _config = config;
        var network = new QNetworkConfig
        {
            ObservationSize = context.Envs.ObservationSize,
            ActionCount = context.ActionCount,
            HiddenSizes = config.NetArch,
            Dueling = config.Dueling,
        };

        // Stored per transition: the observation (and the next one, unless memory-saving), the action, reward, flags.
        long transitionBytes = (network.ObservationSize * sizeof(float) * (config.OptimizeMemoryUsage ? 1L : 2L)) + 32 + (config.Prioritized ? 16 : 0);
        var memory = new MemoryEstimate([MemoryBudget.Networks(ArchitectureSize.Minimum(network), copies: 1), ("replay", MemoryBudget.Multiply(config.BufferSize, transitionBytes))]);
        const string lower = "buffer_size or net_arch";
        MemoryBudget.Require(memory, lower);
        _learner = MemoryBudget.Allocate(() => new DqnLearner(network, context.Device, config.LearningRate, config.DoubleQ, config.Loss, config.MaxGradNorm), memory, lower);
        _replayOptions = new ReplayBufferOptions
        {
            Capacity = config.BufferSize,
            ObservationShape = [.. context.Envs.SingleObservationSpace.Shape],
            NumEnvs = config.NumEnvs,
            Gamma = config.Gamma,
            NSteps = config.NSteps,
            MemorySaving = config.OptimizeMemoryUsage,
            Device = context.Device,
            Seed = (ulong)config.Seed + 2,
        };
        _priorities = config.Prioritized ? new PriorityOptions { Alpha = config.PrioritizedAlpha, Epsilon = config.PrioritizedEps } : null;
        _replay = BuildReplay(() => new ReplayBuffer(_replayOptions, _priorities), memory, lower, _learner);

        _actor = new BatchedActor(_learner.Online, config.NumEnvs, seed: (ulong)config.Seed + 1);
        Agent = new DqnAgent(_learner.Online, config.Env);
        _beta = new LinearSchedule(config.PrioritizedBeta0, 1.0, config.TotalTimesteps);
        _gradientSteps = config.GradientStepsPerPhase;
    }

    /// <inheritdoc cref="ITrainingAlgorithm.Agent" />
    public override DqnAgent Agent { get; }

    /// <summary>The online Q-network.</summary>
    public QNetwork Online => _learner.Online;

    /// <inheritdoc />
    protected override QLearner<QNetwork> Learner => _learner;

    /// <inheritdoc />
    protected override IReplayBuffer<TransitionBatch> Replay => _replay;

    /// <inheritdoc />
    protected override IExploringActor Actor => _actor;

    /// <inheritdoc />
    protected override void Remember(in VectorStep<int> transition) => _replay.Add(transition);

    /// <summary>
    /// The gradient steps of one training phase. Neither the replay contents nor the target network change during
    /// the phase (both change with environment steps), so with uniform replay the minibatches of all steps are drawn
    /// at once and the target network evaluates all their next observations in one large forward pass, which uses the
    /// cores far better than many small ones. Prioritized replay changes its priorities after every step, so it
    /// samples step by step.
    /// </summary>
    protected override void Train(long step)
    {
        if (_replay.Prioritized || _gradientSteps == 1)
        {
            for (int g = 0; g < _gradientSteps; g++)
            {
                using var scope = NewDisposeScope();
                TransitionBatch batch = _replay.Sample(_config.BatchSize, _beta.ValueAt(step));
                Tensor? priorities = _learner.Step(batch, _replay.Prioritized, step);
                if (priorities is not null)
                {
                    _replay.UpdatePriorities(batch.Indices, priorities);
                }
            }

            return;
        }

        using var phase = NewDisposeScope();
        int batchSize = _config.BatchSize;
        TransitionBatch all = _replay.SampleBatches(batchSize, _gradientSteps);
        Tensor precomputed = _learner.Precompute(all);
        for (int g = 0; g < _gradientSteps; g++)
        {
            using var stepScope = NewDisposeScope();
            _learner.Step(all.Slice(g * batchSize, batchSize), wantPriorities: false, step, precomputed.narrow(0, g * batchSize, batchSize));
        }
    }

    /// <inheritdoc />
    protected override void LoadReplay(string folder, bool exact)
    {
        ReplayBuffer loaded = ReplayBuffer.Load(Path.Combine(folder, "replay"), _replayOptions, _priorities);
        _replay.Dispose();
        _replay = loaded;
    }
}
