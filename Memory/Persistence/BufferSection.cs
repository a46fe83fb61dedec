using static TorchSharp.torch;

namespace RlMemory.Memory.Persistence;

/// <summary>One named array of a buffer file: its element type, shape and where its bytes lie.</summary>
/// <param name="Name">The section's name, unique in its file.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The shape (row-major).</param>
/// <param name="DataOffset">Where its bytes start in the file.</param>
/// <param name="ByteLength">How many bytes it has (elements × element size).</param>
public sealed record BufferSection(string Name, ScalarType DType, IReadOnlyList<long> Shape, long DataOffset, long ByteLength)
{
    /// <summary>The number of elements.</summary>
    public long ElementCount => ByteLength / BufferFileFormat.ElementSize(DType);

    public override string ToString() => $"{Name} {BufferFileFormat.Name(DType)} {BufferFileFormat.ShapeText(Shape)}";
}
