using RlMemory.Training;
using RlMemory.Training.Logging;
using Spectre.Console;

namespace RlMemory.App;

/// <summary>
/// The command line's progress display: a live bar (steps, steps/s, recent mean return, elapsed and remaining time)
/// when the output is an interactive terminal, the library's plain lines (<see cref="TextProgress"/>) otherwise (CI
/// logs, files). Built on Spectre.Console.
/// </summary>
/// <param name="output">Where plain lines go (default: standard output; a writer other than the console means plain lines).</param>
/// <param name="interactive">Force the live bar (true) or plain lines (false); by default detected.</param>
public sealed class LiveProgress(TextWriter? output = null, bool? interactive = null) : IProgressDisplay
{
    /// <inheritdoc />
    public T Run<T>(string title, long totalSteps, Func<IProgressSink, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        bool live = interactive ?? (output is null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive);
        if (!live)
        {
            return new TextProgress(output).Run(title, totalSteps, body);
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

    private sealed class LiveSink(ProgressTask task, string title) : IProgressSink
    {
        public void Update(TrainingProgress progress)
        {
            task.Value = Math.Min(progress.Step, task.MaxValue);
            task.Description = Markup.Escape($"{title}: {progress.Describe()}");
        }

        public void Message(string line) => AnsiConsole.WriteLine(line);
    }
}
