using RlMemory.Memory.Persistence;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Cuts each environment's stream of steps into fixed-length sequences (host side, no tensors). Per environment it
/// keeps a window of its last T steps (observation, action, reward, flags) and the newest next observation, the step
/// count of its current episode, and whether its next entry is an autoreset pseudo-step.
/// </summary>
/// <remarks>
/// <para>Sequences of an episode start at its steps 0, s, 2s, … (s the stride). A sequence is emitted when it has T
/// valid steps; at an episode end every open sequence (started, not yet full) is emitted with its valid length (if at
/// least the minimum length), the slot after its last valid step holding the final observation. After an episode
/// ended, the environment's next entry is the reset pseudo-step (Gymnasium NEXT_STEP autoreset): it is skipped.</para>
/// <para>At most K = ⌈T / s⌉ sequences of one environment are open at once, so the state at a sequence's start is kept
/// in snapshot row <c>env · K + (start / s) mod K</c> (see <see cref="SnapshotRow"/>); the owner copies the state rows
/// there before calling <see cref="Advance"/>.</para>
/// </remarks>
internal sealed class SequenceCutter
{
    private readonly SequenceLayout _layout;
    private readonly int _t;
    private readonly int _os;
    private readonly int _d;
    private readonly float[] _observations;
    private readonly float[] _actions;
    private readonly float[] _rewards;
    private readonly float[] _terminated;
    private readonly float[] _truncated;
    private readonly float[] _next;
    private readonly bool[] _previousEnded;
    private readonly long[] _episodeSteps;
    private readonly bool[] _beginsEpisode;

    public SequenceCutter(SequenceLayout layout)
    {
        _layout = layout;
        _t = layout.Length;
        _os = layout.ObservationSize;
        _d = layout.ActionDimension;
        int n = layout.NumEnvs;
        _observations = new float[n * _t * _os];
        _actions = new float[n * _t * _d];
        _rewards = new float[n * _t];
        _terminated = new float[n * _t];
        _truncated = new float[n * _t];
        _next = new float[n * _os];
        _previousEnded = new bool[n];
        _episodeSteps = new long[n];
        _beginsEpisode = new bool[n];
    }

    /// <summary>The most emissions one <see cref="Advance"/> or <see cref="Flush"/> can produce (N · K).</summary>
    public int MaxEmissions => _layout.NumEnvs * _layout.SnapshotsPerEnv;

    /// <summary>Which environments ended at their last real step, so that their next entry is a pseudo-step.</summary>
    public ReadOnlySpan<bool> PreviousEnded => _previousEnded;

    /// <summary>The real steps of each environment's current episode so far (the index of its next real step).</summary>
    public ReadOnlySpan<long> EpisodeSteps => _episodeSteps;

    /// <summary>
    /// Whether each environment's next entry is the first step of an episode: its last entry was a pseudo-step, or
    /// nothing was added since the start or the last <see cref="Flush"/>. (Right after an episode's last step the next
    /// entry is the pseudo-step, not a first step.)
    /// </summary>
    public ReadOnlySpan<bool> NextStepBeginsEpisode
    {
        get
        {
            for (int e = 0; e < _beginsEpisode.Length; e++)
            {
                _beginsEpisode[e] = !_previousEnded[e] && _episodeSteps[e] == 0;
            }

            return _beginsEpisode;
        }
    }

    /// <summary>Whether environment <paramref name="env"/>'s next real step starts a sequence (so its state must be kept).</summary>
    public bool StartsSequence(int env) => !_previousEnded[env] && _episodeSteps[env] % _layout.Stride == 0;

    /// <summary>The snapshot row for the sequence that environment <paramref name="env"/> starts at episode step <paramref name="start"/>.</summary>
    public int SnapshotRow(int env, long start) => (env * _layout.SnapshotsPerEnv) + (int)(start / _layout.Stride % _layout.SnapshotsPerEnv);

    /// <summary>
    /// Records one step of every environment (already checked; pseudo-steps are skipped) and writes the sequences it
    /// completes into <paramref name="emissions"/> (environment order, oldest start first); returns their number.
    /// </summary>
    public int Advance(in StepSpans input, Span<SequenceEmission> emissions)
    {
        int count = 0;
        for (int e = 0; e < _layout.NumEnvs; e++)
        {
            if (_previousEnded[e])
            {
                _previousEnded[e] = false;
                continue;
            }

            long step = _episodeSteps[e];
            int at = (e * _t) + (int)(step % _t);
            input.Observations.Slice(e * _os, _os).CopyTo(_observations.AsSpan(at * _os, _os));
            if (_layout.Discrete)
            {
                _actions[at] = input.DiscreteActions[e];
            }
            else
            {
                input.ContinuousActions.Slice(e * _d, _d).CopyTo(_actions.AsSpan(at * _d, _d));
            }

            bool terminated = input.Terminated[e];
            bool truncated = input.Truncated[e];
            _rewards[at] = (float)input.Rewards[e];
            _terminated[at] = terminated ? 1f : 0f;
            _truncated[at] = truncated ? 1f : 0f;
            input.NextObservations.Slice(e * _os, _os).CopyTo(_next.AsSpan(e * _os, _os));

            long completed = step - _t + 1;
            if (completed >= 0 && completed % _layout.Stride == 0)
            {
                emissions[count++] = new SequenceEmission(e, completed, _t, SnapshotRow(e, completed));
            }

            if (terminated || truncated)
            {
                count += EmitOpen(e, step, emissions[count..]);
                _previousEnded[e] = true;
                _episodeSteps[e] = 0;
            }
            else
            {
                _episodeSteps[e] = step + 1;
            }
        }

        return count;
    }

    /// <summary>
    /// The vector environment was reset out of band: emits every open sequence (its last step's flags as recorded,
    /// normally both false, bootstrapping from the newest next observation) and starts fresh episodes everywhere.
    /// </summary>
    public int Flush(Span<SequenceEmission> emissions)
    {
        int count = 0;
        for (int e = 0; e < _layout.NumEnvs; e++)
        {
            if (!_previousEnded[e] && _episodeSteps[e] > 0)
            {
                count += EmitOpen(e, _episodeSteps[e] - 1, emissions[count..]);
            }

            _previousEnded[e] = false;
            _episodeSteps[e] = 0;
        }

        return count;
    }

    /// <summary>
    /// Writes one emitted sequence (valid steps, the next observation after them, zero padding, the mask) into a table
    /// row, and its observations into <paramref name="observationBytes"/> when they are stored as bytes.
    /// </summary>
    public void Compose(in SequenceEmission emission, Span<float> row, Span<byte> observationBytes)
    {
        int e = emission.Env;
        int v = emission.Length;
        int p0 = (int)(emission.Start % _t);
        int first = Math.Min(v, _t - p0);
        int second = v - first;
        int baseStep = e * _t;

        if (_layout.ObservationsInTable)
        {
            Span<float> obs = row[.._layout.ObservationValues];
            _observations.AsSpan((baseStep + p0) * _os, first * _os).CopyTo(obs);
            _observations.AsSpan(baseStep * _os, second * _os).CopyTo(obs[(first * _os)..]);
            _next.AsSpan(e * _os, _os).CopyTo(obs[(v * _os)..]);
            obs[((v + 1) * _os)..].Clear();
        }
        else
        {
            Span<byte> obs = observationBytes[.._layout.ObservationValues];
            SpanMath.RoundToBytes(_observations.AsSpan((baseStep + p0) * _os, first * _os), obs);
            SpanMath.RoundToBytes(_observations.AsSpan(baseStep * _os, second * _os), obs[(first * _os)..]);
            SpanMath.RoundToBytes(_next.AsSpan(e * _os, _os), obs[(v * _os)..]);
            obs[((v + 1) * _os)..].Clear();
        }

        CopyField(_actions, _d, baseStep, p0, first, second, row.Slice(_layout.ActionColumn, _t * _d));
        CopyField(_rewards, 1, baseStep, p0, first, second, row.Slice(_layout.RewardColumn, _t));
        CopyField(_terminated, 1, baseStep, p0, first, second, row.Slice(_layout.TerminatedColumn, _t));
        CopyField(_truncated, 1, baseStep, p0, first, second, row.Slice(_layout.TruncatedColumn, _t));
        Span<float> mask = row.Slice(_layout.MaskColumn, _t);
        mask[..v].Fill(1f);
        mask[v..].Clear();
    }

    // ---------------------------------------------------------------- persistence

    /// <summary>The per-environment flags and counters, for a buffer file's metadata.</summary>
    public SequenceCutterState CaptureState() => new()
    {
        PreviousEnded = [.. _previousEnded],
        EpisodeSteps = [.. _episodeSteps],
    };

    /// <summary>Writes the windows as sections.</summary>
    public void WriteSections(BufferFileWriter writer)
    {
        int n = _layout.NumEnvs;
        writer.WriteSection<float>("window_observations", _observations, n, _t, _os);
        writer.WriteSection<float>("window_actions", _actions, n, _t, _d);
        writer.WriteSection<float>("window_rewards", _rewards, n, _t);
        writer.WriteSection<float>("window_terminated", _terminated, n, _t);
        writer.WriteSection<float>("window_truncated", _truncated, n, _t);
        writer.WriteSection<float>("window_next_observations", _next, n, _os);
    }

    /// <summary>
    /// Reads and checks the saved windows and counters (host arrays only: nothing is allocated on a device), returning
    /// them for <see cref="Restore"/>.
    /// </summary>
    public static SavedWindows ReadSaved(BufferFileReader reader, SequenceLayout layout, SequenceCutterState? state)
    {
        string file = reader.Path;
        int n = layout.NumEnvs;
        int t = layout.Length;
        if (state?.PreviousEnded is null || state.EpisodeSteps is null || state.PreviousEnded.Length != n || state.EpisodeSteps.Length != n)
        {
            throw new InvalidDataException($"{file}: inconsistent buffer state: the per-environment flags and step counts do not match {n} environments.");
        }

        for (int e = 0; e < n; e++)
        {
            if (state.EpisodeSteps[e] < 0 || (state.PreviousEnded[e] && state.EpisodeSteps[e] != 0))
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: environment {e} has episode step {state.EpisodeSteps[e]} with previous-ended {state.PreviousEnded[e]}.");
            }
        }

        reader.Expect("window_observations", ScalarType.Float32, n, t, layout.ObservationSize);
        reader.Expect("window_actions", ScalarType.Float32, n, t, layout.ActionDimension);
        reader.Expect("window_rewards", ScalarType.Float32, n, t);
        reader.Expect("window_terminated", ScalarType.Float32, n, t);
        reader.Expect("window_truncated", ScalarType.Float32, n, t);
        reader.Expect("window_next_observations", ScalarType.Float32, n, layout.ObservationSize);
        var saved = new SavedWindows(
            reader.ReadArray<float>("window_observations"),
            reader.ReadArray<float>("window_actions"),
            reader.ReadArray<float>("window_rewards"),
            reader.ReadArray<float>("window_terminated"),
            reader.ReadArray<float>("window_truncated"),
            reader.ReadArray<float>("window_next_observations"),
            state.PreviousEnded,
            state.EpisodeSteps);
        foreach ((string name, float[] values) in new[] { ("window_observations", saved.Observations), ("window_actions", saved.Actions), ("window_rewards", saved.Rewards), ("window_next_observations", saved.Next) })
        {
            int bad = SpanMath.IndexOfNonFinite(values);
            if (bad >= 0)
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: section '{name}' holds {TransitionChecks.Text(values[bad])} at {bad}; saved windows are finite.");
            }
        }

        return saved;
    }

    /// <summary>Restores what <see cref="ReadSaved"/> returned.</summary>
    public void Restore(SavedWindows saved)
    {
        saved.Observations.CopyTo(_observations, 0);
        saved.Actions.CopyTo(_actions, 0);
        saved.Rewards.CopyTo(_rewards, 0);
        saved.Terminated.CopyTo(_terminated, 0);
        saved.Truncated.CopyTo(_truncated, 0);
        saved.Next.CopyTo(_next, 0);
        saved.PreviousEnded.CopyTo(_previousEnded, 0);
        saved.EpisodeSteps.CopyTo(_episodeSteps, 0);
    }

    /// <summary>Emits the open sequences of environment <paramref name="env"/> whose last step is episode step <paramref name="last"/>.</summary>
    private int EmitOpen(int env, long last, Span<SequenceEmission> emissions)
    {
        // The sequence that started at last − T + 1 is full and was emitted as such; later starts are open.
        long completed = last - _t + 1;
        long stride = _layout.Stride;
        long start = completed < 0 ? 0 : ((completed / stride) + 1) * stride;
        int count = 0;
        for (; start <= last; start += stride)
        {
            int valid = (int)(last - start + 1);
            if (valid >= _layout.MinLength)
            {
                emissions[count++] = new SequenceEmission(env, start, valid, SnapshotRow(env, start));
            }
        }

        return count;
    }

    private static void CopyField(float[] source, int width, int baseStep, int p0, int first, int second, Span<float> destination)
    {
        source.AsSpan((baseStep + p0) * width, first * width).CopyTo(destination);
        source.AsSpan(baseStep * width, second * width).CopyTo(destination[(first * width)..]);
        destination[((first + second) * width)..].Clear();
    }
}

/// <summary>A sequence to store: environment, its first episode step, its valid steps and the snapshot row of its initial state.</summary>
internal readonly record struct SequenceEmission(int Env, long Start, int Length, int SnapshotRow);

/// <summary>The per-environment flags and counters of a <see cref="SequenceCutter"/>, saved as JSON metadata.</summary>
internal sealed record SequenceCutterState
{
    public bool[] PreviousEnded { get; init; } = [];

    public long[] EpisodeSteps { get; init; } = [];
}

/// <summary>A cutter's saved windows and counters, read and checked.</summary>
internal sealed record SavedWindows(float[] Observations, float[] Actions, float[] Rewards, float[] Terminated, float[] Truncated, float[] Next, bool[] PreviousEnded, long[] EpisodeSteps);
