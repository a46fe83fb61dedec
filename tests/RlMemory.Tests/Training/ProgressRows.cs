namespace RlMemory.Tests.Training;

/// <summary>A run's progress.csv for comparisons between runs.</summary>
internal static class ProgressRows
{
    /// <summary>The rows of <paramref name="run"/>'s progress.csv with the wall-clock columns (fps, elapsed) blanked.</summary>
    public static string[] WithoutWallClock(string run)
    {
        string[] lines = File.ReadAllLines(Path.Combine(run, "progress.csv"));
        string[] header = lines[0].Split(',');
        int fps = Array.IndexOf(header, "time/fps"), elapsed = Array.IndexOf(header, "time/time_elapsed");
        return [.. lines.Select(line =>
        {
            string[] cells = line.Split(',');
            cells[fps] = cells[elapsed] = string.Empty;
            return string.Join(',', cells);
        })];
    }
}
