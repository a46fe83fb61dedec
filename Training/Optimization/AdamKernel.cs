using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RlMemory.Training.Optimization;

/// <summary>The CPU loops behind <see cref="FlatAdam"/>: one SIMD pass each for the Adam step, the squared norm and scaling.</summary>
internal static class AdamKernel
{
    /// <summary>
    /// In place: <c>m ← β₁m + (1−β₁)g</c>; <c>v ← β₂v + (1−β₂)g²</c>; <c>θ ← θ + step · m / (√v / c₂ + ε)</c>, where
    /// <paramref name="step"/> = −α/(1−β₁ᵗ) and <paramref name="correction2Sqrt"/> = √(1−β₂ᵗ).
    /// </summary>
    public static void Step(Span<float> values, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second,
        float beta1, float beta2, float epsilon, float step, float correction2Sqrt)
    {
        int n = values.Length;
        if (gradients.Length != n || first.Length != n || second.Length != n)
        {
            throw new ArgumentException("AdamKernel.Step: the four buffers must have the same length.");
        }

        float oneMinusBeta1 = 1 - beta1;
        float oneMinusBeta2 = 1 - beta2;
        int i = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            // AVX-512 (Vector<T> stays 256 bits there): half the square roots and divisions issued, the same operations
            // per element in the same order (so the same bits as the narrower loop).
            ref float p0 = ref MemoryMarshal.GetReference(values);
            ref float g0 = ref MemoryMarshal.GetReference(gradients);
            ref float m0 = ref MemoryMarshal.GetReference(first);
            ref float v0 = ref MemoryMarshal.GetReference(second);
            Vector512<float> b1 = Vector512.Create(beta1), b2 = Vector512.Create(beta2), c1 = Vector512.Create(oneMinusBeta1), c2 = Vector512.Create(oneMinusBeta2);
            Vector512<float> eps = Vector512.Create(epsilon), s = Vector512.Create(step), correction = Vector512.Create(correction2Sqrt);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint at = (nuint)i;
                Vector512<float> g = Vector512.LoadUnsafe(ref g0, at);
                Vector512<float> m = (Vector512.LoadUnsafe(ref m0, at) * b1) + (g * c1);
                Vector512<float> v = (Vector512.LoadUnsafe(ref v0, at) * b2) + (g * g * c2);
                Vector512<float> denominator = (Vector512.Sqrt(v) / correction) + eps;
                Vector512<float> p = Vector512.LoadUnsafe(ref p0, at) + (s * (m / denominator));
                m.StoreUnsafe(ref m0, at);
                v.StoreUnsafe(ref v0, at);
                p.StoreUnsafe(ref p0, at);
            }
        }

        if (Vector.IsHardwareAccelerated && n - i >= Vector<float>.Count)
        {
            var b1 = new Vector<float>(beta1);
            var b2 = new Vector<float>(beta2);
            var c1 = new Vector<float>(oneMinusBeta1);
            var c2 = new Vector<float>(oneMinusBeta2);
            var eps = new Vector<float>(epsilon);
            var s = new Vector<float>(step);
            var correction = new Vector<float>(correction2Sqrt);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var g = new Vector<float>(gradients[i..]);
                Vector<float> m = (new Vector<float>(first[i..]) * b1) + (g * c1);
                Vector<float> v = (new Vector<float>(second[i..]) * b2) + (g * g * c2);
                Vector<float> denominator = (Vector.SquareRoot(v) / correction) + eps;
                Vector<float> p = new Vector<float>(values[i..]) + (s * (m / denominator));
                m.CopyTo(first[i..]);
                v.CopyTo(second[i..]);
                p.CopyTo(values[i..]);
            }
        }

        for (; i < n; i++)
        {
            float g = gradients[i];
            float m = (first[i] * beta1) + (g * oneMinusBeta1);
            float v = (second[i] * beta2) + (g * g * oneMinusBeta2);
            first[i] = m;
            second[i] = v;
            values[i] += step * (m / ((MathF.Sqrt(v) / correction2Sqrt) + epsilon));
        }
    }

    /// <summary>Σ xᵢ²: runs of 64 squares per SIMD lane in float, added up in double (relative error ~1e-7 for millions of terms).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        double total = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // Each lane sums at most 64 squares in float, then the lanes are added in double.
            int last = x.Length - Vector<float>.Count;
            while (i <= last)
            {
                Vector<float> acc = Vector<float>.Zero;
                int stop = Math.Min(last, i + (63 * Vector<float>.Count));
                for (; i <= stop; i += Vector<float>.Count)
                {
                    var v = new Vector<float>(x[i..]);
                    acc += v * v;
                }

                for (int k = 0; k < Vector<float>.Count; k++)
                {
                    total += acc[k];
                }
            }
        }

        for (; i < x.Length; i++)
        {
            total += (double)x[i] * x[i];
        }

        return total;
    }

    /// <summary>x ← c·x.</summary>
    public static void Scale(Span<float> x, float c)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<float>(c);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                (new Vector<float>(x[i..]) * vc).CopyTo(x[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            x[i] *= c;
        }
    }
}
