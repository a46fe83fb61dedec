using System.Globalization;
using System.Text;

namespace RlMemory.Training.Logging;

/// <summary>
/// Where a run's logs stood at a checkpoint: the length of <c>progress.csv</c> and of each TensorBoard event file.
/// Resuming truncates the logs back to these lengths, so a resumed run's logs read as one uninterrupted run.
/// </summary>
/// <param name="CsvLength">Bytes of progress.csv.</param>
/// <param name="EventFiles">Event file names (in the run's tensorboard folder) and their lengths.</param>
public sealed record LogPosition(long CsvLength, IReadOnlyDictionary<string, long> EventFiles)
{
    /// <summary>What makes this position unusable (negative lengths, event file names that are not plain file names), or null.</summary>
    public string? Problem() =>
        CsvLength < 0 || EventFiles is null || EventFiles.Values.Any(v => v < 0)
            ? "holds a negative length"
            : EventFiles.Keys.FirstOrDefault(k => k.Length == 0 || k != Path.GetFileName(k) || k is "." or "..") is string bad
                ? $"names '{bad}', which is not a file of the run's tensorboard folder"
                : null;
}

/// <summary>
/// A run's metric log: one row per call of <see cref="Record"/> in <c>progress.csv</c> (columns fixed at creation,
/// like Stable-Baselines3's, e.g. <c>time/total_timesteps</c>, <c>rollout/ep_rew_mean</c>) and the same values as
/// TensorBoard scalars under <c>tensorboard/</c> (see <see cref="TensorBoardWriter"/>).
/// </summary>
public sealed class RunLog : IDisposable
{
    /// <summary>The CSV file name inside the run folder.</summary>
    public const string CsvFileName = "progress.csv";

    /// <summary>The TensorBoard folder name inside the run folder.</summary>
    public const string TensorBoardFolder = "tensorboard";

    private readonly string[] _columns;
    private readonly Dictionary<string, int> _columnIndex;
    private readonly StreamWriter _csv;
    private readonly TensorBoardWriter? _tensorBoard;
    private readonly string _tensorBoardDir;
    private readonly string[] _row;

    /// <summary>
    /// Starts the logs of a new run in <paramref name="runDirectory"/> (replacing any left there by a run that never
    /// checkpointed), or, when resuming, cuts them back to the checkpoint's position and appends.
    /// </summary>
    /// <param name="runDirectory">The run folder (created if missing).</param>
    /// <param name="columns">The CSV columns, in order.</param>
    /// <param name="tensorBoard">Also write TensorBoard event files.</param>
    /// <param name="resumeFrom">When resuming: the position saved with the checkpoint; the logs are cut back to it first.</param>
    public RunLog(string runDirectory, IReadOnlyList<string> columns, bool tensorBoard = true, LogPosition? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0 || columns.Distinct(StringComparer.Ordinal).Count() != columns.Count || columns.Any(c => c.Contains(',', StringComparison.Ordinal)))
        {
            throw new ArgumentException("RunLog needs distinct column names without commas.", nameof(columns));
        }

        Directory.CreateDirectory(runDirectory);
        RunDirectory = runDirectory;
        _columns = [.. columns];
        _columnIndex = _columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        _row = new string[_columns.Length];
        _tensorBoardDir = Path.Combine(runDirectory, TensorBoardFolder);
        string csvPath = Path.Combine(runDirectory, CsvFileName);

        if (resumeFrom is null)
        {
            // A new run starts new logs: a run folder left by a run interrupted before its first checkpoint keeps
            // none of its rows or event files.
            File.Delete(csvPath);
            if (Directory.Exists(_tensorBoardDir))
            {
                foreach (string path in Directory.GetFiles(_tensorBoardDir, TensorBoardWriter.FilePattern))
                {
                    File.Delete(path);
                }
            }
        }
        else
        {
            Truncate(csvPath, resumeFrom.CsvLength);
            foreach (var (file, length) in resumeFrom.EventFiles)
            {
                Truncate(Path.Combine(_tensorBoardDir, file), length);
            }

            // Event files written after the checkpoint belong to the interrupted future: drop them.
            if (Directory.Exists(_tensorBoardDir))
            {
                foreach (string path in Directory.GetFiles(_tensorBoardDir))
                {
                    if (!resumeFrom.EventFiles.ContainsKey(Path.GetFileName(path)))
                    {
                        File.Delete(path);
                    }
                }
            }
        }

        bool fresh = !File.Exists(csvPath) || new FileInfo(csvPath).Length == 0;
        _csv = new StreamWriter(new FileStream(csvPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        if (fresh)
        {
            _csv.WriteLine(string.Join(',', _columns));
            _csv.Flush();
        }

        if (tensorBoard)
        {
            Directory.CreateDirectory(_tensorBoardDir);
            _tensorBoard = new TensorBoardWriter(_tensorBoardDir);
        }
    }

    /// <summary>The run folder.</summary>
    public string RunDirectory { get; }

    /// <summary>The CSV columns.</summary>
    public IReadOnlyList<string> Columns => _columns;

    /// <summary>
    /// Appends one row at <paramref name="step"/>: values for some columns (others stay empty) and the same values as
    /// TensorBoard scalars. NaN values are written as empty cells and skipped in TensorBoard.
    /// </summary>
    /// <exception cref="ArgumentException">A key is not one of the columns.</exception>
    public void Record(long step, IEnumerable<KeyValuePair<string, double>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Array.Fill(_row, string.Empty);
        foreach (var (key, value) in values)
        {
            if (!_columnIndex.TryGetValue(key, out int column))
            {
                throw new ArgumentException($"RunLog: '{key}' is not a column; columns: {string.Join(", ", _columns)}.", nameof(values));
            }

            if (double.IsNaN(value))
            {
                continue;
            }

            _row[column] = value.ToString("R", CultureInfo.InvariantCulture);
            _tensorBoard?.AddScalar(key, value, step);
        }

        _csv.WriteLine(string.Join(',', _row));
        _csv.Flush();
        _tensorBoard?.Flush();
    }

    /// <summary>The current lengths of the log files (save it with a checkpoint).</summary>
    public LogPosition Position
    {
        get
        {
            _csv.Flush();
            _tensorBoard?.Flush();
            var events = new Dictionary<string, long>(StringComparer.Ordinal);
            if (Directory.Exists(_tensorBoardDir))
            {
                foreach (string path in Directory.GetFiles(_tensorBoardDir))
                {
                    events[Path.GetFileName(path)] = new FileInfo(path).Length;
                }
            }

            return new LogPosition(_csv.BaseStream.Length, events);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _csv.Dispose();
        _tensorBoard?.Dispose();
    }

    private static void Truncate(string path, long length)
    {
        if (!File.Exists(path))
        {
            if (length == 0)
            {
                return;
            }

            throw new InvalidOperationException($"Cannot resume the logs: '{path}' is missing but the checkpoint recorded {length} bytes.");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        if (stream.Length < length)
        {
            throw new InvalidOperationException(
                $"Cannot resume the logs: '{path}' has {stream.Length} bytes but the checkpoint recorded {length}; it was changed after the checkpoint.");
        }

        stream.SetLength(length);
    }
}
