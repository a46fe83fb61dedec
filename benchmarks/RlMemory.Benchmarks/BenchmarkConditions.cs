using RlMemory.Training;

namespace RlMemory.Benchmarks;

/// <summary>The process-wide settings the suites that time libtorch work share with training.</summary>
internal static class BenchmarkConditions
{
    /// <summary>
    /// What a training run sets up before its first tensor operation (TrainingRun): glibc's heap kept from returning
    /// freed tensor memory to the kernel, and MKL's kernels chosen by CPU features on AMD. Without them a benchmark
    /// measures page faults and MKL's generic path, not what training sees.
    /// </summary>
    public static void LikeTraining()
    {
        NativeHeap.Apply();
        MklOnAmd.Apply();
        if (MklOnAmd.Status is MklOnAmd.NotLoaded || MklOnAmd.Status.StartsWith(MklOnAmd.CodePageNotWritable, StringComparison.Ordinal))
        {
            // Measuring libtorch on MKL's generic path would compare against a handicapped baseline (the suites did, by
            // applying this before libtorch had loaded, until 2026-12-07).
            throw new InvalidOperationException($"MKL's kernels could not be chosen by CPU features: {MklOnAmd.Status}.");
        }
    }
}
