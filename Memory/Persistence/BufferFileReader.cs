using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory.Persistence;

/// <summary>
/// Reads a buffer file written by <see cref="BufferFileWriter"/>. <see cref="Open"/> checks the whole file before
/// anything is parsed: the magic, the end marker, the recorded length against the file's length (a truncated or
/// extended file), and the XxHash3 checksum over all content (one streaming pass; corruption and bit flips). Then it
/// reads the header, the metadata and the section table, checking every length against the file. Any failure is an
/// <see cref="InvalidDataException"/> naming the file and what is wrong. The file stays open (and so unchanged by a
/// concurrent save, which replaces it by rename) until the reader is disposed.
/// </summary>
public sealed class BufferFileReader : IDisposable
{
    private const int ChunkBytes = 16 << 20;

    private readonly FileStream _stream;
    private readonly Dictionary<string, BufferSection> _byName;

    private BufferFileReader(string path, FileStream stream, int formatVersion, string kind, int kindVersion, string metadataJson, List<BufferSection> sections)
    {
        Path = path;
        _stream = stream;
        FormatVersion = formatVersion;
        Kind = kind;
        KindVersion = kindVersion;
        MetadataJson = metadataJson;
        Sections = sections;
        _byName = sections.ToDictionary(s => s.Name, StringComparer.Ordinal);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The version of the file layout.</summary>
    public int FormatVersion { get; }

    /// <summary>The kind of buffer the file holds (e.g. <c>UniformReplayBuffer</c>).</summary>
    public string Kind { get; }

    /// <summary>The version of that kind's metadata and sections.</summary>
    public int KindVersion { get; }

    /// <summary>The buffer's metadata (JSON).</summary>
    public string MetadataJson { get; }

    /// <summary>The sections, in file order.</summary>
    public IReadOnlyList<BufferSection> Sections { get; }

    /// <summary>Opens and verifies <paramref name="path"/> (see the class remarks).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a complete, intact buffer file.</exception>
    public static BufferFileReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"No buffer file at {full}.", full);
        }

        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        try
        {
            long contentLength = Verify(full, stream);
            return Parse(full, stream, contentLength);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file has a section named <paramref name="name"/>.</summary>
    public bool HasSection(string name) => _byName.ContainsKey(name);

    /// <summary>The section named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">There is none.</exception>
    public BufferSection Section(string name) =>
        _byName.TryGetValue(name, out BufferSection? s)
            ? s
            : throw new InvalidDataException($"{Path}: the buffer file has no section '{name}' (it has: {string.Join(", ", Sections.Select(x => x.Name))}).");

    /// <summary>
    /// Checks that section <paramref name="name"/> has dtype <paramref name="dtype"/> and shape <paramref name="shape"/>
    /// and returns it.
    /// </summary>
    /// <exception cref="InvalidDataException">The section is missing or differs.</exception>
    public BufferSection Expect(string name, ScalarType dtype, params long[] shape)
    {
        BufferSection s = Section(name);
        if (s.DType != dtype || !s.Shape.SequenceEqual(shape))
        {
            throw new InvalidDataException($"{Path}: section '{name}' is {BufferFileFormat.Name(s.DType)} {BufferFileFormat.ShapeText(s.Shape)}, expected {BufferFileFormat.Name(dtype)} {BufferFileFormat.ShapeText(shape)}.");
        }

        return s;
    }

    /// <summary>
    /// Reads section <paramref name="name"/> into the first rows of <paramref name="destination"/> (any device): the
    /// dtype and the dimensions after the first must match, and the destination must have at least as many rows.
    /// </summary>
    public unsafe void ReadInto(string name, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        BufferSection s = Section(name);
        if (s.DType != destination.dtype || s.Shape.Count != destination.dim() || (s.Shape.Count > 0 && s.Shape[0] > destination.shape[0])
            || !s.Shape.Skip(1).SequenceEqual(destination.shape.Skip(1)))
        {
            throw new InvalidDataException($"{Path}: section '{name}' is {BufferFileFormat.Name(s.DType)} {BufferFileFormat.ShapeText(s.Shape)}, which does not fit a {BufferFileFormat.Name(destination.dtype)} tensor {BufferFileFormat.ShapeText(destination.shape)}.");
        }

        if (s.ByteLength == 0)
        {
            return;
        }

        _stream.Position = s.DataOffset;
        if (TensorMemory.IsHostAccessible(destination))
        {
            byte* address = TensorMemory.Address(destination);
            for (long done = 0; done < s.ByteLength;)
            {
                int n = (int)Math.Min(ChunkBytes, s.ByteLength - done);
                ReadExactly(new Span<byte>(address + done, n));
                done += n;
            }

            return;
        }

        // Another device: read blocks of rows into a CPU tensor and copy them over.
        long rows = s.Shape[0];
        long rowBytes = s.ByteLength / rows;
        long rowsPerChunk = Math.Max(1, ChunkBytes / Math.Max(1, rowBytes));
        long[] blockShape = [.. destination.shape];
        for (long r = 0; r < rows; r += rowsPerChunk)
        {
            long k = Math.Min(rowsPerChunk, rows - r);
            blockShape[0] = k;
            using Tensor host = torch.empty(blockShape, destination.dtype, torch.CPU);
            byte* address = TensorMemory.Address(host);
            ReadExactly(new Span<byte>(address, checked((int)(k * rowBytes))));
            using Tensor target = destination.narrow(0, r, k);
            target.copy_(host);
        }
    }

    /// <summary>Reads section <paramref name="name"/> into a new array (its dtype must match <typeparamref name="T"/>; at most 2^31 − 1 elements).</summary>
    public T[] ReadArray<T>(string name)
        where T : unmanaged
    {
        BufferSection s = Section(name);
        ScalarType dtype = BufferFileFormat.DTypeOf<T>();
        if (s.DType != dtype)
        {
            throw new InvalidDataException($"{Path}: section '{name}' is {BufferFileFormat.Name(s.DType)}, expected {BufferFileFormat.Name(dtype)}.");
        }

        if (s.ElementCount > Array.MaxLength)
        {
            throw new InvalidDataException($"{Path}: section '{name}' has {s.ElementCount} elements, too many for an array.");
        }

        var values = new T[s.ElementCount];
        _stream.Position = s.DataOffset;
        ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();

    private void ReadExactly(Span<byte> destination)
    {
        try
        {
            _stream.ReadExactly(destination);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Path}: the file ended early (it changed after it was verified).", e);
        }
    }

    /// <summary>Checks magic, end marker, length and checksum; returns the content length.</summary>
    private static long Verify(string path, FileStream stream)
    {
        long length = stream.Length;
        int minimum = BufferFileFormat.Magic.Length + 4 + BufferFileFormat.FooterLength;
        Span<byte> magic = stackalloc byte[8];
        int got = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        if (got < magic.Length || !magic.SequenceEqual(BufferFileFormat.Magic))
        {
            throw new InvalidDataException($"{path} is not an RlMemory buffer file (it does not start with the buffer file magic).");
        }

        if (length < minimum)
        {
            throw new InvalidDataException($"{path} is truncated: {length} bytes is shorter than the smallest buffer file ({minimum} bytes).");
        }

        Span<byte> footer = stackalloc byte[BufferFileFormat.FooterLength];
        stream.Position = length - BufferFileFormat.FooterLength;
        stream.ReadExactly(footer);
        if (!footer[16..].SequenceEqual(BufferFileFormat.EndMagic))
        {
            throw new InvalidDataException($"{path} is truncated or damaged: it does not end with the buffer file end marker (a save that did not finish, or a cut copy).");
        }

        ulong recorded = BinaryPrimitives.ReadUInt64LittleEndian(footer);
        long content = length - BufferFileFormat.FooterLength;
        if (recorded != (ulong)content)
        {
            throw new InvalidDataException($"{path} is truncated or damaged: its footer records {recorded} bytes of content, but the file holds {content}.");
        }

        ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(footer[8..]);
        var hash = new XxHash3();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            stream.Position = 0;
            for (long done = 0; done < content;)
            {
                int n = (int)Math.Min(chunk.Length, content - done);
                stream.ReadExactly(chunk, 0, n);
                hash.Append(chunk.AsSpan(0, n));
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        ulong actual = hash.GetCurrentHashAsUInt64();
        if (actual != expected)
        {
            throw new InvalidDataException($"{path} is corrupted: its checksum is {actual:x16}, but the file records {expected:x16}.");
        }

        return content;
    }

    private static BufferFileReader Parse(string path, FileStream stream, long contentLength)
    {
        stream.Position = BufferFileFormat.Magic.Length;
        var r = new HeaderReader(path, stream, contentLength);
        int version = (int)r.UInt32();
        if (version < 1 || version > BufferFileFormat.Version)
        {
            throw new InvalidDataException($"{path} has buffer file format version {version}; this build reads version {BufferFileFormat.Version}{(version > BufferFileFormat.Version ? " (it was written by a newer RlMemory)" : "")}.");
        }

        string kind = r.String(r.UInt16(), "kind");
        int kindVersion = (int)r.UInt32();
        uint metadataLength = r.UInt32();
        if (metadataLength > BufferFileFormat.MaxMetadataBytes)
        {
            throw new InvalidDataException($"{path}: metadata length {metadataLength} exceeds {BufferFileFormat.MaxMetadataBytes} bytes.");
        }

        string metadata = r.String((int)metadataLength, "metadata");
        var sections = new List<BufferSection>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            byte tag = r.Byte();
            if (tag == BufferFileFormat.EndTag)
            {
                break;
            }

            if (tag != BufferFileFormat.SectionTag)
            {
                throw new InvalidDataException($"{path}: unexpected byte {tag} at offset {stream.Position - 1} where a section should start.");
            }

            int nameLength = r.UInt16();
            if (nameLength > BufferFileFormat.MaxNameBytes)
            {
                throw new InvalidDataException($"{path}: a section name of {nameLength} bytes is too long.");
            }

            string name = r.String(nameLength, "section name");
            ScalarType dtype = BufferFileFormat.DType(r.Byte()) ?? throw new InvalidDataException($"{path}: section '{name}' has an unknown element type.");
            int rank = r.Byte();
            var shape = new long[rank];
            long elements = 1;
            for (int i = 0; i < rank; i++)
            {
                shape[i] = r.Int64();
                if (shape[i] < 0 || shape[i] > contentLength)
                {
                    throw new InvalidDataException($"{path}: section '{name}' has an invalid dimension {shape[i]}.");
                }

                // A product beyond the content length is capped there (and refused below) instead of overflowing.
                elements = shape[i] != 0 && elements > contentLength / shape[i] ? contentLength + 1 : elements * shape[i];
            }

            long byteLength = r.Int64();
            if (elements > contentLength || byteLength != elements * BufferFileFormat.ElementSize(dtype))
            {
                throw new InvalidDataException($"{path}: section '{name}' records {byteLength} bytes, which does not match {BufferFileFormat.Name(dtype)} {BufferFileFormat.ShapeText(shape)}.");
            }

            long offset = stream.Position;
            if (byteLength > contentLength - offset)
            {
                throw new InvalidDataException($"{path}: section '{name}' ({byteLength} bytes at offset {offset}) runs past the end of the content.");
            }

            if (!names.Add(name))
            {
                throw new InvalidDataException($"{path}: section '{name}' appears twice.");
            }

            sections.Add(new BufferSection(name, dtype, shape, offset, byteLength));
            stream.Position = offset + byteLength;
        }

        if (stream.Position != contentLength)
        {
            throw new InvalidDataException($"{path}: {contentLength - stream.Position} unexpected bytes after the last section.");
        }

        return new BufferFileReader(path, stream, version, kind, kindVersion, metadata, sections);
    }

    /// <summary>Reads header fields, refusing to read past the content.</summary>
    private sealed class HeaderReader(string path, FileStream stream, long contentLength)
    {
        private readonly byte[] _buffer = new byte[8];

        public byte Byte() => Read(1)[0];

        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Read(2));

        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Read(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Read(8));

        public string String(int length, string what)
        {
            Check(length, what);
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidDataException($"{path}: the {what} is not valid UTF-8.", e);
            }
        }

        private ReadOnlySpan<byte> Read(int n)
        {
            Check(n, "header");
            stream.ReadExactly(_buffer, 0, n);
            return _buffer.AsSpan(0, n);
        }

        private void Check(long n, string what)
        {
            if (n > contentLength - stream.Position)
            {
                throw new InvalidDataException($"{path}: the {what} ({n} bytes at offset {stream.Position}) runs past the end of the content.");
            }
        }
    }
}
