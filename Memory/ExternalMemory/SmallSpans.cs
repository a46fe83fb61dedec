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
