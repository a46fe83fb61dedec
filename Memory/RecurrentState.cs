using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>One named part of a recurrent state: its per-row shape and element type.</summary>
/// <param name="Name">The part's name, e.g. <c>h</c>, <c>c</c>, <c>memory</c>.</param>
/// <param name="Shape">The shape of one row (one environment), without the batch dimension.</param>
/// <param name="DType">The element type.</param>
public sealed record RecurrentStatePart(string Name, IReadOnlyList<long> Shape, ScalarType DType)
{
    /// <summary>Elements in one row (computed once: hot paths read it per step).</summary>
    public long RowSize { get; } = Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>e.g. <c>h [256] Float32</c>.</summary>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}] {DType}";
}

/// <summary>The layout of a recurrent state: its named parts, in order.</summary>
public sealed record RecurrentStateSpec
{
    /// <summary>Creates a spec; names must be distinct and non-empty, shapes non-negative.</summary>
    public RecurrentStateSpec(IReadOnlyList<RecurrentStatePart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("RecurrentStateSpec: a recurrent state needs at least one part (a feed-forward policy has no state at all).", nameof(parts));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            if (string.IsNullOrWhiteSpace(part.Name) || !seen.Add(part.Name))
            {
                throw new ArgumentException($"RecurrentStateSpec: part names must be distinct and non-empty; got '{part.Name}' in [{string.Join(", ", parts.Select(p => p.Name))}].", nameof(parts));
            }

            if (part.Shape.Any(d => d < 0))
            {
                throw new ArgumentException($"RecurrentStateSpec: part {part} has a negative dimension.", nameof(parts));
            }
        }

        Parts = [.. parts];
    }

    /// <summary>The parts, in order.</summary>
    public IReadOnlyList<RecurrentStatePart> Parts { get; }

    /// <summary>Structural equality: same names, shapes and types in the same order.</summary>
    public bool Equals(RecurrentStateSpec? other) =>
        other is not null && Parts.Count == other.Parts.Count
        && Parts.Zip(other.Parts).All(p => p.First.Name == p.Second.Name && p.First.DType == p.Second.DType && p.First.Shape.SequenceEqual(p.Second.Shape));

    public override int GetHashCode() => Parts.Aggregate(0, (h, p) => HashCode.Combine(h, p.Name, p.DType, p.Shape.Count));

    /// <summary>e.g. <c>{h [256] Float32, c [256] Float32}</c>.</summary>
    public override string ToString() => "{" + string.Join(", ", Parts) + "}";
}

/// <summary>
/// The recurrent state of a batch of agents (one row per environment): named tensors with the batch first, e.g. an
/// LSTM's <c>h</c> and <c>c</c> ([B, hidden]) and an external memory's matrix ([B, slots, width]), read weights and
/// usage. It is an explicit value that actors carry from step to step, reset per environment at episode ends
/// (<see cref="ResetRows"/>), detach from the graph, move between devices, and store in sequence replay. A state owns
/// its tensors: <see cref="Dispose"/> frees them. Operations return new states whose tensors join the current
/// DisposeScope, like any tensor result; keep a state across iterations with <see cref="DetachFromDisposeScope"/>.
/// </summary>
public sealed class RecurrentState : IDisposable
{
    private readonly Tensor[] _tensors;
    private bool _disposed;

    /// <summary>Creates a state from <paramref name="parts"/> (taking ownership), which must share their first (batch) dimension.</summary>
    /// <exception cref="ArgumentException">No parts, duplicate names, or differing batch sizes or devices.</exception>
    public RecurrentState(IReadOnlyList<(string Name, Tensor Value)> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("RecurrentState: a state needs at least one part.", nameof(parts));
        }

        long batch = -1;
        Device? device = null;
        var specParts = new List<RecurrentStatePart>(parts.Count);
        foreach (var (name, value) in parts)
        {
            ArgumentNullException.ThrowIfNull(value, name);
            if (value.dim() < 1)
            {
                throw new ArgumentException($"RecurrentState: part '{name}' is a scalar; every part needs a batch dimension first.", nameof(parts));
            }

            if (batch >= 0 && value.shape[0] != batch)
            {
                throw new ArgumentException($"RecurrentState: part '{name}' has batch size {value.shape[0]}, but the first part has {batch}.", nameof(parts));
            }

            if (device is not null && !SameDevice(value.device, device))
            {
                throw new ArgumentException($"RecurrentState: part '{name}' is on {value.device}, but the first part is on {device}.", nameof(parts));
            }

            batch = value.shape[0];
            device = value.device;
            specParts.Add(new RecurrentStatePart(name, value.shape[1..], value.dtype));
        }

        Spec = new RecurrentStateSpec(specParts);
        _tensors = [.. parts.Select(p => p.Value)];
        BatchSize = (int)batch;
        Device = device!;
    }

    /// <summary>The layout.</summary>
    public RecurrentStateSpec Spec { get; }

    /// <summary>The number of rows (environments).</summary>
    public int BatchSize { get; }

    /// <summary>The device of every part.</summary>
    public Device Device { get; }

    /// <summary>The parts, in order.</summary>
    public IReadOnlyList<Tensor> Tensors
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _tensors;
        }
    }

    /// <summary>The part named <paramref name="name"/>.</summary>
    public Tensor this[string name]
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int i = 0; i < _tensors.Length; i++)
            {
                if (Spec.Parts[i].Name == name)
                {
                    return _tensors[i];
                }
            }

            throw new KeyNotFoundException($"RecurrentState has no part '{name}'; parts: {string.Join(", ", Spec.Parts.Select(p => p.Name))}.");
        }
    }

    /// <summary>A zero state of <paramref name="batchSize"/> rows.</summary>
    public static RecurrentState Zeros(RecurrentStateSpec spec, int batchSize, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        return new RecurrentState([.. spec.Parts.Select(p => (p.Name, zeros([batchSize, .. p.Shape], p.DType, device ?? CPU)))]);
    }

    /// <summary>The rows at <paramref name="rows"/> (an int64 index tensor on any device), as a new state.</summary>
    public RecurrentState Select(Tensor rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(rows);
        using var scope = NewDisposeScope();
        Tensor index = SameDevice(rows.device, Device) ? rows : rows.to(Device);
        var parts = Spec.Parts.Select((p, i) => (p.Name, _tensors[i].index_select(0, index))).ToList();
        foreach (var (_, t) in parts)
        {
            t.MoveToOuterDisposeScope();
        }

        return new RecurrentState(parts);
    }

    /// <summary>
    /// A copy in which the rows where <paramref name="reset"/> is true (a [B] bool or 0/1 tensor) are replaced by zeros
    /// (or by the matching rows of <paramref name="initial"/>): what an actor does to the environments whose episode
    /// just ended. Rows not reset keep their values (and their gradients).
    /// </summary>
    /// <exception cref="ArgumentException">The mask or the initial state does not fit this state.</exception>
    public RecurrentState ResetRows(Tensor reset, RecurrentState? initial = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(reset);
        if (reset.dim() != 1 || reset.shape[0] != BatchSize)
        {
            throw new ArgumentException($"RecurrentState.ResetRows: the mask has shape [{string.Join(", ", reset.shape)}]; expected [{BatchSize}].", nameof(reset));
        }

        if (initial is not null && (!initial.Spec.Equals(Spec) || initial.BatchSize != BatchSize))
        {
            throw new ArgumentException($"RecurrentState.ResetRows: the initial state {initial.Spec} × {initial.BatchSize} does not match {Spec} × {BatchSize}.", nameof(initial));
        }

        using var scope = NewDisposeScope();
        Tensor keep = reset.to(ScalarType.Bool, Device).logical_not();
        var parts = new List<(string, Tensor)>(_tensors.Length);
        for (int i = 0; i < _tensors.Length; i++)
        {
            Tensor t = _tensors[i];
            Tensor mask = keep.reshape([BatchSize, .. Enumerable.Repeat(1L, (int)t.dim() - 1)]);
            Tensor other = initial is null ? zeros_like(t) : initial._tensors[i];
            parts.Add((Spec.Parts[i].Name, where(mask, t, other).MoveToOuterDisposeScope()));
        }

        return new RecurrentState(parts);
    }

    /// <summary>A copy cut from the autograd graph (truncated backpropagation through time).</summary>
    public RecurrentState Detach() => Map(t => t.detach());

    /// <summary>A copy on <paramref name="device"/>.</summary>
    public RecurrentState To(Device device) => Map(t => t.to(device).clone());

    /// <summary>A deep copy.</summary>
    public RecurrentState Clone() => Map(t => t.clone());

    /// <summary>Keeps the tensors alive beyond the current DisposeScope (for a state carried across iterations).</summary>
    public RecurrentState DetachFromDisposeScope()
    {
        foreach (var t in _tensors)
        {
            t.DetachFromDisposeScope();
        }

        return this;
    }

    /// <summary>Moves the tensors to the enclosing DisposeScope.</summary>
    public RecurrentState MoveToOuterDisposeScope()
    {
        foreach (var t in _tensors)
        {
            t.MoveToOuterDisposeScope();
        }

        return this;
    }

    /// <summary>Whether every element of every part is finite.</summary>
    public bool IsFinite()
    {
        using var scope = NewDisposeScope();
        return _tensors.All(t => !t.is_floating_point() || t.isfinite().all().item<bool>());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var t in _tensors)
        {
            t.Dispose();
        }
    }

    public override string ToString() => $"RecurrentState {Spec} × {BatchSize} on {Device}";

    private static bool SameDevice(Device a, Device b) => a.type == b.type && a.index == b.index;

    private RecurrentState Map(Func<Tensor, Tensor> f)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new RecurrentState([.. Spec.Parts.Select((p, i) => (p.Name, f(_tensors[i])))]);
    }
}
