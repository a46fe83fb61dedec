using System.Diagnostics;
using System.Globalization;

namespace RlMemory.Training.Logging;

/// <summary>Where a run stands, for a progress display.</summary>
/// <param name="Step">Environment steps so far.</param>
/// <param name="TotalSteps">Environment steps planned.</param>
/// <param name="StepsPerSecond">Recent throughput (environment steps per second, learning included).</param>
/// <param name="MeanReturn">Mean return of the recent training episodes, if any finished.</param>
/// <param name="Episodes">Training episodes finished.</param>
public sealed record TrainingProgress(long Step, long TotalSteps, double StepsPerSecond, double? MeanReturn, int Episodes)
{
    /// <summary>The one-line summary, e.g. <c>12,000/50,000 steps, 3,100 steps/s, return 87.5 (230 episodes)</c>.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{Step:N0}/{TotalSteps:N0} steps, {StepsPerSecond:N0} steps/s, ")
        + (MeanReturn is double r ? string.Create(CultureInfo.InvariantCulture, $"return {r:0.##} ({Episodes} episodes)") : "no episode finished yet");
}

/// <summary>Receives progress updates and messages during a run.</summary>
public interface IProgressSink
{
    /// <summary>Reports where the run stands (cheap; call as often as you like).</summary>
    void Update(TrainingProgress progress);

    /// <summary>Prints a line (e.g. an evaluation result) without disturbing the display.</summary>
    void Message(string line);
}

/// <summary>Shows a run's progress while it runs (<see cref="TrainerOptions.Display"/>).</summary>
public interface IProgressDisplay
{
    /// <summary>Runs <paramref name="body"/>, showing what it reports through the sink it receives.</summary>
    /// <param name="title">What runs, e.g. <c>DQN on CartPole-v1 (seed 0)</c>.</param>
    /// <param name="totalSteps">The planned number of steps.</param>
    /// <param name="body">The run.</param>
    T Run<T>(string title, long totalSteps, Func<IProgressSink, T> body);
}

/// <summary>
/// The library's progress display: plain lines (percentage, steps, steps/s, recent return, elapsed and remaining time)
/// every <c>interval</c>, and the run's messages, written to a text writer (the console by default). The
/// <c>rlmemory</c> command shows a live bar on a terminal instead.
/// </summary>
/// <param name="output">Where lines go (default: standard output).</param>
/// <param name="interval">Time between progress lines (default: 10 s).</param>
public sealed class TextProgress(TextWriter? output = null, TimeSpan? interval = null) : IProgressDisplay
{
    /// <inheritdoc />
    public T Run<T>(string title, long totalSteps, Func<IProgressSink, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var sink = new LineSink(title, output ?? Console.Out, interval ?? TimeSpan.FromSeconds(10));
        T result = body(sink);
        sink.Finish();
        return result;
    }

    private sealed class LineSink(string title, TextWriter output, TimeSpan interval) : IProgressSink
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private long _lastLine = Stopwatch.GetTimestamp();
        private TrainingProgress? _last;
        private bool _lastPrinted;

        public void Update(TrainingProgress progress)
        {
            _last = progress;
            _lastPrinted = false;
            if (Stopwatch.GetElapsedTime(_lastLine) >= interval)
            {
                Print(progress);
            }
        }

        public void Message(string line)
        {
            output.WriteLine(line);
            output.Flush();
        }

        public void Finish()
        {
            if (_last is not null && !_lastPrinted)
            {
                Print(_last);
            }
        }

        private void Print(TrainingProgress p)
        {
            TimeSpan elapsed = Stopwatch.GetElapsedTime(_start);
            string eta = p.StepsPerSecond > 0 && p.Step < p.TotalSteps
                ? string.Create(CultureInfo.InvariantCulture, $", ETA {TimeSpan.FromSeconds((p.TotalSteps - p.Step) / p.StepsPerSecond):hh\\:mm\\:ss}")
                : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{title}] {100.0 * p.Step / Math.Max(1, p.TotalSteps):0}% {p.Describe()}, elapsed {elapsed:hh\\:mm\\:ss}{eta}"));
            output.Flush();
            _lastLine = Stopwatch.GetTimestamp();
            _lastPrinted = true;
        }
    }
}

/// <summary>Shows nothing (a quiet run).</summary>
internal sealed class NullProgress : IProgressSink
{
    public static readonly NullProgress Instance = new();

    public void Update(TrainingProgress progress)
    {
    }

    public void Message(string line)
    {
    }
}
