using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The priority half of proportional prioritized experience replay (Schaul et al. 2016): it keeps one priority per
/// storage slot, draws stratified samples of slots with probability <c>P(i) = p_i / Σ_k p_k</c>, and computes their
/// importance-sampling weights. It stores no transitions: the replay storage owns the slots and tells the sampler
/// which ones it wrote (<see cref="AddAtMaxPriority"/>); the trainer reports new TD errors for sampled slots
/// (<see cref="UpdatePriorities(ReadOnlySpan{int}, ReadOnlySpan{double})"/>).
/// </summary>
/// <remarks>
/// <para>Stored priorities are <c>p_i = (|δ_i| + ε)^α</c> (<see cref="PriorityOptions"/>). A slot that was never
/// written has priority 0 and is never sampled; a written slot always has a positive priority.</para>
/// <para>Implementations: <see cref="ManagedPrioritySampler"/> (sum and min trees in managed arrays, O(B log N); the
/// choice on the CPU) and <see cref="DevicePrioritySampler"/> (priorities in a device tensor, O(N) per sample on the
/// device, no host round trip while sampling; the choice on a GPU). Neither is thread-safe.</para>
/// </remarks>
public interface IPrioritySampler : IDisposable
{
    /// <summary>The number of slots (the replay storage's capacity).</summary>
    int Capacity { get; }

    /// <summary>The number of slots that hold an item (were given to <see cref="AddAtMaxPriority"/> since the last <see cref="Clear"/>).</summary>
    int Count { get; }

    /// <summary>The device of the tensors <see cref="Sample(int, double)"/> returns.</summary>
    Device Device { get; }

    /// <summary>α and ε.</summary>
    PriorityOptions Options { get; }

    /// <summary>
    /// The largest <c>|δ| + ε</c> seen so far (before the exponent α), 1 initially; a new item gets priority
    /// <c>MaxPriority^α</c>. It never decreases (as in the paper and OpenAI Baselines) until <see cref="Clear"/>.
    /// Reading it from <see cref="DevicePrioritySampler"/> synchronizes with the device.
    /// </summary>
    double MaxPriority { get; }

    /// <summary>
    /// Marks <paramref name="slots"/> as holding new items with priority <c>MaxPriority^α</c>, so each is sampled at
    /// least once soon. Call it with the slots the storage has just written (overwriting old items is normal for a
    /// ring buffer). Repeated slots are allowed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A slot is outside [0, <see cref="Capacity"/>) (nothing changes).</exception>
    void AddAtMaxPriority(ReadOnlySpan<int> slots);

    /// <summary>
    /// Draws <paramref name="batchSize"/> slots by stratified sampling: the total priority mass is cut into
    /// <paramref name="batchSize"/> equal segments and one slot is drawn uniformly by mass inside each, so slot
    /// <c>i</c> appears on average <c>B·P(i)</c> times per batch, with <c>P(i) = p_i / Σ_k p_k</c> (a draw at a uniformly
    /// random position in the batch has exactly probability P(i)). Returns the slots (int64, in segment order) and
    /// their importance-sampling weights <c>w_i = (N·P(i))^−β / max_j w_j = (p_min / p_i)^β</c> (float32, in (0, 1];
    /// 1 for the smallest priority), both of shape [<paramref name="batchSize"/>] on <see cref="Device"/>. The same
    /// slot can appear more than once. The tensors join the caller's current DisposeScope, if any.
    /// </summary>
    /// <param name="batchSize">The number of slots to draw, ≥ 1.</param>
    /// <param name="beta">The importance-sampling exponent β in [0, 1] (0: all weights 1; 1: full correction); see <see cref="LinearBetaSchedule"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> &lt; 1, or <paramref name="beta"/> outside [0, 1].</exception>
    /// <exception cref="InvalidOperationException">No slot holds an item yet.</exception>
    PrioritySample Sample(int batchSize, double beta);

    /// <summary>
    /// Sets the priority of each slot to <c>(tdErrorMagnitudes[i] + ε)^α</c> and raises <see cref="MaxPriority"/> to
    /// the largest <c>|δ| + ε</c>. The whole batch is checked first; if any element is invalid, nothing changes.
    /// For repeated slots, <see cref="ManagedPrioritySampler"/> keeps the last value; <see cref="DevicePrioritySampler"/>
    /// keeps one of them (on a GPU which one is unspecified).
    /// </summary>
    /// <param name="slots">Slots that hold items, usually from <see cref="Sample(int, double)"/>.</param>
    /// <param name="tdErrorMagnitudes">|δ| per slot: finite and ≥ 0 (a negative value is refused, not made absolute).</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A slot is out of range or holds no item; a magnitude is NaN, infinite or negative; or a priority overflows.</exception>
    void UpdatePriorities(ReadOnlySpan<int> slots, ReadOnlySpan<double> tdErrorMagnitudes);

    /// <summary>
    /// <see cref="UpdatePriorities(ReadOnlySpan{int}, ReadOnlySpan{double})"/> with tensors, e.g. the indices from
    /// <see cref="Sample(int, double)"/> and <c>td.abs()</c> from the learner. <paramref name="slots"/>: int64 or int32,
    /// <paramref name="tdErrorMagnitudes"/>: any floating type; both one-dimensional, of equal length, on any device.
    /// <see cref="DevicePrioritySampler"/> validates on the device and synchronizes once (to read one flag).
    /// </summary>
    /// <exception cref="ArgumentException">A tensor is not one-dimensional, has the wrong type, or the lengths differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">As for the span overload.</exception>
    void UpdatePriorities(Tensor slots, Tensor tdErrorMagnitudes);

    /// <summary>A copy of everything needed to continue exactly: priorities, max priority, α and the random generator's state.</summary>
    PrioritySamplerState ExportState();

    /// <summary>
    /// Replaces the priorities, max priority and random state with <paramref name="state"/> (from
    /// <see cref="ExportState"/> of a sampler of the same kind, capacity and α). The state is checked completely
    /// first; if it is refused, nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">The state does not fit this sampler (capacity, α, generator) or holds invalid values.</exception>
    void ImportState(PrioritySamplerState state);

    /// <summary>Empties every slot and resets <see cref="MaxPriority"/> to 1 (the random generator continues).</summary>
    void Clear();
}
