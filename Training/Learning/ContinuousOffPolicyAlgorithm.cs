using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Agents.Continuous;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>
/// The off-policy loop of SAC and TD3, following Stable-Baselines3's: uniformly random actions in the Box until
/// <c>learning_starts</c> (unless the configuration lets the policy act there), then the learner's exploring actions (one batched forward pass for every environment); each
/// step's transitions go into the device replay with the actions in [−1, 1] (the environments get them rescaled into
/// the Box's bounds); every <c>train_freq</c> vector steps past <c>learning_starts</c>, once the replay holds a batch, a
/// training phase of <c>gradient_steps</c> updates. A derived algorithm builds the learner and the agent.
/// </summary>
/// <typeparam name="TLearner">The learner (SAC's, TD3's).</typeparam>
/// <typeparam name="TAgent">The agent acting with the learner's policy.</typeparam>
internal abstract class ContinuousOffPolicyAlgorithm<TLearner, TAgent> : ITrainingAlgorithm<float[]>
    where TLearner : ContinuousLearner
    where TAgent : class, IContinuousAgent
{
    private const string NetworksFile = "networks.rlmb";
    private const string OptimizerFile = "optimizer.bin";

    /// <summary>Torch threads while acting: one small forward pass per vector step.</summary>
    private const int ActingThreads = 1;

    private readonly ContinuousOffPolicyConfig _config;
    private readonly string _networksKind;
    private readonly ReplayBufferOptions _replayOptions;
    private readonly ActionBounds _bounds;
    private readonly Generator _acting;
    private readonly Tensor _observations;
    private readonly float[] _squashed;
    private readonly int _numEnvs;
    private readonly int _gradientSteps;
    private readonly int _learningThreads;
    private readonly int _actingThreads;
    private ReplayBuffer _replay;
    private long _vectorSteps;

    /// <param name="config">The run's settings.</param>
    /// <param name="context">The environments and the device.</param>
    /// <param name="networksKind">The kind of the checkpoint's network file, e.g. <c>SacNetworks</c>.</param>
    /// <param name="networkParameters">At least this many parameters are in the learner's networks (for the memory check).</param>
    /// <param name="learner">Builds the learner.</param>
    /// <param name="agent">Builds the agent on the learner's policy.</param>
    protected ContinuousOffPolicyAlgorithm(
        ContinuousOffPolicyConfig config, AlgorithmContext<float[]> context, string networksKind, long networkParameters, Func<TLearner> learner, Func<TLearner, TAgent> agent)
    {
        _config = config;
        _networksKind = networksKind;
        Box box = context.ActionBox;
        ActionSize = box.Size;
        _bounds = new ActionBounds(box.Low.ToArray(), box.High.ToArray());
        _numEnvs = config.NumEnvs;
        int observationSize = context.Envs.ObservationSize;
        _learningThreads = TrainingRun.LearningThreads(config.TorchThreads, Environment.ProcessorCount, out _);
        _actingThreads = TrainingRun.LearningThreads(ActingThreads, Environment.ProcessorCount, out _);
        torch.set_num_threads(_actingThreads);

        // Stored per transition: the observation and the next one, the action, reward, flags.
        long transitionBytes = (((observationSize * 2L) + ActionSize) * sizeof(float)) + 32;
        var memory = new MemoryEstimate([MemoryBudget.Networks(networkParameters, copies: 2), ("replay", MemoryBudget.Multiply(config.BufferSize, transitionBytes))]);
        const string lower = "buffer_size or net_arch";
        MemoryBudget.Require(memory, lower);
        Learner = MemoryBudget.Allocate(learner, memory, lower);
        try
        {
            _replayOptions = new ReplayBufferOptions
            {
                Capacity = config.BufferSize,
                ObservationShape = [.. context.Envs.SingleObservationSpace.Shape],
                Action = ActionSpec.Continuous(ActionSize),
                NumEnvs = config.NumEnvs,
                Gamma = config.Gamma,
                NSteps = config.NSteps,
                Device = context.Device,
                Seed = (ulong)config.Seed + 2,
            };
            _replay = MemoryBudget.Allocate(() => new ReplayBuffer(_replayOptions), memory, lower);
            _acting = new Generator((ulong)config.Seed + 1, CPU);
            _observations = empty([config.NumEnvs, observationSize], ScalarType.Float32, context.Device).DetachFromDisposeScope();
            Agent = agent(Learner);
        }
        catch
        {
            _replay?.Dispose();
            _acting?.Dispose();
            _observations?.Dispose();
            Learner.Dispose();
            throw;
        }

        _squashed = new float[config.NumEnvs * ActionSize];
        _gradientSteps = config.GradientStepsPerPhase;
    }

    /// <inheritdoc cref="ITrainingAlgorithm{TAction}.Agent" />
    public TAgent Agent { get; }

    /// <inheritdoc />
    IAgent<float[]> ITrainingAlgorithm<float[]>.Agent => Agent;

    /// <summary>The learner (for the trainer's properties).</summary>
    internal TLearner Learner { get; }

    /// <summary>Floats in one action.</summary>
    protected int ActionSize { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> Columns => [.. Learner.Columns, "train/learning_rate"];

    /// <inheritdoc />
    public long Updates => Learner.Updates;

    /// <inheritdoc />
    public IReadOnlyList<(string Name, nn.Module Module)> Networks => Learner.Networks;

    /// <inheritdoc />
    public bool LearningDue { get; private set; }

    /// <inheritdoc />
    public bool Collecting => false;

    /// <inheritdoc />
    public bool LogsAfterLearning => false;

    /// <summary>
    /// The policy's architecture for this run: <paramref name="config"/>'s widths, the environments' observation size
    /// and action bounds, which must be finite (<paramref name="algorithm"/> names the algorithm in the message).
    /// </summary>
    /// <exception cref="Configuration.ConfigException">A bound of the action space is infinite.</exception>
    protected static ContinuousActorConfig ActorConfig(ContinuousOffPolicyConfig config, AlgorithmContext<float[]> context, string algorithm)
    {
        ActionSpaces.RequireFinite(context.ActionBox, config.Env, algorithm);
        return new()
        {
            ObservationSize = context.Envs.ObservationSize,
            Low = context.ActionBox.Low.ToArray(),
            High = context.ActionBox.High.ToArray(),
            HiddenSizes = config.NetArch,
        };
    }

    /// <inheritdoc />
    public void EpisodesBegin(ReadOnlySpan<float> observations, bool restart)
    {
        if (restart)
        {
            _replay.BeginNewEpisodes();
            Learner.EpisodeEnded(-1);
        }
    }

    /// <inheritdoc />
    public void Act(long step, ReadOnlySpan<float> observations, Span<float[]> actions)
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            Tensor squashed;
            if (step < _config.LearningStarts && !_config.PolicyActsInWarmup)
            {
                // Uniform in [−1, 1]: the Box sampled uniformly, as SB3 does before learning starts (bounded boxes).
                using Scalar two = 2.ToScalar(), one = 1.ToScalar();
                squashed = rand([_numEnvs, ActionSize], ScalarType.Float32, CPU, generator: _acting).mul_(two).sub_(one);
            }
            else
            {
                Tensor host = _observations.device_type == DeviceType.CPU ? _observations : _observations.cpu();
                observations.CopyTo(MemoryMarshal.Cast<byte, float>(host.bytes));
                if (host.Handle != _observations.Handle)
                {
                    _observations.copy_(host);
                }

                // SB3's collect_rollouts starts a block of train_freq vector steps after each training phase.
                Learner.BeforeExploring((int)(_vectorSteps % _config.TrainFreq), _numEnvs, _acting);
                squashed = Learner.Explore(_observations, _acting).cpu();
            }

            MemoryMarshal.Cast<byte, float>(squashed.bytes).CopyTo(_squashed);
        }

        if (Array.Exists(_squashed, x => !float.IsFinite(x)))
        {
            throw new TrainingDivergedException(step, Learner.Updates, "action", double.NaN, "the policy produced a NaN or infinite action");
        }

        for (int i = 0; i < actions.Length; i++)
        {
            _bounds.Rescale(_squashed.AsSpan(i * ActionSize, ActionSize), actions[i]);
        }
    }

    /// <inheritdoc />
    public void Observe(long step, in VectorStep<float[]> transition)
    {
        // The replay keeps the actions in [−1, 1] (what the critics read), and skips the autoreset steps itself; a NaN
        // or infinite reward or observation is the environments' fault, and the learner's state is still good.
        var stored = new VectorStep<float>(transition.Observations, _squashed, transition.Rewards, transition.Terminations, transition.Truncations, transition.NextObservations);
        try
        {
            _replay.Add(stored);
        }
        catch (ArgumentException e)
        {
            throw new TrainingDivergedException(step + _numEnvs, Learner.Updates, "transition", double.NaN, e.Message) { FromEnvironments = true };
        }

        for (int i = 0; i < _numEnvs; i++)
        {
            if (transition.Terminations[i] || transition.Truncations[i])
            {
                Learner.EpisodeEnded(i);
            }
        }

        _vectorSteps++;
        LearningDue = _vectorSteps % _config.TrainFreq == 0 && step + _numEnvs > _config.LearningStarts && _replay.Count >= _config.BatchSize;
    }

    /// <inheritdoc />
    public void Learn(long step, ReadOnlySpan<float> observations)
    {
        LearningDue = false;
        torch.set_num_threads(_learningThreads);
        try
        {
            for (int g = 0; g < _gradientSteps; g++)
            {
                using var scope = NewDisposeScope();
                TransitionBatch batch = _replay.Sample(_config.BatchSize);
                Learner.Step(batch, step, g);
            }
        }
        finally
        {
            torch.set_num_threads(_actingThreads);
        }
    }

    /// <inheritdoc />
    public void AddLogValues(long step, ICollection<KeyValuePair<string, double>> row)
    {
        Learner.AddLogValues(row);
        row.Add(new("train/learning_rate", _config.LearningRate));
    }

    /// <inheritdoc />
    public JsonNode Save(string folder, bool exact)
    {
        ModuleFile.Save(Path.Combine(folder, NetworksFile), _networksKind, 1, "{}", [.. Networks]);
        using (var writer = new BinaryWriter(File.Create(Path.Combine(folder, OptimizerFile))))
        {
            byte[][] optimizers = Learner.OptimizerStates();
            writer.Write(optimizers.Length);
            foreach (byte[] optimizer in optimizers)
            {
                writer.Write(optimizer.Length);
                writer.Write(optimizer);
            }
        }

        _replay.Save(Path.Combine(folder, "replay"));
        using Tensor acting = _acting.get_state();
        var state = new ContinuousOffPolicyState(_vectorSteps, acting.bytes.ToArray(), Learner.GetState());
        return JsonSerializer.SerializeToNode(state, TrainingJsonContext.Default.ContinuousOffPolicyState)!;
    }

    /// <inheritdoc />
    public void Restore(AlgorithmCheckpoint checkpoint, bool exact)
    {
        ContinuousOffPolicyState state = checkpoint.Value(TrainingJsonContext.Default.ContinuousOffPolicyState, s => s.Problem());
        ModuleFile.Load(checkpoint.File(NetworksFile), _networksKind, [.. Networks]);
        Learner.Restore(state.Learner, ReadOptimizers(checkpoint.File(OptimizerFile)));
        ReplayBuffer loaded = ReplayBuffer.Load(Path.Combine(checkpoint.Folder, "replay"), _replayOptions);
        _replay.Dispose();
        _replay = loaded;
        _vectorSteps = state.VectorSteps;
        TorchGeneratorState.Set(_acting, state.Acting, "the saved acting generator state");
    }

    private static byte[][] ReadOptimizers(string path)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            int count = reader.ReadInt32();
            if (count is < 0 or > 16)
            {
                throw new InvalidDataException($"{path} claims {count} optimizers.");
            }

            var states = new byte[count][];
            for (int i = 0; i < count; i++)
            {
                int length = reader.ReadInt32();
                if (length < 0 || length > reader.BaseStream.Length)
                {
                    throw new InvalidDataException($"{path}: optimizer {i} claims {length} bytes.");
                }

                states[i] = reader.ReadBytes(length);
                if (states[i].Length != length)
                {
                    throw new InvalidDataException($"{path} is truncated (optimizer {i}).");
                }
            }

            return states;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} is truncated.", e);
        }
    }

    /// <summary>Disposes the replay, the generator, the agent and the learner.</summary>
    public void Dispose()
    {
        _replay.Dispose();
        _acting.Dispose();
        _observations.Dispose();
        Agent.Dispose();
        Learner.Dispose();
    }
}

/// <summary>The state of a <see cref="ContinuousOffPolicyAlgorithm{TLearner, TAgent}"/> in a checkpoint.</summary>
/// <param name="VectorSteps">Vector steps taken (the training cadence counts them).</param>
/// <param name="Acting">The acting generator (random warm-up actions and exploration noise).</param>
/// <param name="Learner">The learner's counters, generator and statistics.</param>
internal sealed record ContinuousOffPolicyState(long VectorSteps, byte[] Acting, ContinuousLearnerState Learner)
{
    public string? Problem() =>
        VectorSteps < 0 ? "has a negative counter"
        : Acting is null || Learner is null ? "lacks the acting generator or the learner's state"
        : Learner.Problem();
}
