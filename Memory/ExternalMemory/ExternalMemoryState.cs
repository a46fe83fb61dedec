using static TorchSharp.torch;

namespace RlMemory.Memory.External;

/// <summary>
/// The state of a batch of <see cref="ExternalMemory"/>s between steps: what one step reads and the next step needs.
/// All tensors are batch-first. In a <see cref="RecurrentState"/> they are the parts named by
/// <see cref="ExternalMemory.StateParts"/>; the initial state is all zeros.
/// </summary>
/// <param name="Memory">M, the memory matrix [B, N, W].</param>
/// <param name="ReadWeights">w^r, the read weightings of the last step [B, R, N].</param>
/// <param name="WriteWeights">w^w, the write weighting of the last step [B, N].</param>
/// <param name="Usage">u, how used each slot is, in [0, 1] [B, N].</param>
/// <param name="ReadVectors">r, the last step's read vectors, head after head [B, R·W].</param>
public readonly record struct ExternalMemoryState(Tensor Memory, Tensor ReadWeights, Tensor WriteWeights, Tensor Usage, Tensor ReadVectors)
{
    /// <summary>The five tensors in <see cref="ExternalMemory.StateParts"/> order, with their part names.</summary>
    public IEnumerable<(string Name, Tensor Value)> Parts()
    {
        yield return (ExternalMemory.MemoryPart, Memory);
        yield return (ExternalMemory.ReadWeightsPart, ReadWeights);
        yield return (ExternalMemory.WriteWeightsPart, WriteWeights);
        yield return (ExternalMemory.UsagePart, Usage);
        yield return (ExternalMemory.ReadVectorsPart, ReadVectors);
    }

    /// <summary>Reads the memory's parts from <paramref name="state"/> (by name; the tensors are shared, not copied).</summary>
    /// <exception cref="KeyNotFoundException">A part is missing.</exception>
    public static ExternalMemoryState From(RecurrentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new ExternalMemoryState(
            state[ExternalMemory.MemoryPart],
            state[ExternalMemory.ReadWeightsPart],
            state[ExternalMemory.WriteWeightsPart],
            state[ExternalMemory.UsagePart],
            state[ExternalMemory.ReadVectorsPart]);
    }

    /// <summary>Moves the five tensors to the enclosing DisposeScope.</summary>
    public ExternalMemoryState MoveToOuterDisposeScope()
    {
        Memory.MoveToOuterDisposeScope();
        ReadWeights.MoveToOuterDisposeScope();
        WriteWeights.MoveToOuterDisposeScope();
        Usage.MoveToOuterDisposeScope();
        ReadVectors.MoveToOuterDisposeScope();
        return this;
    }
}
