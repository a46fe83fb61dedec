using System.Numerics;
using System.Runtime.InteropServices;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// The whole <see cref="MemoryCore"/> recurrence over a batch of sequences on the CPU, forward and backward, in C#
/// over flat arrays: per step the LSTMCell controller (its recurrent matrix product and gates), the interface layer and
/// the memory step (<see cref="MemoryStepKernel{T}"/>). The encoder, the input half of the LSTM's matrix product and the
/// weight gradients are one large tensor operation each over all steps. This replaces about 70 small tensor operations
/// per step (each a microsecond of dispatch) by a few loops over a few kilobytes.
/// </summary>
/// <remarks>
/// One instance serves one forward and its backward: it keeps what the backward needs (the controller's gates and
/// cells, the interface vectors and the memory state after each step). Not thread-safe.
/// </remarks>
internal sealed class FusedMemorySequence<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _batch, _steps, _encoded, _hidden, _slots, _width, _heads, _interface;
    private readonly int _z; // H + R·W: the recurrent input of the controller, [h, r]
    private readonly int _cells; // N·W
    private readonly ExternalMemoryConfig _config;
    private readonly bool[]? _resets; // [B, T], true where the state is reset before step t

    // Weights, copied per call: [W_hh | W_ih's read half]ᵀ [Z, 4H] and as is [4H, Z]; the interface layer's Wᵀ [H, I], W [I, H], b [I].
    private readonly T[] _recurrentT, _recurrent, _interfaceT, _interfaceW, _interfaceBias;

    // The initial state [B, …].
    private readonly T[] _h0, _c0, _m0, _wr0, _ww0, _u0, _r0;

    // The tape, step-major [T, B, …].
    private readonly T[] _inputGates;   // the input half of the gates' pre-activations, with both biases [T, B, 4H]
    private readonly T[] _zs;           // [h, r] before each step, after resets [T, B, Z]
    private readonly T[] _cPrev;        // c before each step, after resets [T, B, H]
    private readonly T[] _gates;        // i, f, g, o after their nonlinearity [T, B, 4H]
    private readonly T[] _cs, _hs;      // c and h after each step [T, B, H]
    private readonly T[] _xis;          // the raw interface vectors [T, B, I]
    private readonly T[] _ms, _wrs, _wws, _us, _rs; // the memory state after each step

    private readonly T[] _zeros;
    private readonly MemoryStepKernel<T> _kernel;

    /// <summary>Copies the inputs and runs the forward pass.</summary>
    /// <param name="config">The memory's size.</param>
    /// <param name="inputGates">x W_xᵀ + b_ih + b_hh, step-major [T, B, 4H].</param>
    /// <param name="state">h, c, memory, read weights, write weights, usage, read vectors [B, …].</param>
    /// <param name="weightHh">W_hh [4H, H].</param>
    /// <param name="weightIh">W_ih [4H, E + R·W].</param>
    /// <param name="interfaceWeight">[I, H].</param>
    /// <param name="interfaceBias">[I].</param>
    /// <param name="resets">[B, T] or null.</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">T.</param>
    /// <param name="encoded">E.</param>
    /// <param name="hidden">H.</param>
    public FusedMemorySequence(
        ExternalMemoryConfig config, Tensor inputGates, IReadOnlyList<Tensor> state, Tensor weightHh, Tensor weightIh, Tensor interfaceWeight, Tensor interfaceBias,
        bool[]? resets, int batch, int steps, int encoded, int hidden)
    {
        _config = config;
        (_batch, _steps, _encoded, _hidden) = (batch, steps, encoded, hidden);
        (_slots, _width, _heads) = (config.Slots, config.Width, config.ReadHeads);
        _kernel = new MemoryStepKernel<T>(config);
        _interface = _kernel.InterfaceSize;
        _cells = _slots * _width;
        _z = hidden + (_heads * _width);
        _resets = resets;
        int g = 4 * hidden;

        // [W_hh | W_r] as [4H, Z], and its transpose.
        _recurrent = new T[g * _z];
        T[] hh = Array(weightHh), ih = Array(weightIh);
        int inputs = encoded + (_heads * _width);
        for (int row = 0; row < g; row++)
        {
            System.Array.Copy(hh, row * hidden, _recurrent, row * _z, hidden);
            System.Array.Copy(ih, (row * inputs) + encoded, _recurrent, (row * _z) + hidden, _heads * _width);
        }

        _recurrentT = Transpose(_recurrent, g, _z);
        _interfaceW = Array(interfaceWeight);
        _interfaceT = Transpose(_interfaceW, _interface, hidden);
        _interfaceBias = Array(interfaceBias);
        (_h0, _c0, _m0, _wr0, _ww0, _u0, _r0) = (Array(state[0]), Array(state[1]), Array(state[2]), Array(state[3]), Array(state[4]), Array(state[5]), Array(state[6]));
        _inputGates = Array(inputGates);

        int rows = steps * batch;
        _zs = new T[rows * _z];
        _cPrev = new T[rows * hidden];
        _gates = new T[rows * g];
        _cs = new T[rows * hidden];
        _hs = new T[rows * hidden];
        _xis = new T[rows * _interface];
        _ms = new T[rows * _cells];
        _wrs = new T[rows * _heads * _slots];
        _wws = new T[rows * _slots];
        _us = new T[rows * _slots];
        _rs = new T[rows * _heads * _width];
        _zeros = new T[Math.Max(_cells, Math.Max(_z, _heads * _slots))];
        Forward();
    }

    /// <summary>
    /// Whether a sequence of this shape fits the fused kernel's flat arrays: every per-step table (the memory after
    /// each step, T·B·N·W values, is the largest) must hold at most <see cref="System.Array.MaxLength"/> elements.
    /// Larger shapes run on the tensor path.
    /// </summary>
    public static bool Fits(long batch, long steps, int hidden, ExternalMemoryConfig config)
    {
        long rows = batch * steps;
        long readSize = (long)config.ReadHeads * config.Width;
        long interfaceSize = readSize + (3L * config.Width) + (2L * config.ReadHeads) + 3;
        long widest = new[] { (long)config.Slots * config.Width, 4L * hidden, (long)config.ReadHeads * config.Slots, hidden + readSize, interfaceSize }.Max();
        return rows > 0 && rows <= int.MaxValue && widest <= int.MaxValue && rows * widest <= System.Array.MaxLength;
    }

    /// <summary>The features [B, T, H + R·W] (h and the read vectors after each step).</summary>
    public Tensor Features(ScalarType dtype)
    {
        int f = _hidden + (_heads * _width);
        var values = new T[_batch * _steps * f];
        for (int b = 0; b < _batch; b++)
        {
            for (int t = 0; t < _steps; t++)
            {
                int row = (t * _batch) + b;
                Span<T> to = values.AsSpan(((b * _steps) + t) * f, f);
                _hs.AsSpan(row * _hidden, _hidden).CopyTo(to);
                _rs.AsSpan(row * _heads * _width, _heads * _width).CopyTo(to[_hidden..]);
            }
        }

        return ToTensor(values, [_batch, _steps, f], dtype);
    }

    /// <summary>The state after the last step: h, c, memory, read weights, write weights, usage, read vectors.</summary>
    public Tensor[] FinalState(ScalarType dtype)
    {
        int last = (_steps - 1) * _batch;
        return
        [
            ToTensor(_hs.AsSpan(last * _hidden, _batch * _hidden), [_batch, _hidden], dtype),
            ToTensor(_cs.AsSpan(last * _hidden, _batch * _hidden), [_batch, _hidden], dtype),
            ToTensor(_ms.AsSpan(last * _cells, _batch * _cells), [_batch, _slots, _width], dtype),
            ToTensor(_wrs.AsSpan(last * _heads * _slots, _batch * _heads * _slots), [_batch, _heads, _slots], dtype),
            ToTensor(_wws.AsSpan(last * _slots, _batch * _slots), [_batch, _slots], dtype),
            ToTensor(_us.AsSpan(last * _slots, _batch * _slots), [_batch, _slots], dtype),
            ToTensor(_rs.AsSpan(last * _heads * _width, _batch * _heads * _width), [_batch, _heads * _width], dtype),
        ];
    }

    /// <summary>
    /// Back-propagates through the whole sequence. Returns the gradients of the input gates' pre-activations
    /// (step-major [T·B, 4H]), of the recurrent inputs [h, r] before each step ([T·B, Z], for the weight gradients
    /// together with the tape's <see cref="Zs"/>), of the interface vectors ([T·B, I]) and of the initial state (seven
    /// tensors, zero for the rows reset before step 0).
    /// </summary>
    /// <param name="dFeatures">[B, T, H + R·W].</param>
    /// <param name="dFinal">The gradients of the final state's seven parts.</param>
    public (T[] DGates, T[] DXi, T[][] DInitial) Backward(ReadOnlySpan<T> dFeatures, IReadOnlyList<T[]> dFinal)
    {
        int g = 4 * _hidden, rw = _heads * _width, rn = _heads * _slots, f = _hidden + rw;
        T[] dh = Copy(dFinal[0]), dc = Copy(dFinal[1]), dm = Copy(dFinal[2]), dwr = Copy(dFinal[3]), dww = Copy(dFinal[4]), du = Copy(dFinal[5]), dr = Copy(dFinal[6]);
        T[] dmPrev = new T[dm.Length], dwrPrev = new T[dwr.Length], dwwPrev = new T[dww.Length], duPrev = new T[du.Length];
        var dGates = new T[_steps * _batch * g];
        var dXis = new T[_steps * _batch * _interface];
        var dz = new T[_batch * _z];
        for (int t = _steps - 1; t >= 0; t--)
        {
            int first = t * _batch;
            for (int b = 0; b < _batch; b++)
            {
                ReadOnlySpan<T> df = dFeatures.Slice(((b * _steps) + t) * f, f);
                Add(dh.AsSpan(b * _hidden, _hidden), df[.._hidden]);
                Add(dr.AsSpan(b * rw, rw), df[_hidden..]);
                int row = first + b;
                bool reset = IsReset(b, t);
                _kernel.Backward(
                    _xis.AsSpan(row * _interface, _interface),
                    Before(_ms, _m0, _cells, b, t, reset), Before(_wrs, _wr0, rn, b, t, reset), Before(_wws, _ww0, _slots, b, t, reset), Before(_us, _u0, _slots, b, t, reset),
                    _ms.AsSpan(row * _cells, _cells), _wrs.AsSpan(row * rn, rn),
                    dm.AsSpan(b * _cells, _cells), dwr.AsSpan(b * rn, rn), dww.AsSpan(b * _slots, _slots), du.AsSpan(b * _slots, _slots), dr.AsSpan(b * rw, rw),
                    dXis.AsSpan(row * _interface, _interface), dmPrev.AsSpan(b * _cells, _cells), dwrPrev.AsSpan(b * rn, rn), dwwPrev.AsSpan(b * _slots, _slots), duPrev.AsSpan(b * _slots, _slots));
            }

            // h feeds the interface layer: dh += dξ W_if.
            MultiplyAdd(dXis.AsSpan(first * _interface, _batch * _interface), _batch, _interface, _interfaceW, _hidden, dh);

            // The LSTM cell: c = f c₋ + i g, h = o tanh(c).
            for (int b = 0; b < _batch; b++)
            {
                int row = first + b;
                ReadOnlySpan<T> gate = _gates.AsSpan(row * g, g);
                Span<T> dGate = dGates.AsSpan(row * g, g);
                for (int k = 0; k < _hidden; k++)
                {
                    T i = gate[k], fg = gate[_hidden + k], cand = gate[(2 * _hidden) + k], o = gate[(3 * _hidden) + k];
                    T tanhC = T.Tanh(_cs[(row * _hidden) + k]);
                    T dhk = dh[(b * _hidden) + k];
                    T dck = dc[(b * _hidden) + k] + (dhk * o * (T.One - (tanhC * tanhC)));
                    dGate[k] = dck * cand * i * (T.One - i);
                    dGate[_hidden + k] = dck * _cPrev[(row * _hidden) + k] * fg * (T.One - fg);
                    dGate[(2 * _hidden) + k] = dck * i * (T.One - (cand * cand));
                    dGate[(3 * _hidden) + k] = dhk * tanhC * o * (T.One - o);
                    dc[(b * _hidden) + k] = dck * fg;
                }
            }

            // [h, r] before the step: dz = dgates [W_hh | W_r].
            System.Array.Clear(dz);
            MultiplyAdd(dGates.AsSpan(first * g, _batch * g), _batch, g, _recurrent, _z, dz);
            for (int b = 0; b < _batch; b++)
            {
                bool reset = IsReset(b, t);
                dz.AsSpan(b * _z, _hidden).CopyTo(dh.AsSpan(b * _hidden, _hidden));
                dz.AsSpan((b * _z) + _hidden, rw).CopyTo(dr.AsSpan(b * rw, rw));
                if (reset)
                {
                    // The state before this step was replaced by zeros: nothing flows further back in this row.
                    dh.AsSpan(b * _hidden, _hidden).Clear();
                    dr.AsSpan(b * rw, rw).Clear();
                    dc.AsSpan(b * _hidden, _hidden).Clear();
                    dmPrev.AsSpan(b * _cells, _cells).Clear();
                    dwrPrev.AsSpan(b * rn, rn).Clear();
                    dwwPrev.AsSpan(b * _slots, _slots).Clear();
                    duPrev.AsSpan(b * _slots, _slots).Clear();
                }
            }

            (dm, dmPrev) = (dmPrev, dm);
            (dwr, dwrPrev) = (dwrPrev, dwr);
            (dww, dwwPrev) = (dwwPrev, dww);
            (du, duPrev) = (duPrev, du);
        }

        return (dGates, dXis, [dh, dc, dm, dwr, dww, du, dr]);
    }

    /// <summary>Elements of the features [B, T, H + R·W].</summary>
    public int FeatureCount => _batch * _steps * (_hidden + (_heads * _width));

    /// <summary>The shapes of the seven state parts.</summary>
    public long[][] StateShapes =>
    [
        [_batch, _hidden], [_batch, _hidden], [_batch, _slots, _width], [_batch, _heads, _slots], [_batch, _slots], [_batch, _slots], [_batch, _heads * _width],
    ];

    /// <summary>Elements of each of the seven state parts.</summary>
    public int[] StateSizes => [.. StateShapes.Select(s => (int)s.Aggregate(1L, (a, b) => a * b))];

    /// <summary>[h, r] before each step after resets, step-major [T·B, H + R·W].</summary>
    public T[] Zs => _zs;

    /// <summary>h after each step, step-major [T·B, H].</summary>
    public T[] Hs => _hs;

    private void Forward()
    {
        int g = 4 * _hidden, rw = _heads * _width, rn = _heads * _slots;
        var pre = new T[_batch * g];
        for (int t = 0; t < _steps; t++)
        {
            int first = t * _batch;
            for (int b = 0; b < _batch; b++)
            {
                int row = first + b;
                bool reset = IsReset(b, t);
                Span<T> z = _zs.AsSpan(row * _z, _z);
                Before(_hs, _h0, _hidden, b, t, reset).CopyTo(z);
                Before(_rs, _r0, rw, b, t, reset).CopyTo(z[_hidden..]);
                Before(_cs, _c0, _hidden, b, t, reset).CopyTo(_cPrev.AsSpan(row * _hidden, _hidden));
            }

            _inputGates.AsSpan(first * g, _batch * g).CopyTo(pre);
            MultiplyAdd(_zs.AsSpan(first * _z, _batch * _z), _batch, _z, _recurrentT, g, pre);
            for (int b = 0; b < _batch; b++)
            {
                int row = first + b;
                Span<T> gate = _gates.AsSpan(row * g, g);
                for (int k = 0; k < _hidden; k++)
                {
                    T i = MemoryStepKernel<T>.Sigmoid(pre[(b * g) + k]);
                    T fg = MemoryStepKernel<T>.Sigmoid(pre[(b * g) + _hidden + k]);
                    T cand = T.Tanh(pre[(b * g) + (2 * _hidden) + k]);
                    T o = MemoryStepKernel<T>.Sigmoid(pre[(b * g) + (3 * _hidden) + k]);
                    (gate[k], gate[_hidden + k], gate[(2 * _hidden) + k], gate[(3 * _hidden) + k]) = (i, fg, cand, o);
                    T c = (fg * _cPrev[(row * _hidden) + k]) + (i * cand);
                    _cs[(row * _hidden) + k] = c;
                    _hs[(row * _hidden) + k] = o * T.Tanh(c);
                }
            }

            // ξ = h W_ifᵀ + b_if.
            Span<T> xis = _xis.AsSpan(first * _interface, _batch * _interface);
            for (int b = 0; b < _batch; b++)
            {
                _interfaceBias.CopyTo(xis.Slice(b * _interface, _interface));
            }

            MultiplyAdd(_hs.AsSpan(first * _hidden, _batch * _hidden), _batch, _hidden, _interfaceT, _interface, xis);
            for (int b = 0; b < _batch; b++)
            {
                int row = first + b;
                bool reset = IsReset(b, t);
                _kernel.Forward(
                    _xis.AsSpan(row * _interface, _interface),
                    Before(_ms, _m0, _cells, b, t, reset), Before(_wrs, _wr0, rn, b, t, reset), Before(_wws, _ww0, _slots, b, t, reset), Before(_us, _u0, _slots, b, t, reset),
                    _ms.AsSpan(row * _cells, _cells), _wrs.AsSpan(row * rn, rn), _wws.AsSpan(row * _slots, _slots), _us.AsSpan(row * _slots, _slots), _rs.AsSpan(row * rw, rw));
            }
        }
    }

    private bool IsReset(int b, int t) => _resets is not null && _resets[(b * _steps) + t];

    /// <summary>Row <paramref name="b"/> of a state part before step <paramref name="t"/>: zeros after a reset, else the initial state or the previous step's.</summary>
    private ReadOnlySpan<T> Before(T[] perStep, T[] initial, int size, int b, int t, bool reset) =>
        reset ? _zeros.AsSpan(0, size)
        : t == 0 ? initial.AsSpan(b * size, size)
        : perStep.AsSpan((((t - 1) * _batch) + b) * size, size);

    /// <summary>c[m, n] += a[m, k] · b[k, n] (row-major).</summary>
    internal static void MultiplyAdd(ReadOnlySpan<T> a, int m, int k, ReadOnlySpan<T> b, int n, Span<T> c)
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.Slice(i * n, n);
            ReadOnlySpan<T> left = a.Slice(i * k, k);
            for (int p = 0; p < k; p++)
            {
                T scale = left[p];
                if (scale == T.Zero)
                {
                    continue;
                }

                ReadOnlySpan<T> right = b.Slice(p * n, n);
                int j = 0;
                if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
                {
                    var s = new Vector<T>(scale);
                    ref T r = ref MemoryMarshal.GetReference(right);
                    ref T o = ref MemoryMarshal.GetReference(row);
                    for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                    {
                        Vector<T> sum = (s * Vector.LoadUnsafe(ref r, (nuint)j)) + Vector.LoadUnsafe(ref o, (nuint)j);
                        sum.StoreUnsafe(ref o, (nuint)j);
                    }
                }

                for (; j < n; j++)
                {
                    row[j] += scale * right[j];
                }
            }
        }
    }

    private static void Add(Span<T> to, ReadOnlySpan<T> values)
    {
        for (int i = 0; i < to.Length; i++)
        {
            to[i] += values[i];
        }
    }

    private static T[] Copy(T[] values) => (T[])values.Clone();

    private static T[] Transpose(T[] values, int rows, int columns)
    {
        var result = new T[values.Length];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[(j * rows) + i] = values[(i * columns) + j];
            }
        }

        return result;
    }

    /// <summary>The elements of a tensor of dtype <typeparamref name="T"/> (copied from a contiguous CPU copy).</summary>
    internal static T[] Array(Tensor tensor)
    {
        using Tensor host = tensor.detach().cpu().contiguous();
        return host.numel() == 0 ? [] : MemoryMarshal.Cast<byte, T>(host.bytes).ToArray();
    }

    /// <summary>A new CPU tensor holding <paramref name="values"/>.</summary>
    internal static Tensor ToTensor(ReadOnlySpan<T> values, long[] shape, ScalarType dtype)
    {
        Tensor result = empty(shape, dtype, CPU);
        if (values.Length > 0)
        {
            values.CopyTo(MemoryMarshal.Cast<byte, T>(result.bytes));
        }

        return result;
    }
}
