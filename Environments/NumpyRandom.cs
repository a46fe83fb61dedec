using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace RlMemory.Environments;

/// <summary>
/// The complete state of a <see cref="NumpyRandom"/>, as numpy's <c>PCG64.state</c> holds it:
/// the 128-bit LCG state and increment plus the buffered 32-bit half used by 32-bit draws.
/// </summary>
/// <param name="State">The 128-bit PCG64 state (numpy's <c>state["state"]["state"]</c>).</param>
/// <param name="Increment">The 128-bit PCG64 increment, always odd (numpy's <c>state["state"]["inc"]</c>).</param>
/// <param name="HasUInt32">Whether the high half of the last 64-bit output is buffered for the next 32-bit draw (numpy's <c>has_uint32</c>).</param>
/// <param name="UInteger">The buffered 32-bit value; meaningful only when <paramref name="HasUInt32"/> is <see langword="true"/> (numpy's <c>uinteger</c>).</param>
public readonly record struct NumpyRandomState(UInt128 State, UInt128 Increment, bool HasUInt32, uint UInteger);

/// <summary>
/// A random generator that reproduces <c>numpy.random.default_rng(seed)</c>, that is
/// <c>np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))</c>, bit for bit for the
/// raw draws, <see cref="NextDouble"/>, <see cref="NextSingle"/>, <see cref="Uniform"/>,
/// <see cref="Integers"/> and <see cref="Shuffle{T}"/>.
/// </summary>
/// <remarks>
/// <para>
/// Seeding follows numpy's <c>SeedSequence</c> (pool of four 32-bit words, <c>generate_state(4, uint64)</c>)
/// and <c>pcg64_set_seed</c>; the generator is PCG64 (XSL-RR 128/64). 32-bit draws use numpy's buffering:
/// a 64-bit output yields its low half first and keeps its high half for the next 32-bit draw, while 64-bit
/// draws neither use nor clear that buffer.
/// </para>
/// <para>
/// <see cref="StandardNormal"/> and <see cref="StandardExponential"/> sample the right distributions but are
/// <b>not</b> bit-compatible with numpy (numpy uses ziggurat tables). Instances are not thread-safe.
/// </para>
/// </remarks>
public sealed class NumpyRandom
{
    /// <summary>PCG's default 128-bit LCG multiplier (PCG_DEFAULT_MULTIPLIER_128).</summary>
    private static readonly UInt128 Multiplier = new(0x2360ED051FC65DA4UL, 0x4385DF649FCCF645UL);

    private const double DoubleUnit = 1.0 / 9007199254740992.0; // 2^-53
    private const float SingleUnit = 1.0f / 16777216.0f; // 2^-24

    private UInt128 _state;
    private UInt128 _increment;
    private bool _hasUInt32;
    private uint _uinteger;

    /// <summary>
    /// Creates a generator whose draws equal those of <c>numpy.random.default_rng(seed)</c>.
    /// </summary>
    /// <param name="seed">The seed; any non-negative integer numpy accepts that fits in 64 bits.</param>
    public NumpyRandom(ulong seed)
    {
        Seed = seed;
        Span<uint> entropy = stackalloc uint[2];
        int words = NumpySeedSequence.SeedToEntropy(seed, entropy);
        Span<ulong> words64 = stackalloc ulong[4];
        NumpySeedSequence.GenerateState(entropy[..words], words64);

        // pcg64_set_seed: initstate = (val[0] << 64) | val[1], initseq = (val[2] << 64) | val[3].
        var initState = new UInt128(words64[0], words64[1]);
        var initSequence = new UInt128(words64[2], words64[3]);

        // pcg_setseq_128_srandom_r.
        _state = UInt128.Zero;
        _increment = (initSequence << 1) | UInt128.One;
        Step();
        _state += initState;
        Step();
        _hasUInt32 = false;
        _uinteger = 0;
    }

    private NumpyRandom(NumpyRandom source)
    {
        Seed = source.Seed;
        _state = source._state;
        _increment = source._increment;
        _hasUInt32 = source._hasUInt32;
        _uinteger = source._uinteger;
    }

    /// <summary>
    /// The seed this generator was created with (for <see cref="FromEntropy"/>, the seed drawn from the OS).
    /// <c>numpy.random.default_rng(Seed)</c> reproduces the generator from its creation. It is copied by
    /// <see cref="Clone"/> and not changed by draws or <see cref="SetState"/>.
    /// </summary>
    public ulong Seed { get; }

    /// <summary>
    /// Creates a generator seeded with a 64-bit seed from the operating system's cryptographic random source.
    /// The seed is exposed as <see cref="Seed"/> so the run can be reproduced (here or with numpy).
    /// </summary>
    /// <returns>A new generator seeded from OS entropy.</returns>
    public static NumpyRandom FromEntropy()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(bytes);
        return new NumpyRandom(BinaryPrimitives.ReadUInt64LittleEndian(bytes));
    }

    /// <summary>
    /// Returns the next raw 64-bit output of PCG64 (numpy's <c>bit_generator.random_raw()</c>).
    /// Does not touch the 32-bit buffer.
    /// </summary>
    /// <returns>A uniformly distributed 64-bit value.</returns>
    public ulong NextUInt64()
    {
        Step();
        UInt128 s = _state;
        ulong xored = (ulong)(s >> 64) ^ (ulong)s;
        return BitOperations.RotateRight(xored, (int)(s >> 122));
    }

    /// <summary>
    /// Returns the next 32-bit value as numpy's <c>next_uint32</c> does: the buffered high half of the previous
    /// 64-bit output produced for a 32-bit draw if there is one, otherwise the low half of a fresh 64-bit output
    /// (whose high half is then buffered).
    /// </summary>
    /// <returns>A uniformly distributed 32-bit value.</returns>
    public uint NextUInt32()
    {
        if (_hasUInt32)
        {
            _hasUInt32 = false;
            return _uinteger;
        }

        ulong next = NextUInt64();
        _hasUInt32 = true;
        _uinteger = (uint)(next >> 32);
        return (uint)next;
    }

    /// <summary>
    /// Returns a double in [0, 1) with 53 random bits: <c>(NextUInt64() &gt;&gt; 11) * 2^-53</c>,
    /// equal to numpy's <c>Generator.random()</c>.
    /// </summary>
    /// <returns>A uniformly distributed double in [0, 1).</returns>
    public double NextDouble() => (NextUInt64() >> 11) * DoubleUnit;

    /// <summary>
    /// Returns a float in [0, 1) with 24 random bits: <c>(NextUInt32() &gt;&gt; 8) * 2^-24</c>,
    /// equal to numpy's <c>Generator.random(dtype=np.float32)</c>. Uses the 32-bit buffer.
    /// </summary>
    /// <returns>A uniformly distributed float in [0, 1).</returns>
    public float NextSingle() => (NextUInt32() >> 8) * SingleUnit;

    /// <summary>
    /// Returns <c>low + (high - low) * NextDouble()</c>, equal to numpy's <c>Generator.uniform(low, high)</c>
    /// (the range is computed as <c>high - low</c> in double precision). One 64-bit draw is consumed even
    /// when <paramref name="low"/> equals <paramref name="high"/>, as in numpy.
    /// </summary>
    /// <param name="low">Inclusive lower bound; must be finite.</param>
    /// <param name="high">Upper bound; must be finite and not less than <paramref name="low"/>.</param>
    /// <returns>A value in [low, high) (rounding can make it equal to <paramref name="high"/>, as in numpy).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A bound is NaN or infinite.</exception>
    /// <exception cref="ArgumentException"><paramref name="high"/> is less than <paramref name="low"/>, or <c>high - low</c> overflows.</exception>
    public double Uniform(double low, double high)
    {
        if (!double.IsFinite(low))
        {
            throw new ArgumentOutOfRangeException(nameof(low), low, "Uniform requires a finite lower bound.");
        }

        if (!double.IsFinite(high))
        {
            throw new ArgumentOutOfRangeException(nameof(high), high, "Uniform requires a finite upper bound.");
        }

        double range = high - low;
        if (range < 0)
        {
            throw new ArgumentException($"Uniform requires low <= high; got low={low:R}, high={high:R}.", nameof(high));
        }

        if (!double.IsFinite(range))
        {
            throw new ArgumentException($"Uniform range high - low overflows; got low={low:R}, high={high:R}.", nameof(high));
        }

        return low + range * NextDouble();
    }

    /// <summary>
    /// Returns an integer in [<paramref name="low"/>, <paramref name="highExclusive"/>), equal to numpy's
    /// <c>Generator.integers(low, high)</c> with the default <c>int64</c> dtype: Lemire's method on 32-bit draws
    /// (with numpy's 32-bit buffering) when <c>high - 1 - low</c> fits in 32 bits, on 64-bit draws otherwise.
    /// A one-value range returns <paramref name="low"/> without drawing.
    /// </summary>
    /// <param name="low">Inclusive lower bound.</param>
    /// <param name="highExclusive">Exclusive upper bound; must be greater than <paramref name="low"/>.</param>
    /// <returns>A uniformly distributed integer in the range.</returns>
    /// <exception cref="ArgumentException"><paramref name="highExclusive"/> is not greater than <paramref name="low"/>.</exception>
    public long Integers(long low, long highExclusive)
    {
        if (highExclusive <= low)
        {
            throw new ArgumentException(
                $"Integers requires low < highExclusive; got low={low}, highExclusive={highExclusive}.",
                nameof(highExclusive));
        }

        // numpy: rng = (high - 1) - low as uint64, off = low; result = off + bounded draw (mod 2^64).
        ulong range = unchecked((ulong)highExclusive - 1UL - (ulong)low);
        ulong offset = unchecked((ulong)low);
        if (range == 0)
        {
            return low;
        }

        ulong value;
        if (range <= uint.MaxValue)
        {
            value = range == uint.MaxValue ? NextUInt32() : BoundedLemire32((uint)range);
        }
        else
        {
            // range <= 2^64 - 2 here, so the 64-bit Lemire method applies (numpy special-cases 2^64 - 1 only).
            value = BoundedLemire64(range);
        }

        return unchecked((long)(offset + value));
    }

    /// <summary>
    /// Shuffles <paramref name="values"/> in place exactly as numpy's <c>Generator.shuffle</c> does for a
    /// one-dimensional array: Fisher-Yates from the last element down to the second, swapping element <c>i</c>
    /// with element <c>random_interval(i)</c> (rejection sampling under the smallest bit mask covering <c>i</c>,
    /// on 32-bit draws when <c>i</c> fits in 32 bits).
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="values">The elements to permute; empty and single-element spans consume no draws.</param>
    public void Shuffle<T>(Span<T> values)
    {
        for (int i = values.Length - 1; i >= 1; i--)
        {
            int j = (int)RandomInterval((ulong)i);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>
    /// Returns a standard normal variate (mean 0, variance 1) by the Box-Muller transform on two
    /// <see cref="NextDouble"/> draws (only one of the pair is used, so no state is cached).
    /// This is <b>not</b> bit-compatible with numpy's <c>Generator.standard_normal</c>, which uses a ziggurat.
    /// </summary>
    /// <returns>A normally distributed double.</returns>
    public double StandardNormal()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: avoids log(0).
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>
    /// Returns a standard exponential variate (rate 1) by inversion, <c>-log(1 - NextDouble())</c>.
    /// This is <b>not</b> bit-compatible with numpy's <c>Generator.standard_exponential</c>, which uses a ziggurat.
    /// </summary>
    /// <returns>A non-negative, exponentially distributed double.</returns>
    public double StandardExponential() => -Math.Log(1.0 - NextDouble());

    /// <summary>Captures the complete generator state (for checkpoints); see <see cref="SetState"/>.</summary>
    /// <returns>The current state.</returns>
    public NumpyRandomState GetState() => new(_state, _increment, _hasUInt32, _uinteger);

    /// <summary>
    /// Restores a state captured by <see cref="GetState"/> (or numpy's <c>PCG64.state</c>); the draws that follow
    /// are those that followed the capture. <see cref="Seed"/> is not changed.
    /// </summary>
    /// <param name="state">The state to restore.</param>
    /// <exception cref="ArgumentException">The increment is even (PCG64 increments are always odd).</exception>
    public void SetState(NumpyRandomState state)
    {
        if ((state.Increment & UInt128.One) == UInt128.Zero)
        {
            throw new ArgumentException(
                $"A PCG64 increment must be odd; got 0x{state.Increment:X32}.", nameof(state));
        }

        _state = state.State;
        _increment = state.Increment;
        _hasUInt32 = state.HasUInt32;
        _uinteger = state.UInteger;
    }

    /// <summary>Returns an independent copy that continues with the same draws as this generator.</summary>
    /// <returns>A new generator with the same state and <see cref="Seed"/>.</returns>
    public NumpyRandom Clone() => new(this);

    private void Step() => _state = unchecked((_state * Multiplier) + _increment);

    /// <summary>numpy's <c>buffered_bounded_lemire_uint32</c>: a value in [0, range], range &lt; 2^32 - 1.</summary>
    private uint BoundedLemire32(uint range)
    {
        uint rangeExclusive = range + 1;
        ulong m = (ulong)NextUInt32() * rangeExclusive;
        uint leftover = (uint)m;
        if (leftover < rangeExclusive)
        {
            uint threshold = (uint.MaxValue - range) % rangeExclusive;
            while (leftover < threshold)
            {
                m = (ulong)NextUInt32() * rangeExclusive;
                leftover = (uint)m;
            }
        }

        return (uint)(m >> 32);
    }

    /// <summary>numpy's <c>bounded_lemire_uint64</c>: a value in [0, range], range &lt; 2^64 - 1.</summary>
    private ulong BoundedLemire64(ulong range)
    {
        ulong rangeExclusive = range + 1;
        ulong high = Math.BigMul(NextUInt64(), rangeExclusive, out ulong leftover);
        if (leftover < rangeExclusive)
        {
            ulong threshold = (ulong.MaxValue - range) % rangeExclusive;
            while (leftover < threshold)
            {
                high = Math.BigMul(NextUInt64(), rangeExclusive, out leftover);
            }
        }

        return high;
    }

    /// <summary>numpy's <c>random_interval</c>: a value in [0, max] by masked rejection.</summary>
    private ulong RandomInterval(ulong max)
    {
        if (max == 0)
        {
            return 0;
        }

        ulong mask = ulong.MaxValue >> BitOperations.LeadingZeroCount(max);
        ulong value;
        if (max <= uint.MaxValue)
        {
            while ((value = NextUInt32() & mask) > max)
            {
            }
        }
        else
        {
            while ((value = NextUInt64() & mask) > max)
            {
            }
        }

        return value;
    }
}

/// <summary>
/// numpy's <c>SeedSequence</c> (<c>numpy/random/bit_generator.pyx</c>) for integer entropy without spawn key,
/// with the default pool of four 32-bit words.
/// </summary>
internal static class NumpySeedSequence
{
    private const int PoolSize = 4;
    private const uint InitA = 0x43b0d7e5;
    private const uint MultA = 0x931e8875;
    private const uint InitB = 0x8b51f9dd;
    private const uint MultB = 0x58f38ded;
    private const uint MixMultL = 0xca01f9dd;
    private const uint MixMultR = 0x4973f715;
    private const int XShift = 16;

    /// <summary>
    /// numpy's <c>_int_to_uint32_array</c>: splits <paramref name="seed"/> into 32-bit words, lowest first
    /// (zero is one zero word).
    /// </summary>
    /// <param name="seed">The non-negative integer seed.</param>
    /// <param name="destination">At least two words.</param>
    /// <returns>The number of words written (1 or 2).</returns>
    public static int SeedToEntropy(ulong seed, Span<uint> destination)
    {
        destination[0] = (uint)seed;
        if (seed >> 32 == 0)
        {
            return 1;
        }

        destination[1] = (uint)(seed >> 32);
        return 2;
    }

    /// <summary>
    /// Mixes <paramref name="entropy"/> into the pool and writes <c>generate_state(destination.Length, uint64)</c>.
    /// </summary>
    /// <param name="entropy">The assembled entropy words.</param>
    /// <param name="destination">The 64-bit words to produce.</param>
    public static void GenerateState(ReadOnlySpan<uint> entropy, Span<ulong> destination)
    {
        Span<uint> pool = stackalloc uint[PoolSize];
        MixEntropy(pool, entropy);

        uint hashConst = InitB;
        for (int i = 0; i < destination.Length; i++)
        {
            uint low = GenerateWord(pool[(2 * i) % PoolSize], ref hashConst);
            uint high = GenerateWord(pool[((2 * i) + 1) % PoolSize], ref hashConst);

            // numpy views the uint32 words as little-endian uint64.
            destination[i] = ((ulong)high << 32) | low;
        }
    }

    private static uint GenerateWord(uint dataVal, ref uint hashConst)
    {
        unchecked
        {
            dataVal ^= hashConst;
            hashConst *= MultB;
            dataVal *= hashConst;
            dataVal ^= dataVal >> XShift;
            return dataVal;
        }
    }

    private static void MixEntropy(Span<uint> mixer, ReadOnlySpan<uint> entropy)
    {
        uint hashConst = InitA;
        for (int i = 0; i < mixer.Length; i++)
        {
            mixer[i] = HashMix(i < entropy.Length ? entropy[i] : 0u, ref hashConst);
        }

        for (int src = 0; src < mixer.Length; src++)
        {
            for (int dst = 0; dst < mixer.Length; dst++)
            {
                if (src != dst)
                {
                    mixer[dst] = Mix(mixer[dst], HashMix(mixer[src], ref hashConst));
                }
            }
        }

        for (int src = mixer.Length; src < entropy.Length; src++)
        {
            for (int dst = 0; dst < mixer.Length; dst++)
            {
                mixer[dst] = Mix(mixer[dst], HashMix(entropy[src], ref hashConst));
            }
        }
    }

    private static uint HashMix(uint value, ref uint hashConst)
    {
        unchecked
        {
            value ^= hashConst;
            hashConst *= MultA;
            value *= hashConst;
            value ^= value >> XShift;
            return value;
        }
    }

    private static uint Mix(uint x, uint y)
    {
        unchecked
        {
            uint result = (MixMultL * x) - (MixMultR * y);
            result ^= result >> XShift;
            return result;
        }
    }
}
