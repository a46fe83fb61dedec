using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory.Persistence;

/// <summary>
/// Writes a buffer file (layout: <see cref="BufferFileFormat"/>): a header with the buffer's kind and JSON metadata,
/// then named sections (tensors or host arrays), then a footer with the content's length and XxHash3 checksum,
/// computed while writing. Everything goes to a temporary file next to the target; <see cref="Commit"/> flushes it to
/// disk and renames it over the target, so a crash never leaves a half-written file under the real name. Disposing
/// without committing deletes the temporary file.
/// </summary>
/// <example>
/// <code>
/// using (var writer = BufferFileWriter.Create(path, "MyBuffer", kindVersion: 1, metadataJson))
/// {
///     writer.WriteSection("observations", observations, rows: count);
///     writer.WriteSection("flags", flags.AsSpan(), flags.Length);
///     writer.Commit();
/// }
/// </code>
/// </example>
public sealed class BufferFileWriter : IDisposable
{
    private const int ChunkBytes = 64 << 20;

    private readonly XxHash3 _hash = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly string _tempPath;
    private FileStream? _stream;
    private long _length;
    private bool _committed;

    private BufferFileWriter(string path, string tempPath, FileStream stream)
    {
        Path = path;
        _tempPath = tempPath;
        _stream = stream;
    }

    /// <summary>The file written by <see cref="Commit"/>.</summary>
    public string Path { get; }

    /// <summary>Starts a file for a buffer of kind <paramref name="kind"/> (its directory is created if needed).</summary>
    /// <param name="path">The final file name.</param>
    /// <param name="kind">The buffer type's name, checked on load (e.g. <c>UniformReplayBuffer</c>).</param>
    /// <param name="kindVersion">The version of that type's layout of metadata and sections.</param>
    /// <param name="metadataJson">The buffer's options and state as JSON (at most 64 MiB).</param>
    public static BufferFileWriter Create(string path, string kind, int kindVersion, string metadataJson)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(metadataJson);
        ArgumentOutOfRangeException.ThrowIfNegative(kindVersion);
        string full = System.IO.Path.GetFullPath(path);
        string directory = System.IO.Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        Directory.CreateDirectory(directory);
        string temp = $"{full}.tmp-{Guid.NewGuid():N}";
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        var writer = new BufferFileWriter(full, temp, stream);
        try
        {
            writer.WriteRaw(BufferFileFormat.Magic);
            writer.WriteUInt32(BufferFileFormat.Version);
            writer.WriteString(kind, ushort.MaxValue);
            writer.WriteUInt32((uint)kindVersion);
            byte[] metadata = Encoding.UTF8.GetBytes(metadataJson);
            if (metadata.Length > BufferFileFormat.MaxMetadataBytes)
            {
                throw new ArgumentException($"Buffer file metadata is {metadata.Length} bytes; at most {BufferFileFormat.MaxMetadataBytes} are allowed (store arrays as sections).", nameof(metadataJson));
            }

            writer.WriteUInt32((uint)metadata.Length);
            writer.WriteRaw(metadata);
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>Writes all of <paramref name="tensor"/> (any device, any supported dtype) as a section.</summary>
    public void WriteSection(string name, Tensor tensor) => WriteSection(name, tensor, tensor.dim() == 0 ? 1 : tensor.shape[0]);

    /// <summary>Writes the first <paramref name="rows"/> entries along dimension 0 of <paramref name="tensor"/> as a section.</summary>
    public unsafe void WriteSection(string name, Tensor tensor, long rows)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() == 0)
        {
            throw new ArgumentException($"Section '{name}': scalars are not supported; write a 1-element tensor.", nameof(tensor));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, tensor.shape[0]);
        ScalarType dtype = tensor.dtype;
        if (BufferFileFormat.Code(dtype) == 0)
        {
            throw new ArgumentException($"Section '{name}': dtype {dtype} is not supported (uint8, bool, int32, int64, float32, float64).", nameof(tensor));
        }

        long[] shape = [.. tensor.shape];
        shape[0] = rows;
        long rowElements = 1;
        for (int i = 1; i < shape.Length; i++)
        {
            rowElements *= shape[i];
        }

        int elementSize = BufferFileFormat.ElementSize(dtype);
        long rowBytes = rowElements * elementSize;
        WriteSectionHeader(name, dtype, shape, rows * rowBytes);
        if (rows == 0 || rowBytes == 0)
        {
            return;
        }

        if (TensorMemory.IsHostAccessible(tensor))
        {
            byte* address = TensorMemory.Address(tensor);
            long total = rows * rowBytes;
            for (long done = 0; done < total;)
            {
                int n = (int)Math.Min(ChunkBytes, total - done);
                WriteRaw(new ReadOnlySpan<byte>(address + done, n));
                done += n;
            }

            return;
        }

        // Another device (or a strided view): bring blocks of rows to the CPU.
        long rowsPerChunk = Math.Max(1, ChunkBytes / Math.Max(1, rowBytes));
        for (long r = 0; r < rows; r += rowsPerChunk)
        {
            long k = Math.Min(rowsPerChunk, rows - r);
            using Tensor block = tensor.narrow(0, r, k);
            using Tensor host = block.to(torch.CPU);
            using Tensor contiguous = host.contiguous();
            byte* address = TensorMemory.Address(contiguous);
            long bytes = k * rowBytes;
            for (long done = 0; done < bytes;)
            {
                int n = (int)Math.Min(ChunkBytes, bytes - done);
                WriteRaw(new ReadOnlySpan<byte>(address + done, n));
                done += n;
            }
        }
    }

    /// <summary>Writes a host array as a section of the given shape (its element count must match).</summary>
    public void WriteSection<T>(string name, ReadOnlySpan<T> values, params long[] shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (long d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            count *= d;
        }

        if (shape.Length == 0 || count != values.Length)
        {
            throw new ArgumentException($"Section '{name}': shape {BufferFileFormat.ShapeText(shape)} does not match {values.Length} values.", nameof(shape));
        }

        ScalarType dtype = BufferFileFormat.DTypeOf<T>();
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(values);
        WriteSectionHeader(name, dtype, shape, bytes.Length);
        WriteRaw(bytes);
    }

    /// <summary>
    /// Ends the sections, writes the footer, flushes the file to disk and renames it over <see cref="Path"/>
    /// (replacing an older file atomically).
    /// </summary>
    public void Commit()
    {
        FileStream stream = _stream ?? throw new ObjectDisposedException(nameof(BufferFileWriter));
        if (_committed)
        {
            throw new InvalidOperationException($"{Path} was already committed.");
        }

        WriteRaw([BufferFileFormat.EndTag]);
        Span<byte> footer = stackalloc byte[BufferFileFormat.FooterLength];
        BinaryPrimitives.WriteUInt64LittleEndian(footer, (ulong)_length);
        BinaryPrimitives.WriteUInt64LittleEndian(footer[8..], _hash.GetCurrentHashAsUInt64());
        BufferFileFormat.EndMagic.CopyTo(footer[16..]);
        stream.Write(footer);
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        _stream = null;
        File.Move(_tempPath, Path, overwrite: true);
        _committed = true;
    }

    /// <summary>Closes the file; without <see cref="Commit"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
        if (!_committed && File.Exists(_tempPath))
        {
            File.Delete(_tempPath);
        }
    }

    private void WriteSectionHeader(string name, ScalarType dtype, long[] shape, long byteLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (BufferFileFormat.Code(dtype) == 0)
        {
            throw new ArgumentException($"Section '{name}': dtype {dtype} is not supported (uint8, bool, int32, int64, float32, float64).");
        }

        if (shape.Length > 255)
        {
            throw new ArgumentException($"Section '{name}': at most 255 dimensions.");
        }

        if (!_names.Add(name))
        {
            throw new ArgumentException($"Section '{name}' was already written to {Path}.", nameof(name));
        }

        WriteRaw([BufferFileFormat.SectionTag]);
        WriteString(name, BufferFileFormat.MaxNameBytes);
        WriteRaw([BufferFileFormat.Code(dtype), (byte)shape.Length]);
        Span<byte> number = stackalloc byte[8];
        foreach (long d in shape)
        {
            BinaryPrimitives.WriteInt64LittleEndian(number, d);
            WriteRaw(number);
        }

        BinaryPrimitives.WriteInt64LittleEndian(number, byteLength);
        WriteRaw(number);
    }

    private void WriteString(string value, int maxBytes)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > maxBytes)
        {
            throw new ArgumentException($"'{value[..Math.Min(value.Length, 40)]}…' is longer than {maxBytes} bytes.");
        }

        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)bytes.Length);
        WriteRaw(length);
        WriteRaw(bytes);
    }

    private void WriteUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        WriteRaw(bytes);
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        FileStream stream = _stream ?? throw new ObjectDisposedException(nameof(BufferFileWriter));
        if (_committed)
        {
            throw new InvalidOperationException($"{Path} was already committed.");
        }

        _hash.Append(bytes);
        stream.Write(bytes);
        _length += bytes.Length;
    }
}
