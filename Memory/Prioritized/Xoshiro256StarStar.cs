using System.Buffers.Binary;
using System.Numerics;

namespace RlMemory.Memory;

/// <summary>
/// xoshiro256** 1.0 (Blackman and Vigna, 2018): a small, fast 64-bit generator with a 256-bit state that can be
/// exported and restored, seeded from one 64-bit number through SplitMix64 as its authors recommend. Used by
/// <see cref="ManagedPrioritySampler"/> for its uniform draws. Not thread-safe.
/// </summary>
internal sealed class Xoshiro256StarStar
{
    /// <summary>The name written with exported states.</summary>
    public const string Algorithm = "xoshiro256**";

    /// <summary>The size of an exported state in bytes (four little-endian 64-bit words).</summary>
    public const int StateSize = 32;

    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Seeds the state with four outputs of SplitMix64 started at <paramref name="seed"/>.</summary>
    public Xoshiro256StarStar(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1): the top 53 bits of <see cref="NextUInt64"/> times 2^−53.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>The state as <see cref="StateSize"/> bytes.</summary>
    public byte[] ExportState()
    {
        var bytes = new byte[StateSize];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(0), _s0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), _s1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), _s2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), _s3);
        return bytes;
    }

    /// <summary>Throws unless <paramref name="state"/> is a valid exported state (32 bytes, not all zero).</summary>
    public static void CheckState(string owner, ReadOnlySpan<byte> state)
    {
        if (state.Length != StateSize)
        {
            throw new ArgumentException(
                $"{owner}: an {Algorithm} state is {StateSize} bytes; got {state.Length}. Nothing was changed.");
        }

        if (!state.ContainsAnyExcept((byte)0))
        {
            throw new ArgumentException(
                $"{owner}: an all-zero {Algorithm} state is invalid (the generator would only ever return 0). Nothing was changed.");
        }
    }

    /// <summary>Restores a state from <see cref="ExportState"/>; check it first with <see cref="CheckState"/>.</summary>
    public void ImportState(ReadOnlySpan<byte> state)
    {
        _s0 = BinaryPrimitives.ReadUInt64LittleEndian(state);
        _s1 = BinaryPrimitives.ReadUInt64LittleEndian(state[8..]);
        _s2 = BinaryPrimitives.ReadUInt64LittleEndian(state[16..]);
        _s3 = BinaryPrimitives.ReadUInt64LittleEndian(state[24..]);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
