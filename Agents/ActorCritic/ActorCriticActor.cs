using System.Runtime.InteropServices;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.ActorCritic;

/// <summary>
/// Runs an <see cref="ActorCriticNetwork"/> for N environments one vector step at a time, as an on-policy trainer's
/// actor: one forward pass per step for all environments, observations copied from a span into a preallocated tensor,
/// logits and values read back into spans, and (for a recurrent network) the recurrent state carried per environment.
/// </summary>
/// <remarks>
/// <para>The state protocol follows the rollout buffer's reset rule (docs/replay.md): <see cref="Step"/> computes the
/// outputs and the next state from <see cref="State"/>, the state before the step (what the buffer stores); after the
/// environments stepped, <see cref="Advance"/> makes the next state current, replacing the rows whose next step begins
/// an episode by the core's initial state.</para>
/// <para>Tensors created per step live in a DisposeScope; only the carried state survives a call.</para>
/// </remarks>
public sealed class ActorCriticActor : IDisposable
{
    private readonly ActorCriticNetwork _network;
    private readonly Tensor _observations;
    private readonly Tensor? _staging;
    private readonly Tensor _resetMask;
    private readonly int _observationSize;
    private readonly int _policyWidth;
    private RecurrentState? _state;
    private RecurrentState? _next;
    private bool _disposed;

    /// <summary>Creates an actor for <paramref name="environments"/> environments, all starting from the initial state.</summary>
    public ActorCriticActor(ActorCriticNetwork network, int environments)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        _network = network;
        Environments = environments;
        _observationSize = network.Config.ObservationSize;
        _policyWidth = network.PolicyWidth;
        Device device = network.Device;
        _observations = empty([environments, _observationSize], ScalarType.Float32, device).DetachFromDisposeScope();
        if (device.type != DeviceType.CPU)
        {
            _staging = empty([environments, _observationSize], ScalarType.Float32, CPU).DetachFromDisposeScope();
        }

        _resetMask = zeros([environments], ScalarType.Bool, CPU).DetachFromDisposeScope();
        _state = network.InitialState(environments)?.DetachFromDisposeScope();
    }

    /// <summary>N, the environments.</summary>
    public int Environments { get; }

    /// <summary>The recurrent state before the next step (batch N); null for a feed-forward network.</summary>
    public RecurrentState? State => _state;

    /// <summary>
    /// One forward pass for all environments: writes the policy outputs (N × <see cref="ActorCriticNetwork.PolicyWidth"/>: logits for discrete actions) and values (N) of
    /// <paramref name="observations"/> (N × obs) from <see cref="State"/>. The next state is kept until
    /// <see cref="Advance"/> (a second <see cref="Step"/> replaces it).
    /// </summary>
    public void Step(ReadOnlySpan<float> observations, Span<float> logits, Span<float> values)
    {
        Forward(observations, logits, values, keepNext: true);
    }

    /// <summary>Like <see cref="Step"/>, but the state does not move (e.g. the values that bootstrap a rollout's end).</summary>
    public void Peek(ReadOnlySpan<float> observations, Span<float> logits, Span<float> values)
    {
        Forward(observations, logits, values, keepNext: false);
    }

    /// <summary>
    /// Makes the state after the last <see cref="Step"/> current, with the rows where <paramref name="beginsEpisode"/>
    /// is set replaced by the initial state (pass the rollout buffer's <c>NextStepBeginsEpisode</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No <see cref="Step"/> since the last advance (recurrent networks).</exception>
    public void Advance(ReadOnlySpan<bool> beginsEpisode)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (beginsEpisode.Length != Environments)
        {
            throw new ArgumentException($"ActorCriticActor: {beginsEpisode.Length} reset flags for {Environments} environments.", nameof(beginsEpisode));
        }

        if (_state is null)
        {
            return;
        }

        if (_next is null)
        {
            throw new InvalidOperationException("ActorCriticActor.Advance: call Step first.");
        }

        RecurrentState next = _next;
        _next = null;
        if (beginsEpisode.Contains(true))
        {
            using var scope = NewDisposeScope();
            MemoryMarshal.AsBytes(beginsEpisode).CopyTo(_resetMask.bytes);
            RecurrentState reset = next.ResetRows(_resetMask, _network.InitialState(Environments)).DetachFromDisposeScope();
            next.Dispose();
            next = reset;
        }

        _state.Dispose();
        _state = next;
    }

    /// <summary>Every row back to the initial state (after the environments were reset out of band).</summary>
    public void ResetAll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _next?.Dispose();
        _next = null;
        if (_state is not null)
        {
            _state.Dispose();
            _state = _network.InitialState(Environments)!.DetachFromDisposeScope();
        }
    }

    /// <summary>Writes the carried state (each part's bytes) for a checkpoint; nothing for a feed-forward network.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ObjectDisposedException.ThrowIf(_disposed, this);
        writer.Write(_state?.Tensors.Count ?? 0);
        if (_state is null)
        {
            return;
        }

        foreach (Tensor part in _state.Tensors)
        {
            using Tensor host = part.detach().cpu().contiguous();
            writer.Write(host.bytes.Length);
            writer.Write(host.bytes);
        }
    }

    /// <summary>Restores a state written by <see cref="WriteState"/> of an actor of the same shape.</summary>
    /// <exception cref="InvalidDataException">The saved state has another layout.</exception>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int parts = reader.ReadInt32();
        if (parts != (_state?.Tensors.Count ?? 0))
        {
            throw new InvalidDataException($"ActorCriticActor: the saved state has {parts} parts; this actor's has {_state?.Tensors.Count ?? 0}.");
        }

        if (_state is null)
        {
            return;
        }

        _next?.Dispose();
        _next = null;
        using var scope = NewDisposeScope();
        foreach (Tensor part in _state.Tensors)
        {
            int length = reader.ReadInt32();
            Tensor host = empty(part.shape, part.dtype, CPU);
            if (length != host.bytes.Length)
            {
                throw new InvalidDataException($"ActorCriticActor: a saved state part has {length} bytes; expected {host.bytes.Length}.");
            }

            reader.ReadExactly(host.bytes);
            using (no_grad())
            {
                part.copy_(host);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _state?.Dispose();
        _next?.Dispose();
        _observations.Dispose();
        _staging?.Dispose();
        _resetMask.Dispose();
    }

    private void Forward(ReadOnlySpan<float> observations, Span<float> logits, Span<float> values, bool keepNext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = Environments;
        if (observations.Length != n * _observationSize || logits.Length != n * _policyWidth || values.Length != n)
        {
            throw new ArgumentException(
                $"ActorCriticActor: expected {n} × {_observationSize} observation floats, {n} × {_policyWidth} policy outputs and {n} values; got {observations.Length}, {logits.Length} and {values.Length}.");
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            Tensor target = _staging ?? _observations;
            observations.CopyTo(MemoryMarshal.Cast<byte, float>(target.bytes));
            if (_staging is not null)
            {
                _observations.copy_(_staging);
            }

            var (l, v, next) = _network.Step(_observations, _state);
            CopyOut(l, logits);
            CopyOut(v, values);
            if (next is not null && keepNext)
            {
                _next?.Dispose();
                _next = next.DetachFromDisposeScope();
            }
        }
    }

    private static void CopyOut(Tensor source, Span<float> destination)
    {
        Tensor host = source.device_type == DeviceType.CPU ? source.contiguous() : source.cpu().contiguous();
        MemoryMarshal.Cast<byte, float>(host.bytes).CopyTo(destination);
    }
}
