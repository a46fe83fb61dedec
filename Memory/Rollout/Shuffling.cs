namespace RlMemory.Memory;

/// <summary>Uniform shuffles with a <see cref="Xoshiro256StarStar"/>, identical on every platform and device.</summary>
internal static class Shuffling
{
    /// <summary>A uniform integer in [0, <paramref name="bound"/>) (Lemire's multiply-and-reject method, unbiased).</summary>
    public static long Below(Xoshiro256StarStar rng, long bound)
    {
        ulong b = (ulong)bound;
        ulong threshold = (0UL - b) % b;
        while (true)
        {
            ulong high = Math.BigMul(rng.NextUInt64(), b, out ulong low);
            if (low >= threshold)
            {
                return (long)high;
            }
        }
    }

    /// <summary>Shuffles <paramref name="values"/> in place (Fisher–Yates: every order equally likely).</summary>
    public static void Shuffle<T>(Span<T> values, Xoshiro256StarStar rng)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = (int)Below(rng, i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}
