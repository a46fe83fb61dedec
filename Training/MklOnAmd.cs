using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace RlMemory.Training;

/// <summary>
/// Lets the Intel MKL inside libtorch choose its kernels by what the CPU can do rather than by who made it.
/// </summary>
/// <remarks>
/// <para>
/// libtorch_cpu.so bundles Intel's oneAPI MKL for its matrix products. MKL asks <c>mkl_serv_intel_cpu_true</c> whether
/// the CPU is Intel's and, on any other vendor's, takes its generic code path whatever the CPU supports: on the 2-core
/// AMD EPYC (Zen 5, AVX-512) development machine a profile of <c>dqn-cartpole</c> spent 46 % of its time in
/// <c>mkl_blas_def_sgemm_kernel_0_zen</c>. <see cref="Apply"/> rewrites that one function in this process's memory to
/// answer yes (<c>mov eax, 1; ret</c>), before MKL's first product, so that MKL's dispatcher picks its kernels from
/// the CPU's features (AVX2, AVX-512) as it does on Intel CPUs: <c>dqn-cartpole</c> went from about 2,730 to about
/// 3,820 env steps/s there (docs/benchmarks.md, "MKL on AMD"). The library file is not touched.
/// </para>
/// <para>
/// It applies only on x86-64 Linux, on a CPU whose vendor is not Intel, when libtorch_cpu.so is loaded and exports
/// the function, and not when <c>RLMEMORY_MKL_VENDOR_CHECK=keep</c> is set. Results change within float32 rounding
/// (other kernels sum in another order); runs on one machine stay bitwise reproducible. Training runs and the
/// command line's eval, record and watch apply it; a program that computes with torch before its first training run
/// and compares results bitwise across it should call <see cref="Apply"/> first. Until 2026-12-07 <see cref="Apply"/>
/// did not load libtorch itself, so a process that called it before its first tensor (the benchmarks' suites did) kept
/// MKL's generic path for good.
/// </para>
/// </remarks>
public static class MklOnAmd
{
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int ProtExec = 4;
    private static readonly byte[] ReturnOne = [0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3];   // mov eax, 1; ret
    private static readonly Lazy<string> Outcome = new(TryApply);

    /// <summary><see cref="Status"/> when libtorch_cpu.so could not be found in the process.</summary>
    internal const string NotLoaded = "libtorch_cpu.so is not loaded";

    /// <summary>The start of <see cref="Status"/> when MKL's code page could not be made writable.</summary>
    internal const string CodePageNotWritable = "the code page could not be made writable";

    /// <summary>What <see cref="Apply"/> did: <c>applied</c>, or why not.</summary>
    public static string Status => Outcome.Value;

    /// <summary>Applies the change once per process (call it before any matrix product; it loads libtorch if nothing has yet); returns whether it is in effect.</summary>
    public static bool Apply() => Outcome.Value == "applied";

    private static string TryApply()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return "not x86-64 Linux";
        }

        if (string.Equals(Environment.GetEnvironmentVariable("RLMEMORY_MKL_VENDOR_CHECK"), "keep", StringComparison.OrdinalIgnoreCase))
        {
            return "kept (RLMEMORY_MKL_VENDOR_CHECK=keep)";
        }

        if (IsIntel())
        {
            return "not needed (an Intel CPU)";
        }

        // Load libtorch if nothing has yet (a tensor of zeros runs no matrix product): a caller that applies this first
        // thing in its process would otherwise find no library to change, and that outcome would be kept for good.
        using (TorchSharp.torch.zeros(1))
        {
        }

        string? path = LoadedLibTorch();
        if (path is null || !NativeLibrary.TryLoad(path, out nint library))
        {
            return NotLoaded;
        }

        try
        {
            if (!NativeLibrary.TryGetExport(library, "mkl_serv_intel_cpu_true", out nint function))
            {
                return "this libtorch has no mkl_serv_intel_cpu_true";
            }

            var code = new byte[ReturnOne.Length];
            Marshal.Copy(function, code, 0, code.Length);
            if (code.AsSpan().SequenceEqual(ReturnOne))
            {
                return "applied";
            }

            long pageSize = Environment.SystemPageSize;
            nint start = (nint)((long)function & ~(pageSize - 1));
            nuint length = (nuint)(((long)function + ReturnOne.Length - (long)start + pageSize - 1) & ~(pageSize - 1));
            if (mprotect(start, length, ProtRead | ProtWrite | ProtExec) != 0)
            {
                return $"{CodePageNotWritable} (errno {Marshal.GetLastPInvokeError()})";
            }

            Marshal.Copy(ReturnOne, 0, function, ReturnOne.Length);
            _ = mprotect(start, length, ProtRead | ProtExec);
            return "applied";
        }
        finally
        {
            NativeLibrary.Free(library);   // the process keeps it loaded: this only drops the reference taken above
        }
    }

    private static bool IsIntel()
    {
        if (!X86Base.IsSupported)
        {
            return false;
        }

        (_, int ebx, int ecx, int edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        return MemoryMarshal.AsBytes(vendor).SequenceEqual("GenuineIntel"u8);
    }

    /// <summary>The path of the libtorch_cpu.so this process has mapped, from /proc/self/maps.</summary>
    internal static string? LoadedLibTorch()
    {
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && line.EndsWith("/libtorch_cpu.so", StringComparison.Ordinal))
            {
                return line[slash..];
            }
        }

        return null;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mprotect(nint address, nuint length, int protection);
}
