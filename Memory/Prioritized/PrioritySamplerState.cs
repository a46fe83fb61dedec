namespace RlMemory.Memory;

/// <summary>
/// Everything an <see cref="IPrioritySampler"/> needs to continue exactly where it was: what
/// <see cref="IPrioritySampler.ExportState"/> returns and <see cref="IPrioritySampler.ImportState"/> takes.
/// Plain values only, so a checkpoint writer can serialize it field by field.
/// </summary>
public sealed record PrioritySamplerState
{
    /// <summary>
    /// The stored priority <c>p_i = (|δ_i| + ε)^α</c> of every slot (length = capacity); 0 marks a slot that holds no
    /// item. Values are finite and ≥ 0.
    /// </summary>
    public required double[] Priorities { get; init; }

    /// <summary>The largest <c>|δ| + ε</c> seen (before α); finite and > 0.</summary>
    public required double MaxPriority { get; init; }

    /// <summary>The α the priorities were computed with; importing requires the same α.</summary>
    public required double Alpha { get; init; }

    /// <summary>Which generator <see cref="RandomState"/> belongs to (e.g. <c>xoshiro256**</c>, <c>torch.Generator(CPU)</c>).</summary>
    public required string RandomAlgorithm { get; init; }

    /// <summary>The random generator's state, opaque bytes.</summary>
    public required byte[] RandomState { get; init; }
}
