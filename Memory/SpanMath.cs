using System.Numerics;
using System.Runtime.Intrinsics;

namespace RlMemory.Memory;

/// <summary>Vectorized scans and conversions of observation data.</summary>
internal static class SpanMath
{
    /// <summary>The index of the first NaN or infinite value, or −1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(values);
            for (int v = 0; v < vectors.Length; v++)
            {
                Vector<float> x = vectors[v];
                // x − x is 0 for finite x and NaN for NaN or ±∞.
                if (!Vector.EqualsAll(x - x, Vector<float>.Zero))
                {
                    return v * Vector<float>.Count + IndexOfNonFiniteScalar(values.Slice(v * Vector<float>.Count, Vector<float>.Count));
                }
            }

            i = vectors.Length * Vector<float>.Count;
        }

        int tail = IndexOfNonFiniteScalar(values[i..]);
        return tail < 0 ? -1 : i + tail;
    }

    /// <summary>The index of the first value outside [<paramref name="low"/>, <paramref name="high"/>] (NaN included), or −1.</summary>
    public static int IndexOfOutside(ReadOnlySpan<float> values, float low, float high)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(values);
            var lo = new Vector<float>(low);
            var hi = new Vector<float>(high);
            for (int v = 0; v < vectors.Length; v++)
            {
                Vector<float> x = vectors[v];
                // Comparisons with NaN are false, so NaN fails the test.
                if (!(Vector.GreaterThanOrEqualAll(x, lo) && Vector.LessThanOrEqualAll(x, hi)))
                {
                    return v * Vector<float>.Count + IndexOfOutsideScalar(values.Slice(v * Vector<float>.Count, Vector<float>.Count), low, high);
                }
            }

            i = vectors.Length * Vector<float>.Count;
        }

        int tail = IndexOfOutsideScalar(values[i..], low, high);
        return tail < 0 ? -1 : i + tail;
    }

    /// <summary>
    /// Rounds each value (to the nearest integer, ties to even) into a byte. The values must already be known to lie
    /// in [0, 255].
    /// </summary>
    public static void RoundToBytes(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("RoundToBytes: destination is shorter than source.", nameof(destination));
        }

        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            int blocks = source.Length / 32;
            for (int b = 0; b < blocks; b++, i += 32)
            {
                Vector256<int> a = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(source.Slice(i, 8))));
                Vector256<int> c = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(source.Slice(i + 8, 8))));
                Vector256<int> d = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(source.Slice(i + 16, 8))));
                Vector256<int> e = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(source.Slice(i + 24, 8))));
                // Narrowing keeps the low bits; the values are in [0, 255], so nothing is lost. Vector256.Narrow works
                // per whole vector (lower half from the first argument), so the element order is kept.
                Vector256<short> ac = Vector256.Narrow(a, c);
                Vector256<short> de = Vector256.Narrow(d, e);
                Vector256<byte> bytes = Vector256.Narrow(ac.AsUInt16(), de.AsUInt16());
                bytes.CopyTo(destination.Slice(i, 32));
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = (byte)MathF.Round(source[i]);
        }
    }

    private static int IndexOfNonFiniteScalar(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static int IndexOfOutsideScalar(ReadOnlySpan<float> values, float low, float high)
    {
        for (int i = 0; i < values.Length; i++)
        {
            float x = values[i];
            if (!(x >= low && x <= high))
            {
                return i;
            }
        }

        return -1;
    }
}
