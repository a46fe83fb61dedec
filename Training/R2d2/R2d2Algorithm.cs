using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Memory.Persistence;
using RlMemory.Training.Configuration;
using RlMemory.Training.Learning;
using static TorchSharp.torch;

namespace RlMemory.Training.R2d2;

/// <summary>
/// R2D2 as the run loop drives it: one batched forward pass advances every environment's recurrent state and picks
/// ε-greedy actions; the steps are cut into overlapping sequences stored with the state the actor had before each
/// (<see cref="SequenceReplayBuffer"/>); a training phase samples sequences (by priority, optionally) and sends the
/// η-mixed priorities back.
/// </summary>
internal sealed class R2d2Algorithm : QLearningAlgorithm<RecurrentQNetwork, SequenceBatch>
{
    private const string ActorStateKind = "R2d2ActorState";
    private const string ActorStateFile = "actor-state.rlmb";

    /// <summary>What to lower when the configuration does not fit in memory.</summary>
    private const string Lower = "buffer_size, sequence_length, hidden_size or encoder_sizes";

    private readonly R2d2Config _config;
    private readonly R2d2Learner _learner;
    private readonly SequenceReplayOptions _replayOptions;
    private readonly RecurrentQActor _actor;
    private SequenceReplayBuffer _replay;

    public R2d2Algorithm(R2d2Config config, AlgorithmContext<int> context)
        : base(config, config, tau: 1, "R2d2Networks", config.TorchThreads)
    {
        _config = config;
        CoreConfig core = config.CoreConfig!;
        var network = new RecurrentQNetworkConfig
        {
            ObservationSize = context.Envs.ObservationSize,
            ActionCount = context.ActionCount,
            Core = core,
            HeadSizes = config.HeadSizes,
            Dueling = config.Dueling,
        };

        // Stored per sequence: its steps (observation, action, reward, flags) and the recurrent state it starts from.
        long sequenceBytes = MemoryBudget.Multiply(config.BurnIn + config.SequenceLength, (context.Envs.ObservationSize * (long)sizeof(float)) + 32)
            + (MemoryBudget.StateFloats(core) * sizeof(float));
        var memory = new MemoryEstimate([MemoryBudget.Networks(ArchitectureSize.Minimum(network), copies: 1), ("replay", MemoryBudget.Multiply(config.BufferSize, sequenceBytes))]);
        MemoryBudget.Require(memory, Lower);
        try
        {
            _learner = MemoryBudget.Allocate(() => new R2d2Learner(network, context.Device, config), memory, Lower);
        }
        catch (NotSupportedException e)
        {
            throw new ConfigException($"core = '{config.Core}' cannot be built: {e.Message}", e);
        }

        _replayOptions = new SequenceReplayOptions
        {
            Capacity = config.BufferSize,
            BurnIn = config.BurnIn,
            LearningLength = config.SequenceLength,
            Overlap = config.Overlap,
            ObservationShape = [.. context.Envs.SingleObservationSpace.Shape],
            NumEnvs = config.NumEnvs,
            StateSpec = _learner.Online.StateSpec,
            Device = context.Device,
            Seed = (ulong)config.Seed + 2,
            Prioritized = config.Prioritized,
            Priority = new PriorityOptions { Alpha = config.PriorityExponent },
            Eta = config.PriorityEta,

            // A sequence whose valid steps all lie in the burn-in gives the learner nothing: drop it.
            MinSequenceLength = config.BurnIn + 1,
        };
        _replay = BuildReplay(() => new SequenceReplayBuffer(_replayOptions), memory, Lower, _learner);

        _actor = new RecurrentQActor(_learner.Online, config.NumEnvs, seed: (ulong)config.Seed + 1);
        Agent = new RecurrentDqnAgent(_learner.Online, config.Env);
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> Columns { get; } =
        ["rollout/exploration_rate", "train/loss", "train/q_values", "train/n_updates", "train/learning_rate", "replay/sequences"];

    /// <inheritdoc cref="ITrainingAlgorithm.Agent" />
    public override RecurrentDqnAgent Agent { get; }

    /// <summary>The online recurrent Q-network.</summary>
    public RecurrentQNetwork Online => _learner.Online;

    /// <summary>The sequences in replay.</summary>
    public int SequenceCount => _replay.Count;

    /// <inheritdoc />
    protected override QLearner<RecurrentQNetwork> Learner => _learner;

    /// <inheritdoc />
    protected override IReplayBuffer<SequenceBatch> Replay => _replay;

    /// <inheritdoc />
    protected override IExploringActor Actor => _actor;

    /// <inheritdoc />
    public override void EpisodesBegin(ReadOnlySpan<float> observations, bool restart)
    {
        // A restart flushes the open sequences, and every row of the actor's state starts from zero.
        base.EpisodesBegin(observations, restart);
        if (restart)
        {
            _actor.ResetAll();
        }
    }

    /// <inheritdoc />
    public override void AddLogValues(long step, ICollection<KeyValuePair<string, double>> row)
    {
        base.AddLogValues(step, row);
        row.Add(new("replay/sequences", _replay.Count));
    }

    /// <inheritdoc />
    protected override void ChooseActions(long step, ReadOnlySpan<float> observations, Span<int> actions, double epsilon)
    {
        // One batched forward pass for every environment advances every row of the recurrent state.
        base.ChooseActions(step, observations, actions, epsilon);
        CheckActorState(step);
    }

    /// <inheritdoc />
    protected override void Remember(in VectorStep<int> transition)
    {
        // The buffer cuts sequences, skips the autoreset steps, and keeps the state the actor had before each
        // sequence's first step. Rows whose next step begins an episode restart from zero.
        _replay.Add(transition, _actor.PreviousState);
        _actor.ResetRows(_replay.NextStepBeginsEpisode);
    }

    /// <inheritdoc />
    protected override void Train(long step)
    {
        for (int g = 0; g < _config.GradientSteps; g++)
        {
            using var scope = NewDisposeScope();
            SequenceBatch batch = _replay.Sample(_config.BatchSize, _config.Prioritized ? _config.ImportanceSamplingExponent : 0);
            Tensor tdErrors = _learner.Step(batch, step);
            if (_config.Prioritized)
            {
                _replay.UpdatePriorities(batch.Indices, tdErrors, batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength));
            }
        }
    }

    /// <inheritdoc />
    protected override void SaveReplay(string folder, bool exact)
    {
        base.SaveReplay(folder, exact);

        // The actor's recurrent states belong with the environments: one without the other is no exact resume.
        if (exact)
        {
            RecurrentState state = _actor.State;
            using var writer = BufferFileWriter.Create(Path.Combine(folder, ActorStateFile), ActorStateKind, 1, "{}");
            for (int i = 0; i < state.Tensors.Count; i++)
            {
                using Tensor host = state.Tensors[i].detach().cpu().contiguous();
                writer.WriteSection(state.Spec.Parts[i].Name, host, host.shape[0]);
            }

            writer.Commit();
        }
    }

    /// <inheritdoc />
    protected override void LoadReplay(string folder, bool exact)
    {
        SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(Path.Combine(folder, "replay"), _replayOptions);
        _replay.Dispose();
        _replay = loaded;
        if (!exact)
        {
            return;
        }

        string path = Path.Combine(folder, ActorStateFile);
        using BufferFileReader reader = BufferFileReader.Open(path);
        if (reader.Kind != ActorStateKind)
        {
            throw new InvalidDataException($"{path} holds a {reader.Kind}, not an {ActorStateKind}.");
        }

        RecurrentStateSpec spec = _actor.State.Spec;
        using var scope = NewDisposeScope();
        var parts = new List<(string, Tensor)>(spec.Parts.Count);
        foreach (RecurrentStatePart part in spec.Parts)
        {
            reader.Expect(part.Name, part.DType, [_config.NumEnvs, .. part.Shape]);
            Tensor host = empty([_config.NumEnvs, .. part.Shape], part.DType, CPU);
            reader.ReadInto(part.Name, host);
            parts.Add((part.Name, host));
        }

        using var state = new RecurrentState(parts);
        _actor.SetState(state);
    }

    /// <summary>Stops with a divergence naming the part when the actor's recurrent state is no longer finite.</summary>
    private void CheckActorState(long step)
    {
        RecurrentState state = _actor.State;
        if (state.IsFinite())
        {
            return;
        }

        string part = "?";
        using (var scope = NewDisposeScope())
        {
            for (int i = 0; i < state.Tensors.Count; i++)
            {
                if (state.Tensors[i].is_floating_point() && !state.Tensors[i].isfinite().all().item<bool>())
                {
                    part = state.Spec.Parts[i].Name;
                    break;
                }
            }
        }

        // The state is bad, not the learner: the checkpoint leaves the environments and the actor's state out.
        throw new TrainingDivergedException(
            step, _learner.Updates, "recurrent state", double.NaN,
            $"the actor's recurrent state (part '{part}') contains NaN or infinity after acting on the observations at step {step}")
        {
            FromEnvironments = true,
        };
    }
}
