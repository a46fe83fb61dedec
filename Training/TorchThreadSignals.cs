using System.Runtime.InteropServices;

namespace RlMemory.Training;

/// <summary>
/// Keeps asynchronous signals (SIGINT, SIGTERM, SIGHUP, SIGWINCH, ...) away from the threads that run torch kernels.
/// </summary>
/// <remarks>
/// <para>A signal delivered to a thread while it runs one of libtorch 2.10's oneDNN JIT kernels (the AVX-512 sgemm
/// behind the LSTM, measured on a 2-core AMD EPYC) corrupts that thread's memory: the kernel writes the signal frame
/// just below the thread's stack pointer, where the JIT code still keeps data, and the process later aborts in
/// <c>free()</c> ("corrupted size vs. prev_size"). What the handler does is irrelevant: a C handler that only counts
/// crashes the same way, and the same handler run on an alternate stack does not. .NET's own handlers (Ctrl+C,
/// SIGTERM, terminal resizes) run on whichever thread the kernel picks, so a Ctrl+C during training crashed about one
/// run in three.</para>
/// <para><see cref="Block"/> blocks those signals on the calling thread (and on the threads it creates afterwards,
/// such as OpenMP's workers, which inherit its mask); the kernel then delivers them to another thread of the process
/// (.NET's signal thread and its other runtime threads, created at start-up, leave them unblocked), and .NET's
/// handlers run as before. Thread-directed signals the runtime needs (its GC activation signal, SIGSEGV) stay
/// unblocked. Linux only; elsewhere a no-op.</para>
/// </remarks>
public static class TorchThreadSignals
{
    // Linux's numbers: SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGCHLD, SIGCONT, SIGTSTP, SIGTTIN,
    // SIGTTOU, SIGURG, SIGWINCH.
    private static readonly int[] Asynchronous = [1, 2, 3, 10, 12, 14, 15, 17, 18, 20, 21, 22, 23, 28];

    private const int SigBlock = 0;
    private const int SigSetMask = 2;

    /// <summary>glibc's and musl's sigset_t is 1,024 bits.</summary>
    private const int SigSetBytes = 128;

    /// <summary>
    /// Blocks the asynchronous signals on the calling thread until the result is disposed (on the same thread), which
    /// restores the thread's previous mask.
    /// </summary>
    public static IDisposable Block()
    {
        if (!OperatingSystem.IsLinux())
        {
            return NothingToRestore.Instance;
        }

        var set = new byte[SigSetBytes];
        var previous = new byte[SigSetBytes];
        Check(sigemptyset(set), "sigemptyset");
        foreach (int signal in Asynchronous)
        {
            Check(sigaddset(set, signal), "sigaddset");
        }

        CheckResult(pthread_sigmask(SigBlock, set, previous), "pthread_sigmask");
        return new PreviousMask(previous, Environment.CurrentManagedThreadId);
    }

    /// <summary>Whether <paramref name="signal"/> (Linux's number) is blocked on the calling thread; false elsewhere.</summary>
    public static bool IsBlocked(int signal)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var current = new byte[SigSetBytes];
        CheckResult(pthread_sigmask(SigBlock, null, current), "pthread_sigmask");
        int member = sigismember(current, signal);
        Check(member, "sigismember");
        return member == 1;
    }

    private static void Check(int result, string function)
    {
        if (result < 0)
        {
            throw new InvalidOperationException($"TorchThreadSignals: {function} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    private static void CheckResult(int error, string function)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"TorchThreadSignals: {function} failed (error {error}).");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int sigemptyset(byte[] set);

    [DllImport("libc", SetLastError = true)]
    private static extern int sigaddset(byte[] set, int signal);

    [DllImport("libc", SetLastError = true)]
    private static extern int sigismember(byte[] set, int signal);

    [DllImport("libc")]
    private static extern int pthread_sigmask(int how, byte[]? set, byte[]? previous);

    private sealed class PreviousMask(byte[] previous, int threadId) : IDisposable
    {
        private bool _restored;

        public void Dispose()
        {
            if (_restored)
            {
                return;
            }

            if (Environment.CurrentManagedThreadId != threadId)
            {
                throw new InvalidOperationException("TorchThreadSignals: the mask must be restored on the thread that blocked the signals.");
            }

            _restored = true;
            CheckResult(pthread_sigmask(SigSetMask, previous, null), "pthread_sigmask");
        }
    }

    private sealed class NothingToRestore : IDisposable
    {
        public static readonly NothingToRestore Instance = new();

        public void Dispose()
        {
        }
    }
}
