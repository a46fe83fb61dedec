using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Checks shared by <see cref="ManagedPrioritySampler"/> and <see cref="DevicePrioritySampler"/>, so both refuse the
/// same inputs with the same messages, and the copies of small index and magnitude tensors to the host.
/// </summary>
internal static class PrioritySamplerArguments
{
    /// <summary>Throws unless <paramref name="batchSize"/> ≥ 1, β ∈ [0, 1] and some slot holds an item.</summary>
    public static void CheckSample(string owner, int batchSize, double beta, int count)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(batchSize), batchSize, $"{owner}: batchSize must be ≥ 1; got {PriorityArguments.Format(batchSize)}.");
        }

        if (!(beta is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(beta), beta, $"{owner}: beta must be in [0, 1]; got {PriorityArguments.Format(beta)}.");
        }

        if (count == 0)
        {
            throw new InvalidOperationException(
                $"{owner}: no slot holds an item yet; call AddAtMaxPriority with the slots the storage wrote before sampling.");
        }
    }

    /// <summary>Throws unless every slot is in [0, <paramref name="capacity"/>).</summary>
    public static void CheckSlots(string owner, ReadOnlySpan<int> slots, int capacity)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            PriorityArguments.CheckIndex(owner, slots[i], capacity, i);
        }
    }

    /// <summary>
    /// Checks a priority update completely and computes the new priorities <c>(m + ε)^α</c> into
    /// <paramref name="priorities"/>; returns the largest <c>m + ε</c>. Throws for the first invalid element: a slot
    /// out of range or not filled, a magnitude that is NaN, infinite or negative, or a priority that overflows (or,
    /// for float32 storage, leaves float32's range).
    /// </summary>
    public static double ComputeUpdate(
        string owner,
        ReadOnlySpan<int> slots,
        ReadOnlySpan<double> magnitudes,
        ReadOnlySpan<bool> filled,
        int count,
        PriorityOptions options,
        bool float32,
        Span<double> priorities)
    {
        PriorityArguments.CheckSameLength(owner, "slots", slots.Length, "tdErrorMagnitudes", magnitudes.Length);
        double maxRaw = 0;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            PriorityArguments.CheckIndex(owner, slot, filled.Length, i);
            if (!filled[slot])
            {
                throw NotFilled(owner, slot, i, count, filled.Length);
            }

            double m = magnitudes[i];
            if (!double.IsFinite(m) || m < 0)
            {
                throw new ArgumentOutOfRangeException(
                    "tdErrorMagnitudes",
                    m,
                    $"{owner}: TD-error magnitude {PriorityArguments.Format(m)} for slot {PriorityArguments.Format(slot)}{PriorityArguments.At(i)} is not valid; it must be finite and ≥ 0 (pass |δ|). Nothing was changed.");
            }

            double raw = m + options.Epsilon;
            double p = Math.Pow(raw, options.Alpha);
            if (!IsStorable(p, float32))
            {
                throw Unstorable(owner, p, raw, options.Alpha, slot, i, float32);
            }

            priorities[i] = p;
            maxRaw = Math.Max(maxRaw, raw);
        }

        return maxRaw;
    }

    /// <summary>The exception for a slot that holds no item.</summary>
    public static ArgumentOutOfRangeException NotFilled(string owner, long slot, int position, int count, int capacity) =>
        new(
            "slots",
            slot,
            $"{owner}: slot {PriorityArguments.Format(slot)}{PriorityArguments.At(position)} holds no item ({PriorityArguments.Format(count)} of {PriorityArguments.Format(capacity)} slots do; a slot holds one after AddAtMaxPriority). Nothing was changed.");

    /// <summary>Whether a computed priority can be stored: finite and > 0, also after rounding to float32 when asked.</summary>
    public static bool IsStorable(double p, bool float32) =>
        double.IsFinite(p) && p > 0 && (!float32 || (float.IsFinite((float)p) && (float)p > 0));

    /// <summary>The exception for a priority that overflows or underflows.</summary>
    public static ArgumentOutOfRangeException Unstorable(string owner, double p, double raw, double alpha, long slot, int position, bool float32) =>
        new(
            "tdErrorMagnitudes",
            p,
            $"{owner}: priority (|δ| + ε)^α = {PriorityArguments.Format(raw)}^{PriorityArguments.Format(alpha)} = {PriorityArguments.Format(p)} for slot {PriorityArguments.Format(slot)}{PriorityArguments.At(position)} cannot be stored; it must be finite and > 0{(float32 ? " in float32" : string.Empty)}. Nothing was changed.");

    /// <summary>
    /// Checks an imported state against a sampler (capacity, α, generator name, values) before anything changes;
    /// returns the number of filled slots.
    /// </summary>
    public static int CheckState(string owner, PrioritySamplerState state, int capacity, PriorityOptions options, string randomAlgorithm, bool float32)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Priorities is null || state.RandomState is null || state.RandomAlgorithm is null)
        {
            throw new ArgumentException($"{owner}: the state is incomplete (a null field). Nothing was changed.", nameof(state));
        }

        if (state.Priorities.Length != capacity)
        {
            throw new ArgumentException(
                $"{owner}: the state holds {PriorityArguments.Format(state.Priorities.Length)} priorities; this sampler's capacity is {PriorityArguments.Format(capacity)}. Nothing was changed.",
                nameof(state));
        }

        if (!state.Alpha.Equals(options.Alpha))
        {
            throw new ArgumentException(
                $"{owner}: the state's priorities were computed with alpha {PriorityArguments.Format(state.Alpha)}; this sampler uses alpha {PriorityArguments.Format(options.Alpha)}. Nothing was changed.",
                nameof(state));
        }

        if (!string.Equals(state.RandomAlgorithm, randomAlgorithm, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"{owner}: the state's random generator is '{state.RandomAlgorithm}'; this sampler uses '{randomAlgorithm}'. Import into a sampler of the same kind on the same device type. Nothing was changed.",
                nameof(state));
        }

        double maxNew = Math.Pow(state.MaxPriority, options.Alpha);
        if (!double.IsFinite(state.MaxPriority) || state.MaxPriority <= 0 || !IsStorable(maxNew, float32))
        {
            throw new ArgumentException(
                $"{owner}: the state's MaxPriority {PriorityArguments.Format(state.MaxPriority)} is not valid; it must be finite and > 0, and MaxPriority^alpha must be storable. Nothing was changed.",
                nameof(state));
        }

        int count = 0;
        double[] priorities = state.Priorities;
        for (int i = 0; i < priorities.Length; i++)
        {
            double p = priorities[i];
            if (p == 0)
            {
                continue;
            }

            if (!IsStorable(p, float32))
            {
                throw new ArgumentException(
                    $"{owner}: the state's priority {PriorityArguments.Format(p)} for slot {PriorityArguments.Format(i)} is not valid; it must be 0 (no item) or finite and > 0{(float32 ? " in float32" : string.Empty)}. Nothing was changed.",
                    nameof(state));
            }

            count++;
        }

        return count;
    }

    /// <summary>Throws unless <paramref name="tensor"/> is one-dimensional.</summary>
    public static void CheckVector(string owner, string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        if (tensor.dim() != 1)
        {
            throw new ArgumentException(
                $"{owner}: {name} must be one-dimensional; got shape [{string.Join(", ", tensor.shape)}]. Nothing was changed.", name);
        }
    }

    /// <summary>Throws unless <paramref name="slots"/> holds int64 or int32.</summary>
    public static void CheckSlotType(string owner, Tensor slots)
    {
        if (slots.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new ArgumentException(
                $"{owner}: slots must be an int64 or int32 tensor; got {slots.dtype}. Nothing was changed.", nameof(slots));
        }
    }

    /// <summary>Throws unless <paramref name="magnitudes"/> holds a floating-point type.</summary>
    public static void CheckMagnitudeType(string owner, Tensor magnitudes)
    {
        if (!magnitudes.is_floating_point())
        {
            throw new ArgumentException(
                $"{owner}: tdErrorMagnitudes must be a floating-point tensor; got {magnitudes.dtype}. Nothing was changed.", "tdErrorMagnitudes");
        }
    }

    /// <summary>
    /// Copies a one-dimensional int64/int32 tensor of slots (any device) into <paramref name="destination"/>,
    /// refusing values outside [0, <paramref name="capacity"/>) with the value as given (even beyond the int range).
    /// </summary>
    public static void CopySlots(string owner, Tensor slots, Span<int> destination, int capacity)
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor host = OnHostContiguous(slots);
        if (host.dtype == ScalarType.Int64)
        {
            ReadOnlySpan<long> values = MemoryMarshal.Cast<byte, long>(host.bytes);
            for (int i = 0; i < values.Length; i++)
            {
                PriorityArguments.CheckIndex(owner, values[i], capacity, i);
                destination[i] = (int)values[i];
            }
        }
        else
        {
            ReadOnlySpan<int> values = MemoryMarshal.Cast<byte, int>(host.bytes);
            for (int i = 0; i < values.Length; i++)
            {
                PriorityArguments.CheckIndex(owner, values[i], capacity, i);
                destination[i] = values[i];
            }
        }
    }

    /// <summary>Copies a one-dimensional floating-point tensor (any device, any floating type) into <paramref name="destination"/> as doubles.</summary>
    public static void CopyMagnitudes(Tensor magnitudes, Span<double> destination)
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor host = OnHostContiguous(magnitudes.detach());
        switch (host.dtype)
        {
            case ScalarType.Float64:
                MemoryMarshal.Cast<byte, double>(host.bytes).CopyTo(destination);
                break;
            case ScalarType.Float32:
                ReadOnlySpan<float> values = MemoryMarshal.Cast<byte, float>(host.bytes);
                for (int i = 0; i < values.Length; i++)
                {
                    destination[i] = values[i];
                }

                break;
            default:
                MemoryMarshal.Cast<byte, double>(host.to(ScalarType.Float64).bytes).CopyTo(destination);
                break;
        }
    }

    /// <summary>The tensor itself when it is a contiguous CPU tensor, else a contiguous CPU copy (in the current scope).</summary>
    private static Tensor OnHostContiguous(Tensor tensor) =>
        tensor.device_type == DeviceType.CPU && tensor.is_contiguous() ? tensor : tensor.cpu().contiguous();
}
