namespace RlMemory.Training;

/// <summary>
/// Follows the training episodes of a vector environment from its per-step rewards and flags (Gymnasium 1.x
/// NEXT_STEP autoreset: an environment's step right after its episode ended is the reset, not part of any episode).
/// Keeps the recent episodes for logging and every finished episode's (step, return) for the learning curve.
/// </summary>
public sealed class EpisodeTracker
{
    private readonly double[] _returns;
    private readonly int[] _lengths;
    private readonly bool[] _previousEnded;
    private readonly Queue<(double Return, int Length)> _recent = new();
    private readonly List<(long Step, double Return)> _history = [];
    private readonly int _window;

    /// <summary>Tracks <paramref name="numEnvs"/> environments, averaging over the last <paramref name="window"/> episodes.</summary>
    public EpisodeTracker(int numEnvs, int window = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numEnvs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _returns = new double[numEnvs];
        _lengths = new int[numEnvs];
        _previousEnded = new bool[numEnvs];
        _window = window;
    }

    /// <summary>Episodes finished so far.</summary>
    public int Episodes { get; private set; }

    /// <summary>Mean return of the recent episodes (NaN before the first one ends).</summary>
    public double RecentMeanReturn => _recent.Count == 0 ? double.NaN : _recent.Average(e => e.Return);

    /// <summary>Mean length of the recent episodes (NaN before the first one ends).</summary>
    public double RecentMeanLength => _recent.Count == 0 ? double.NaN : _recent.Average(e => e.Length);

    /// <summary>Every finished episode: the environment step at which it ended and its return.</summary>
    public IReadOnlyList<(long Step, double Return)> History => _history;

    /// <summary>Records one vector step that brought the run to <paramref name="step"/> environment steps.</summary>
    public void Record(long step, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated)
    {
        for (int i = 0; i < _returns.Length; i++)
        {
            if (_previousEnded[i])
            {
                // The reset step of the NEXT_STEP autoreset: no reward, not part of an episode.
                _previousEnded[i] = false;
                continue;
            }

            _returns[i] += rewards[i];
            _lengths[i]++;
            if (terminated[i] || truncated[i])
            {
                if (_recent.Count == _window)
                {
                    _recent.Dequeue();
                }

                _recent.Enqueue((_returns[i], _lengths[i]));
                _history.Add((step, _returns[i]));
                Episodes++;
                _returns[i] = 0;
                _lengths[i] = 0;
                _previousEnded[i] = true;
            }
        }
    }

    /// <summary>Forgets the episodes under way (after the vector environment was reset out of band).</summary>
    public void ResetEnvironments()
    {
        Array.Clear(_returns);
        Array.Clear(_lengths);
        Array.Clear(_previousEnded);
    }

    /// <summary>The state, for checkpoints.</summary>
    public EpisodeTrackerState GetState() => new(
        [.. _returns], [.. _lengths], [.. _previousEnded], [.. _recent.Select(e => e.Return)], [.. _recent.Select(e => e.Length)],
        [.. _history.Select(h => h.Step)], [.. _history.Select(h => h.Return)], Episodes);

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    public void SetState(EpisodeTrackerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Returns is null || state.Lengths is null || state.PreviousEnded is null || state.RecentReturns is null || state.RecentLengths is null
            || state.HistorySteps is null || state.HistoryReturns is null)
        {
            throw new ArgumentException("EpisodeTracker: the saved state lacks one of its lists.", nameof(state));
        }

        if (state.Returns.Length != _returns.Length || state.Lengths.Length != _lengths.Length || state.PreviousEnded.Length != _previousEnded.Length
            || state.RecentReturns.Length != state.RecentLengths.Length || state.HistorySteps.Length != state.HistoryReturns.Length)
        {
            throw new ArgumentException($"EpisodeTracker: the saved state is for {state.Returns.Length} environments (or inconsistent); this tracker follows {_returns.Length}.");
        }

        state.Returns.CopyTo(_returns, 0);
        state.Lengths.CopyTo(_lengths, 0);
        state.PreviousEnded.CopyTo(_previousEnded, 0);
        _recent.Clear();
        for (int k = Math.Max(0, state.RecentReturns.Length - _window); k < state.RecentReturns.Length; k++)
        {
            _recent.Enqueue((state.RecentReturns[k], state.RecentLengths[k]));
        }

        _history.Clear();
        for (int k = 0; k < state.HistorySteps.Length; k++)
        {
            _history.Add((state.HistorySteps[k], state.HistoryReturns[k]));
        }

        Episodes = state.Episodes;
    }
}

/// <summary>The serializable state of an <see cref="EpisodeTracker"/>.</summary>
public sealed record EpisodeTrackerState(
    double[] Returns, int[] Lengths, bool[] PreviousEnded, double[] RecentReturns, int[] RecentLengths, long[] HistorySteps, double[] HistoryReturns, int Episodes);
