using System.Globalization;
using Spectre.Console;

namespace RlMemory.Training.Logging;

/// <summary>Where a run stands, for the console display.</summary>
/// <param name="Step">Environment steps so far.</param>
/// <param name="TotalSteps">Environment steps planned.</param>
/// <param name="StepsPerSecond">Recent throughput (environment steps per second, learning included).</param>
/// <param name="MeanReturn">Mean return of the recent training episodes, if any finished.</param>
/// <param name="Episodes">Training episodes finished.</param>
public sealed record TrainingProgress(long Step, long TotalSteps, double StepsPerSecond, double? MeanReturn, int Episodes);

/// <summary>Receives progress updates and messages during a run.</summary>
public interface IProgressSink
{
    /// <summary>Reports where the run stands (cheap; call as often as you like).</summary>
    void Update(TrainingProgress progress);

    /// <summary>Prints a line (e.g. an evaluation result) without disturbing the display.</summary>
    void Message(string line);
}

/// <summary>
/// The console display of a training run: a live progress bar (steps, steps/s, recent mean return, elapsed and
/// remaining time) when the output is an interactive terminal, and plain periodic lines otherwise (CI logs, files).
/// Built on Spectre.Console.
/// </summary>
public static class ProgressDisplay
{
    /// <summary>Runs <paramref name="body"/> with a display of its progress.</summary>
    /// <param name="title">What runs, e.g. <c>DQN CartPole-v1 seed 0</c>.</param>
    /// <param name="totalSteps">The planned number of steps.</param>
    /// <param name="body">The run; it reports through the sink it receives.</param>
    /// <param name="output">Where plain lines go (default: standard output).</param>
    /// <param name="interactive">Force the live bar (true) or plain lines (false); by default detected.</param>
    /// <param name="lineInterval">Time between plain lines.</param>
    public static T Run<T>(string title, long totalSteps, Func<IProgressSink, T> body, TextWriter? output = null, bool? interactive = null, TimeSpan? lineInterval = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        bool live = interactive ?? (output is null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive);
        if (!live)
        {
            var sink = new LineSink(title, output ?? Console.Out, lineInterval ?? TimeSpan.FromSeconds(10));
            T result = body(sink);
            sink.Finish();
            return result;
        }

        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, totalSteps));
                return body(new LiveSink(task, title));
            });
    }

    /// <summary>The one-line summary used by both displays.</summary>
    internal static string Describe(TrainingProgress p) =>
        string.Create(CultureInfo.InvariantCulture, $"{p.Step:N0}/{p.TotalSteps:N0} steps, {p.StepsPerSecond:N0} steps/s, ")
        + (p.MeanReturn is double r ? string.Create(CultureInfo.InvariantCulture, $"return {r:0.##} ({p.Episodes} episodes)") : "no episode finished yet");

    private sealed class LiveSink(ProgressTask task, string title) : IProgressSink
    {
        public void Update(TrainingProgress progress)
        {
            task.Value = Math.Min(progress.Step, task.MaxValue);
            task.Description = Markup.Escape($"{title}: {Describe(progress)}");
        }

        public void Message(string line) => AnsiConsole.WriteLine(line);
    }

    private sealed class LineSink(string title, TextWriter output, TimeSpan interval) : IProgressSink
    {
        private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();
        private long _lastLine = System.Diagnostics.Stopwatch.GetTimestamp();
        private TrainingProgress? _last;
        private bool _lastPrinted;

        public void Update(TrainingProgress progress)
        {
            _last = progress;
            _lastPrinted = false;
            if (System.Diagnostics.Stopwatch.GetElapsedTime(_lastLine) >= interval)
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
            TimeSpan elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_start);
            string eta = p.StepsPerSecond > 0 && p.Step < p.TotalSteps
                ? string.Create(CultureInfo.InvariantCulture, $", ETA {TimeSpan.FromSeconds((p.TotalSteps - p.Step) / p.StepsPerSecond):hh\\:mm\\:ss}")
                : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{title}] {100.0 * p.Step / Math.Max(1, p.TotalSteps):0}% {Describe(p)}, elapsed {elapsed:hh\\:mm\\:ss}{eta}"));
            output.Flush();
            _lastLine = System.Diagnostics.Stopwatch.GetTimestamp();
            _lastPrinted = true;
        }
    }
}
