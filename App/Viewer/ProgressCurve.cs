using System.Globalization;
using RlMemory.Training;
using RlMemory.Training.Logging;

namespace RlMemory.App.Viewer;

/// <summary>
/// The learning curve so far, read from a run's <c>progress.csv</c> (which may be growing while it is read): the
/// training return (<c>rollout/ep_rew_mean</c>) and the evaluations (<c>eval/mean_reward</c> ± <c>eval/std_reward</c>)
/// against <c>time/total_timesteps</c>.
/// </summary>
/// <param name="Training">(step, mean training return) points, in file order.</param>
/// <param name="Evaluations">(step, mean, std) of each evaluation, in file order.</param>
public sealed record ProgressCurve(IReadOnlyList<(long Step, double Mean)> Training, IReadOnlyList<(long Step, double Mean, double Std)> Evaluations)
{
    /// <summary>A curve with no points.</summary>
    public static ProgressCurve Empty { get; } = new([], []);

    /// <summary>
    /// Reads <paramref name="path"/>; a missing file, or rows that cannot be parsed (a line being written), give fewer
    /// points rather than an error. At most <paramref name="maxPoints"/> training points are kept (evenly thinned).
    /// </summary>
    public static ProgressCurve Read(string? path, int maxPoints = 2000)
    {
        if (path is null || !File.Exists(path))
        {
            return Empty;
        }

        string[] lines;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            lines = reader.ReadToEnd().Split('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Empty;
        }

        return Parse(lines, maxPoints);
    }

    /// <summary>Parses the lines of a progress.csv (the first is the header).</summary>
    public static ProgressCurve Parse(IReadOnlyList<string> lines, int maxPoints = 2000)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 2);
        if (lines.Count == 0)
        {
            return Empty;
        }

        string[] header = lines[0].TrimEnd('\r').Split(',');
        int step = Array.IndexOf(header, "time/total_timesteps");
        int train = Array.IndexOf(header, "rollout/ep_rew_mean");
        int evalMean = Array.IndexOf(header, "eval/mean_reward");
        int evalStd = Array.IndexOf(header, "eval/std_reward");
        if (step < 0)
        {
            return Empty;
        }

        var training = new List<(long, double)>();
        var evaluations = new List<(long, double, double)>();
        for (int i = 1; i < lines.Count; i++)
        {
            string[] cells = lines[i].TrimEnd('\r').Split(',');
            if (cells.Length != header.Length || !long.TryParse(cells[step], NumberStyles.Integer, CultureInfo.InvariantCulture, out long s))
            {
                continue;
            }

            if (TryCell(cells, train, out double mean))
            {
                training.Add((s, mean));
            }

            if (TryCell(cells, evalMean, out double evalValue))
            {
                evaluations.Add((s, evalValue, TryCell(cells, evalStd, out double std) ? std : 0));
            }
        }

        return new ProgressCurve(Thin(training, maxPoints), evaluations);
    }

    /// <summary>The curve of the run whose progress.csv is in <paramref name="runDirectory"/>.</summary>
    public static ProgressCurve ReadRun(string? runDirectory) =>
        runDirectory is null ? Empty : Read(Path.Combine(runDirectory, RunLog.CsvFileName));

    private static bool TryCell(string[] cells, int column, out double value)
    {
        value = 0;
        return column >= 0 && cells[column].Length > 0
            && double.TryParse(cells[column], NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }

    private static List<(long, double)> Thin(List<(long, double)> points, int maxPoints)
    {
        if (points.Count <= maxPoints)
        {
            return points;
        }

        var thinned = new List<(long, double)>(maxPoints);
        for (int k = 0; k < maxPoints; k++)
        {
            thinned.Add(points[(int)((long)k * (points.Count - 1) / (maxPoints - 1))]);
        }

        return thinned;
    }
}
