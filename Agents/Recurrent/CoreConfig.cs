using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// Which recurrent core a recurrent agent uses and its sizes, as the trainers' configurations hold it (keys
/// <c>core</c>, <c>encoder_sizes</c>, <c>hidden_size</c>, <c>memory_slots</c>, <c>memory_width</c>,
/// <c>read_heads</c>, <c>memory_allocation</c>, <c>memory_retention_bias</c>).
/// </summary>
public sealed record CoreConfig
{
    /// <summary>The core kinds: <c>lstm</c> (<see cref="LstmCore"/>) and <c>memory</c> (LSTM + external memory).</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["lstm", "memory"];

    /// <summary>One of <see cref="Kinds"/>; <c>memory</c> is a <see cref="MemoryCore"/>.</summary>
    public string Kind { get; init; } = "lstm";

    /// <summary>Widths of the observation encoder's layers.</summary>
    public IReadOnlyList<int> EncoderSizes { get; init; } = [64];

    /// <summary>The LSTM (controller) hidden size.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>External memory: slots N.</summary>
    public int MemorySlots { get; init; } = 32;

    /// <summary>External memory: slot width W.</summary>
    public int MemoryWidth { get; init; } = 16;

    /// <summary>External memory: read heads R.</summary>
    public int ReadHeads { get; init; } = 1;

    /// <summary>External memory: DNC-style usage-based allocation for writes.</summary>
    public bool MemoryAllocation { get; init; } = true;

    /// <summary>External memory: the retention bias of the interface layer's erase, free and write gates at initialisation (<see cref="MemoryCoreConfig.RetentionBias"/>).</summary>
    public double MemoryRetentionBias { get; init; }

    /// <summary>Throws when the kind is unknown or a size is out of range (the message names the field and the value).</summary>
    public CoreConfig Validate()
    {
        if (!Kinds.Contains(Kind))
        {
            throw new ArgumentException($"CoreConfig.Kind must be one of {string.Join(", ", Kinds)}, got '{Kind}'.", nameof(Kind));
        }

        new LstmCoreConfig { ObservationSize = 1, EncoderSizes = EncoderSizes, HiddenSize = HiddenSize }.Validate();
        if (MemorySlots is < 1 or > ExternalMemoryConfig.MaxSize || MemoryWidth is < 1 or > ExternalMemoryConfig.MaxSize || ReadHeads is < 1 or > ExternalMemoryConfig.MaxReadHeads)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MemorySlots),
                $"CoreConfig: memory_slots and memory_width must be in [1, {ExternalMemoryConfig.MaxSize}] and read_heads in [1, {ExternalMemoryConfig.MaxReadHeads}], got {MemorySlots}, {MemoryWidth}, {ReadHeads}.");
        }

        if (!(MemoryRetentionBias is >= 0 and <= MemoryCoreConfig.MaxRetentionBias))
        {
            throw new ArgumentOutOfRangeException(
                nameof(MemoryRetentionBias),
                $"CoreConfig: memory_retention_bias must be a number in [0, {MemoryCoreConfig.MaxRetentionBias}], got {MemoryRetentionBias}.");
        }

        return this;
    }

    /// <summary>Builds the core for observations of <paramref name="observationSize"/> floats on <paramref name="device"/>.</summary>
    public RecurrentCore Create(int observationSize, Device? device = null)
    {
        Validate();
        return Kind switch
        {
            "lstm" => new LstmCore(new LstmCoreConfig { ObservationSize = observationSize, EncoderSizes = EncoderSizes, HiddenSize = HiddenSize }, device),
            _ => new MemoryCore(
                new MemoryCoreConfig(observationSize, EncoderSizes, HiddenSize, new ExternalMemoryConfig(MemorySlots, MemoryWidth, ReadHeads, MemoryAllocation), MemoryRetentionBias),
                device),
        };
    }

    /// <summary>A short description for logs, e.g. <c>lstm(64→128)</c>.</summary>
    public override string ToString() => Kind == "lstm"
        ? $"lstm({string.Join("→", EncoderSizes.Append(HiddenSize))})"
        : $"memory({string.Join("→", EncoderSizes.Append(HiddenSize))}, {MemorySlots}×{MemoryWidth}, {ReadHeads} read)";
}
