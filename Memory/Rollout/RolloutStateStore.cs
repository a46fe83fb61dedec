using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The recurrent states a <see cref="RolloutBuffer"/> keeps: for each part of the <see cref="RecurrentStateSpec"/> one
/// tensor <c>[T · N, ..part shape]</c> on the device, row <c>t · N + n</c> holding environment n's state before step t.
/// </summary>
internal sealed unsafe class RolloutStateStore : IDisposable
{
    private readonly Tensor[] _parts;
    private readonly long[] _rowSizes;
    private readonly long[] _stepBytes;
    private readonly nint[] _addresses;
    private bool _disposed;

    public RolloutStateStore(RecurrentStateSpec spec, int numSteps, int numEnvs, Device device, bool forceStaging)
    {
        Spec = spec;
        NumEnvs = numEnvs;
        _parts = new Tensor[spec.Parts.Count];
        _rowSizes = [.. spec.Parts.Select(p => p.RowSize)];
        _stepBytes = new long[_parts.Length];
        _addresses = new nint[_parts.Length];
        long entries = (long)numSteps * numEnvs;
        try
        {
            for (int i = 0; i < _parts.Length; i++)
            {
                RecurrentStatePart part = spec.Parts[i];
                _parts[i] = TensorMemory.Persistent([entries, .. part.Shape], part.DType, device, zero: true);
                _stepBytes[i] = part.RowSize * _parts[i].element_size() * numEnvs;
                _addresses[i] = !forceStaging && _stepBytes[i] > 0 && TensorMemory.IsHostAccessible(_parts[i]) ? (nint)TensorMemory.Address(_parts[i]) : 0;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public RecurrentStateSpec Spec { get; }

    public int NumEnvs { get; }

    /// <summary>The tensors, one per part (for persistence).</summary>
    public IReadOnlyList<Tensor> Parts => _parts;

    public long Bytes => _parts.Sum(p => p is null ? 0 : TensorMemory.ByteLength(p));

    /// <summary>
    /// Refuses a state that does not fit: null, another layout, another batch size, or a NaN or infinite value (which
    /// would poison every sequence that starts from it). The message names the buffer, the part and the environment.
    /// </summary>
    public void Check(string owner, RecurrentState? state)
    {
        if (state is null)
        {
            throw new ArgumentNullException(nameof(state), $"{owner}: Add needs the recurrent state before the step (stateBeforeStep), because the buffer was built with RecurrentState = {Spec}.");
        }

        if (!SameLayout(state.Spec))
        {
            throw new ArgumentException($"{owner}: Add: stateBeforeStep has layout {state.Spec}, but the buffer stores {Spec}.", "stateBeforeStep");
        }

        if (state.BatchSize != NumEnvs)
        {
            throw new ArgumentException($"{owner}: Add: stateBeforeStep has {state.BatchSize} rows, one per environment is needed ({NumEnvs}).", "stateBeforeStep");
        }

        for (int i = 0; i < _parts.Length; i++)
        {
            Tensor part = state.Tensors[i];
            if (!part.is_floating_point() || part.numel() == 0)
            {
                continue;
            }

            (long index, double value) = FirstNonFinite(part);
            if (index >= 0)
            {
                long rowSize = _rowSizes[i];
                throw new ArgumentException(
                    $"{owner}: Add: stateBeforeStep part '{Spec.Parts[i].Name}' (env {index / rowSize}, element {index % rowSize}) is {TransitionChecks.Text(value)}; recurrent states must be finite.",
                    "stateBeforeStep");
            }
        }
    }

    /// <summary>Stores <paramref name="state"/> (already checked) as the states before step <paramref name="step"/>.</summary>
    public void Write(int step, RecurrentState state)
    {
        for (int i = 0; i < _parts.Length; i++)
        {
            Tensor source = state.Tensors[i];
            long bytes = _stepBytes[i];
            if (bytes == 0)
            {
                continue;
            }

            // The layout was checked, so a host-accessible source has the part's dtype and N rows.
            if (_addresses[i] != 0 && TensorMemory.IsHostAccessible(source))
            {
                byte* to = (byte*)_addresses[i] + (long)step * bytes;
                Buffer.MemoryCopy(TensorMemory.Address(source), to, bytes, bytes);
                continue;
            }

            using var scope = torch.NewDisposeScope();
            _parts[i].narrow(0, (long)step * NumEnvs, NumEnvs).copy_(source.detach());
        }
    }

    /// <summary>The states at <paramref name="rows"/> (int64 on the device), as a new state in the current dispose scope.</summary>
    public RecurrentState Select(Tensor rows)
    {
        var parts = new List<(string, Tensor)>(_parts.Length);
        for (int i = 0; i < _parts.Length; i++)
        {
            parts.Add((Spec.Parts[i].Name, _parts[i].index_select(0, rows)));
        }

        return new RecurrentState(parts);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Tensor? t in _parts)
        {
            t?.Dispose();
        }
    }

    /// <summary>Whether <paramref name="other"/> has the same parts (names, dtypes, shapes), compared without allocating.</summary>
    private bool SameLayout(RecurrentStateSpec other)
    {
        IReadOnlyList<RecurrentStatePart> mine = Spec.Parts, theirs = other.Parts;
        if (mine.Count != theirs.Count)
        {
            return false;
        }

        for (int i = 0; i < mine.Count; i++)
        {
            RecurrentStatePart a = mine[i], b = theirs[i];
            if (a.DType != b.DType || !string.Equals(a.Name, b.Name, StringComparison.Ordinal) || a.Shape.Count != b.Shape.Count)
            {
                return false;
            }

            for (int d = 0; d < a.Shape.Count; d++)
            {
                if (a.Shape[d] != b.Shape[d])
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The flat index and value of the first NaN or infinite element, or (−1, 0).</summary>
    private static (long Index, double Value) FirstNonFinite(Tensor part)
    {
        if (TensorMemory.IsHostAccessible(part) && part.dtype == ScalarType.Float32 && part.numel() <= int.MaxValue)
        {
            var values = new ReadOnlySpan<float>(TensorMemory.Address(part), (int)part.numel());
            int bad = SpanMath.IndexOfNonFinite(values);
            return bad < 0 ? (-1, 0) : (bad, values[bad]);
        }

        using var scope = torch.NewDisposeScope();
        if (part.isfinite().all().item<bool>())
        {
            return (-1, 0);
        }

        Tensor flat = part.reshape(-1);
        long index = flat.isfinite().logical_not().nonzero()[0, 0].item<long>();
        return (index, flat[index].to(ScalarType.Float64).item<double>());
    }
}
