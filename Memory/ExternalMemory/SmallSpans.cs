using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RlMemory.Memory.External;

/// <summary>
/// Vector arithmetic over the short spans of the fused memory kernels (a memory word of W floats, N slots), inlined into
/// the caller. <see cref="System.Numerics.Tensors.TensorPrimitives"/> does the same work, but each of its calls costs
/// more than 16 floats of arithmetic (argument checks, dispatch on the span length and the instruction set); the memory
/// step makes a few hundred such calls per batch row. These loops go a <see cref="Vector{T}"/> at a time, then an
/// element at a time, in a fixed order, so results are deterministic on a given machine.
/// </summary>
internal static class SmallSpans
{
    /// <summary>a · b + c, with one rounding where the hardware fuses it (float and double), else two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MultiplyAdd<T>(Vector<T> a, Vector<T> b, Vector<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Fma.IsSupported && Vector<T>.Count * Unsafe.SizeOf<T>() == Vector256<byte>.Count)
        {
            if (typeof(T) == typeof(float))
            {
                return Fma.MultiplyAdd(a.As<T, float>().AsVector256(), b.As<T, float>().AsVector256(), c.As<T, float>().AsVector256()).AsVector().As<float, T>();
            }

            if (typeof(T) == typeof(double))
            {
                return Fma.MultiplyAdd(a.As<T, double>().AsVector256(), b.As<T, double>().AsVector256(), c.As<T, double>().AsVector256()).AsVector().As<double, T>();
            }
        }

        return (a * b) + c;
    }

    /// <summary>a · b + c for 512-bit vectors, with one rounding (AVX-512) where the element type is float or double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Avx512F.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                return Avx512F.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
            }

            if (typeof(T) == typeof(double))
            {
                return Avx512F.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
            }
        }

        return (a * b) + c;
    }

    /// <summary>Σ x[i] y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        Require(n, y.Length);
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            Vector<T> acc = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                acc = MultiplyAdd(Vector.LoadUnsafe(ref x0, (nuint)i), Vector.LoadUnsafe(ref y0, (nuint)i), acc);
            }

            sum = Vector.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref x0, i) * Unsafe.Add(ref y0, i);
        }

        return sum;
    }

    /// <summary>Σ x[i] y[i] and Σ y[i]² in one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (T Dot, T Squares) DotAndSquares<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        Require(n, y.Length);
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        T dot = T.Zero, squares = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            Vector<T> dots = Vector<T>.Zero, sums = Vector<T>.Zero;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> yv = Vector.LoadUnsafe(ref y0, (nuint)i);
                dots = MultiplyAdd(Vector.LoadUnsafe(ref x0, (nuint)i), yv, dots);
                sums = MultiplyAdd(yv, yv, sums);
            }

            dot = Vector.Sum(dots);
            squares = Vector.Sum(sums);
        }

        for (; i < n; i++)
        {
            T yi = Unsafe.Add(ref y0, i);
            dot += Unsafe.Add(ref x0, i) * yi;
            squares += yi * yi;
        }

        return (dot, squares);
    }

    /// <summary>
    /// For each of the <paramref name="rows"/> rows m[i] of <paramref name="m"/> ([rows, x.Length], row-major):
    /// dots[i] = x · m[i], and where <paramref name="squares"/> is not empty squares[i] = m[i] · m[i]. With AVX and float
    /// rows whose width is a multiple of 8, eight rows go together: each row's products accumulate in one 256-bit vector
    /// (a fused multiply-add per 8 floats, in order), and the eight vectors are summed across their lanes together by
    /// horizontal adds (9 instructions for 8 sums instead of 5 or more each); other rows and types go one at a time
    /// (<see cref="Dot{T}"/>, <see cref="DotAndSquares{T}"/>). The order of the sums is fixed: the same inputs give the
    /// same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowDots<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> m, int rows, Span<T> dots, Span<T> squares)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = x.Length;
        bool withSquares = !squares.IsEmpty;
        Require(rows * w, m.Length);
        Require(rows, dots.Length);
        if (withSquares)
        {
            Require(rows, squares.Length);
        }

        int i = 0;
        if (typeof(T) == typeof(float) && Avx.IsSupported && w % 8 == 0 && w > 0)
        {
            ReadOnlySpan<float> xf = MemoryMarshal.Cast<T, float>(x), mf = MemoryMarshal.Cast<T, float>(m);
            Span<float> df = MemoryMarshal.Cast<T, float>(dots), sf = MemoryMarshal.Cast<T, float>(squares);
            for (; i + 8 <= rows; i += 8)
            {
                RowDots8(xf, mf.Slice(i * w, 8 * w), df.Slice(i, 8), withSquares ? sf.Slice(i, 8) : default);
            }
        }

        for (; i < rows; i++)
        {
            ReadOnlySpan<T> row = m.Slice(i * w, w);
            if (withSquares)
            {
                (dots[i], squares[i]) = DotAndSquares(x, row);
            }
            else
            {
                dots[i] = Dot(x, row);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowDots8(ReadOnlySpan<float> x, ReadOnlySpan<float> m, Span<float> dots, Span<float> squares)
    {
        int w = x.Length;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float m0 = ref MemoryMarshal.GetReference(m);
        Span<Vector256<float>> d = stackalloc Vector256<float>[8];
        Span<Vector256<float>> q = stackalloc Vector256<float>[8];
        for (int r = 0; r < 8; r++)
        {
            ref float row = ref Unsafe.Add(ref m0, r * w);
            Vector256<float> dr = Vector256<float>.Zero, qr = Vector256<float>.Zero;
            for (int c = 0; c < w; c += 8)
            {
                Vector256<float> mv = Vector256.LoadUnsafe(ref row, (nuint)c);
                dr = Fma256(Vector256.LoadUnsafe(ref x0, (nuint)c), mv, dr);
                qr = Fma256(mv, mv, qr);
            }

            d[r] = dr;
            q[r] = qr;
        }

        Sum8(d).StoreUnsafe(ref MemoryMarshal.GetReference(dots));
        if (!squares.IsEmpty)
        {
            Sum8(q).StoreUnsafe(ref MemoryMarshal.GetReference(squares));
        }
    }

    /// <summary>The lane sums of eight vectors, as one vector: [Σ v0, Σ v1, …, Σ v7].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sum8(ReadOnlySpan<Vector256<float>> v)
    {
        Vector256<float> t0 = Avx.HorizontalAdd(v[0], v[1]), t1 = Avx.HorizontalAdd(v[2], v[3]);
        Vector256<float> t2 = Avx.HorizontalAdd(v[4], v[5]), t3 = Avx.HorizontalAdd(v[6], v[7]);
        Vector256<float> u0 = Avx.HorizontalAdd(t0, t1), u1 = Avx.HorizontalAdd(t2, t3);
        return Avx.Add(Avx.Permute2x128(u0, u1, 0x20), Avx.Permute2x128(u0, u1, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma256(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : Avx.Add(Avx.Multiply(a, b), c);

    /// <summary>Σ x[i]².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SumOfSquares<T>(ReadOnlySpan<T> x)
        where T : unmanaged, IFloatingPointIeee754<T> => Dot(x, x);

    /// <summary>destination[i] = x[i] · s + y[i] (destination may be x or y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd<T>(ReadOnlySpan<T> x, T s, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        Require(n, Math.Min(y.Length, destination.Length));
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        ref T d0 = ref MemoryMarshal.GetReference(destination);
        if (Vector.IsHardwareAccelerated)
        {
            var scale = new Vector<T>(s);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                MultiplyAdd(Vector.LoadUnsafe(ref x0, (nuint)i), scale, Vector.LoadUnsafe(ref y0, (nuint)i)).StoreUnsafe(ref d0, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d0, i) = T.FusedMultiplyAdd(Unsafe.Add(ref x0, i), s, Unsafe.Add(ref y0, i));
        }
    }

    /// <summary>destination[i] += x[i] · s + y[i] · t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd2<T>(ReadOnlySpan<T> x, T s, ReadOnlySpan<T> y, T t, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        Require(n, Math.Min(y.Length, destination.Length));
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        ref T d0 = ref MemoryMarshal.GetReference(destination);
        if (Vector.IsHardwareAccelerated)
        {
            var sv = new Vector<T>(s);
            var tv = new Vector<T>(t);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> d = MultiplyAdd(Vector.LoadUnsafe(ref x0, (nuint)i), sv, Vector.LoadUnsafe(ref d0, (nuint)i));
                MultiplyAdd(Vector.LoadUnsafe(ref y0, (nuint)i), tv, d).StoreUnsafe(ref d0, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d0, i) = T.FusedMultiplyAdd(Unsafe.Add(ref y0, i), t, T.FusedMultiplyAdd(Unsafe.Add(ref x0, i), s, Unsafe.Add(ref d0, i)));
        }
    }

    /// <summary>destination[i] = v[i] − x[i] · y[i] (destination may be any of them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SubtractProduct<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        Require(n, Math.Min(Math.Min(v.Length, y.Length), destination.Length));
        ref T v0 = ref MemoryMarshal.GetReference(v);
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        ref T d0 = ref MemoryMarshal.GetReference(destination);
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                (Vector.LoadUnsafe(ref v0, (nuint)i) - (Vector.LoadUnsafe(ref x0, (nuint)i) * Vector.LoadUnsafe(ref y0, (nuint)i))).StoreUnsafe(ref d0, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d0, i) = Unsafe.Add(ref v0, i) - (Unsafe.Add(ref x0, i) * Unsafe.Add(ref y0, i));
        }
    }

    /// <summary>Every other span must hold at least the first span's <paramref name="length"/> elements (the loops read and write unchecked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Require(int length, int shortest)
    {
        if (shortest < length)
        {
            Throw(length, shortest);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(int length, int shortest) =>
        throw new ArgumentException($"SmallSpans: the spans must hold {length} elements each; one holds {shortest}.");
}
