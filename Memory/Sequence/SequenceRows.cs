namespace RlMemory.Memory;

/// <summary>
/// Complete R2D2 sequences as host rows, for shipping between processes (actor → replay shard → learner): the rows of
/// a <see cref="SequenceReplayBuffer"/>'s float32 table (<see cref="SequenceLayout"/>: per sequence <c>(T + 1) · obs</c>
/// observations, <c>T · d</c> actions, then T rewards, T terminated flags, T truncated flags and T mask values, exactly
/// as <see cref="SequenceCutter.Compose"/> writes them), each sequence's valid length, and the recurrent state before
/// each sequence's first step.
/// </summary>
/// <remarks>
/// Only float32 observation storage and float32 state parts are carried. <see cref="SequenceCollector.Take"/> and
/// <see cref="SequenceReplayBuffer.SampleRows"/> make them; <see cref="SequenceReplayBuffer.AddRows(SequenceRows)"/> checks and stores
/// them; <see cref="SequenceReplayBuffer.ToBatch"/> turns them into a <see cref="SequenceBatch"/>.
/// </remarks>
/// <param name="Count">The number of sequences.</param>
/// <param name="Width">Floats per table row (<see cref="SequenceLayout.Width"/>).</param>
/// <param name="Table"><c>Count × Width</c> floats, one row per sequence.</param>
/// <param name="Lengths">The valid steps of each sequence, in [MinSequenceLength, T].</param>
/// <param name="States">One array per recurrent-state part, in the spec's part order, each <c>Count × part.RowSize</c> floats.</param>
internal sealed record SequenceRows(int Count, int Width, float[] Table, int[] Lengths, float[][] States)
{
    /// <summary>The bytes of the values (table, lengths and states, 4 bytes each), for wire-size figures.</summary>
    public long PayloadBytes
    {
        get
        {
            long values = (long)(Table?.Length ?? 0) + (Lengths?.Length ?? 0);
            if (States is not null)
            {
                foreach (float[] part in States)
                {
                    values += part?.Length ?? 0;
                }
            }

            return 4 * values;
        }
    }

    /// <summary>Sequences [<paramref name="from"/>, <paramref name="from"/> + <paramref name="count"/>) of these, copied.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not within [0, <see cref="Count"/>].</exception>
    public SequenceRows Slice(int from, int count)
    {
        if (from < 0 || count < 0 || from > Count - count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Sequences [{from}, {from + count}) are not within the {Count} held.");
        }

        return new SequenceRows(
            count,
            Width,
            Table.AsSpan(from * Width, count * Width).ToArray(),
            Lengths.AsSpan(from, count).ToArray(),
            [.. States.Select(part => part.AsSpan(from * (part.Length / Math.Max(Count, 1)), count * (part.Length / Math.Max(Count, 1))).ToArray())]);
    }

    /// <summary>The sequences of <paramref name="parts"/> one after another (all of one width and state layout).</summary>
    /// <exception cref="ArgumentException">No parts, or parts of different widths or state layouts.</exception>
    public static SequenceRows Concat(IReadOnlyList<SequenceRows> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("No sequences to concatenate.", nameof(parts));
        }

        SequenceRows first = parts[0];
        int[] sizes = [.. first.States.Select(part => part.Length / Math.Max(first.Count, 1))];
        foreach (SequenceRows p in parts)
        {
            if (p.Width != first.Width || p.States.Length != sizes.Length || p.States.Where((part, i) => part.Length != p.Count * sizes[i]).Any())
            {
                throw new ArgumentException($"Sequences of width {p.Width} with {p.States.Length} state parts cannot follow sequences of width {first.Width} with {sizes.Length}.", nameof(parts));
            }
        }

        return new SequenceRows(
            parts.Sum(p => p.Count),
            first.Width,
            [.. parts.SelectMany(p => p.Table)],
            [.. parts.SelectMany(p => p.Lengths)],
            [.. sizes.Select((_, i) => parts.SelectMany(p => p.States[i]).ToArray())]);
    }
}

/// <summary>
/// Checks of <see cref="SequenceRows"/> against a buffer's layout, done in full before anything is written. Every
/// message names the owner (the buffer), the call, the field, the sequence and the value.
/// </summary>
internal static class SequenceRowChecks
{
    /// <summary>
    /// Refuses options whose observations or state parts are not float32: <see cref="SequenceRows"/> carry float32
    /// observations in the table and float32 state parts only.
    /// </summary>
    /// <returns>null when the options fit, else why not (for the caller's exception).</returns>
    public static string? Unsupported(SequenceReplayOptions options)
    {
        if (options.ObservationStorage != ObservationStorage.Float32)
        {
            return $"ObservationStorage is {options.ObservationStorage}, but sequence rows carry float32 observations only (ObservationStorage.Float32)";
        }

        foreach (RecurrentStatePart part in options.StateSpec.Parts)
        {
            if (part.DType != TorchSharp.torch.ScalarType.Float32)
            {
                return $"recurrent state part {part} is not float32, but sequence rows carry float32 state parts only";
            }
        }

        return null;
    }

    /// <summary>
    /// Refuses rows whose shape does not fit <paramref name="layout"/> and <paramref name="spec"/>: no sequences, a
    /// missing array, another width, array lengths that do not match <see cref="SequenceRows.Count"/>, another number
    /// of state parts or part sizes.
    /// </summary>
    public static void Shape(string owner, string call, SequenceLayout layout, RecurrentStateSpec spec, SequenceRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int n = rows.Count;
        if (n < 1)
        {
            throw Bad(owner, call, $"rows.Count is {n}; at least one sequence is needed.");
        }

        if (rows.Table is null || rows.Lengths is null || rows.States is null)
        {
            string missing = rows.Table is null ? "Table" : rows.Lengths is null ? "Lengths" : "States";
            throw Bad(owner, call, $"rows.{missing} is null.");
        }

        if (rows.Width != layout.Width)
        {
            throw Bad(owner, call, $"rows.Width is {rows.Width}, but a sequence of this buffer takes {layout.Width} floats (T = {layout.Length}, observation size {layout.ObservationSize}, action dimension {layout.ActionDimension}); the rows were cut with other options.");
        }

        long table = (long)n * layout.Width;
        if (rows.Table.Length != table)
        {
            throw Bad(owner, call, $"rows.Table holds {rows.Table.Length} floats; {n} sequences × width {layout.Width} take {table}.");
        }

        if (rows.Lengths.Length != n)
        {
            throw Bad(owner, call, $"rows.Lengths holds {rows.Lengths.Length} values; it needs one per sequence ({n}).");
        }

        if (rows.States.Length != spec.Parts.Count)
        {
            throw Bad(owner, call, $"rows.States has {rows.States.Length} parts, but the buffer's recurrent state {spec} has {spec.Parts.Count}.");
        }

        for (int p = 0; p < spec.Parts.Count; p++)
        {
            RecurrentStatePart part = spec.Parts[p];
            long size = n * part.RowSize;
            if (rows.States[p] is null || rows.States[p].Length != size)
            {
                string held = rows.States[p] is null ? "is null" : $"holds {rows.States[p].Length} floats";
                throw Bad(owner, call, $"rows.States[{p}] (state part '{part.Name}') {held}; {n} sequences × {part.RowSize} take {size}.");
            }
        }
    }

    /// <summary>
    /// Refuses values a buffer must not hold (rows of the right shape, see <see cref="Shape"/>): a length outside
    /// [MinSequenceLength, T], a mask other than 1 on the valid steps and 0 after, NaN or infinite rewards, actions or
    /// observations on the valid steps (observations including the next-observation slot after them), discrete actions
    /// that are not integers in [0, 2^24], flags other than 0 and 1, padding other than 0 (as the cutter writes it),
    /// and NaN or infinite states.
    /// </summary>
    public static void Values(string owner, string call, SequenceLayout layout, RecurrentStateSpec spec, SequenceRows rows)
    {
        int t = layout.Length;
        int os = layout.ObservationSize;
        int d = layout.ActionDimension;
        int w = layout.Width;
        for (int i = 0; i < rows.Count; i++)
        {
            int v = rows.Lengths[i];
            if (v < layout.MinLength || v > t)
            {
                throw Bad(owner, call, $"rows.Lengths[{i}] (sequence {i}) is {v}; valid lengths lie in [{layout.MinLength}, {t}] (MinSequenceLength to SequenceLength).");
            }

            ReadOnlySpan<float> row = rows.Table.AsSpan(i * w, w);
            ReadOnlySpan<float> mask = row.Slice(layout.MaskColumn, t);
            for (int s = 0; s < t; s++)
            {
                if (mask[s] != (s < v ? 1f : 0f))
                {
                    throw Bad(owner, call, $"mask of sequence {i} at step {s} is {Text(mask[s])}; with length {v} the mask is 1 on steps [0, {v}) and 0 after.");
                }
            }

            ReadOnlySpan<float> observations = row[..layout.ObservationValues];
            int bad = SpanMath.IndexOfNonFinite(observations[..((v + 1) * os)]);
            if (bad >= 0)
            {
                throw Bad(owner, call, $"observations of sequence {i} at step {bad / os} (element {bad % os}) is {Text(observations[bad])}; observations must be finite (steps [0, {v}]: the valid steps and the next observation after them).");
            }

            Padding(owner, call, "observations", i, v, observations, (v + 1) * os, os, offset: 1);

            ReadOnlySpan<float> actions = row.Slice(layout.ActionColumn, t * d);
            for (int k = 0; k < v * d; k++)
            {
                float a = actions[k];
                if (layout.Discrete ? !(a >= 0 && a <= ActionSpec.MaxDiscreteMagnitude && a == MathF.Round(a)) : !float.IsFinite(a))
                {
                    string rule = layout.Discrete ? $"discrete actions are integers in [0, {ActionSpec.MaxDiscreteMagnitude}]" : "actions must be finite";
                    string where = layout.Discrete ? $"step {k}" : $"step {k / d} (element {k % d})";
                    throw Bad(owner, call, $"actions of sequence {i} at {where} is {Text(a)}; {rule}.");
                }
            }

            Padding(owner, call, "actions", i, v, actions, v * d, d, offset: 0);

            ReadOnlySpan<float> rewards = row.Slice(layout.RewardColumn, t);
            bad = SpanMath.IndexOfNonFinite(rewards[..v]);
            if (bad >= 0)
            {
                throw Bad(owner, call, $"rewards of sequence {i} at step {bad} is {Text(rewards[bad])}; rewards must be finite.");
            }

            Padding(owner, call, "rewards", i, v, rewards, v, 1, offset: 0);
            Flags(owner, call, "terminated", i, v, row.Slice(layout.TerminatedColumn, t));
            Flags(owner, call, "truncated", i, v, row.Slice(layout.TruncatedColumn, t));
        }

        for (int p = 0; p < spec.Parts.Count; p++)
        {
            int rowSize = (int)spec.Parts[p].RowSize;
            int bad = SpanMath.IndexOfNonFinite(rows.States[p]);
            if (bad >= 0)
            {
                throw Bad(owner, call, $"rows.States[{p}] (state part '{spec.Parts[p].Name}') of sequence {bad / rowSize} (element {bad % rowSize}) is {Text(rows.States[p][bad])}; recurrent states must be finite.");
            }
        }
    }

    private static void Flags(string owner, string call, string field, int sequence, int length, ReadOnlySpan<float> flags)
    {
        for (int s = 0; s < length; s++)
        {
            if (flags[s] is not (0f or 1f))
            {
                throw Bad(owner, call, $"{field} of sequence {sequence} at step {s} is {Text(flags[s])}; flags are 0 or 1.");
            }
        }

        Padding(owner, call, field, sequence, length, flags, length, 1, offset: 0);
    }

    /// <summary>Refuses a nonzero value at or after <paramref name="from"/> (the padding after the valid steps).</summary>
    private static void Padding(string owner, string call, string field, int sequence, int length, ReadOnlySpan<float> values, int from, int perStep, int offset)
    {
        for (int k = from; k < values.Length; k++)
        {
            if (values[k] != 0f)
            {
                string where = perStep == 1 ? $"step {k}" : $"step {k / perStep} (element {k % perStep})";
                throw Bad(owner, call, $"{field} of sequence {sequence} at padding {where} is {Text(values[k])}; with length {length} everything after step {length - 1 + offset} is 0.");
            }
        }
    }

    private static string Text(float value) => TransitionChecks.Text(value);

    private static ArgumentException Bad(string owner, string call, string what) => new($"{owner}: {call}: {what}", "rows");
}
