using System.Runtime.InteropServices;
using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.ActorCritic;

/// <summary>
/// Unrolls any <see cref="RecurrentCore"/> over sequences with episode starts inside them by cutting each sequence at
/// its resets into reset-free segments, running all segments through one <see cref="RecurrentCore.Unroll"/> without
/// resets (so a core's fused whole-sequence path, such as <see cref="LstmCore"/>'s single LSTM call, applies), and
/// putting the features back in the sequences' layout. The features equal those of
/// <c>core.Unroll(observations, state, resets)</c>; only the layout of the work differs.
/// </summary>
/// <remarks>
/// A segment that begins at a reset starts from the core's initial state; the first segment of a sequence starts from
/// the sequence's state (reset first when the sequence's first step is flagged). Segments are padded at their end to
/// the longest one; padded steps come after every real step of their segment, so they cannot change its features,
/// and are dropped. The cut is computed on the host from the [B, T] flags (one small copy). A core that resets rows
/// within one pass at no extra cost (the memory core's fused kernel) gets the sequences and resets as they are: cutting
/// would only add padded steps.
/// </remarks>
public static class SegmentedUnroll
{
    /// <summary>
    /// Features [B, T, F] of <paramref name="core"/> over <paramref name="observations"/> [B, T, obs] from
    /// <paramref name="state"/> (batch B), resetting the state before step t of sequence b where
    /// <paramref name="resets"/>[b, t] (bool or 0/1; null: no resets) is set.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not fit the core or each other.</exception>
    public static Tensor Features(RecurrentCore core, Tensor observations, RecurrentState state, Tensor? resets)
    {
        ArgumentNullException.ThrowIfNull(core);
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        if (observations.dim() != 3)
        {
            throw new ArgumentException($"SegmentedUnroll: sequences must be [batch, time, {core.ObservationSize}], got [{string.Join(", ", observations.shape)}].", nameof(observations));
        }

        int batch = (int)observations.shape[0];
        int steps = (int)observations.shape[1];
        if (resets is not null && (resets.dim() != 2 || resets.shape[0] != batch || resets.shape[1] != steps))
        {
            throw new ArgumentException($"SegmentedUnroll: resets must be [{batch}, {steps}], got [{string.Join(", ", resets.shape)}].", nameof(resets));
        }

        using var scope = NewDisposeScope();
        if (resets is null || core.UnrollsResetsInOnePass)
        {
            // No cut needed: no resets, or a core (the memory core's fused kernel) that resets rows within its pass,
            // where cutting would only add padded steps.
            var (plain, last) = core.Unroll(observations, state, resets);
            last.Dispose();
            return plain.MoveToOuterDisposeScope();
        }

        Tensor hostFlags = resets.to(ScalarType.Bool).cpu().contiguous();
        ReadOnlySpan<bool> flags = MemoryMarshal.Cast<byte, bool>(hostFlags.bytes);

        // Segments: (sequence, first step, length), in sequence order.
        var segmentSequence = new List<long>(batch);
        var segmentStart = new List<int>(batch);
        var resetAtStart = new List<bool>(batch);
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < steps; t++)
            {
                if (t == 0 || flags[b * steps + t])
                {
                    segmentSequence.Add(b);
                    segmentStart.Add(t);
                    resetAtStart.Add(flags[b * steps + t]);
                }
            }
        }

        int segments = segmentSequence.Count;
        Tensor startResets = tensor(resetAtStart.ToArray(), device: state.Device);
        if (segments == batch)
        {
            // No reset after a sequence's first step: one unroll of the sequences as they are.
            RecurrentState initial = resetAtStart.Contains(true) ? state.ResetRows(startResets, core.InitialState(batch)) : state;
            var (features, last) = core.Unroll(observations, initial);
            last.Dispose();
            return features.MoveToOuterDisposeScope();
        }

        var lengths = new int[segments];
        int longest = 0;
        for (int p = 0; p < segments; p++)
        {
            bool lastOfSequence = p == segments - 1 || segmentSequence[p + 1] != segmentSequence[p];
            lengths[p] = (lastOfSequence ? steps : segmentStart[p + 1]) - segmentStart[p];
            longest = Math.Max(longest, lengths[p]);
        }

        var gather = new long[segments * longest];
        var back = new long[batch * steps];
        for (int p = 0; p < segments; p++)
        {
            long row = segmentSequence[p] * steps + segmentStart[p];
            for (int j = 0; j < longest; j++)
            {
                // Padding repeats the segment's last step: it comes after the real steps and is dropped.
                gather[p * longest + j] = row + Math.Min(j, lengths[p] - 1);
            }

            for (int j = 0; j < lengths[p]; j++)
            {
                back[row + j] = (long)p * longest + j;
            }
        }

        Device device = observations.device;
        Tensor flat = observations.reshape(batch * steps, observations.shape[2]);
        Tensor segmentObservations = flat.index_select(0, tensor(gather, device: device)).view(segments, longest, observations.shape[2]);
        RecurrentState segmentState = state.Select(tensor(segmentSequence.ToArray(), device: state.Device)).ResetRows(startResets, core.InitialState(segments));
        var (segmentFeatures, segmentLast) = core.Unroll(segmentObservations, segmentState);
        segmentLast.Dispose();
        long width = segmentFeatures.shape[2];
        Tensor result = segmentFeatures.reshape(segments * longest, width).index_select(0, tensor(back, device: device)).view(batch, steps, width);
        return result.MoveToOuterDisposeScope();
    }
}
