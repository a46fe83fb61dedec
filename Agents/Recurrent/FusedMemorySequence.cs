using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

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
internal sealed class FusedMemorySequence<T> : IFusedSequence
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _batch, _steps, _encoded, _hidden, _slots, _width, _heads, _interface;
    private readonly int _z; // H + R·W: the recurrent input of the controller, [h, r]
    private readonly int _cells; // N·W
    private readonly ExternalMemoryConfig _config;
    private readonly bool[]? _resets; // [B, T], true where the state is reset before step t

    // Weights, from the thread's kept layouts (WeightLayout): [W_hh | W_ih's read half]ᵀ [Z, 4H] and as is [4H, Z]; the interface layer's Wᵀ [H, I], W [I, H], b [I].
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
    private readonly T[] _contents;     // the write's content weighting at each step [T, B, N]
    private readonly int[] _orders;     // the allocation's slot order at each step [T, B, N] (empty without allocation)

    private readonly T[] _zeros;
    private bool _released; // the tape's arrays are rented and went back with Release
    private readonly WeightLayout _layout; // held until Release
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

        WeightLayout layout = WeightLayout.Acquire(weightHh, weightIh, interfaceWeight, encoded, hidden, _z, _interface);
        _layout = layout;
        (_recurrent, _recurrentT, _interfaceW, _interfaceT) = (layout.Recurrent, layout.RecurrentT, layout.Interface, layout.InterfaceT);
        _interfaceBias = Array(interfaceBias);
        (_h0, _c0, _m0, _wr0, _ww0, _u0, _r0) = (Array(state[0]), Array(state[1]), Array(state[2]), Array(state[3]), Array(state[4]), Array(state[5]), Array(state[6]));
        _inputGates = RentCopy(inputGates);

        int rows = steps * batch;
        _zs = Rent(rows * _z);
        _cPrev = Rent(rows * hidden);
        _gates = Rent(rows * g);
        _cs = Rent(rows * hidden);
        _hs = Rent(rows * hidden);
        _xis = Rent(rows * _interface);
        _ms = Rent(rows * _cells);
        _wrs = Rent(rows * _heads * _slots);
        _wws = Rent(rows * _slots);
        _us = Rent(rows * _slots);
        _rs = Rent(rows * _heads * _width);
        _contents = Rent(rows * _slots);
        _orders = config.UseAllocation ? ArrayPool<int>.Shared.Rent(rows * _slots) : [];
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

    /// <summary>
    /// Returns the tape's arrays to the shared pool (the next call reuses them instead of touching fresh memory): after
    /// the outputs of a forward-only call are built, or after the backward. The sequence must not be used afterwards.
    /// </summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        _layout.Release();
        foreach (T[] array in new[] { _inputGates, _zs, _cPrev, _gates, _cs, _hs, _xis, _ms, _wrs, _wws, _us, _rs, _contents })
        {
            ArrayPool<T>.Shared.Return(array);
        }

        if (_orders.Length > 0)
        {
            ArrayPool<int>.Shared.Return(_orders);
        }
    }

    /// <summary>The features [B, T, H + R·W] (h and the read vectors after each step), written straight into a new tensor.</summary>
    public Tensor Features(ScalarType dtype)
    {
        int f = _hidden + (_heads * _width);
        Tensor result = empty([_batch, _steps, f], dtype, CPU);
        Span<T> values = MemoryMarshal.Cast<byte, T>(result.bytes);
        for (int b = 0; b < _batch; b++)
        {
            for (int t = 0; t < _steps; t++)
            {
                int row = (t * _batch) + b;
                Span<T> to = values.Slice(((b * _steps) + t) * f, f);
                _hs.AsSpan(row * _hidden, _hidden).CopyTo(to);
                _rs.AsSpan(row * _heads * _width, _heads * _width).CopyTo(to[_hidden..]);
            }
        }

        return result;
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
    /// tensors, zero for the rows reset before step 0). The first two arrays are rented from the shared pool (they may
    /// be longer than T·B rows): return them when done.
    /// </summary>
    /// <param name="dFeatures">[B, T, H + R·W].</param>
    /// <param name="dFinal">The gradients of the final state's seven parts (used as working space: changed).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (T[] DGates, T[] DXi, T[][] DInitial) Backward(ReadOnlySpan<T> dFeatures, IReadOnlyList<T[]> dFinal)
    {
        int g = 4 * _hidden, rw = _heads * _width, rn = _heads * _slots, f = _hidden + rw;
        T[] dh = dFinal[0], dc = dFinal[1], dm = dFinal[2], dwr = dFinal[3], dww = dFinal[4], du = dFinal[5], dr = dFinal[6];
        T[] dmPrev = new T[dm.Length], dwrPrev = new T[dwr.Length], dwwPrev = new T[dww.Length], duPrev = new T[du.Length];
        T[] dGates = ArrayPool<T>.Shared.Rent(_steps * _batch * g);         // returned by the caller
        T[] dXis = ArrayPool<T>.Shared.Rent(_steps * _batch * _interface);
        var dz = new T[_batch * _z];
        var tanhC = new T[_hidden];
        for (int t = _steps - 1; t >= 0; t--)
        {
            int first = t * _batch;
            for (int b = 0; b < _batch; b++)
            {
                ReadOnlySpan<T> df = dFeatures.Slice(((b * _steps) + t) * f, f);
                TensorPrimitives.Add(dh.AsSpan(b * _hidden, _hidden), df[.._hidden], dh.AsSpan(b * _hidden, _hidden));
                TensorPrimitives.Add(dr.AsSpan(b * rw, rw), df[_hidden..], dr.AsSpan(b * rw, rw));
                int row = first + b;
                bool reset = IsReset(b, t);
                _kernel.Backward(
                    _xis.AsSpan(row * _interface, _interface),
                    Before(_ms, _m0, _cells, b, t, reset), Before(_wrs, _wr0, rn, b, t, reset), Before(_wws, _ww0, _slots, b, t, reset), Before(_us, _u0, _slots, b, t, reset),
                    _ms.AsSpan(row * _cells, _cells), _wrs.AsSpan(row * rn, rn),
                    dm.AsSpan(b * _cells, _cells), dwr.AsSpan(b * rn, rn), dww.AsSpan(b * _slots, _slots), du.AsSpan(b * _slots, _slots), dr.AsSpan(b * rw, rw),
                    dXis.AsSpan(row * _interface, _interface), dmPrev.AsSpan(b * _cells, _cells), dwrPrev.AsSpan(b * rn, rn), dwwPrev.AsSpan(b * _slots, _slots), duPrev.AsSpan(b * _slots, _slots),
                    _contents.AsSpan(row * _slots, _slots), Kept(_orders, row));
            }

            // h feeds the interface layer: dh += dξ W_if.
            MultiplyAdd(dXis.AsSpan(first * _interface, _batch * _interface), _batch, _interface, _interfaceW, _hidden, dh);

            // The LSTM cell: c = f c₋ + i g, h = o tanh(c).
            for (int b = 0; b < _batch; b++)
            {
                int row = first + b;
                CellBackward(
                    _gates.AsSpan(row * g, g), _cs.AsSpan(row * _hidden, _hidden), _cPrev.AsSpan(row * _hidden, _hidden),
                    dh.AsSpan(b * _hidden, _hidden), dc.AsSpan(b * _hidden, _hidden), dGates.AsSpan(row * g, g), tanhC);
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

    /// <summary>I: the width of a row of the interface vectors and their gradients.</summary>
    public int InterfaceSize => _interface;

    /// <summary>The shapes of the seven state parts.</summary>
    public long[][] StateShapes =>
    [
        [_batch, _hidden], [_batch, _hidden], [_batch, _slots, _width], [_batch, _heads, _slots], [_batch, _slots], [_batch, _slots], [_batch, _heads * _width],
    ];

    /// <summary>Elements of each of the seven state parts.</summary>
    public int[] StateSizes => [.. StateShapes.Select(s => (int)s.Aggregate(1L, (a, b) => a * b))];

    /// <summary>H + R·W: the width of a row of <see cref="Zs"/>.</summary>
    public int RecurrentInputSize => _z;

    /// <summary>[h, r] before each step after resets, step-major [T·B, H + R·W] (a rented array: may be longer).</summary>
    public T[] Zs => _zs;

    /// <summary>h after each step, step-major [T·B, H] (a rented array: may be longer).</summary>
    public T[] Hs => _hs;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                ReadOnlySpan<T> p = pre.AsSpan(b * g, g);
                Span<T> gate = _gates.AsSpan(row * g, g);
                TensorPrimitives.Sigmoid(p[..(2 * _hidden)], gate[..(2 * _hidden)]);                    // i, f
                TensorPrimitives.Tanh(p.Slice(2 * _hidden, _hidden), gate.Slice(2 * _hidden, _hidden));  // g
                TensorPrimitives.Sigmoid(p.Slice(3 * _hidden, _hidden), gate.Slice(3 * _hidden, _hidden)); // o
                Span<T> c = _cs.AsSpan(row * _hidden, _hidden);
                Span<T> h = _hs.AsSpan(row * _hidden, _hidden);
                TensorPrimitives.Multiply(gate.Slice(_hidden, _hidden), _cPrev.AsSpan(row * _hidden, _hidden), c);      // f c₋
                TensorPrimitives.FusedMultiplyAdd(gate[.._hidden], gate.Slice(2 * _hidden, _hidden), c, c);             // + i g
                TensorPrimitives.Tanh(c, h);
                TensorPrimitives.Multiply(gate.Slice(3 * _hidden, _hidden), h, h);                                      // o tanh(c)
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
                    _ms.AsSpan(row * _cells, _cells), _wrs.AsSpan(row * rn, rn), _wws.AsSpan(row * _slots, _slots), _us.AsSpan(row * _slots, _slots), _rs.AsSpan(row * rw, rw),
                    _contents.AsSpan(row * _slots, _slots), Kept(_orders, row));
            }
        }
    }

    /// <summary>
    /// The weights in the layouts the per-step products use ([W_hh | W_r] as [4H, Z] and transposed, the interface layer's
    /// weight as is and transposed), built from the parameters' values. Each thread keeps its last few layouts: one whose
    /// values are the parameters' bit for bit is reused (acting calls the core once per environment step between two
    /// learner updates, and rearranging the weights would cost more than the step; R2D2 alternates the online and the
    /// target network); otherwise a kept layout that no sequence holds is rewritten in place (a learner's weights change
    /// every update, and fresh arrays of this size would each be a large-object allocation and, soon, a full garbage
    /// collection). A sequence holds its layout from its forward until <see cref="Release"/>, and a held layout's arrays
    /// are never changed, so the backward reads the weights its forward used.
    /// </summary>
    private sealed class WeightLayout
    {
        private const int KeptPerThread = 4;

        [ThreadStatic]
        private static List<WeightLayout>? t_kept;

        private readonly T[] _hh, _ih;
        private int _holders;

        private WeightLayout(int g, int hidden, int inputs, int z, int interfaceSize)
        {
            _hh = new T[g * hidden];
            _ih = new T[g * inputs];
            Recurrent = new T[g * z];
            RecurrentT = new T[g * z];
            Interface = new T[interfaceSize * hidden];
            InterfaceT = new T[interfaceSize * hidden];
        }

        public T[] Recurrent { get; }

        public T[] RecurrentT { get; }

        public T[] Interface { get; }

        public T[] InterfaceT { get; }

        /// <summary>The layout of these weights, held by the caller until <see cref="Release"/>.</summary>
        public static WeightLayout Acquire(Tensor weightHh, Tensor weightIh, Tensor interfaceWeight, int encoded, int hidden, int z, int interfaceSize)
        {
            using Tensor hhHost = weightHh.detach().cpu().contiguous();
            using Tensor ihHost = weightIh.detach().cpu().contiguous();
            using Tensor ifHost = interfaceWeight.detach().cpu().contiguous();
            ReadOnlySpan<T> hh = MemoryMarshal.Cast<byte, T>(hhHost.bytes), ih = MemoryMarshal.Cast<byte, T>(ihHost.bytes), weights = MemoryMarshal.Cast<byte, T>(ifHost.bytes);
            int g = 4 * hidden, inputs = encoded + z - hidden;
            List<WeightLayout> kept = t_kept ??= [];
            WeightLayout? layout = null;
            foreach (WeightLayout candidate in kept)
            {
                if (candidate.Fits(g, hidden, inputs, z, interfaceSize) && SameBits(hh, candidate._hh) && SameBits(ih, candidate._ih) && SameBits(weights, candidate.Interface))
                {
                    Interlocked.Increment(ref candidate._holders);
                    MostRecent(kept, candidate);
                    return candidate;
                }

                if (layout is null && Volatile.Read(ref candidate._holders) == 0 && candidate.Fits(g, hidden, inputs, z, interfaceSize))
                {
                    layout = candidate;
                }
            }

            layout ??= new WeightLayout(g, hidden, inputs, z, interfaceSize);
            layout._holders = 1;
            MostRecent(kept, layout);
            hh.CopyTo(layout._hh);
            ih.CopyTo(layout._ih);
            weights.CopyTo(layout.Interface);
            int reads = z - hidden;
            for (int row = 0; row < g; row++)
            {
                layout._hh.AsSpan(row * hidden, hidden).CopyTo(layout.Recurrent.AsSpan(row * z));
                layout._ih.AsSpan((row * inputs) + encoded, reads).CopyTo(layout.Recurrent.AsSpan((row * z) + hidden));
            }

            Transpose(layout.Recurrent, g, z, layout.RecurrentT);
            Transpose(layout.Interface, interfaceSize, hidden, layout.InterfaceT);
            return layout;
        }

        /// <summary>The sequence that acquired this layout is done with it: it may be rewritten.</summary>
        public void Release() => Interlocked.Decrement(ref _holders);

        /// <summary>Moves a layout to the front of the thread's list (adding it, and dropping the least recently used beyond the limit).</summary>
        private static void MostRecent(List<WeightLayout> kept, WeightLayout layout)
        {
            kept.Remove(layout);
            kept.Insert(0, layout);
            if (kept.Count > KeptPerThread)
            {
                kept.RemoveAt(kept.Count - 1); // a sequence that still holds it keeps its arrays; they are just not reused
            }
        }

        private bool Fits(int g, int hidden, int inputs, int z, int interfaceSize) =>
            _hh.Length == g * hidden && _ih.Length == g * inputs && Recurrent.Length == g * z && Interface.Length == interfaceSize * hidden;

        // Bit for bit (so -0 and 0 differ, and a NaN equals itself): the reused layout must be the one a fresh build gives.
        private static bool SameBits(ReadOnlySpan<T> values, T[] kept) =>
            MemoryMarshal.AsBytes(values).SequenceEqual(MemoryMarshal.AsBytes(kept.AsSpan()));
    }

    /// <summary>The allocation order kept for a step's row (empty without allocation).</summary>
    private Span<int> Kept(int[] orders, int row) => orders.Length == 0 ? [] : orders.AsSpan(row * _slots, _slots);

    /// <summary>A rented copy of a tensor's elements (returned with the tape).</summary>
    private T[] RentCopy(Tensor tensor)
    {
        using Tensor host = tensor.detach().cpu().contiguous();
        T[] array = Rent((int)host.numel());
        if (host.numel() > 0)
        {
            MemoryMarshal.Cast<byte, T>(host.bytes).CopyTo(array);
        }

        return array;
    }

    /// <summary>An array from the shared pool (possibly longer; the forward pass overwrites what it uses).</summary>
    private static T[] Rent(int length) => ArrayPool<T>.Shared.Rent(length);

    private bool IsReset(int b, int t) => _resets is not null && _resets[(b * _steps) + t];

    /// <summary>Row <paramref name="b"/> of a state part before step <paramref name="t"/>: zeros after a reset, else the initial state or the previous step's.</summary>
    private ReadOnlySpan<T> Before(T[] perStep, T[] initial, int size, int b, int t, bool reset) =>
        reset ? _zeros.AsSpan(0, size)
        : t == 0 ? initial.AsSpan(b * size, size)
        : perStep.AsSpan((((t - 1) * _batch) + b) * size, size);

    /// <summary>
    /// The LSTM cell's backward for one row: from the gates (after their nonlinearity), c, c₋ and the gradients of h and
    /// c, the gradients of the gates' pre-activations; <paramref name="dc"/> becomes the gradient of c₋.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CellBackward(ReadOnlySpan<T> gate, ReadOnlySpan<T> c, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> dh, Span<T> dc, Span<T> dGate, Span<T> tanhC)
    {
        int hidden = _hidden;
        TensorPrimitives.Tanh(c, tanhC);
        ReadOnlySpan<T> i = gate[..hidden], f = gate.Slice(hidden, hidden), cand = gate.Slice(2 * hidden, hidden), o = gate.Slice(3 * hidden, hidden);
        Span<T> di = dGate[..hidden], df = dGate.Slice(hidden, hidden), dg = dGate.Slice(2 * hidden, hidden), dO = dGate.Slice(3 * hidden, hidden);
        int k = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var one = Vector<T>.One;
            for (; k <= hidden - Vector<T>.Count; k += Vector<T>.Count)
            {
                var vi = new Vector<T>(i[k..]);
                var vf = new Vector<T>(f[k..]);
                var vg = new Vector<T>(cand[k..]);
                var vo = new Vector<T>(o[k..]);
                var vt = new Vector<T>(tanhC[k..]);
                var vdh = new Vector<T>(dh[k..]);
                Vector<T> dck = new Vector<T>(dc[k..]) + (vdh * vo * (one - (vt * vt)));
                (dck * vg * vi * (one - vi)).CopyTo(di[k..]);
                (dck * new Vector<T>(cPrev[k..]) * vf * (one - vf)).CopyTo(df[k..]);
                (dck * vi * (one - (vg * vg))).CopyTo(dg[k..]);
                (vdh * vt * vo * (one - vo)).CopyTo(dO[k..]);
                (dck * vf).CopyTo(dc[k..]);
            }
        }

        for (; k < hidden; k++)
        {
            T dck = dc[k] + (dh[k] * o[k] * (T.One - (tanhC[k] * tanhC[k])));
            di[k] = dck * cand[k] * i[k] * (T.One - i[k]);
            df[k] = dck * cPrev[k] * f[k] * (T.One - f[k]);
            dg[k] = dck * i[k] * (T.One - (cand[k] * cand[k]));
            dO[k] = dh[k] * tanhC[k] * o[k] * (T.One - o[k]);
            dc[k] = dck * f[k];
        }
    }

    /// <summary>
    /// c[m, n] += a[m, k] · b[k, n] (row-major): with 512-bit vectors where the hardware has them (AVX-512), else with
    /// <see cref="Vector{T}"/> (<see cref="VectorProduct{T}"/>). Each element is accumulated over p in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyAdd(ReadOnlySpan<T> a, int m, int k, ReadOnlySpan<T> b, int n, Span<T> c)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
        {
            throw new ArgumentException($"MultiplyAdd: a [{m}, {k}], b [{k}, {n}] and c [{m}, {n}] need {m * k}, {k * n} and {m * n} elements; got {a.Length}, {b.Length} and {c.Length}.");
        }

        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            MultiplyAdd512(a, m, k, b, n, c);
            return;
        }

        VectorProduct<T>.MultiplyAdd(a, m, k, b, n, c);
    }

    /// <summary>
    /// <see cref="MultiplyAdd"/> with 512-bit vectors (AVX-512; <see cref="Vector{T}"/> stays 256 bits wide there): blocks
    /// of 4 rows × 2 vectors, then a row and a vector at a time, then element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyAdd512(ReadOnlySpan<T> a, int m, int k, ReadOnlySpan<T> b, int n, Span<T> c)
    {
        int width = Vector512<T>.Count;
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(c);
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            int j = 0;
            for (; j + (2 * width) <= n; j += 2 * width)
            {
                nuint r0 = (nuint)((i * n) + j), r1 = (nuint)(((i + 1) * n) + j), r2 = (nuint)(((i + 2) * n) + j), r3 = (nuint)(((i + 3) * n) + j);
                nuint w = (nuint)width;
                Vector512<T> c00 = Vector512.LoadUnsafe(ref c0, r0), c01 = Vector512.LoadUnsafe(ref c0, r0 + w);
                Vector512<T> c10 = Vector512.LoadUnsafe(ref c0, r1), c11 = Vector512.LoadUnsafe(ref c0, r1 + w);
                Vector512<T> c20 = Vector512.LoadUnsafe(ref c0, r2), c21 = Vector512.LoadUnsafe(ref c0, r2 + w);
                Vector512<T> c30 = Vector512.LoadUnsafe(ref c0, r3), c31 = Vector512.LoadUnsafe(ref c0, r3 + w);
                for (int p = 0; p < k; p++)
                {
                    nuint bp = (nuint)((p * n) + j);
                    Vector512<T> b0v = Vector512.LoadUnsafe(ref b0, bp), b1v = Vector512.LoadUnsafe(ref b0, bp + w);
                    var x0 = Vector512.Create(Unsafe.Add(ref a0, (i * k) + p));
                    var x1 = Vector512.Create(Unsafe.Add(ref a0, ((i + 1) * k) + p));
                    var x2 = Vector512.Create(Unsafe.Add(ref a0, ((i + 2) * k) + p));
                    var x3 = Vector512.Create(Unsafe.Add(ref a0, ((i + 3) * k) + p));
                    c00 = SmallSpans.MultiplyAdd(x0, b0v, c00);
                    c01 = SmallSpans.MultiplyAdd(x0, b1v, c01);
                    c10 = SmallSpans.MultiplyAdd(x1, b0v, c10);
                    c11 = SmallSpans.MultiplyAdd(x1, b1v, c11);
                    c20 = SmallSpans.MultiplyAdd(x2, b0v, c20);
                    c21 = SmallSpans.MultiplyAdd(x2, b1v, c21);
                    c30 = SmallSpans.MultiplyAdd(x3, b0v, c30);
                    c31 = SmallSpans.MultiplyAdd(x3, b1v, c31);
                }

                c00.StoreUnsafe(ref c0, r0);
                c01.StoreUnsafe(ref c0, r0 + w);
                c10.StoreUnsafe(ref c0, r1);
                c11.StoreUnsafe(ref c0, r1 + w);
                c20.StoreUnsafe(ref c0, r2);
                c21.StoreUnsafe(ref c0, r2 + w);
                c30.StoreUnsafe(ref c0, r3);
                c31.StoreUnsafe(ref c0, r3 + w);
            }

            if (j + width <= n)
            {
                // One more vector of columns, 4 rows.
                nuint r0 = (nuint)((i * n) + j), r1 = (nuint)(((i + 1) * n) + j), r2 = (nuint)(((i + 2) * n) + j), r3 = (nuint)(((i + 3) * n) + j);
                Vector512<T> c00 = Vector512.LoadUnsafe(ref c0, r0), c10 = Vector512.LoadUnsafe(ref c0, r1);
                Vector512<T> c20 = Vector512.LoadUnsafe(ref c0, r2), c30 = Vector512.LoadUnsafe(ref c0, r3);
                for (int p = 0; p < k; p++)
                {
                    Vector512<T> bv = Vector512.LoadUnsafe(ref b0, (nuint)((p * n) + j));
                    c00 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, (i * k) + p)), bv, c00);
                    c10 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, ((i + 1) * k) + p)), bv, c10);
                    c20 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, ((i + 2) * k) + p)), bv, c20);
                    c30 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, ((i + 3) * k) + p)), bv, c30);
                }

                c00.StoreUnsafe(ref c0, r0);
                c10.StoreUnsafe(ref c0, r1);
                c20.StoreUnsafe(ref c0, r2);
                c30.StoreUnsafe(ref c0, r3);
                j += width;
            }

            if (j < n && n >= width)
            {
                // The last columns: the products over the last full vector of columns (which overlaps columns already
                // done), of which only the new lanes are added.
                int start = n - width;
                Vector512<T> s0 = Vector512<T>.Zero, s1 = Vector512<T>.Zero, s2 = Vector512<T>.Zero, s3 = Vector512<T>.Zero;
                for (int p = 0; p < k; p++)
                {
                    Vector512<T> bv = Vector512.LoadUnsafe(ref b0, (nuint)((p * n) + start));
                    s0 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, (i * k) + p)), bv, s0);
                    s1 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, ((i + 1) * k) + p)), bv, s1);
                    s2 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, ((i + 2) * k) + p)), bv, s2);
                    s3 = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, ((i + 3) * k) + p)), bv, s3);
                }

                for (int lane = j - start; lane < width; lane++)
                {
                    Unsafe.Add(ref c0, (i * n) + start + lane) += s0.GetElement(lane);
                    Unsafe.Add(ref c0, ((i + 1) * n) + start + lane) += s1.GetElement(lane);
                    Unsafe.Add(ref c0, ((i + 2) * n) + start + lane) += s2.GetElement(lane);
                    Unsafe.Add(ref c0, ((i + 3) * n) + start + lane) += s3.GetElement(lane);
                }

                j = n;
            }

            for (int r = i; r < i + 4; r++)
            {
                RowTail512(a.Slice(r * k, k), b, n, j, c.Slice(r * n, n));
            }
        }

        for (; i < m; i++)
        {
            RowTail512(a.Slice(i * k, k), b, n, 0, c.Slice(i * n, n));
        }
    }

    /// <summary>
    /// c_row[j..] += a_row · b[:, j..] for one row: four 512-bit vectors of columns at a time (four independent sums, so
    /// the multiply-adds do not wait on each other), then one, then the last columns as one overlapping vector of which
    /// only the new lanes are added, then (for rows narrower than a vector) an element at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTail512(ReadOnlySpan<T> aRow, ReadOnlySpan<T> b, int n, int from, Span<T> cRow)
    {
        int width = Vector512<T>.Count;
        int k = aRow.Length;
        int j = from;
        ref T a0 = ref MemoryMarshal.GetReference(aRow);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(cRow);
        nuint w = (nuint)width;
        for (; j + (4 * width) <= n; j += 4 * width)
        {
            nuint at = (nuint)j;
            Vector512<T> s0 = Vector512.LoadUnsafe(ref c0, at), s1 = Vector512.LoadUnsafe(ref c0, at + w);
            Vector512<T> s2 = Vector512.LoadUnsafe(ref c0, at + (2 * w)), s3 = Vector512.LoadUnsafe(ref c0, at + (3 * w));
            for (int p = 0; p < k; p++)
            {
                var x = Vector512.Create(Unsafe.Add(ref a0, p));
                nuint bp = (nuint)((p * n) + j);
                s0 = SmallSpans.MultiplyAdd(x, Vector512.LoadUnsafe(ref b0, bp), s0);
                s1 = SmallSpans.MultiplyAdd(x, Vector512.LoadUnsafe(ref b0, bp + w), s1);
                s2 = SmallSpans.MultiplyAdd(x, Vector512.LoadUnsafe(ref b0, bp + (2 * w)), s2);
                s3 = SmallSpans.MultiplyAdd(x, Vector512.LoadUnsafe(ref b0, bp + (3 * w)), s3);
            }

            s0.StoreUnsafe(ref c0, at);
            s1.StoreUnsafe(ref c0, at + w);
            s2.StoreUnsafe(ref c0, at + (2 * w));
            s3.StoreUnsafe(ref c0, at + (3 * w));
        }

        for (; j + width <= n; j += width)
        {
            Vector512<T> sum = Vector512.LoadUnsafe(ref c0, (nuint)j);
            for (int p = 0; p < k; p++)
            {
                sum = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, p)), Vector512.LoadUnsafe(ref b0, (nuint)((p * n) + j)), sum);
            }

            sum.StoreUnsafe(ref c0, (nuint)j);
        }

        if (j < n && n >= width)
        {
            int start = n - width;
            Vector512<T> sum = Vector512<T>.Zero;
            for (int p = 0; p < k; p++)
            {
                sum = SmallSpans.MultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, p)), Vector512.LoadUnsafe(ref b0, (nuint)((p * n) + start)), sum);
            }

            for (int lane = j - start; lane < width; lane++)
            {
                Unsafe.Add(ref c0, start + lane) += sum.GetElement(lane);
            }

            j = n;
        }

        for (; j < n; j++)
        {
            T sum = cRow[j];
            for (int p = 0; p < k; p++)
            {
                sum = T.FusedMultiplyAdd(aRow[p], b[(p * n) + j], sum);
            }

            cRow[j] = sum;
        }
    }

    /// <summary>The transpose of a row-major [rows, columns] matrix into <paramref name="result"/>, in tiles of 16 × 16 so reads and writes stay in cache.</summary>
    private static void Transpose(T[] values, int rows, int columns, T[] result)
    {
        const int Tile = 16;
        for (int i0 = 0; i0 < rows; i0 += Tile)
        {
            int iEnd = Math.Min(i0 + Tile, rows);
            for (int j0 = 0; j0 < columns; j0 += Tile)
            {
                int jEnd = Math.Min(j0 + Tile, columns);
                for (int i = i0; i < iEnd; i++)
                {
                    for (int j = j0; j < jEnd; j++)
                    {
                        result[(j * rows) + i] = values[(i * columns) + j];
                    }
                }
            }
        }
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

/// <summary>A fused sequence of either element type, as the autograd function keeps it between forward and backward.</summary>
internal interface IFusedSequence
{
    /// <summary>Returns the tape's arrays to the pool.</summary>
    void Release();
}
