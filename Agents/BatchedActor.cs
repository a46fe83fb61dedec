using System.Runtime.InteropServices;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents;

/// <summary>
/// Chooses actions for N environments at once with one forward pass of a <see cref="QNetwork"/>: greedy, or
/// ε-greedy with its own seeded generator (state exportable for exact resume). Observations are copied from a span
/// into a preallocated tensor on the network's device; nothing is allocated per call beyond the forward pass.
/// </summary>
public sealed class BatchedActor : IExploringActor
{
    private readonly QNetwork _network;
    private readonly Tensor _observations;
    private readonly Tensor? _hostStaging;
    private readonly Generator _generator;
    private readonly int _observationSize;
    private readonly long[] _greedy;

    /// <summary>Creates an actor for up to <paramref name="maxBatch"/> environments.</summary>
    /// <param name="network">The Q-network (its parameters' device is used).</param>
    /// <param name="maxBatch">The largest number of observations per call (the number of environments).</param>
    /// <param name="seed">Seed of the exploration generator.</param>
    public BatchedActor(QNetwork network, int maxBatch, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _network = network;
        _observationSize = network.Config.ObservationSize;
        Device device = network.parameters().First().device;
        Device = device;
        MaxBatch = maxBatch;
        _observations = empty([maxBatch, _observationSize], ScalarType.Float32, device);
        _observations.DetachFromDisposeScope();
        if (device.type != DeviceType.CPU)
        {
            _hostStaging = empty([maxBatch, _observationSize], ScalarType.Float32, CPU).pin_memory();
            _hostStaging.DetachFromDisposeScope();
        }

        _generator = new Generator(seed, CPU);
        _greedy = new long[maxBatch];
    }

    /// <summary>The device observations are copied to.</summary>
    public Device Device { get; }

    /// <summary>The largest batch per call.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// Writes the greedy action (argmax Q) of each observation in <paramref name="observations"/> ([N × obs], N ≤
    /// <see cref="MaxBatch"/>) into <paramref name="actions"/> (length N).
    /// </summary>
    public void Greedy(ReadOnlySpan<float> observations, Span<int> actions) => EpsilonGreedy(observations, actions, 0.0);

    /// <summary>
    /// Writes an ε-greedy action per observation: with probability <paramref name="epsilon"/> a uniformly random
    /// action, otherwise the greedy one. The random draws come from this actor's generator.
    /// </summary>
    public void EpsilonGreedy(ReadOnlySpan<float> observations, Span<int> actions, double epsilon)
    {
        int n = actions.Length;
        if (n < 1 || n > MaxBatch)
        {
            throw new ArgumentException($"BatchedActor: {n} actions requested; allowed 1..{MaxBatch}.", nameof(actions));
        }

        if (observations.Length != n * _observationSize)
        {
            throw new ArgumentException(
                $"BatchedActor: {observations.Length} observation floats for {n} environments; expected {n} × {_observationSize} = {n * _observationSize}.",
                nameof(observations));
        }

        if (!(epsilon >= 0 && epsilon <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "BatchedActor: epsilon must be in [0, 1].");
        }

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            Tensor target = _hostStaging ?? _observations;
            observations.CopyTo(MemoryMarshal.Cast<byte, float>(target.bytes));
            if (_hostStaging is not null)
            {
                _observations.copy_(_hostStaging, nonBlocking: true);
            }

            Tensor input = n == MaxBatch ? _observations : _observations.narrow(0, 0, n);
            Tensor best = _network.forward(input).argmax(1);
            if (best.device_type != DeviceType.CPU)
            {
                best = best.cpu();
            }

            MemoryMarshal.Cast<byte, long>(best.bytes).CopyTo(_greedy);
        }

        Exploration.EpsilonGreedy(_generator, _network.Config.ActionCount, epsilon, _greedy.AsSpan(0, n), actions);
    }

    /// <summary>The exploration generator's state (for checkpoints).</summary>
    public byte[] GetGeneratorState()
    {
        using Tensor state = _generator.get_state();
        return state.bytes.ToArray();
    }

    /// <summary>Restores the exploration generator's state.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid state of this generator; nothing changed.</exception>
    public void SetGeneratorState(ReadOnlySpan<byte> state) =>
        TorchGeneratorState.Set(_generator, state, "BatchedActor: the saved exploration generator state");

    /// <inheritdoc />
    public void Dispose()
    {
        _observations.Dispose();
        _hostStaging?.Dispose();
        _generator.Dispose();
    }
}
