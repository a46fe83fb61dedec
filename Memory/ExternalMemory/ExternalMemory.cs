using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory.External;

/// <summary>
/// A differentiable external memory in the style of the Differentiable Neural Computer (Graves et al. 2016, "Hybrid
/// computing using a neural network with dynamic external memory", Nature 538, Methods): a matrix of N slots of W
/// floats per batch row, written by one write head (erase then add) and read by R read heads, all addressed by
/// content (cosine similarity, sharpened by a key strength, softmax over slots), writes optionally by usage-based
/// allocation. It has no parameters: a controller produces the interface (<see cref="ParseInterface"/>) and the
/// memory's state is an explicit value (<see cref="ExternalMemoryState"/>) that the caller carries.
/// </summary>
/// <remarks>
/// <para>Every operation is a batched tensor operation over [B, …] (no per-row or per-head loop), works for any
/// floating type (float64 for gradient checks) and builds an autograd graph through the memory, keys, strengths,
/// erase and write vectors and gates. Memory is written functionally (a new tensor per step), never in place.</para>
/// <para>One step (<see cref="Update"/>), in DNC's order (write, then read):
/// u_t = (u_{t−1} + w^w_{t−1} − u_{t−1} ∘ w^w_{t−1}) ∘ ψ_t with ψ_t = ∏_i (1 − f^i w^{r,i}_{t−1});
/// c^w = C(M_{t−1}, k^w, β^w); w^w_t = g^w (g^a a_t + (1 − g^a) c^w) with a_t = Allocation(u_t) (or w^w_t = c^w
/// without allocation); M_t = M_{t−1} ∘ (1 − w^w_t eᵀ) + w^w_t vᵀ; w^{r,i}_t = C(M_t, k^{r,i}, β^{r,i});
/// r^i_t = M_tᵀ w^{r,i}_t. DNC's temporal link matrix (forward and backward read modes) is not implemented: read
/// weightings are content weightings. docs/external-memory.md has the details.</para>
/// </remarks>
public sealed class ExternalMemory
{
    /// <summary>ε in the norms of cosine similarity, ‖x‖ = sqrt(Σ x² + ε): zero keys and zero slots give similarity 0 and finite gradients.</summary>
    public const double Epsilon = 1e-6;

    // Numbers for libtorch held for the process (HeldScalars explains why).
    private static readonly Scalar EpsilonScalar = Epsilon.ToScalar(), MinusOne = (-1).ToScalar();

    /// <summary>The name of the memory matrix in a recurrent state ([B, N, W]).</summary>
    public const string MemoryPart = "memory";

    /// <summary>The name of the read weightings in a recurrent state ([B, R, N]).</summary>
    public const string ReadWeightsPart = "read_weights";

    /// <summary>The name of the write weighting in a recurrent state ([B, N]).</summary>
    public const string WriteWeightsPart = "write_weights";

    /// <summary>The name of the usage vector in a recurrent state ([B, N]).</summary>
    public const string UsagePart = "usage";

    /// <summary>The name of the read vectors in a recurrent state ([B, R·W]).</summary>
    public const string ReadVectorsPart = "read_vectors";

    private readonly long[] _splits;
    private readonly long[] _gateSplits;

    /// <summary>Creates a memory of the given size.</summary>
    /// <exception cref="ArgumentException">The configuration does not validate (the message names the field and value).</exception>
    public ExternalMemory(ExternalMemoryConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        int n = config.Slots, w = config.Width, r = config.ReadHeads;
        StateParts =
        [
            new RecurrentStatePart(MemoryPart, [n, w], ScalarType.Float32),
            new RecurrentStatePart(ReadWeightsPart, [r, n], ScalarType.Float32),
            new RecurrentStatePart(WriteWeightsPart, [n], ScalarType.Float32),
            new RecurrentStatePart(UsagePart, [n], ScalarType.Float32),
            new RecurrentStatePart(ReadVectorsPart, [r * w], ScalarType.Float32),
        ];

        // ξ = [read keys R·W | write key W | write vector W | strengths R + 1 | erase W (| free gates R | g^a | g^w)].
        int squashed = config.UseAllocation ? w + r + 2 : w;
        _splits = [r * w, w, w, r + 1, squashed];
        _gateSplits = config.UseAllocation ? [w, r, 1, 1] : [w];
        InterfaceSize = (r * w) + w + w + r + 1 + squashed;
    }

    /// <summary>The size and addressing.</summary>
    public ExternalMemoryConfig Config { get; }

    /// <summary>
    /// Floats in the interface vector ξ a controller produces per step: R·W + 3W + R + 1, plus R + 2 with allocation
    /// (layout in <see cref="ParseInterface"/>).
    /// </summary>
    public int InterfaceSize { get; }

    /// <summary>The parts of the memory's state in a <see cref="RecurrentState"/> (float32; all zero initially).</summary>
    public IReadOnlyList<RecurrentStatePart> StateParts { get; }

    /// <summary>The initial state (all zeros) for <paramref name="batchSize"/> rows.</summary>
    public ExternalMemoryState InitialState(int batchSize, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        int n = Config.Slots, w = Config.Width, r = Config.ReadHeads;
        device ??= CPU;
        return new ExternalMemoryState(
            zeros([batchSize, n, w], dtype, device),
            zeros([batchSize, r, n], dtype, device),
            zeros([batchSize, n], dtype, device),
            zeros([batchSize, n], dtype, device),
            zeros([batchSize, r * w], dtype, device));
    }

    /// <summary>
    /// Splits a controller's interface vector ξ [B, <see cref="InterfaceSize"/>] and squashes each piece into its range:
    /// ξ = [read keys (R·W) | write key (W) | write vector (W) | raw strengths (R read, then 1 write) | raw erase (W) |
    /// raw free gates (R) | raw allocation gate (1) | raw write gate (1)], the last three only with allocation.
    /// Strengths go through oneplus(x) = 1 + softplus(x) (≥ 1), erase and gates through the logistic sigmoid; keys and
    /// the write vector are used as they are.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="interfaceVector"/> is not [B, InterfaceSize].</exception>
    public MemoryInterface ParseInterface(Tensor interfaceVector)
    {
        ArgumentNullException.ThrowIfNull(interfaceVector);
        if (interfaceVector.dim() != 2 || interfaceVector.shape[1] != InterfaceSize)
        {
            throw new ArgumentException(
                $"ExternalMemory: the interface vector must be [batch, {InterfaceSize}], got [{string.Join(", ", interfaceVector.shape)}].",
                nameof(interfaceVector));
        }

        int w = Config.Width, r = Config.ReadHeads;
        using var scope = NewDisposeScope();
        Tensor[] pieces = interfaceVector.split(_splits, 1);
        Tensor readKeys = pieces[0].unflatten(1, [r, w]);
        Tensor strengths = nn.functional.softplus(pieces[3]).add_(HeldScalars.One, HeldScalars.One);
        Tensor[] gates = nn.functional.sigmoid(pieces[4]).split(_gateSplits, 1);
        var result = new MemoryInterface(
            readKeys.MoveToOuterDisposeScope(),
            strengths.narrow(1, 0, r).MoveToOuterDisposeScope(),
            pieces[1].MoveToOuterDisposeScope(),
            strengths.narrow(1, r, 1).MoveToOuterDisposeScope(),
            gates[0].MoveToOuterDisposeScope(),
            pieces[2].MoveToOuterDisposeScope(),
            Config.UseAllocation ? gates[1].MoveToOuterDisposeScope() : null,
            Config.UseAllocation ? gates[2].MoveToOuterDisposeScope() : null,
            Config.UseAllocation ? gates[3].MoveToOuterDisposeScope() : null);
        return result;
    }

    /// <summary>
    /// One memory step: update the usage, write (content or allocation weighting, erase then add), then read with every
    /// read head from the written memory. Returns the new state, whose <see cref="ExternalMemoryState.ReadVectors"/> are
    /// this step's reads [B, R·W]. The inputs are not changed.
    /// </summary>
    /// <exception cref="ArgumentException">A state tensor or the interface does not have the configured shape (the message names it).</exception>
    public ExternalMemoryState Update(ExternalMemoryState state, MemoryInterface memoryInterface)
    {
        ArgumentNullException.ThrowIfNull(memoryInterface);
        long batch = CheckState(state);
        if (memoryInterface.HasAllocation != Config.UseAllocation)
        {
            throw new ArgumentException(
                $"ExternalMemory: UseAllocation is {Config.UseAllocation}, but the interface {(memoryInterface.HasAllocation ? "has" : "lacks")} the allocation gates.",
                nameof(memoryInterface));
        }

        CheckShape(memoryInterface.ReadKeys, "ReadKeys", [batch, Config.ReadHeads, Config.Width]);
        CheckShape(memoryInterface.WriteKey, "WriteKey", [batch, Config.Width]);
        return UpdateUnchecked(state, memoryInterface);
    }

    /// <summary>The step of <see cref="Update"/>, after its checks.</summary>
    private ExternalMemoryState UpdateUnchecked(ExternalMemoryState state, MemoryInterface memoryInterface)
    {
        using var scope = NewDisposeScope();
        Tensor usage = UsageCore(state.Usage, state.WriteWeights, state.ReadWeights, memoryInterface.FreeGates);
        Tensor writeWeights = ContentWeightsCore(state.Memory, memoryInterface.WriteKey.unsqueeze(1), memoryInterface.WriteStrength).squeeze(1);
        if (Config.UseAllocation)
        {
            // g^w (g^a a + (1 − g^a) c^w) = g^w · lerp(c^w, a, g^a).
            writeWeights = writeWeights.lerp(AllocationWeightsCore(usage), memoryInterface.AllocationGate!) * memoryInterface.WriteGate!;
        }

        Tensor memory = WriteCore(state.Memory, writeWeights, memoryInterface.Erase, memoryInterface.WriteVector);
        Tensor readWeights = ContentWeightsCore(memory, memoryInterface.ReadKeys, memoryInterface.ReadStrengths);
        Tensor reads = readWeights.bmm(memory).flatten(1);
        return new ExternalMemoryState(memory, readWeights, writeWeights, usage, reads).MoveToOuterDisposeScope();
    }

    /// <summary>oneplus(x) = 1 + log(1 + eˣ): a key strength β ≥ 1 from a raw value (DNC).</summary>
    public static Tensor Oneplus(Tensor raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        using var scope = NewDisposeScope();
        return nn.functional.softplus(raw).add_(HeldScalars.One, HeldScalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Content addressing, C(M, k, β)[i] = softmax_i(β · D(k, M[i])) with the cosine similarity
    /// D(k, m) = k·m / (‖k‖ ‖m‖), ‖x‖ = sqrt(Σ x² + <see cref="Epsilon"/>).
    /// </summary>
    /// <param name="memory">M [B, N, W].</param>
    /// <param name="keys">k, H keys per row [B, H, W].</param>
    /// <param name="strengths">β, one per key [B, H] (≥ 1 from <see cref="Oneplus"/>; any value is accepted).</param>
    /// <returns>The weightings [B, H, N]; each sums to 1 over the slots.</returns>
    public static Tensor ContentWeights(Tensor memory, Tensor keys, Tensor strengths)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(strengths);
        using var scope = NewDisposeScope();
        return ContentWeightsCore(memory, keys, strengths).MoveToOuterDisposeScope();
    }

    /// <summary>Reads r^i = Mᵀ w^{r,i} for every head: weightings [B, H, N] and memory [B, N, W] → [B, H, W].</summary>
    public static Tensor Read(Tensor memory, Tensor readWeights)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(readWeights);
        return readWeights.bmm(memory);
    }

    /// <summary>
    /// The write M' = M ∘ (1 − w eᵀ) + w vᵀ: each slot i is erased by w[i]·e and then w[i]·v is added.
    /// </summary>
    /// <param name="memory">M [B, N, W].</param>
    /// <param name="writeWeights">w [B, N].</param>
    /// <param name="erase">e in [0, 1] [B, W].</param>
    /// <param name="writeVector">v [B, W].</param>
    /// <returns>A new memory [B, N, W].</returns>
    public static Tensor Write(Tensor memory, Tensor writeWeights, Tensor erase, Tensor writeVector)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(writeWeights);
        ArgumentNullException.ThrowIfNull(erase);
        ArgumentNullException.ThrowIfNull(writeVector);
        using var scope = NewDisposeScope();
        return WriteCore(memory, writeWeights, erase, writeVector).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DNC's usage: u_t = (u_{t−1} + w^w_{t−1} − u_{t−1} ∘ w^w_{t−1}) ∘ ψ_t, with the retention ψ_t = ∏_i (1 − f^i w^{r,i}_{t−1})
    /// (ψ = 1 when <paramref name="freeGates"/> is null).
    /// </summary>
    /// <param name="usage">u_{t−1} [B, N].</param>
    /// <param name="writeWeights">w^w_{t−1} [B, N].</param>
    /// <param name="readWeights">w^r_{t−1} [B, R, N].</param>
    /// <param name="freeGates">f [B, R], or null.</param>
    /// <returns>u_t [B, N].</returns>
    public static Tensor Usage(Tensor usage, Tensor writeWeights, Tensor readWeights, Tensor? freeGates)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(writeWeights);
        ArgumentNullException.ThrowIfNull(readWeights);
        using var scope = NewDisposeScope();
        return UsageCore(usage, writeWeights, readWeights, freeGates).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DNC's allocation weighting: with φ the slot indices sorted by ascending usage (a stable sort, so ties go to the
    /// lower index), a[φ_j] = (1 − u[φ_j]) ∏_{i&lt;j} u[φ_i] (an exclusive cumulative product). The least-used slot gets
    /// the most weight; a fully used memory (u = 1) allocates nothing.
    /// </summary>
    /// <param name="usage">u [B, N], in [0, 1].</param>
    /// <returns>a [B, N].</returns>
    public static Tensor AllocationWeights(Tensor usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        using var scope = NewDisposeScope();
        return AllocationWeightsCore(usage).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Throws when a float part of <paramref name="state"/> holds NaN or infinity, naming <paramref name="component"/>,
    /// the part, how many values and the first batch row. Costs one host synchronization; trainers call it on request
    /// (e.g. every few hundred updates), not on the hot path.
    /// </summary>
    /// <exception cref="InvalidOperationException">A part holds a non-finite value.</exception>
    public static void ThrowIfNotFinite(RecurrentState state, string component = nameof(ExternalMemory))
    {
        ArgumentNullException.ThrowIfNull(state);
        using var scope = NewDisposeScope();
        IReadOnlyList<Tensor> tensors = state.Tensors;
        var checks = new List<Tensor>(tensors.Count);
        foreach (Tensor t in tensors)
        {
            if (t.is_floating_point())
            {
                checks.Add(t.isfinite().all());
            }
        }

        if (checks.Count == 0 || stack(checks).all().item<bool>())
        {
            return;
        }

        for (int i = 0; i < tensors.Count; i++)
        {
            Tensor t = tensors[i];
            if (!t.is_floating_point())
            {
                continue;
            }

            Tensor bad = t.isfinite().logical_not().flatten(1);
            long count = bad.sum().item<long>();
            if (count > 0)
            {
                long row = bad.any(1).to(ScalarType.Int64).argmax().item<long>();
                string name = state.Spec.Parts[i].Name;
                throw new InvalidOperationException(
                    $"{component}: the state part '{name}' holds {count.ToString(CultureInfo.InvariantCulture)} NaN or infinite value(s) "
                    + $"(first in batch row {row.ToString(CultureInfo.InvariantCulture)}). The network diverged: lower the learning rate, clip gradients, or scale the observations.");
            }
        }
    }

    // The cores below create their tensors in the caller's DisposeScope (the public functions wrap them in one).

    private static Tensor ContentWeightsCore(Tensor memory, Tensor keys, Tensor strengths)
    {
        // β · k·m / (sqrt(‖k‖² + ε) sqrt(‖m‖² + ε)) = β · k·m · rsqrt((‖k‖² + ε)(‖m‖² + ε)).
        Tensor dot = keys.bmm(memory.transpose(1, 2));                                   // [B, H, N]
        Tensor keySquares = keys.mul(keys).sum(2, keepdim: true).add_(EpsilonScalar, HeldScalars.One);   // [B, H, 1]
        Tensor slotSquares = memory.mul(memory).sum(2).add_(EpsilonScalar, HeldScalars.One).unsqueeze(1);  // [B, 1, N]
        Tensor scale = (keySquares * slotSquares).rsqrt_() * strengths.unsqueeze(2);     // [B, H, N]
        return nn.functional.softmax(dot * scale, 2);
    }

    private static Tensor WriteCore(Tensor memory, Tensor writeWeights, Tensor erase, Tensor writeVector)
    {
        // M ∘ (1 − w eᵀ) + w vᵀ = M + w ∘ (vᵀ − M ∘ eᵀ), row by row.
        Tensor change = writeVector.unsqueeze(1) - (memory * erase.unsqueeze(1));       // [B, N, W]
        return memory.addcmul(writeWeights.unsqueeze(2), change, HeldScalars.One);
    }

    private static Tensor UsageCore(Tensor usage, Tensor writeWeights, Tensor readWeights, Tensor? freeGates)
    {
        Tensor written = usage.add(writeWeights, HeldScalars.One).addcmul(usage, writeWeights, MinusOne);   // u + w − u ∘ w
        if (freeGates is null)
        {
            return written;
        }

        Tensor retention = (freeGates.unsqueeze(2) * readWeights).neg().add(HeldScalars.One, HeldScalars.One).prod(1);   // 1 − f w^r, [B, N]
        return written * retention;
    }

    private static Tensor AllocationWeightsCore(Tensor usage)
    {
        long slots = usage.shape[1];
        (Tensor sorted, Tensor order) = usage.sort(1, descending: false, stable: true);
        Tensor before = nn.functional.pad(sorted.narrow(1, 0, slots - 1), [1, 0], value: 1.0);   // [1, u_φ0, …, u_φ(N−2)]
        Tensor sortedAllocation = sorted.neg().add(HeldScalars.One, HeldScalars.One) * before.cumprod(1);   // (1 − u) ∏ u

        // order is a permutation, so the scatter overwrites every element: scattering into the source itself needs no zeros.
        return sortedAllocation.scatter(1, order, sortedAllocation);
    }

    private long CheckState(ExternalMemoryState state)
    {
        ArgumentNullException.ThrowIfNull(state.Memory, nameof(state.Memory));
        long batch = state.Memory.dim() == 3 ? state.Memory.shape[0] : -1;
        int n = Config.Slots, w = Config.Width, r = Config.ReadHeads;
        CheckShape(state.Memory, MemoryPart, [batch, n, w]);
        CheckShape(state.ReadWeights, ReadWeightsPart, [batch, r, n]);
        CheckShape(state.WriteWeights, WriteWeightsPart, [batch, n]);
        CheckShape(state.Usage, UsagePart, [batch, n]);
        CheckShape(state.ReadVectors, ReadVectorsPart, [batch, r * w]);
        return batch;
    }

    private static void CheckShape(Tensor? tensor, string name, long[] expected)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        long[] shape = tensor.shape;
        if (!shape.AsSpan().SequenceEqual(expected))
        {
            throw new ArgumentException(
                $"ExternalMemory: '{name}' must be [{string.Join(", ", expected.Select(d => d < 0 ? "batch" : d.ToString(CultureInfo.InvariantCulture)))}], got [{string.Join(", ", shape)}].",
                name);
        }
    }
}
