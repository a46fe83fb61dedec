using System.Runtime.InteropServices;
using RlMemory.Memory;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// Wraps the <see cref="IEpisodeActor"/> of an agent whose recurrent core has an external memory, and adds
/// <see cref="IMemoryIntrospection"/>: after each step it reads the write weights, each read head's weights and the usage
/// of a row straight from the actor's recurrent state (the <see cref="ExternalMemory"/> parts
/// <c>write_weights</c>, <c>read_weights</c> and <c>usage</c>), so the viewer and <c>record --with-memory</c> can draw
/// them. <see cref="Wrap"/> returns the actor unchanged when the state has no memory.
/// </summary>
/// <remarks>
/// The memory parts of the state hold exactly the weightings of the step that produced it (see
/// <see cref="ExternalMemory.Update"/>), so reading them costs one small host copy per call of
/// <see cref="TryReadLastStep"/> and nothing while nobody asks. Parts of a separate critic's core (named
/// <c>critic_…</c>) are not shown: the actor's own memory is the one that drives its actions.
/// </remarks>
public sealed class MemoryStateActor : IEpisodeActor, IMemoryIntrospection
{
    private readonly IEpisodeActor _inner;
    private readonly Func<RecurrentState> _state;
    private readonly bool[] _acted;
    private readonly string[] _traceNames;

    private MemoryStateActor(IEpisodeActor inner, Func<RecurrentState> state, int slots, int readHeads)
    {
        _inner = inner;
        _state = state;
        MemorySlots = slots;
        _acted = new bool[inner.Environments];
        _traceNames = [MemoryTraceNames.Write, .. Enumerable.Range(0, readHeads).Select(MemoryTraceNames.Read), MemoryTraceNames.Usage];
    }

    /// <summary>
    /// Returns <paramref name="actor"/> wrapped with memory introspection when <paramref name="spec"/> has the external
    /// memory's weighting parts, and <paramref name="actor"/> itself otherwise (feed-forward and LSTM-only agents).
    /// </summary>
    /// <param name="actor">The actor to wrap; the wrapper owns it and disposes it.</param>
    /// <param name="spec">The layout of the actor's recurrent state (null: no recurrent state).</param>
    /// <param name="state">Gives the actor's current state, one row per environment, after its last step.</param>
    public static IEpisodeActor Wrap(IEpisodeActor actor, RecurrentStateSpec? spec, Func<RecurrentState> state)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(state);
        if (spec is null)
        {
            return actor;
        }

        RecurrentStatePart? write = spec.Parts.FirstOrDefault(p => p.Name == ExternalMemory.WriteWeightsPart);
        RecurrentStatePart? read = spec.Parts.FirstOrDefault(p => p.Name == ExternalMemory.ReadWeightsPart);
        if (write is null || read is null || !spec.Parts.Any(p => p.Name == ExternalMemory.UsagePart))
        {
            return actor;
        }

        int slots = checked((int)write.Shape[^1]);
        int readHeads = read.Shape.Count == 2 ? checked((int)read.Shape[0]) : 1;
        return new MemoryStateActor(actor, state, slots, readHeads);
    }

    /// <summary>The wrapped actor.</summary>
    public IEpisodeActor Inner => _inner;

    /// <inheritdoc />
    public int Environments => _inner.Environments;

    /// <inheritdoc />
    public int MemorySlots { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TraceNames => _traceNames;

    /// <inheritdoc />
    public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
    {
        _inner.Act(observations, rows, actions);
        foreach (int row in rows)
        {
            _acted[row] = true;
        }
    }

    /// <inheritdoc />
    public void Reset(int row)
    {
        _inner.Reset(row);
        _acted[row] = false;
    }

    /// <inheritdoc />
    public bool TryReadLastStep(int row, Span<float> destination)
    {
        if (row < 0 || row >= _acted.Length)
        {
            throw new ArgumentException($"MemoryStateActor: row {row} is outside [0, {_acted.Length}).", nameof(row));
        }

        int slots = MemorySlots;
        int expected = _traceNames.Length * slots;
        if (destination.Length != expected)
        {
            throw new ArgumentException(
                $"MemoryStateActor: the destination must hold {_traceNames.Length} traces × {slots} slots = {expected} floats, got {destination.Length}.",
                nameof(destination));
        }

        if (!_acted[row])
        {
            return false;
        }

        RecurrentState state = _state();
        using var scope = NewDisposeScope();
        Copy(state[ExternalMemory.WriteWeightsPart], row, destination[..slots]);
        Copy(state[ExternalMemory.ReadWeightsPart], row, destination[slots..^slots]);
        Copy(state[ExternalMemory.UsagePart], row, destination[^slots..]);
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();

    private static void Copy(Tensor part, int row, Span<float> destination)
    {
        Tensor values = part.select(0, row).reshape(-1);
        if (values.device_type != DeviceType.CPU)
        {
            values = values.cpu();
        }

        if (values.dtype != ScalarType.Float32)
        {
            values = values.to_type(ScalarType.Float32);
        }

        MemoryMarshal.Cast<byte, float>(values.contiguous().bytes).CopyTo(destination);
    }
}
