namespace RlMemory.Environments.Recording;

/// <summary>
/// Decides which episodes a <see cref="RecordEpisodes{TAction}"/> wrapper records (Gymnasium's <c>episode_trigger</c>).
/// Episodes are numbered from 0 in the order of the wrapper's <c>Reset</c> calls.
/// </summary>
public sealed class EpisodeTrigger
{
    private readonly Func<int, bool> _predicate;
    private readonly string _description;

    private EpisodeTrigger(Func<int, bool> predicate, string description)
    {
        _predicate = predicate;
        _description = description;
    }

    /// <summary>Every episode.</summary>
    public static EpisodeTrigger All { get; } = new(_ => true, "every episode");

    /// <summary>
    /// Gymnasium's default schedule (<c>capped_cubic_video_schedule</c>): episodes 0, 1, 8, 27, …, k³ below 1000, then
    /// every 1000th episode.
    /// </summary>
    public static EpisodeTrigger CappedCubic { get; } = new(IsCappedCubic, "episodes 0, 1, 8, 27, ..., 729, then every 1000th");

    /// <summary>Episodes 0, <paramref name="k"/>, 2<paramref name="k"/>, …</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is less than 1.</exception>
    public static EpisodeTrigger Every(int k)
    {
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"EpisodeTrigger.Every: k must be at least 1 (1 records every episode), got {k}.");
        }

        return k == 1 ? All : new EpisodeTrigger(e => e % k == 0, $"every {k}th episode (0, {k}, {2 * k}, ...)");
    }

    /// <summary>Exactly the listed episodes (0-based).</summary>
    /// <exception cref="ArgumentException">The list is empty or has a negative index.</exception>
    public static EpisodeTrigger Episodes(params IEnumerable<int> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var set = new SortedSet<int>(episodes);
        if (set.Count == 0)
        {
            throw new ArgumentException("EpisodeTrigger.Episodes: list at least one episode index.", nameof(episodes));
        }

        if (set.Min < 0)
        {
            throw new ArgumentException($"EpisodeTrigger.Episodes: episode indices start at 0, got {set.Min}.", nameof(episodes));
        }

        return new EpisodeTrigger(set.Contains, "episodes " + string.Join(", ", set));
    }

    /// <summary>The episodes for which <paramref name="predicate"/> returns true.</summary>
    public static EpisodeTrigger When(Func<int, bool> predicate, string description = "episodes chosen by a predicate")
    {
        ArgumentNullException.ThrowIfNull(predicate);
        ArgumentNullException.ThrowIfNull(description);
        return new EpisodeTrigger(predicate, description);
    }

    /// <summary>Whether episode <paramref name="episode"/> (0-based) is recorded.</summary>
    public bool ShouldRecord(int episode) => episode >= 0 && _predicate(episode);

    /// <summary>The schedule in words, e.g. <c>every 10th episode (0, 10, 20, ...)</c>.</summary>
    public override string ToString() => _description;

    private static bool IsCappedCubic(int episode)
    {
        if (episode < 1000)
        {
            int root = (int)Math.Round(Math.Cbrt(episode));
            return root * root * root == episode;
        }

        return episode % 1000 == 0;
    }
}
