namespace RlMemory.Environments;

/// <summary>Helpers for the binary state of environments, wrappers and vector environments.</summary>
public static class EnvState
{
    /// <summary>Writes a marker naming the kind of state that follows.</summary>
    public static void WriteHeader(BinaryWriter writer, Type owner, int version = 1)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(KindName(owner));
        writer.Write(version);
    }

    /// <summary>Reads a marker and checks it names <paramref name="owner"/>; returns the version.</summary>
    /// <exception cref="InvalidDataException">The state was written by another kind of environment.</exception>
    public static int ReadHeader(BinaryReader reader, Type owner, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string expected = KindName(owner);
        string found;
        int version;
        try
        {
            found = reader.ReadString();
            version = reader.ReadInt32();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{name}: the saved environment state ends before its {expected} part.", e);
        }

        if (found != expected)
        {
            throw new InvalidDataException($"{name}: the saved state belongs to a {found}, not a {expected}; restore it into the same environment stack it was saved from.");
        }

        return version;
    }

    /// <summary>Writes a random generator (null allowed).</summary>
    public static void WriteRandom(BinaryWriter writer, NumpyRandom? rng)
    {
        writer.Write(rng is not null);
        if (rng is null)
        {
            return;
        }

        NumpyRandomState s = rng.GetState();
        writer.Write(rng.Seed);
        WriteUInt128(writer, s.State);
        WriteUInt128(writer, s.Increment);
        writer.Write(s.HasUInt32);
        writer.Write(s.UInteger);
    }

    /// <summary>Reads a random generator written by <see cref="WriteRandom"/>.</summary>
    public static NumpyRandom? ReadRandom(BinaryReader reader)
    {
        if (!reader.ReadBoolean())
        {
            return null;
        }

        var rng = new NumpyRandom(reader.ReadUInt64());
        rng.SetState(new NumpyRandomState(ReadUInt128(reader), ReadUInt128(reader), reader.ReadBoolean(), reader.ReadUInt32()));
        return rng;
    }

    /// <summary>Writes an array of doubles with its length.</summary>
    public static void WriteDoubles(BinaryWriter writer, ReadOnlySpan<double> values)
    {
        writer.Write(values.Length);
        foreach (double v in values)
        {
            writer.Write(v);
        }
    }

    /// <summary>Reads doubles into <paramref name="destination"/>, which must have the saved length.</summary>
    public static void ReadDoubles(BinaryReader reader, Span<double> destination, string what)
    {
        int n = reader.ReadInt32();
        if (n != destination.Length)
        {
            throw new InvalidDataException($"{what}: the saved state has {n} values; expected {destination.Length}.");
        }

        for (int i = 0; i < n; i++)
        {
            destination[i] = reader.ReadDouble();
        }
    }

    /// <summary>Writes an array of floats with its length.</summary>
    public static void WriteFloats(BinaryWriter writer, ReadOnlySpan<float> values)
    {
        writer.Write(values.Length);
        foreach (float v in values)
        {
            writer.Write(v);
        }
    }

    /// <summary>Reads floats into <paramref name="destination"/>, which must have the saved length.</summary>
    public static void ReadFloats(BinaryReader reader, Span<float> destination, string what)
    {
        int n = reader.ReadInt32();
        if (n != destination.Length)
        {
            throw new InvalidDataException($"{what}: the saved state has {n} values; expected {destination.Length}.");
        }

        for (int i = 0; i < n; i++)
        {
            destination[i] = reader.ReadSingle();
        }
    }

    private static string KindName(Type owner) => owner.IsGenericType ? owner.GetGenericTypeDefinition().FullName ?? owner.Name : owner.FullName ?? owner.Name;

    private static void WriteUInt128(BinaryWriter writer, UInt128 value)
    {
        writer.Write((ulong)(value >> 64));
        writer.Write((ulong)value);
    }

    private static UInt128 ReadUInt128(BinaryReader reader)
    {
        ulong hi = reader.ReadUInt64();
        ulong lo = reader.ReadUInt64();
        return ((UInt128)hi << 64) | lo;
    }
}
