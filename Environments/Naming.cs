namespace RlMemory.Environments;

/// <summary>Finds names close to a misspelled one, for "did you mean" hints in error messages.</summary>
internal static class Naming
{
    /// <summary>
    /// Up to <paramref name="max"/> candidates similar to <paramref name="name"/> (case-insensitive edit distance
    /// at most a third of the longer name, or one containing the other), best first.
    /// </summary>
    public static IReadOnlyList<string> CloseMatches(string name, IEnumerable<string> candidates, int max = 3)
    {
        string lower = name.ToLowerInvariant();
        return candidates
            .Select(c => (Candidate: c, Score: Similarity(lower, c.ToLowerInvariant())))
            .Where(x => x.Score >= 0.6)
            .OrderByDescending(x => x.Score)
            .ThenBy(x => x.Candidate, StringComparer.Ordinal)
            .Take(max)
            .Select(x => x.Candidate)
            .ToList();
    }

    private static double Similarity(string a, string b)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return 0;
        }

        if (a.Contains(b, StringComparison.Ordinal) || b.Contains(a, StringComparison.Ordinal))
        {
            return 0.9;
        }

        return 1.0 - (double)EditDistance(a, b) / Math.Max(a.Length, b.Length) * 1.2;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
