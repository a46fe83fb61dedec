using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using Google.Protobuf;
using Tensorboard;

namespace RlMemory.Training.Logging;

/// <summary>
/// Writes TensorBoard event files: TFRecord framing (little-endian length, masked CRC32C of the length, the
/// serialized <c>Event</c>, masked CRC32C of the data) of <c>tensorboard.Event</c> messages, with the first event
/// carrying <c>file_version = "brain.Event:2"</c>.
/// </summary>
/// <remarks>
/// Written here rather than with TorchSharp's <c>SummaryWriter</c>, which (0.107) stamps every scalar with wall time 0
/// (its <c>walltime</c> parameter defaults to 0, not null), takes the wall time only as a float (about two minutes of
/// resolution at today's Unix time), limits steps to <c>int</c>, and reopens the file for every value (~150 µs).
/// This writer keeps the file open, uses double wall times in seconds and 64-bit steps.
/// </remarks>
public sealed class TensorBoardWriter : IDisposable
{
    /// <summary>The file names event files have (TensorBoard reads <c>events.out.tfevents.*</c>).</summary>
    public const string FilePattern = "events.out.tfevents.*";

    private static int s_counter;
    private readonly FileStream _stream;
    private readonly byte[] _header = new byte[12];
    private readonly byte[] _footer = new byte[4];

    /// <summary>Creates a new event file in <paramref name="directory"/> (created if missing).</summary>
    public TensorBoardWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string name = $"events.out.tfevents.{seconds}.{Environment.MachineName}.{Environment.ProcessId}.{Interlocked.Increment(ref s_counter)}";
        FilePath = Path.Combine(directory, name);
        _stream = new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(new Event { WallTime = Now(), FileVersion = "brain.Event:2" });
        Flush();
    }

    /// <summary>The event file being written.</summary>
    public string FilePath { get; }

    /// <summary>Appends a scalar (TensorBoard stores it as float32).</summary>
    public void AddScalar(string tag, double value, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        Write(new Event { WallTime = Now(), Step = step, Summary = summary });
    }

    /// <summary>Pushes buffered records to the file.</summary>
    public void Flush() => _stream.Flush();

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    /// <summary>TFRecord's masked CRC32C: rotate right by 15 and add 0xa282ead8.</summary>
    internal static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    /// <summary>CRC-32C (Castagnoli), with the hardware instruction where the CPU has it.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    private void Write(Event e)
    {
        byte[] data = e.ToByteArray();
        BinaryPrimitives.WriteUInt64LittleEndian(_header, (ulong)data.LongLength);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), MaskedCrc32C(_header.AsSpan(0, 8)));
        BinaryPrimitives.WriteUInt32LittleEndian(_footer, MaskedCrc32C(data));
        _stream.Write(_header);
        _stream.Write(data);
        _stream.Write(_footer);
        Debug.Assert(_stream.CanWrite, "event file closed");
    }
}
