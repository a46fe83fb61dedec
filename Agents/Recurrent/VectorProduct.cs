using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RlMemory.Memory.External;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// The fused memory kernel's small matrix products, <c>c[m, n] += a[m, k] · b[k, n]</c> (row-major), with
/// <see cref="Vector{T}"/> (256 bits with AVX2): where 512-bit vectors are not available, this is the product
/// <see cref="FusedMemorySequence{T}.MultiplyAdd"/> runs.
/// </summary>
/// <remarks>
/// Blocks of 6 rows × 2 vectors of c (12 accumulators, the two vectors of b and one broadcast of a: 15 of AVX2's 16
/// registers) stay in registers while p runs over k; rows left over go 4 at a time (a block of 8 rows as 4 + 4, not
/// 6 + 2; 4 rows × 3 vectors first, again 12 accumulators), then one at a time. Columns left over go a vector at a time, and the last columns (n not a multiple of the
/// vector width) as one vector that overlaps the columns already done, whose finished lanes are kept as they were. Every
/// element of c is accumulated in the same order, <c>c + a[i, 0] b[0, j] + a[i, 1] b[1, j] + …</c>, one fused
/// multiply-add at a time, whichever block computes it: the result does not depend on m or on the blocking.
/// </remarks>
internal static class VectorProduct<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>c[m, n] += a[m, k] · b[k, n]; the spans hold at least m·k, k·n and m·n elements (checked by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAdd(ReadOnlySpan<T> a, int m, int k, ReadOnlySpan<T> b, int n, Span<T> c)
    {
        int width = Vector<T>.Count;
        if (!Vector.IsHardwareAccelerated || n < width)
        {
            for (int row = 0; row < m; row++)
            {
                ScalarColumns(a.Slice(row * k, k), b, n, 0, c.Slice(row * n, n));
            }

            return;
        }

        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(c);
        int i = 0;
        for (; m - i >= 6 && m - i != 8; i += 6)
        {
            Rows6(ref Unsafe.Add(ref a0, i * k), k, ref b0, n, ref Unsafe.Add(ref c0, i * n));
        }

        for (; m - i >= 4; i += 4)
        {
            Rows4(ref Unsafe.Add(ref a0, i * k), k, ref b0, n, ref Unsafe.Add(ref c0, i * n));
        }

        for (; i < m; i++)
        {
            Row1(ref Unsafe.Add(ref a0, i * k), k, ref b0, n, ref Unsafe.Add(ref c0, i * n));
        }
    }

    /// <summary>Six rows of c, 2 vectors of columns at a time, then one, then the overlapping last vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows6(ref T a, int k, ref T b, int n, ref T c)
    {
        int width = Vector<T>.Count;
        nint w = width, k1 = k, k2 = 2 * k, k3 = 3 * k, k4 = 4 * k, k5 = 5 * k;
        nint n1 = n, n2 = 2 * n, n3 = 3 * n, n4 = 4 * n, n5 = 5 * n;
        int j = 0;
        for (; j + (2 * width) <= n; j += 2 * width)
        {
            ref T cj = ref Unsafe.Add(ref c, j);
            Vector<T> c00 = Load(ref cj, 0), c01 = Load(ref cj, w);
            Vector<T> c10 = Load(ref cj, n1), c11 = Load(ref cj, n1 + w);
            Vector<T> c20 = Load(ref cj, n2), c21 = Load(ref cj, n2 + w);
            Vector<T> c30 = Load(ref cj, n3), c31 = Load(ref cj, n3 + w);
            Vector<T> c40 = Load(ref cj, n4), c41 = Load(ref cj, n4 + w);
            Vector<T> c50 = Load(ref cj, n5), c51 = Load(ref cj, n5 + w);
            ref T bp = ref Unsafe.Add(ref b, j);
            ref T ap = ref a;
            for (int p = 0; p < k; p++)
            {
                Vector<T> b0v = Load(ref bp, 0), b1v = Load(ref bp, w);
                var x = new Vector<T>(ap);
                c00 = SmallSpans.MultiplyAdd(x, b0v, c00);
                c01 = SmallSpans.MultiplyAdd(x, b1v, c01);
                x = new Vector<T>(Unsafe.Add(ref ap, k1));
                c10 = SmallSpans.MultiplyAdd(x, b0v, c10);
                c11 = SmallSpans.MultiplyAdd(x, b1v, c11);
                x = new Vector<T>(Unsafe.Add(ref ap, k2));
                c20 = SmallSpans.MultiplyAdd(x, b0v, c20);
                c21 = SmallSpans.MultiplyAdd(x, b1v, c21);
                x = new Vector<T>(Unsafe.Add(ref ap, k3));
                c30 = SmallSpans.MultiplyAdd(x, b0v, c30);
                c31 = SmallSpans.MultiplyAdd(x, b1v, c31);
                x = new Vector<T>(Unsafe.Add(ref ap, k4));
                c40 = SmallSpans.MultiplyAdd(x, b0v, c40);
                c41 = SmallSpans.MultiplyAdd(x, b1v, c41);
                x = new Vector<T>(Unsafe.Add(ref ap, k5));
                c50 = SmallSpans.MultiplyAdd(x, b0v, c50);
                c51 = SmallSpans.MultiplyAdd(x, b1v, c51);
                ap = ref Unsafe.Add(ref ap, 1);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(c00, ref cj, 0);
            Store(c01, ref cj, w);
            Store(c10, ref cj, n1);
            Store(c11, ref cj, n1 + w);
            Store(c20, ref cj, n2);
            Store(c21, ref cj, n2 + w);
            Store(c30, ref cj, n3);
            Store(c31, ref cj, n3 + w);
            Store(c40, ref cj, n4);
            Store(c41, ref cj, n4 + w);
            Store(c50, ref cj, n5);
            Store(c51, ref cj, n5 + w);
        }

        for (; j < n; j += width)
        {
            // One vector of columns for the six rows; the last one overlaps finished columns when n is not a multiple of
            // the width, and keeps them as they were.
            int start = Math.Min(j, n - width);
            Vector<T> keep = KeepMask(j - start);
            ref T cj = ref Unsafe.Add(ref c, start);
            Vector<T> o0 = Load(ref cj, 0), o1 = Load(ref cj, n1), o2 = Load(ref cj, n2), o3 = Load(ref cj, n3), o4 = Load(ref cj, n4), o5 = Load(ref cj, n5);
            Vector<T> s0 = Vector.AndNot(o0, keep), s1 = Vector.AndNot(o1, keep), s2 = Vector.AndNot(o2, keep);
            Vector<T> s3 = Vector.AndNot(o3, keep), s4 = Vector.AndNot(o4, keep), s5 = Vector.AndNot(o5, keep);
            ref T bp = ref Unsafe.Add(ref b, start);
            ref T ap = ref a;
            for (int p = 0; p < k; p++)
            {
                Vector<T> bv = Load(ref bp, 0);
                s0 = SmallSpans.MultiplyAdd(new Vector<T>(ap), bv, s0);
                s1 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k1)), bv, s1);
                s2 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k2)), bv, s2);
                s3 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k3)), bv, s3);
                s4 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k4)), bv, s4);
                s5 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k5)), bv, s5);
                ap = ref Unsafe.Add(ref ap, 1);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(Vector.ConditionalSelect(keep, o0, s0), ref cj, 0);
            Store(Vector.ConditionalSelect(keep, o1, s1), ref cj, n1);
            Store(Vector.ConditionalSelect(keep, o2, s2), ref cj, n2);
            Store(Vector.ConditionalSelect(keep, o3, s3), ref cj, n3);
            Store(Vector.ConditionalSelect(keep, o4, s4), ref cj, n4);
            Store(Vector.ConditionalSelect(keep, o5, s5), ref cj, n5);
        }
    }

    /// <summary>Four rows of c, as <see cref="Rows6"/>, with blocks of 3 vectors first (12 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows4(ref T a, int k, ref T b, int n, ref T c)
    {
        int width = Vector<T>.Count;
        nint w = width, w2 = 2 * width, k1 = k, k2 = 2 * k, k3 = 3 * k;
        nint n1 = n, n2 = 2 * n, n3 = 3 * n;
        int j = 0;
        for (; j + (3 * width) <= n; j += 3 * width)
        {
            ref T cj = ref Unsafe.Add(ref c, j);
            Vector<T> c00 = Load(ref cj, 0), c01 = Load(ref cj, w), c02 = Load(ref cj, w2);
            Vector<T> c10 = Load(ref cj, n1), c11 = Load(ref cj, n1 + w), c12 = Load(ref cj, n1 + w2);
            Vector<T> c20 = Load(ref cj, n2), c21 = Load(ref cj, n2 + w), c22 = Load(ref cj, n2 + w2);
            Vector<T> c30 = Load(ref cj, n3), c31 = Load(ref cj, n3 + w), c32 = Load(ref cj, n3 + w2);
            ref T bp = ref Unsafe.Add(ref b, j);
            ref T ap = ref a;
            for (int p = 0; p < k; p++)
            {
                Vector<T> b0v = Load(ref bp, 0), b1v = Load(ref bp, w), b2v = Load(ref bp, w2);
                var x = new Vector<T>(ap);
                c00 = SmallSpans.MultiplyAdd(x, b0v, c00);
                c01 = SmallSpans.MultiplyAdd(x, b1v, c01);
                c02 = SmallSpans.MultiplyAdd(x, b2v, c02);
                x = new Vector<T>(Unsafe.Add(ref ap, k1));
                c10 = SmallSpans.MultiplyAdd(x, b0v, c10);
                c11 = SmallSpans.MultiplyAdd(x, b1v, c11);
                c12 = SmallSpans.MultiplyAdd(x, b2v, c12);
                x = new Vector<T>(Unsafe.Add(ref ap, k2));
                c20 = SmallSpans.MultiplyAdd(x, b0v, c20);
                c21 = SmallSpans.MultiplyAdd(x, b1v, c21);
                c22 = SmallSpans.MultiplyAdd(x, b2v, c22);
                x = new Vector<T>(Unsafe.Add(ref ap, k3));
                c30 = SmallSpans.MultiplyAdd(x, b0v, c30);
                c31 = SmallSpans.MultiplyAdd(x, b1v, c31);
                c32 = SmallSpans.MultiplyAdd(x, b2v, c32);
                ap = ref Unsafe.Add(ref ap, 1);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(c00, ref cj, 0);
            Store(c01, ref cj, w);
            Store(c02, ref cj, w2);
            Store(c10, ref cj, n1);
            Store(c11, ref cj, n1 + w);
            Store(c12, ref cj, n1 + w2);
            Store(c20, ref cj, n2);
            Store(c21, ref cj, n2 + w);
            Store(c22, ref cj, n2 + w2);
            Store(c30, ref cj, n3);
            Store(c31, ref cj, n3 + w);
            Store(c32, ref cj, n3 + w2);
        }

        for (; j + (2 * width) <= n; j += 2 * width)
        {
            ref T cj = ref Unsafe.Add(ref c, j);
            Vector<T> c00 = Load(ref cj, 0), c01 = Load(ref cj, w);
            Vector<T> c10 = Load(ref cj, n1), c11 = Load(ref cj, n1 + w);
            Vector<T> c20 = Load(ref cj, n2), c21 = Load(ref cj, n2 + w);
            Vector<T> c30 = Load(ref cj, n3), c31 = Load(ref cj, n3 + w);
            ref T bp = ref Unsafe.Add(ref b, j);
            ref T ap = ref a;
            for (int p = 0; p < k; p++)
            {
                Vector<T> b0v = Load(ref bp, 0), b1v = Load(ref bp, w);
                var x = new Vector<T>(ap);
                c00 = SmallSpans.MultiplyAdd(x, b0v, c00);
                c01 = SmallSpans.MultiplyAdd(x, b1v, c01);
                x = new Vector<T>(Unsafe.Add(ref ap, k1));
                c10 = SmallSpans.MultiplyAdd(x, b0v, c10);
                c11 = SmallSpans.MultiplyAdd(x, b1v, c11);
                x = new Vector<T>(Unsafe.Add(ref ap, k2));
                c20 = SmallSpans.MultiplyAdd(x, b0v, c20);
                c21 = SmallSpans.MultiplyAdd(x, b1v, c21);
                x = new Vector<T>(Unsafe.Add(ref ap, k3));
                c30 = SmallSpans.MultiplyAdd(x, b0v, c30);
                c31 = SmallSpans.MultiplyAdd(x, b1v, c31);
                ap = ref Unsafe.Add(ref ap, 1);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(c00, ref cj, 0);
            Store(c01, ref cj, w);
            Store(c10, ref cj, n1);
            Store(c11, ref cj, n1 + w);
            Store(c20, ref cj, n2);
            Store(c21, ref cj, n2 + w);
            Store(c30, ref cj, n3);
            Store(c31, ref cj, n3 + w);
        }

        for (; j < n; j += width)
        {
            int start = Math.Min(j, n - width);
            Vector<T> keep = KeepMask(j - start);
            ref T cj = ref Unsafe.Add(ref c, start);
            Vector<T> o0 = Load(ref cj, 0), o1 = Load(ref cj, n1), o2 = Load(ref cj, n2), o3 = Load(ref cj, n3);
            Vector<T> s0 = Vector.AndNot(o0, keep), s1 = Vector.AndNot(o1, keep), s2 = Vector.AndNot(o2, keep), s3 = Vector.AndNot(o3, keep);
            ref T bp = ref Unsafe.Add(ref b, start);
            ref T ap = ref a;
            for (int p = 0; p < k; p++)
            {
                Vector<T> bv = Load(ref bp, 0);
                s0 = SmallSpans.MultiplyAdd(new Vector<T>(ap), bv, s0);
                s1 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k1)), bv, s1);
                s2 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k2)), bv, s2);
                s3 = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref ap, k3)), bv, s3);
                ap = ref Unsafe.Add(ref ap, 1);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(Vector.ConditionalSelect(keep, o0, s0), ref cj, 0);
            Store(Vector.ConditionalSelect(keep, o1, s1), ref cj, n1);
            Store(Vector.ConditionalSelect(keep, o2, s2), ref cj, n2);
            Store(Vector.ConditionalSelect(keep, o3, s3), ref cj, n3);
        }
    }

    /// <summary>One row of c: four vectors of columns at a time (four independent sums), then one, then the overlapping last vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1(ref T a, int k, ref T b, int n, ref T c)
    {
        int width = Vector<T>.Count;
        nint w = width, n1 = n;
        int j = 0;
        for (; j + (4 * width) <= n; j += 4 * width)
        {
            ref T cj = ref Unsafe.Add(ref c, j);
            Vector<T> s0 = Load(ref cj, 0), s1 = Load(ref cj, w), s2 = Load(ref cj, 2 * w), s3 = Load(ref cj, 3 * w);
            ref T bp = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                var x = new Vector<T>(Unsafe.Add(ref a, p));
                s0 = SmallSpans.MultiplyAdd(x, Load(ref bp, 0), s0);
                s1 = SmallSpans.MultiplyAdd(x, Load(ref bp, w), s1);
                s2 = SmallSpans.MultiplyAdd(x, Load(ref bp, 2 * w), s2);
                s3 = SmallSpans.MultiplyAdd(x, Load(ref bp, 3 * w), s3);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(s0, ref cj, 0);
            Store(s1, ref cj, w);
            Store(s2, ref cj, 2 * w);
            Store(s3, ref cj, 3 * w);
        }

        for (; j < n; j += width)
        {
            int start = Math.Min(j, n - width);
            Vector<T> keep = KeepMask(j - start);
            ref T cj = ref Unsafe.Add(ref c, start);
            Vector<T> old = Load(ref cj, 0);
            Vector<T> sum = Vector.AndNot(old, keep);
            ref T bp = ref Unsafe.Add(ref b, start);
            for (int p = 0; p < k; p++)
            {
                sum = SmallSpans.MultiplyAdd(new Vector<T>(Unsafe.Add(ref a, p)), Load(ref bp, 0), sum);
                bp = ref Unsafe.Add(ref bp, n1);
            }

            Store(Vector.ConditionalSelect(keep, old, sum), ref cj, 0);
        }
    }

    /// <summary>c_row[from..] += a_row · b[:, from..], an element at a time.</summary>
    internal static void ScalarColumns(ReadOnlySpan<T> aRow, ReadOnlySpan<T> b, int n, int from, Span<T> cRow)
    {
        int k = aRow.Length;
        for (int j = from; j < n; j++)
        {
            T sum = cRow[j];
            for (int p = 0; p < k; p++)
            {
                sum = T.FusedMultiplyAdd(aRow[p], b[(p * n) + j], sum);
            }

            cRow[j] = sum;
        }
    }

    /// <summary>All bits set in the first <paramref name="lanes"/> lanes (the columns already finished), clear in the others.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> KeepMask(int lanes) => Vector.LessThan(Vector<T>.Indices, new Vector<T>(T.CreateTruncating(lanes)));

    private static Vector<T> Load(ref T origin, nint offset) => Vector.LoadUnsafe(ref Unsafe.Add(ref origin, offset));

    private static void Store(Vector<T> value, ref T origin, nint offset) => value.StoreUnsafe(ref Unsafe.Add(ref origin, offset));
}
