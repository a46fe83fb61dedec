using static TorchSharp.torch;

namespace RlMemory.Memory.Persistence;

/// <summary>
/// The layout of a buffer file (all integers little-endian):
/// <code>
/// magic          8 bytes  "RLMB\r\n\x1a\n"
/// format version u32
/// kind           u16 length + UTF-8   (e.g. "UniformReplayBuffer")
/// kind version   u32
/// metadata       u32 length + UTF-8 JSON
/// sections       repeated: 'S', name (u16 length + UTF-8), dtype u8, rank u8, shape i64 × rank, byte length i64, bytes
/// end of sections 'E'
/// footer         content length u64, XxHash3 of the content u64, "RLMBEND\n"
/// </code>
/// The content is every byte before the footer; the checksum covers all of it.
/// </summary>
internal static class BufferFileFormat
{
    public const int Version = 1;
    public const int FooterLength = 24;
    public const byte SectionTag = (byte)'S';
    public const byte EndTag = (byte)'E';
    public const int MaxNameBytes = 1024;
    public const int MaxMetadataBytes = 64 << 20;

    public static ReadOnlySpan<byte> Magic => "RLMB\r\n\u001a\n"u8;

    public static ReadOnlySpan<byte> EndMagic => "RLMBEND\n"u8;

    /// <summary>The code stored for a dtype, or 0 when the format does not support it.</summary>
    public static byte Code(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte => 1,
        ScalarType.Bool => 2,
        ScalarType.Int32 => 3,
        ScalarType.Int64 => 4,
        ScalarType.Float32 => 5,
        ScalarType.Float64 => 6,
        _ => 0,
    };

    public static ScalarType? DType(byte code) => code switch
    {
        1 => ScalarType.Byte,
        2 => ScalarType.Bool,
        3 => ScalarType.Int32,
        4 => ScalarType.Int64,
        5 => ScalarType.Float32,
        6 => ScalarType.Float64,
        _ => null,
    };

    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte or ScalarType.Bool => 1,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Buffer files hold uint8, bool, int32, int64, float32 and float64 sections."),
    };

    public static ScalarType DTypeOf<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(byte))
        {
            return ScalarType.Byte;
        }

        if (typeof(T) == typeof(bool))
        {
            return ScalarType.Bool;
        }

        if (typeof(T) == typeof(int))
        {
            return ScalarType.Int32;
        }

        if (typeof(T) == typeof(long))
        {
            return ScalarType.Int64;
        }

        if (typeof(T) == typeof(float))
        {
            return ScalarType.Float32;
        }

        if (typeof(T) == typeof(double))
        {
            return ScalarType.Float64;
        }

        throw new ArgumentException($"Buffer files hold byte, bool, int, long, float and double arrays, not {typeof(T).Name}.");
    }

    public static string Name(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte => "uint8",
        ScalarType.Bool => "bool",
        ScalarType.Int32 => "int32",
        ScalarType.Int64 => "int64",
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        _ => dtype.ToString(),
    };

    public static string ShapeText(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
}
