using System.Globalization;

namespace RlMemory.Training.Logging;

/// <summary>
/// Watches a run's throughput between log rows and says when it falls far below the run's own earlier rate, with the
/// likely reason: another process competing for the cores (the load average exceeds them), or the run itself.
/// </summary>
/// <remarks>
/// The reference is the median of the earlier windows (the first, which holds JIT compilation and warm-up, is left
/// out; at most the last <see cref="History"/> count). A window below <see cref="DropFactor"/> × the reference gives a
/// message, then nothing for <see cref="Quiet"/> windows, so a long slowdown is reported once and again only if it lasts.
/// </remarks>
internal sealed class ThroughputWatch
{
    /// <summary>A window slower than this share of the reference is reported.</summary>
    public const double DropFactor = 0.5;

    /// <summary>Earlier windows the reference is taken over.</summary>
    public const int History = 20;

    /// <summary>Windows without a second message after one.</summary>
    public const int Quiet = 10;

    /// <summary>Load beyond this run's own threads taken as another process competing for the cores.</summary>
    public const double OtherLoad = 0.75;

    /// <summary>Earlier windows needed before anything is reported.</summary>
    public const int MinimumHistory = 3;

    private readonly int _cores;
    private readonly int _torchThreads;
    private readonly Func<double?> _loadAverage;
    private readonly Queue<double> _rates = new();
    private bool _skippedFirst;
    private int _quietFor;

    /// <param name="cores">The cores this process may use.</param>
    /// <param name="torchThreads">The run's torch threads.</param>
    /// <param name="loadAverage">The one-minute load average, or null where the system has none.</param>
    public ThroughputWatch(int cores, int torchThreads, Func<double?> loadAverage)
    {
        _cores = cores;
        _torchThreads = torchThreads;
        _loadAverage = loadAverage;
    }

    /// <summary>This machine's one-minute load average from <c>/proc/loadavg</c>, or null where there is none.</summary>
    public static double? SystemLoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            return double.TryParse(space > 0 ? text[..space] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out double load) ? load : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Records one window's rate (environment steps per second); returns a message when it fell far below the earlier ones.</summary>
    public string? Observe(double stepsPerSecond)
    {
        if (!double.IsFinite(stepsPerSecond) || stepsPerSecond <= 0)
        {
            return null;
        }

        if (!_skippedFirst)
        {
            _skippedFirst = true;
            return null;
        }

        // With too little history the reference is NaN, and no rate compares below it.
        double reference = _rates.Count >= MinimumHistory ? Median(_rates) : double.NaN;
        bool slow = stepsPerSecond < DropFactor * reference;
        string? message = null;
        if (_quietFor > 0)
        {
            _quietFor--;
        }
        else if (slow)
        {
            message = Describe(stepsPerSecond, reference);
            _quietFor = Quiet;
        }

        // Slow windows do not lower the reference they are compared with.
        if (!slow)
        {
            _rates.Enqueue(stepsPerSecond);
            if (_rates.Count > History)
            {
                _rates.Dequeue();
            }
        }

        return message;
    }

    private string Describe(double rate, double reference)
    {
        string drop = string.Create(CultureInfo.InvariantCulture, $"Throughput fell to {rate:N0} env steps/s, {rate / reference:P0} of this run's earlier {reference:N0}");
        double? load = _loadAverage();

        // The load average counts this run's own runnable threads too: about one per torch thread it uses.
        double own = Math.Min(Math.Max(_torchThreads, 1), _cores);
        if (load is double l && l - own >= OtherLoad)
        {
            string advice = _torchThreads > 1
                ? $"; with torch_threads {_torchThreads} a busy core stalls every learning step: --set torch_threads=1 keeps more of the rate"
                : string.Empty;
            return string.Create(CultureInfo.InvariantCulture, $"{drop}: the machine is busy (load average {l:0.0} on {_cores} cores, about {l - own:0.0} beyond this run's own threads), so another process is probably competing for the CPU{advice}.");
        }

        string loadText = load is double m ? string.Create(CultureInfo.InvariantCulture, $"load average {m:0.0} on {_cores} cores") : "no load average on this system";
        return $"{drop} ({loadText}): no other load is visible, so the run itself is slower here (evaluation, checkpoints, longer episodes or a larger learning phase), or the CPU is throttled.";
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
