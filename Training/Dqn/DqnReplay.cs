using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Training.Configuration;
using static TorchSharp.torch;

namespace RlMemory.Training.Dqn;

/// <summary>The DQN trainer's replay: a uniform or a prioritized buffer, chosen by the configuration.</summary>
internal sealed class DqnReplay : IDisposable
{
    private readonly ReplayBufferOptions _options;
    private readonly PriorityOptions _priorities;
    private UniformReplayBuffer? _uniform;
    private PrioritizedReplayBuffer? _prioritized;

    public DqnReplay(DqnConfig config, int[] observationShape, Device device)
    {
        _options = new ReplayBufferOptions
        {
            Capacity = config.BufferSize,
            ObservationShape = observationShape,
            NumEnvs = config.NumEnvs,
            Gamma = config.Gamma,
            NSteps = config.NSteps,
            MemorySaving = config.OptimizeMemoryUsage,
            Device = device,
            Seed = (ulong)config.Seed + 2,
        };
        _priorities = new PriorityOptions { Alpha = config.PrioritizedAlpha, Epsilon = config.PrioritizedEps };
        if (config.Prioritized)
        {
            _prioritized = new PrioritizedReplayBuffer(_options, _priorities);
        }
        else
        {
            _uniform = new UniformReplayBuffer(_options);
        }
    }

    public bool Prioritized => _prioritized is not null;

    public long Count => _uniform?.Count ?? _prioritized!.Count;

    public void Add(in VectorStep<int> t)
    {
        if (_uniform is not null)
        {
            _uniform.AddStep(t.Observations, t.Actions, t.Rewards, t.Terminations, t.Truncations, t.NextObservations);
        }
        else
        {
            _prioritized!.AddStep(t.Observations, t.Actions, t.Rewards, t.Terminations, t.Truncations, t.NextObservations);
        }
    }

    public TransitionBatch Sample(int batchSize, double beta) =>
        _uniform is not null ? _uniform.Sample(batchSize) : _prioritized!.Sample(batchSize, beta);

    public TransitionBatch SampleUniform(int batchSize, int batches) =>
        _uniform?.Sample(batchSize, batches) ?? throw new InvalidOperationException("Drawing many minibatches at once needs uniform replay.");

    public void UpdatePriorities(Tensor indices, Tensor tdErrorMagnitudes) => _prioritized?.UpdatePriorities(indices, tdErrorMagnitudes);

    public void BeginNewEpisodes()
    {
        _uniform?.BeginNewEpisodes();
        _prioritized?.BeginNewEpisodes();
    }

    public void Save(string directory)
    {
        _uniform?.Save(directory);
        _prioritized?.Save(directory);
    }

    /// <summary>Replaces the buffer with the one saved in <paramref name="directory"/> (which must have the same options).</summary>
    public void Load(string directory)
    {
        if (_uniform is not null)
        {
            UniformReplayBuffer loaded = UniformReplayBuffer.Load(directory, _options);
            _uniform.Dispose();
            _uniform = loaded;
        }
        else
        {
            PrioritizedReplayBuffer loaded = PrioritizedReplayBuffer.Load(directory, _options.Device);
            if (loaded.Options.Capacity != _options.Capacity || !loaded.Options.ObservationShape.SequenceEqual(_options.ObservationShape) || loaded.PriorityOptions != _priorities)
            {
                loaded.Dispose();
                throw new InvalidDataException($"The prioritized replay saved in {directory} was built with other options than this run's.");
            }

            _prioritized!.Dispose();
            _prioritized = loaded;
        }
    }

    public void Dispose()
    {
        _uniform?.Dispose();
        _prioritized?.Dispose();
    }
}
