using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Agents.Continuous;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.Sac;

/// <summary>
/// SAC as the run loop drives it, following Stable-Baselines3's off-policy loop: uniformly random actions in the
/// Box until <c>learning_starts</c>, then actions sampled from the squashed Gaussian policy (one batched forward pass
/// for every environment); each step's transitions go into the device replay with the actions in [−1, 1] (the
/// environments get them rescaled into the Box's bounds); every <c>train_freq</c> vector steps past
/// <c>learning_starts</c> a training phase of <c>gradient_steps</c> updates, the target critics following every
/// <c>target_update_interval</c> of them.
/// </summary>
internal sealed class SacAlgorithm : ITrainingAlgorithm<float[]>
{
    private const string NetworksFile = "networks.rlmb";
    private const string NetworksKind = "SacNetworks";
    private const string OptimizerFile = "optimizer.bin";

    /// <summary>Torch threads while acting: one small forward pass per vector step.</summary>
    private const int ActingThreads = 1;

    private readonly SacConfig _config;
    private readonly SacLearner _learner;
    private readonly ReplayBufferOptions _replayOptions;
    private readonly Generator _acting;
    private readonly Tensor _observations;
    private readonly float[] _squashed;
    private readonly int _numEnvs;
    private readonly int _actionSize;
    private readonly int _observationSize;
    private readonly int _gradientSteps;
    private readonly int _learningThreads;
    private readonly int _actingThreads;
    private ReplayBuffer _replay;
    private long _vectorSteps;

    public SacAlgorithm(SacConfig config, AlgorithmContext<float[]> context)
    {
        _config = config;
        Box box = context.ActionBox;
        _numEnvs = config.NumEnvs;
        _actionSize = box.Size;
        _observationSize = context.Envs.ObservationSize;
        _learningThreads = TrainingRun.LearningThreads(config.TorchThreads, Environment.ProcessorCount, out _);
        _actingThreads = TrainingRun.LearningThreads(ActingThreads, Environment.ProcessorCount, out _);
        torch.set_num_threads(_actingThreads);
        var actor = new SquashedGaussianActorConfig
        {
            ObservationSize = _observationSize,
            Low = box.Low.ToArray(),
            High = box.High.ToArray(),
            HiddenSizes = config.NetArch,
        };

        // Stored per transition: the observation and the next one, the action, reward, flags.
        long transitionBytes = ((_observationSize * 2L) + _actionSize) * sizeof(float) + 32;
        long network = ArchitectureSize.Minimum(actor) + (2 * ArchitectureSize.Chain([_observationSize + _actionSize, .. config.NetArch, 1]));
        var memory = new MemoryEstimate([MemoryBudget.Networks(network, copies: 2), ("replay", MemoryBudget.Multiply(config.BufferSize, transitionBytes))]);
        const string lower = "buffer_size or net_arch";
        MemoryBudget.Require(memory, lower);
        _learner = MemoryBudget.Allocate(() => new SacLearner(actor, context.Device, config), memory, lower);
        try
        {
            _replayOptions = new ReplayBufferOptions
            {
                Capacity = config.BufferSize,
                ObservationShape = [.. context.Envs.SingleObservationSpace.Shape],
                Action = ActionSpec.Continuous(_actionSize),
                NumEnvs = config.NumEnvs,
                Gamma = config.Gamma,
                NSteps = config.NSteps,
                Device = context.Device,
                Seed = (ulong)config.Seed + 2,
            };
            _replay = MemoryBudget.Allocate(() => new ReplayBuffer(_replayOptions), memory, lower);
            _acting = new Generator((ulong)config.Seed + 1, CPU);
            _observations = empty([config.NumEnvs, _observationSize], ScalarType.Float32, context.Device).DetachFromDisposeScope();
        }
        catch
        {
            _replay?.Dispose();
            _learner.Dispose();
            throw;
        }

        _squashed = new float[config.NumEnvs * _actionSize];
        Agent = new SacAgent(_learner.Actor, config.Env);
        _gradientSteps = config.GradientSteps == -1 ? config.TrainFreq * config.NumEnvs : config.GradientSteps;
    }

    /// <inheritdoc cref="ITrainingAlgorithm{TAction}.Agent" />
    public SacAgent Agent { get; }

    /// <inheritdoc />
    IAgent<float[]> ITrainingAlgorithm<float[]>.Agent => Agent;

    /// <summary>The learner (for tests and the trainer's properties).</summary>
    internal SacLearner Learner => _learner;

    /// <inheritdoc />
    public IReadOnlyList<string> Columns { get; } =
        ["train/actor_loss", "train/critic_loss", "train/ent_coef", "train/ent_coef_loss", "train/n_updates", "train/learning_rate"];

    /// <inheritdoc />
    public long Updates => _learner.Updates;

    /// <inheritdoc />
    public IReadOnlyList<(string Name, nn.Module Module)> Networks =>
        [("actor", _learner.Actor), ("critic", _learner.Critic), ("critic_target", _learner.CriticTarget), ("ent_coef", _learner.EntCoef)];

    /// <inheritdoc />
    public bool LearningDue { get; private set; }

    /// <inheritdoc />
    public bool Collecting => false;

    /// <inheritdoc />
    public bool LogsAfterLearning => false;

    /// <inheritdoc />
    public void EpisodesBegin(ReadOnlySpan<float> observations, bool restart)
    {
        if (restart)
        {
            _replay.BeginNewEpisodes();
        }
    }

    /// <inheritdoc />
    public void Act(long step, ReadOnlySpan<float> observations, Span<float[]> actions)
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            Tensor squashed;
            if (step < _config.LearningStarts)
            {
                // Uniform in [−1, 1]: the Box sampled uniformly, as SB3 does before learning starts (bounded boxes).
                using Scalar two = 2.ToScalar(), one = 1.ToScalar();
                squashed = rand([_numEnvs, _actionSize], ScalarType.Float32, CPU, generator: _acting).mul_(two).sub_(one);
            }
            else
            {
                Tensor target = _observations.device_type == DeviceType.CPU ? _observations : _observations.cpu();
                observations.CopyTo(MemoryMarshal.Cast<byte, float>(target.bytes));
                if (target.Handle != _observations.Handle)
                {
                    _observations.copy_(target);
                }

                squashed = _learner.Actor.Sample(_observations, _acting).Action.cpu();
            }

            MemoryMarshal.Cast<byte, float>(squashed.bytes).CopyTo(_squashed);
        }

        if (!float.IsFinite(_squashed[0]) || Array.Exists(_squashed, x => !float.IsFinite(x)))
        {
            throw new TrainingDivergedException(step, _learner.Updates, "action", double.NaN, "the policy produced a NaN or infinite action");
        }

        for (int i = 0; i < actions.Length; i++)
        {
            _learner.Actor.Rescale(_squashed.AsSpan(i * _actionSize, _actionSize), actions[i]);
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
            throw new TrainingDivergedException(step + _numEnvs, _learner.Updates, "transition", double.NaN, e.Message) { FromEnvironments = true };
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
                _learner.Step(batch, step);
                if (g % _config.TargetUpdateInterval == 0)
                {
                    _learner.UpdateTarget(_config.Tau);
                }
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
        var (actorLoss, criticLoss, entCoef, entCoefLoss) = _learner.TakeStatistics();
        row.Add(new("train/actor_loss", actorLoss));
        row.Add(new("train/critic_loss", criticLoss));
        row.Add(new("train/ent_coef", entCoef));
        if (_config.LearnsEntCoef)
        {
            row.Add(new("train/ent_coef_loss", entCoefLoss));
        }

        row.Add(new("train/n_updates", _learner.Updates));
        row.Add(new("train/learning_rate", _config.LearningRate));
    }

    /// <inheritdoc />
    public JsonNode Save(string folder, bool exact)
    {
        ModuleFile.Save(Path.Combine(folder, NetworksFile), NetworksKind, 1, "{}", [.. Networks]);
        byte[][] optimizers = _learner.OptimizerStates();
        using (var writer = new BinaryWriter(File.Create(Path.Combine(folder, OptimizerFile))))
        {
            foreach (byte[] optimizer in optimizers)
            {
                writer.Write(optimizer.Length);
                writer.Write(optimizer);
            }
        }

        _replay.Save(Path.Combine(folder, "replay"));
        var (actorUpdates, criticUpdates, entropyUpdates) = _learner.UpdateCounts;
        using Tensor acting = _acting.get_state();
        var state = new SacState(_vectorSteps, actorUpdates, criticUpdates, entropyUpdates, acting.bytes.ToArray(), _learner.GetNoiseState(), _learner.StatisticsState());
        return JsonSerializer.SerializeToNode(state, TrainingJsonContext.Default.SacState)!;
    }

    /// <inheritdoc />
    public void Restore(AlgorithmCheckpoint checkpoint, bool exact)
    {
        SacState state = checkpoint.Value(TrainingJsonContext.Default.SacState, s => s.Problem());
        ModuleFile.Load(checkpoint.File(NetworksFile), NetworksKind, [.. Networks]);
        var optimizers = new byte[3][];
        try
        {
            using var reader = new BinaryReader(File.OpenRead(checkpoint.File(OptimizerFile)));
            for (int i = 0; i < optimizers.Length; i++)
            {
                int length = reader.ReadInt32();
                optimizers[i] = length < 0 || length > reader.BaseStream.Length ? throw new InvalidDataException($"optimizer {i} claims {length} bytes") : reader.ReadBytes(length);
                if (optimizers[i].Length != length)
                {
                    throw new InvalidDataException($"optimizer {i} is truncated");
                }
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{checkpoint.File(OptimizerFile)} is truncated.", e);
        }

        _learner.RestoreOptimizers(optimizers, state.ActorUpdates, state.CriticUpdates, state.EntropyUpdates);
        _learner.RestoreStatistics(state.Statistics);
        _learner.SetNoiseState(state.LearnerNoise);
        ReplayBuffer loaded = ReplayBuffer.Load(Path.Combine(checkpoint.Folder, "replay"), _replayOptions);
        _replay.Dispose();
        _replay = loaded;
        _vectorSteps = state.VectorSteps;
        TorchGeneratorState.Set(_acting, state.ActingNoise, "SAC: the saved acting generator state");
    }

    /// <summary>Disposes the replay, the generators, the agent and the learner.</summary>
    public void Dispose()
    {
        _replay.Dispose();
        _acting.Dispose();
        _observations.Dispose();
        Agent.Dispose();
        _learner.Dispose();
    }
}

/// <summary>The state of a <see cref="SacAlgorithm"/> in a checkpoint.</summary>
/// <param name="VectorSteps">Vector steps taken (the training cadence counts them).</param>
/// <param name="ActorUpdates">The policy optimizer's steps.</param>
/// <param name="CriticUpdates">The Q-networks' optimizer's steps.</param>
/// <param name="EntropyUpdates">The entropy coefficient optimizer's steps.</param>
/// <param name="ActingNoise">The acting generator (random warm-up actions and policy samples).</param>
/// <param name="LearnerNoise">The learner's generator (policy samples in gradient steps).</param>
/// <param name="Statistics">The learner's statistics since the last log row.</param>
internal sealed record SacState(long VectorSteps, long ActorUpdates, long CriticUpdates, long EntropyUpdates, byte[] ActingNoise, byte[] LearnerNoise, double[] Statistics)
{
    public string? Problem() =>
        VectorSteps < 0 || ActorUpdates < 0 || CriticUpdates < 0 || EntropyUpdates < 0 ? "has a negative counter"
        : ActingNoise is null || LearnerNoise is null || Statistics is null ? "lacks a generator state or the statistics"
        : null;
}
