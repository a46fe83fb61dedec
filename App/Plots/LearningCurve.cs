using RlMemory.Training;
using ScottPlot;

namespace RlMemory.App.Plots;

/// <summary>
/// Draws a run's learning curve as a PNG: the return of each training episode against the environment step at
/// which it ended (light points), their moving average (line), and each evaluation's mean return with its standard
/// deviation (markers with error bars). Built on ScottPlot.
/// </summary>
public static class LearningCurve
{
    /// <summary>Writes the plot to <paramref name="path"/> (written to a temporary file and renamed).</summary>
    /// <param name="path">The PNG to write.</param>
    /// <param name="title">The title, e.g. <c>DQN on CartPole-v1 (seed 0)</c>.</param>
    /// <param name="episodes">Training episodes: the step at which each ended and its return.</param>
    /// <param name="evaluations">Evaluations: step, mean return, standard deviation.</param>
    /// <param name="window">Episodes in the moving average.</param>
    public static void Save(
        string path,
        string title,
        IReadOnlyList<(long Step, double Return)> episodes,
        IReadOnlyList<(long Step, double Mean, double Std)> evaluations,
        int window = 20)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(episodes);
        ArgumentNullException.ThrowIfNull(evaluations);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);

        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("environment steps");
        plot.YLabel("episode return");

        if (episodes.Count > 0)
        {
            double[] xs = [.. episodes.Select(e => (double)e.Step)];
            double[] ys = [.. episodes.Select(e => e.Return)];
            var points = plot.Add.ScatterPoints(xs, ys);
            points.Color = Colors.SteelBlue.WithAlpha(0.25);
            points.MarkerSize = 3;
            points.LegendText = "training episodes";

            var averages = new double[ys.Length];
            double sum = 0;
            for (int i = 0; i < ys.Length; i++)
            {
                sum += ys[i];
                if (i >= window)
                {
                    sum -= ys[i - window];
                }

                averages[i] = sum / Math.Min(i + 1, window);
            }

            var line = plot.Add.ScatterLine(xs, averages);
            line.Color = Colors.SteelBlue;
            line.LineWidth = 2;
            line.LegendText = $"moving average ({window} episodes)";
        }

        if (evaluations.Count > 0)
        {
            double[] xs = [.. evaluations.Select(e => (double)e.Step)];
            double[] ys = [.. evaluations.Select(e => e.Mean)];
            double[] errors = [.. evaluations.Select(e => e.Std)];
            var bars = plot.Add.ErrorBar(xs, ys, errors);
            bars.Color = Colors.OrangeRed;
            var marks = plot.Add.ScatterPoints(xs, ys);
            marks.Color = Colors.OrangeRed;
            marks.MarkerSize = 8;
            marks.LegendText = "evaluation (mean ± std)";
        }

        plot.ShowLegend(Alignment.LowerRight);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        Directory.CreateDirectory(directory!);
        string temp = Path.Combine(directory!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp.png");
        try
        {
            plot.SavePng(temp, 900, 540);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
