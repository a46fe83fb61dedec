using System.Buffers.Binary;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Draws actions from categorical distributions given as logits, on the host, with its own xoshiro256** generator
/// (seeded by SplitMix64; its 32-byte state is saved in checkpoints). Returns each action's log-probability as well.
/// </summary>
internal sealed class CategoricalSampler
{
    private ulong _s0, _s1, _s2, _s3;

    public CategoricalSampler(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>Samples one action from <paramref name="logits"/> and returns it with its log-probability.</summary>
    public int Sample(ReadOnlySpan<float> logits, out float logProbability)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits)
        {
            max = Math.Max(max, l);
        }

        double sum = 0;
        foreach (float l in logits)
        {
            sum += Math.Exp(l - max);
        }

        double u = NextDouble() * sum;
        int action = logits.Length - 1;
        double cumulative = 0;
        for (int a = 0; a < logits.Length; a++)
        {
            cumulative += Math.Exp(logits[a] - max);
            if (u < cumulative)
            {
                action = a;
                break;
            }
        }

        logProbability = (float)(logits[action] - max - Math.Log(sum));
        return action;
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>The generator's state (32 bytes).</summary>
    public byte[] ExportState()
    {
        var bytes = new byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(0), _s0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), _s1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), _s2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), _s3);
        return bytes;
    }

    /// <summary>Restores a state from <see cref="ExportState"/>.</summary>
    public void ImportState(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 32)
        {
            throw new InvalidDataException($"CategoricalSampler: a state has 32 bytes, got {bytes.Length}.");
        }

        _s0 = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        _s1 = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        _s2 = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        _s3 = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
    }

    private ulong Next()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
