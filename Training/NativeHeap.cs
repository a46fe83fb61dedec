using System.Runtime.InteropServices;

namespace RlMemory.Training;

/// <summary>
/// Keeps glibc's allocator from handing libtorch's freed tensor memory back to the kernel between training steps.
/// </summary>
/// <remarks>
/// <para>
/// A gradient step allocates and frees the same few hundred kilobytes of tensors (activations, gradients) every time.
/// glibc's defaults return free memory at the top of a heap once it exceeds the trim threshold (twice the largest
/// chunk freed so far, a few hundred kilobytes) and serve blocks above the mmap threshold with fresh mappings, so
/// each step gave pages back and faulted them in again, zero-filled by the kernel: on the 2-core AMD EPYC virtual
/// machine a profile of <c>dqn-cartpole</c> showed about a sixth of its time in the kernel's page handling, and
/// setting the two thresholds took it from about 1,860 to 2,690 env steps/s (docs/benchmarks.md, "The native heap").
/// </para>
/// <para>
/// <see cref="Apply"/> sets <c>M_MMAP_THRESHOLD</c> to 32 MiB (glibc's own ceiling for its dynamic threshold) and
/// <c>M_TRIM_THRESHOLD</c> to 256 MiB with <c>mallopt</c>: freed memory stays in the process for the next step, up to
/// that much beyond what is in use. It changes where memory comes from, not what is computed. It does nothing where
/// the C library has no <c>mallopt</c> (Windows, macOS, musl answers it as a no-op), when
/// <c>RLMEMORY_NATIVE_HEAP=default</c> is set (to measure without it), or when <c>GLIBC_TUNABLES</c> already sets
/// glibc's malloc thresholds.
/// </para>
/// </remarks>
public static class NativeHeap
{
    /// <summary>Blocks below this size come from the heap rather than a mapping of their own.</summary>
    public const int MmapThreshold = 32 << 20;

    /// <summary>Free memory kept at the top of a heap before any is returned to the kernel.</summary>
    public const int TrimThreshold = 256 << 20;

    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;
    private static readonly Lazy<bool> Applied = new(TryApply);

    /// <summary>Applies the thresholds once per process; returns whether they are in effect.</summary>
    public static bool Apply() => Applied.Value;

    private static bool TryApply()
    {
        if (!OperatingSystem.IsLinux()
            || string.Equals(Environment.GetEnvironmentVariable("RLMEMORY_NATIVE_HEAP"), "default", StringComparison.OrdinalIgnoreCase)
            || (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? string.Empty).Contains("glibc.malloc.", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            return mallopt(MMmapThreshold, MmapThreshold) == 1 && mallopt(MTrimThreshold, TrimThreshold) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;   // a C library without mallopt: its own allocator's behaviour stands
        }
    }

    [DllImport("libc")]
    private static extern int mallopt(int parameter, int value);
}
