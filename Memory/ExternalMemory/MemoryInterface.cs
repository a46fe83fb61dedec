using static TorchSharp.torch;

namespace RlMemory.Memory.External;

/// <summary>
/// What a controller tells an <see cref="ExternalMemory"/> in one step (DNC's interface vector ξ, split and squashed):
/// keys, strengths, erase and write vectors, and with allocation the free, allocation and write gates.
/// <see cref="ExternalMemory.ParseInterface"/> builds it from a controller's output; tests build it directly.
/// </summary>
public sealed class MemoryInterface
{
    /// <summary>Creates an interface from tensors that already have their ranges (no squashing is applied).</summary>
    /// <param name="readKeys">k^r, one key per read head [B, R, W].</param>
    /// <param name="readStrengths">β^r ≥ 1, one per read head [B, R].</param>
    /// <param name="writeKey">k^w [B, W].</param>
    /// <param name="writeStrength">β^w ≥ 1 [B, 1].</param>
    /// <param name="erase">e in (0, 1) [B, W].</param>
    /// <param name="writeVector">v, what is added [B, W].</param>
    /// <param name="freeGates">f in (0, 1), one per read head [B, R] (allocation only).</param>
    /// <param name="allocationGate">g^a in (0, 1) [B, 1] (allocation only).</param>
    /// <param name="writeGate">g^w in (0, 1) [B, 1] (allocation only).</param>
    public MemoryInterface(
        Tensor readKeys,
        Tensor readStrengths,
        Tensor writeKey,
        Tensor writeStrength,
        Tensor erase,
        Tensor writeVector,
        Tensor? freeGates = null,
        Tensor? allocationGate = null,
        Tensor? writeGate = null)
    {
        ReadKeys = readKeys ?? throw new ArgumentNullException(nameof(readKeys));
        ReadStrengths = readStrengths ?? throw new ArgumentNullException(nameof(readStrengths));
        WriteKey = writeKey ?? throw new ArgumentNullException(nameof(writeKey));
        WriteStrength = writeStrength ?? throw new ArgumentNullException(nameof(writeStrength));
        Erase = erase ?? throw new ArgumentNullException(nameof(erase));
        WriteVector = writeVector ?? throw new ArgumentNullException(nameof(writeVector));
        if ((freeGates is null) != (allocationGate is null) || (freeGates is null) != (writeGate is null))
        {
            throw new ArgumentException("MemoryInterface: the free gates, the allocation gate and the write gate come together (allocation) or not at all.");
        }

        FreeGates = freeGates;
        AllocationGate = allocationGate;
        WriteGate = writeGate;
    }

    /// <summary>k^r, one key per read head [B, R, W].</summary>
    public Tensor ReadKeys { get; }

    /// <summary>β^r ≥ 1, one key strength per read head [B, R].</summary>
    public Tensor ReadStrengths { get; }

    /// <summary>k^w, the write key [B, W].</summary>
    public Tensor WriteKey { get; }

    /// <summary>β^w ≥ 1, the write key's strength [B, 1].</summary>
    public Tensor WriteStrength { get; }

    /// <summary>e in (0, 1), the erase vector [B, W].</summary>
    public Tensor Erase { get; }

    /// <summary>v, the write vector [B, W].</summary>
    public Tensor WriteVector { get; }

    /// <summary>f in (0, 1), the free gates [B, R]; null without allocation.</summary>
    public Tensor? FreeGates { get; }

    /// <summary>g^a in (0, 1), the allocation gate [B, 1]; null without allocation.</summary>
    public Tensor? AllocationGate { get; }

    /// <summary>g^w in (0, 1), the write gate [B, 1]; null without allocation.</summary>
    public Tensor? WriteGate { get; }

    /// <summary>Whether the allocation gates are present.</summary>
    public bool HasAllocation => FreeGates is not null;
}
