using System.Globalization;
using System.Runtime.InteropServices;
using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>What a configuration will allocate, part by part (networks with their optimizer, replay, rollout).</summary>
/// <param name="Parts">Each part's name and bytes.</param>
public sealed record MemoryEstimate(IReadOnlyList<(string Part, long Bytes)> Parts)
{
    /// <summary>The sum of the parts (saturating).</summary>
    public long Total => Parts.Aggregate(0L, (sum, p) => sum > long.MaxValue - p.Bytes ? long.MaxValue : sum + p.Bytes);

    /// <summary>E.g. <c>about 86 GB (networks and Adam 86 GB, replay 14 MB)</c>.</summary>
    public override string ToString() =>
        $"about {MemoryBudget.Format(Total)} ({string.Join(", ", Parts.Select(p => $"{p.Part} {MemoryBudget.Format(p.Bytes)}"))})";
}

/// <summary>
/// Checks a run's memory before anything is allocated, and turns an allocation failure from libtorch into the same
/// message: a configuration that cannot fit (net_arch [65536, 65536], buffer_size 2³⁰) is refused with the estimate and
/// the machine's available memory instead of a torch stack trace or the process killed for memory.
/// </summary>
public static class MemoryBudget
{
    /// <summary>Bytes of a float32 parameter with its gradient and Adam's two moments.</summary>
    private const long TrainedParameterBytes = 4 * sizeof(float);

    /// <summary>
    /// The memory the process can still use: the kernel's MemAvailable on Linux (page cache it can drop included),
    /// bounded by the runtime's limit (a container's), else the runtime's limit alone.
    /// </summary>
    public static long AvailableBytes()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (OperatingSystem.IsLinux())
        {
            try
            {
                string? line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
                if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kb))
                {
                    return Math.Min(kb * 1024, limit > 0 ? limit : long.MaxValue);
                }
            }
            catch (IOException)
            {
                // /proc is not mounted: the runtime's limit is what is known.
            }
        }

        return limit;
    }

    /// <summary>Networks (with gradients and Adam) of <paramref name="parameters"/> float32 values, plus <paramref name="copies"/> extra copies (target networks).</summary>
    public static (string, long) Networks(long parameters, int copies = 0) =>
        ("networks and Adam", Multiply(parameters, TrainedParameterBytes + (copies * (long)sizeof(float))));

    /// <summary>The floats of one recurrent state of <paramref name="core"/>.</summary>
    public static long StateFloats(CoreConfig core) =>
        core.Kind == "memory"
            ? (2L * core.HiddenSize) + ((long)core.MemorySlots * core.MemoryWidth) + ((long)core.ReadHeads * core.MemorySlots) + (2L * core.MemorySlots) + ((long)core.ReadHeads * core.MemoryWidth)
            : 2L * core.HiddenSize;

    /// <summary><paramref name="count"/> × <paramref name="size"/>, saturating at <see cref="long.MaxValue"/>.</summary>
    public static long Multiply(long count, long size) =>
        count != 0 && size > long.MaxValue / count ? long.MaxValue : count * size;

    /// <summary>Refuses <paramref name="estimate"/> when it exceeds the available memory.</summary>
    /// <exception cref="ConfigException">The configuration needs more memory than is available; the message gives both and what to lower.</exception>
    public static void Require(MemoryEstimate estimate, string lower)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        long available = AvailableBytes();
        if (available > 0 && estimate.Total > available)
        {
            throw new ConfigException(
                $"This configuration needs {estimate}, but this machine has {Format(available)} available. Lower {lower}.");
        }
    }

    /// <summary>
    /// Runs <paramref name="allocate"/>; an out-of-memory failure (libtorch's "tried to allocate", .NET's
    /// <see cref="OutOfMemoryException"/>) becomes the message of <see cref="Require"/>.
    /// </summary>
    public static T Allocate<T>(Func<T> allocate, MemoryEstimate estimate, string lower)
    {
        ArgumentNullException.ThrowIfNull(allocate);
        try
        {
            return allocate();
        }
        catch (Exception e) when (e is OutOfMemoryException || (e is ExternalException && IsAllocationFailure(e.Message)))
        {
            throw new ConfigException(
                $"Out of memory while allocating: this configuration needs {estimate}, and this machine has {Format(AvailableBytes())} available. Lower {lower}.", e);
        }
    }

    /// <summary>"1.5 GB", "14 MB", "512 B".</summary>
    public static string Format(long bytes) => bytes switch
    {
        long.MaxValue => "more than 9 EB",
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.#} GB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.#} MB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.#} KB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    private static bool IsAllocationFailure(string message) =>
        message.Contains("allocate", StringComparison.OrdinalIgnoreCase) || message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);
}
