using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RlMemory.Memory.External;

/// <summary>
/// One <see cref="ExternalMemory"/> step for one batch row, forward and backward, written by hand over flat spans: the
/// same equations as <see cref="ExternalMemory.ParseInterface"/> followed by <see cref="ExternalMemory.Update"/>
/// (docs/external-memory.md), without a tensor operation. The fused memory core runs it for every row and step of a
/// sequence; the tensor path stays the reference and the tests hold the two together.
/// </summary>
/// <remarks>
/// <para>Layouts (row-major, one batch row): memory [N, W]; read weights [R, N]; write weights, usage [N]; read vectors
/// [R·W]; the raw interface ξ [<see cref="ExternalMemory.InterfaceSize"/>] as <see cref="ExternalMemory.ParseInterface"/>
/// documents it.</para>
/// <para>The backward recomputes the step's intermediates from its inputs (the state before the step and ξ) instead of
/// keeping them: a sequence then keeps one memory per step, not a dozen tensors per step. An instance holds scratch
/// space and is not thread-safe; use one per thread.</para>
/// </remarks>
/// <typeparam name="T">float (training) or double (gradient checks).</typeparam>
internal sealed class MemoryStepKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T Epsilon = T.CreateChecked(ExternalMemory.Epsilon);
    private static readonly T Half = T.CreateChecked(0.5);
    private static readonly T Two = T.CreateChecked(2);
    private static readonly T SoftplusThreshold = T.CreateChecked(20);

    private readonly int _n, _w, _r;
    private readonly bool _allocation;

    // Offsets into ξ.
    private readonly int _writeKey, _writeVector, _strengths, _erase, _freeGates, _allocationGate, _writeGate;

    // Forward intermediates (the backward recomputes them).
    private readonly T[] _beta, _erases, _free;
    private readonly T[] _written, _retention, _content, _allocationWeights, _sortedUsage, _before;
    private readonly int[] _order;
    private T _allocGate, _writeGateValue;

    // Backward scratch.
    private readonly T[] _nextUsage, _nextWrite, _dWriting, _dContent, _dAllocation, _dUsageTotal, _dReadWeights, _dBeta, _dErase, _dots, _scales;

    // Each slot's dot product with a key and its sum of squares (content weightings, the reads' backward).
    private readonly T[] _slotDots, _slotSquares;

    /// <summary>A kernel for memories of <paramref name="config"/>'s size.</summary>
    public MemoryStepKernel(ExternalMemoryConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        (_n, _w, _r, _allocation) = (config.Slots, config.Width, config.ReadHeads, config.UseAllocation);
        _writeKey = _r * _w;
        _writeVector = _writeKey + _w;
        _strengths = _writeVector + _w;
        _erase = _strengths + _r + 1;
        _freeGates = _erase + _w;
        _allocationGate = _freeGates + _r;
        _writeGate = _allocationGate + 1;
        InterfaceSize = _allocation ? _writeGate + 1 : _freeGates;
        _beta = new T[_r + 1];
        _erases = new T[_w];
        _free = new T[_r];
        _written = new T[_n];
        _retention = new T[_n];
        _content = new T[_n];
        _allocationWeights = new T[_n];
        _sortedUsage = new T[_n];
        _before = new T[_n];
        _order = new int[_n];
        _nextUsage = new T[_n];
        _nextWrite = new T[_n];
        _dWriting = new T[_n];
        _dContent = new T[_n];
        _dAllocation = new T[_n];
        _dUsageTotal = new T[_n];
        _dReadWeights = new T[_r * _n];
        _dBeta = new T[_r + 1];
        _dErase = new T[_w];
        _dots = new T[_n];
        _scales = new T[_n];
        _slotDots = new T[_n];
        _slotSquares = new T[_n];
    }

    /// <summary>Floats in ξ (the same as <see cref="ExternalMemory.InterfaceSize"/>).</summary>
    public int InterfaceSize { get; }

    /// <summary>
    /// One step: from the state before it (<paramref name="memory"/>, <paramref name="readWeights"/>,
    /// <paramref name="writeWeights"/>, <paramref name="usage"/>) and the raw interface <paramref name="xi"/>, writes
    /// the state after it. Outputs must not overlap inputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(
        ReadOnlySpan<T> xi, ReadOnlySpan<T> memory, ReadOnlySpan<T> readWeights, ReadOnlySpan<T> writeWeights, ReadOnlySpan<T> usage,
        Span<T> nextMemory, Span<T> nextReadWeights, Span<T> nextWriteWeights, Span<T> nextUsage, Span<T> reads,
        Span<T> keptContent = default, Span<int> keptOrder = default)
    {
        Prepare(xi, readWeights, writeWeights, usage, nextUsage);
        WriteWeighting(xi, memory, nextUsage, nextWriteWeights);
        if (!keptContent.IsEmpty)
        {
            // For the backward: the write's content weighting and the allocation's order, so it need not derive them again.
            _content.CopyTo(keptContent);
            if (_allocation)
            {
                _order.CopyTo(keptOrder);
            }
        }

        // M' = M + w ∘ (v − M ∘ e), slot by slot.
        ReadOnlySpan<T> v = xi.Slice(_writeVector, _w);
        for (int i = 0; i < _n; i++)
        {
            ReadOnlySpan<T> from = memory.Slice(i * _w, _w);
            Span<T> to = nextMemory.Slice(i * _w, _w);
            SmallSpans.SubtractProduct(v, from, _erases, to);          // v − M ∘ e
            SmallSpans.MultiplyAdd(to, nextWriteWeights[i], from, to);  // M + w (v − M ∘ e)
        }

        for (int head = 0; head < _r; head++)
        {
            // Every read head addresses the same memory: its slots' squares are computed for the first head only.
            Content(xi.Slice(head * _w, _w), _beta[head], nextMemory, nextReadWeights.Slice(head * _n, _n), slotSquaresKnown: head > 0);
        }

        // r_i = Σ_n w_i[n] M'[n].
        for (int head = 0; head < _r; head++)
        {
            Span<T> read = reads.Slice(head * _w, _w);
            read.Clear();
            for (int i = 0; i < _n; i++)
            {
                SmallSpans.MultiplyAdd(nextMemory.Slice(i * _w, _w), nextReadWeights[(head * _n) + i], read, read);
            }
        }
    }

    /// <summary>
    /// The gradients of one step. Inputs are the step's inputs (as given to <see cref="Forward"/>), its outputs
    /// <paramref name="nextMemory"/> and <paramref name="nextReadWeights"/> (as <see cref="Forward"/> wrote them), and
    /// the gradients with respect to its outputs; <paramref name="dNextMemory"/> is used as scratch (changed). Writes
    /// the gradients with respect to ξ (<paramref name="dXi"/>) and to the state before the step
    /// (<paramref name="dMemory"/>, <paramref name="dReadWeights"/>, <paramref name="dWriteWeights"/>,
    /// <paramref name="dUsage"/>), all overwritten. The read vectors before the step are not an input of the memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(
        ReadOnlySpan<T> xi, ReadOnlySpan<T> memory, ReadOnlySpan<T> readWeights, ReadOnlySpan<T> writeWeights, ReadOnlySpan<T> usage,
        ReadOnlySpan<T> nextMemory, ReadOnlySpan<T> nextReadWeights,
        Span<T> dNextMemory, ReadOnlySpan<T> dNextReadWeights, ReadOnlySpan<T> dNextWriteWeights, ReadOnlySpan<T> dNextUsage, ReadOnlySpan<T> dReads,
        Span<T> dXi, Span<T> dMemory, Span<T> dReadWeights, Span<T> dWriteWeights, Span<T> dUsage,
        ReadOnlySpan<T> keptContent = default, ReadOnlySpan<int> keptOrder = default)
    {
        // The forward's intermediates again (usage, retention, content and allocation weightings, gates), from what the
        // forward kept where it kept them (the same values: it computed them the same way).
        Prepare(xi, readWeights, writeWeights, usage, _nextUsage);
        if (keptContent.IsEmpty)
        {
            WriteWeighting(xi, memory, _nextUsage, _nextWrite);
        }
        else
        {
            keptContent.CopyTo(_content);
            if (_allocation)
            {
                keptOrder.CopyTo(_order);
                AllocationInOrder(_nextUsage);
            }

            Combine(_nextWrite);
        }
        dXi.Clear();

        // Reads: dw_i[n] = dw'_i[n] + dr_i · M'[n]; dM'[n] += Σ_i w_i[n] dr_i.
        for (int head = 0; head < _r; head++)
        {
            ReadOnlySpan<T> dr = dReads.Slice(head * _w, _w);
            SmallSpans.RowDots(dr, nextMemory, _n, _slotDots, default);
            for (int i = 0; i < _n; i++)
            {
                Span<T> dSlot = dNextMemory.Slice(i * _w, _w);
                _dReadWeights[(head * _n) + i] = dNextReadWeights[(head * _n) + i] + _slotDots[i];
                SmallSpans.MultiplyAdd(dr, nextReadWeights[(head * _n) + i], dSlot, dSlot);
            }
        }

        for (int head = 0; head < _r; head++)
        {
            _dBeta[head] = ContentBackward(
                xi.Slice(head * _w, _w), _beta[head], nextMemory, nextReadWeights.Slice(head * _n, _n), _dReadWeights.AsSpan(head * _n, _n),
                dXi.Slice(head * _w, _w), dNextMemory, slotSquaresKnown: head > 0);
        }

        // Write: M' = M + w ∘ (v − M ∘ e).
        ReadOnlySpan<T> v = xi.Slice(_writeVector, _w);
        Span<T> dv = dXi.Slice(_writeVector, _w);
        Array.Clear(_dErase);
        for (int i = 0; i < _n; i++)
        {
            // dw[i] = dM'[i] · (v − M[i] ∘ e); dM[i] = dM'[i] ∘ (1 − w[i] e); dv += w[i] dM'[i]; de −= w[i] dM'[i] ∘ M[i].
            _dWriting[i] = dNextWriteWeights[i] + WriteBackward(
                v, _erases, _nextWrite[i], memory.Slice(i * _w, _w), dNextMemory.Slice(i * _w, _w), dMemory.Slice(i * _w, _w), dv, _dErase);
        }

        // The write weighting: w = g^w (c + g^a (a − c)), or w = c without allocation.
        dNextUsage.CopyTo(_dUsageTotal);
        if (_allocation)
        {
            T dWriteGate = T.Zero, dAllocGate = T.Zero;
            for (int i = 0; i < _n; i++)
            {
                T dw = _dWriting[i];
                T c = _content[i], a = _allocationWeights[i];
                dWriteGate += dw * (c + (_allocGate * (a - c)));
                dAllocGate += dw * _writeGateValue * (a - c);
                _dContent[i] = dw * _writeGateValue * (T.One - _allocGate);
                _dAllocation[i] = dw * _writeGateValue * _allocGate;
            }

            AllocationBackward(_dAllocation, _dUsageTotal);
            dXi[_writeGate] = dWriteGate * _writeGateValue * (T.One - _writeGateValue);
            dXi[_allocationGate] = dAllocGate * _allocGate * (T.One - _allocGate);
        }
        else
        {
            _dWriting.CopyTo(_dContent, 0);
        }

        _dBeta[_r] = ContentBackward(xi.Slice(_writeKey, _w), _beta[_r], memory, _content, _dContent, dXi.Slice(_writeKey, _w), dMemory);

        // Usage: u' = (u + w − u ∘ w) ∘ ψ with ψ[n] = Π_i (1 − f_i w^r_i[n]) (ψ = 1 without allocation).
        dReadWeights.Clear();
        for (int i = 0; i < _n; i++)
        {
            T du = _dUsageTotal[i];
            T dWritten = _allocation ? du * _retention[i] : du;
            dUsage[i] = dWritten * (T.One - writeWeights[i]);
            dWriteWeights[i] = dWritten * (T.One - usage[i]);
            if (!_allocation)
            {
                continue;
            }

            T dRetention = du * _written[i];
            for (int head = 0; head < _r; head++)
            {
                T others = T.One;
                for (int k = 0; k < _r; k++)
                {
                    if (k != head)
                    {
                        others *= T.One - (_free[k] * readWeights[(k * _n) + i]);
                    }
                }

                T dProduct = -dRetention * others; // ∂/∂(f_head · w^r_head[i])
                dXi[_freeGates + head] += dProduct * readWeights[(head * _n) + i];
                dReadWeights[(head * _n) + i] = dProduct * _free[head];
            }
        }

        // Squashing: β = 1 + softplus(s), so dβ/ds = σ(s); erase and gates go through σ.
        if (_allocation)
        {
            for (int head = 0; head < _r; head++)
            {
                T f = _free[head];
                dXi[_freeGates + head] *= f * (T.One - f);
            }
        }

        for (int k = 0; k <= _r; k++)
        {
            dXi[_strengths + k] = _dBeta[k] * Sigmoid(xi[_strengths + k]);
        }

        for (int j = 0; j < _w; j++)
        {
            T e = _erases[j];
            dXi[_erase + j] = _dErase[j] * e * (T.One - e);
        }
    }

    /// <summary>
    /// The write's backward for one slot, in one pass over its W elements: returns dM'·(v − M ∘ e); sets
    /// dM = dM' ∘ (1 − w e); adds w dM' to <paramref name="dv"/> and −w dM' ∘ M to <paramref name="dErase"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T WriteBackward(ReadOnlySpan<T> v, ReadOnlySpan<T> erase, T weight, ReadOnlySpan<T> from, ReadOnlySpan<T> dTo, Span<T> dFrom, Span<T> dv, Span<T> dErase)
    {
        int n = v.Length, j = 0;
        if (erase.Length < n || from.Length < n || dTo.Length < n || dFrom.Length < n || dv.Length < n || dErase.Length < n)
        {
            throw new ArgumentException($"MemoryStepKernel: the write's spans must hold {n} elements each.");
        }

        ref T v0 = ref MemoryMarshal.GetReference(v);
        ref T e0 = ref MemoryMarshal.GetReference(erase);
        ref T m0 = ref MemoryMarshal.GetReference(from);
        ref T g0 = ref MemoryMarshal.GetReference(dTo);
        ref T f0 = ref MemoryMarshal.GetReference(dFrom);
        ref T dv0 = ref MemoryMarshal.GetReference(dv);
        ref T de0 = ref MemoryMarshal.GetReference(dErase);
        T dot = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var w = new Vector<T>(weight);
            var minusW = new Vector<T>(-weight);
            Vector<T> dots = Vector<T>.Zero;
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
            {
                nuint at = (nuint)j;
                Vector<T> e = Vector.LoadUnsafe(ref e0, at), m = Vector.LoadUnsafe(ref m0, at), g = Vector.LoadUnsafe(ref g0, at);
                dots = SmallSpans.MultiplyAdd(g, Vector.LoadUnsafe(ref v0, at) - (m * e), dots);
                SmallSpans.MultiplyAdd(g * e, minusW, g).StoreUnsafe(ref f0, at);
                SmallSpans.MultiplyAdd(g, w, Vector.LoadUnsafe(ref dv0, at)).StoreUnsafe(ref dv0, at);
                SmallSpans.MultiplyAdd(g * m, minusW, Vector.LoadUnsafe(ref de0, at)).StoreUnsafe(ref de0, at);
            }

            dot = Vector.Sum(dots);
        }

        for (; j < n; j++)
        {
            T e = Unsafe.Add(ref e0, j), m = Unsafe.Add(ref m0, j), g = Unsafe.Add(ref g0, j);
            dot += g * (Unsafe.Add(ref v0, j) - (m * e));
            Unsafe.Add(ref f0, j) = g - (weight * g * e);
            Unsafe.Add(ref dv0, j) += weight * g;
            Unsafe.Add(ref de0, j) -= weight * g * m;
        }

        return dot;
    }

    /// <summary>Squashes ξ's strengths and gates and computes the new usage (and its factors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Prepare(ReadOnlySpan<T> xi, ReadOnlySpan<T> readWeights, ReadOnlySpan<T> writeWeights, ReadOnlySpan<T> usage, Span<T> nextUsage)
    {
        for (int k = 0; k <= _r; k++)
        {
            _beta[k] = T.One + Softplus(xi[_strengths + k]);
        }

        TensorPrimitives.Sigmoid(xi.Slice(_erase, _w), _erases);

        if (_allocation)
        {
            for (int head = 0; head < _r; head++)
            {
                _free[head] = Sigmoid(xi[_freeGates + head]);
            }

            _allocGate = Sigmoid(xi[_allocationGate]);
            _writeGateValue = Sigmoid(xi[_writeGate]);
        }

        for (int i = 0; i < _n; i++)
        {
            T written = usage[i] + writeWeights[i] - (usage[i] * writeWeights[i]);
            _written[i] = written;
            if (_allocation)
            {
                T retention = T.One;
                for (int head = 0; head < _r; head++)
                {
                    retention *= T.One - (_free[head] * readWeights[(head * _n) + i]);
                }

                _retention[i] = retention;
                nextUsage[i] = written * retention;
            }
            else
            {
                nextUsage[i] = written;
            }
        }
    }

    /// <summary>The write weighting from the memory before the write and the new usage.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteWeighting(ReadOnlySpan<T> xi, ReadOnlySpan<T> memory, ReadOnlySpan<T> nextUsage, Span<T> writeWeights)
    {
        Content(xi.Slice(_writeKey, _w), _beta[_r], memory, _content);
        if (!_allocation)
        {
            _content.CopyTo(writeWeights);
            return;
        }

        Allocation(nextUsage);
        Combine(writeWeights);
    }

    /// <summary>w = g^w (c + g^a (a − c)) from the content and allocation weightings.</summary>
    private void Combine(Span<T> writeWeights)
    {
        if (!_allocation)
        {
            _content.CopyTo(writeWeights);
            return;
        }

        for (int i = 0; i < _n; i++)
        {
            T c = _content[i];
            writeWeights[i] = _writeGateValue * (c + (_allocGate * (_allocationWeights[i] - c)));
        }
    }

    /// <summary>
    /// C(M, k, β) = softmax(β k·M[n] / (‖k‖ ‖M[n]‖)) with ‖x‖ = sqrt(Σx² + ε). With <paramref name="slotSquaresKnown"/>
    /// the slots' squares are those the previous call left for this same <paramref name="memory"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Content(ReadOnlySpan<T> key, T beta, ReadOnlySpan<T> memory, Span<T> weights, bool slotSquaresKnown = false)
    {
        T keySquares = SmallSpans.SumOfSquares(key) + Epsilon;
        SmallSpans.RowDots(key, memory, _n, _slotDots, slotSquaresKnown ? default : _slotSquares);
        for (int i = 0; i < _n; i++)
        {
            T scale = T.One / T.Sqrt(keySquares * (_slotSquares[i] + Epsilon));
            weights[i] = _slotDots[i] * scale * beta;
        }

        TensorPrimitives.SoftMax(weights[.._n], weights[.._n]);
    }

    /// <summary>
    /// The gradients of <see cref="Content"/> given the weights it returned and their gradient: adds to
    /// <paramref name="dKey"/> and <paramref name="dMemory"/>, returns dβ. <paramref name="slotSquaresKnown"/> as in
    /// <see cref="Content"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private T ContentBackward(ReadOnlySpan<T> key, T beta, ReadOnlySpan<T> memory, ReadOnlySpan<T> weights, ReadOnlySpan<T> dWeights, Span<T> dKey, Span<T> dMemory, bool slotSquaresKnown = false)
    {
        T keySquares = SmallSpans.SumOfSquares(key) + Epsilon;
        T weighted = SmallSpans.Dot(weights[.._n], dWeights[.._n]);

        T dBeta = T.Zero, dKeySquares = T.Zero;
        SmallSpans.RowDots(key, memory, _n, _slotDots, slotSquaresKnown ? default : _slotSquares);
        for (int i = 0; i < _n; i++)
        {
            T dot = _slotDots[i];
            T slotSquares = _slotSquares[i] + Epsilon;
            T scale = T.One / T.Sqrt(keySquares * slotSquares);
            T z = dot * scale * beta;
            T dz = weights[i] * (dWeights[i] - weighted);
            dBeta += dz * dot * scale;
            _dots[i] = dz * beta * scale;                  // ∂/∂(k·M[n])
            _scales[i] = -Half * dz * z / slotSquares;     // ∂/∂(‖M[n]‖² + ε)
            dKeySquares -= Half * dz * z / keySquares;
        }

        for (int i = 0; i < _n; i++)
        {
            ReadOnlySpan<T> slot = memory.Slice(i * _w, _w);
            Span<T> dSlot = dMemory.Slice(i * _w, _w);
            SmallSpans.MultiplyAdd(slot, _dots[i], dKey, dKey);
            SmallSpans.MultiplyAdd2(key, _dots[i], slot, Two * _scales[i], dSlot);
        }

        SmallSpans.MultiplyAdd(key, Two * dKeySquares, dKey, dKey);

        return dBeta;
    }

    /// <summary>DNC's allocation weighting of the new usage (stable ascending order; see <see cref="ExternalMemory.AllocationWeights"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Allocation(ReadOnlySpan<T> usage)
    {
        if (!StableOrderByRank(usage[.._n], _order))
        {
            // Insertion sort of the slot indices by usage: stable, and N is small (a few dozen slots).
            for (int i = 0; i < _n; i++)
            {
                int k = i;
                T u = usage[i];
                while (k > 0 && usage[_order[k - 1]] > u)
                {
                    _order[k] = _order[k - 1];
                    k--;
                }

                _order[k] = i;
            }
        }

        AllocationInOrder(usage);
    }

    /// <summary>
    /// The slots in ascending order of <paramref name="values"/>, ties by index (the order a stable sort gives), without
    /// branches on the data: slot i goes to position rank(i) = #{j : v[j] &lt; v[i]} + #{j &lt; i : v[j] = v[i]}, each
    /// count one vector comparison and a population count per 512 (or 256) bits. Returns false (writing nothing
    /// useful) without 256-bit SIMD or where a value is NaN (ranks would then collide): the caller sorts instead.
    /// </summary>
    internal static bool StableOrderByRank(ReadOnlySpan<T> values, Span<int> order)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        if ((!wide && !Vector256.IsHardwareAccelerated) || order.Length < values.Length)
        {
            return false;
        }

        int n = values.Length, lanes = wide ? Vector512<T>.Count : Vector256<T>.Count, blocks = n / lanes;
        ref T v0 = ref MemoryMarshal.GetReference(values);
        for (int i = 0; i < n; i++)
        {
            T value = values[i];
            if (T.IsNaN(value))
            {
                return false;
            }

            int rank = 0;
            for (int b = 0; b < blocks; b++)
            {
                int start = b * lanes;
                ulong less, equal;
                if (wide)
                {
                    Vector512<T> block = Vector512.LoadUnsafe(ref v0, (nuint)start), x = Vector512.Create(value);
                    (less, equal) = (Vector512.LessThan(block, x).ExtractMostSignificantBits(), Vector512.Equals(block, x).ExtractMostSignificantBits());
                }
                else
                {
                    Vector256<T> block = Vector256.LoadUnsafe(ref v0, (nuint)start), x = Vector256.Create(value);
                    (less, equal) = (Vector256.LessThan(block, x).ExtractMostSignificantBits(), Vector256.Equals(block, x).ExtractMostSignificantBits());
                }

                int before = Math.Clamp(i - start, 0, lanes); // lanes of this block with a smaller index than i (at most 16)
                rank += BitOperations.PopCount(less) + BitOperations.PopCount(equal & ((1UL << before) - 1));
            }

            for (int j = blocks * lanes; j < n; j++)
            {
                T other = Unsafe.Add(ref v0, j);
                rank += other < value || (other == value && j < i) ? 1 : 0;
            }

            order[rank] = i;
        }

        return true;
    }

    /// <summary>The allocation weighting from the usage and its ascending order (<see cref="_order"/>, already set).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AllocationInOrder(ReadOnlySpan<T> usage)
    {
        T product = T.One;
        for (int k = 0; k < _n; k++)
        {
            T s = usage[_order[k]];
            _sortedUsage[k] = s;
            _before[k] = product;
            _allocationWeights[_order[k]] = (T.One - s) * product;
            product *= s;
        }
    }

    /// <summary>Adds the gradient of <see cref="Allocation"/> (a[φ_k] = (1 − s_k) Π_{i&lt;k} s_i) with respect to the usage to <paramref name="dUsage"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AllocationBackward(ReadOnlySpan<T> dAllocation, Span<T> dUsage)
    {
        // ∂/∂s_k = P_k (Q_k − g_k), with Q_k = Σ_{j>k} g_j (1 − s_j) Π_{k<i<j} s_i = g_{k+1}(1 − s_{k+1}) + s_{k+1} Q_{k+1}.
        T q = T.Zero;
        for (int k = _n - 1; k >= 0; k--)
        {
            T g = dAllocation[_order[k]];
            dUsage[_order[k]] += _before[k] * (q - g);
            T s = _sortedUsage[k];
            q = (g * (T.One - s)) + (s * q);
        }
    }

    /// <summary>The logistic function.</summary>
    internal static T Sigmoid(T x) => T.One / (T.One + T.Exp(-x));

    /// <summary>log(1 + eˣ), as PyTorch's softplus (x itself above 20).</summary>
    internal static T Softplus(T x) => x > SoftplusThreshold ? x : T.LogP1(T.Exp(x));
}
