namespace RlMemory.Environments.Tests.Support;

/// <summary>
/// Measures the managed bytes a piece of code allocates on the current thread. A real per-step allocation shows in
/// every attempt; a one-off allocation by the runtime (tiered compilation, a first-time path) shows in at most one,
/// so the minimum over a few attempts is the number to assert on.
/// </summary>
internal static class AllocationProbe
{
    public static long MinimumBytes(Action run, int attempts = 3)
    {
        long minimum = long.MaxValue;
        for (int i = 0; i < attempts && minimum > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            run();
            minimum = Math.Min(minimum, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return minimum;
    }
}
