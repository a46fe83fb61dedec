using System.Globalization;
using System.Text.Json.Serialization;

namespace RlMemory.Memory.External;

/// <summary>
/// The size and addressing of an <see cref="ExternalMemory"/>: <see cref="Slots"/> rows of <see cref="Width"/> floats,
/// read by <see cref="ReadHeads"/> heads and written by one write head, with or without DNC's usage-based allocation.
/// Each property checks its value when it is set; the message names the field, the value and the allowed range.
/// </summary>
public sealed record ExternalMemoryConfig
{
    /// <summary>The largest number of slots, words per slot, or floats per row of the memory matrix (N·W).</summary>
    public const int MaxSize = 1 << 16;

    /// <summary>The largest number of read heads.</summary>
    public const int MaxReadHeads = 64;

    private readonly int _slots = 32;
    private readonly int _width = 16;
    private readonly int _readHeads = 2;

    /// <summary>A configuration with the defaults (32 slots of 16 floats, 2 read heads, allocation on).</summary>
    public ExternalMemoryConfig()
    {
    }

    /// <summary>
    /// A configuration from its fields. JSON deserialization goes through this constructor so that a field missing from
    /// the JSON keeps its default (source-generated JSON would set a missing init-only property to 0).
    /// </summary>
    [JsonConstructor]
    public ExternalMemoryConfig(int slots = 32, int width = 16, int readHeads = 2, bool useAllocation = true)
    {
        Slots = slots;
        Width = width;
        ReadHeads = readHeads;
        UseAllocation = useAllocation;
    }

    /// <summary>N, the number of memory slots (rows of the memory matrix). Allowed: [1, 65536]; default 32.</summary>
    public int Slots
    {
        get => _slots;
        init => _slots = value is >= 1 and <= MaxSize
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Slots), value, $"ExternalMemoryConfig.Slots must be in [1, {MaxSize}], got {Text(value)}.");
    }

    /// <summary>W, the width of one slot (floats per word). Allowed: [1, 65536]; default 16.</summary>
    public int Width
    {
        get => _width;
        init => _width = value is >= 1 and <= MaxSize
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Width), value, $"ExternalMemoryConfig.Width must be in [1, {MaxSize}], got {Text(value)}.");
    }

    /// <summary>R, the number of read heads. Allowed: [1, 64]; default 2.</summary>
    public int ReadHeads
    {
        get => _readHeads;
        init => _readHeads = value is >= 1 and <= MaxReadHeads
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ReadHeads), value, $"ExternalMemoryConfig.ReadHeads must be in [1, {MaxReadHeads}], got {Text(value)}.");
    }

    /// <summary>
    /// Whether writes use DNC's dynamic memory allocation (usage, free gates, allocation and write gates) besides
    /// content addressing. Default true: from a uniform initial memory, content addressing alone writes every slot
    /// alike, so all slots stay equal; allocation picks the least-used slot and breaks that symmetry.
    /// </summary>
    public bool UseAllocation { get; init; } = true;

    /// <summary>Floats in the read vectors of one step (R·W): what the memory adds to a controller's input and output.</summary>
    [JsonIgnore]
    public int ReadSize => ReadHeads * Width;

    /// <summary>Throws when the fields do not fit together (the memory matrix of one row exceeds 2^24 floats).</summary>
    public ExternalMemoryConfig Validate()
    {
        if ((long)Slots * Width > 1 << 24)
        {
            throw new ArgumentOutOfRangeException(
                nameof(Slots), Slots, $"ExternalMemoryConfig: Slots × Width must be at most {1 << 24} floats per row, got {Text(Slots)} × {Text(Width)}.");
        }

        return this;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
