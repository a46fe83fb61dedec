using System.Diagnostics;
using RlMemory.Memory;
using TorchSharp;

namespace RlMemory.Benchmarks.Memory;

/// <summary>
/// Measurements that are not BenchmarkDotNet timings: process memory after filling 10⁶ CartPole transitions (and that
/// it stays flat over 10⁶ more inserts with samples), and save/load times. Run with
/// <c>dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- replay-memory</c> or <c>replay-persistence</c>.
/// </summary>
internal static class ReplayMeasurements
{
    public static void Memory()
    {
        torch.set_num_threads(1);
        // Load and initialize libtorch first, so that its code pages do not count as the buffer's memory.
        using (var warm = new ReplayBuffer(ReplayStream.Options(ReplayObservation.CartPole, memorySaving: true, capacity: 1024)))
        {
            ReplayStream.Fill(warm, ReplayObservation.CartPole, transitions: 1024);
            warm.Sample(256).Dispose();
        }

        Console.WriteLine($"torch threads: 1; process RSS with libtorch loaded: {Rss() / 1e6:F1} MB");
        foreach (bool memorySaving in new[] { true, false })
        {
            long rssBefore = Rss();
            using var buffer = new ReplayBuffer(ReplayStream.Options(ReplayObservation.CartPole, memorySaving, capacity: 1_000_000));
            ReplayStream.Fill(buffer, ReplayObservation.CartPole, transitions: 1_000_000);
            long rssFilled = Rss();
            long tensorsFilled = torch.Tensor.TotalCount;
            Console.WriteLine($"CartPole, capacity 10^6, {(memorySaving ? "memory-saving" : "plain")}: tensor storage {buffer.StorageBytes / 1e6:F1} MB, "
                + $"process RSS {rssFilled / 1e6:F1} MB (+{(rssFilled - rssBefore) / 1e6:F1} MB for the buffer), {buffer.Count} sampleable, Tensor.TotalCount {tensorsFilled}");

            // 10^6 more transitions, with one Sample(256) per step inside a dispose scope, as a trainer does; twice:
            // the first round lets the allocators (glibc arenas, the GC heap) reach their working size.
            var stream = new ReplayStream(ReplayObservation.CartPole, steps: 512, seed: 3);
            for (int round = 1; round <= 2; round++)
            {
                long rssRoundStart = Rss();
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < 1_000_000 / ReplayStream.NumEnvs; i++)
                {
                    stream.Add(buffer, i);
                    using var scope = torch.NewDisposeScope();
                    buffer.Sample(256);
                }

                long rssAfter = Rss();
                Console.WriteLine($"  round {round}: 10^6 more inserts and 62,500 samples of 256 in {watch.Elapsed.TotalSeconds:F1} s: process RSS {rssAfter / 1e6:F1} MB "
                    + $"({(rssAfter - rssRoundStart) / 1e6:+0.0;-0.0} MB in the round), managed heap {GC.GetTotalMemory(false) / 1e6:F1} MB, "
                    + $"Tensor.TotalCount {torch.Tensor.TotalCount} ({torch.Tensor.TotalCount - tensorsFilled:+0;-0;0})");
            }
        }
    }

    public static void Persistence()
    {
        torch.set_num_threads(1);
        string root = Path.Combine(Path.GetTempPath(), "rlmemory-replay-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach ((ReplayObservation observation, bool memorySaving, int capacity) in new[]
            {
                (ReplayObservation.CartPole, false, 1_000_000),
                (ReplayObservation.CartPole, true, 1_000_000),
                (ReplayObservation.Atari, true, 100_000),
            })
            {
                string dir = Path.Combine(root, $"{observation}-{memorySaving}");
                using var buffer = new ReplayBuffer(ReplayStream.Options(observation, memorySaving, capacity));
                ReplayStream.Fill(buffer, observation, transitions: capacity);
                var watch = Stopwatch.StartNew();
                buffer.Save(dir);
                double save = watch.Elapsed.TotalSeconds;
                long bytes = new FileInfo(Path.Combine(dir, ReplayBufferFile.UniformFileName)).Length;
                watch.Restart();
                using ReplayBuffer loaded = ReplayBuffer.Load(dir);
                double load = watch.Elapsed.TotalSeconds;
                Console.WriteLine($"{observation}, capacity {capacity}, {(memorySaving ? "memory-saving" : "plain")}: file {bytes / 1e6:F1} MB, save {save:F2} s, load (verify + read) {load:F2} s, {loaded.Count} transitions");
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>Resident set size of this process (VmRSS), in bytes.</summary>
    private static long Rss()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            }
        }

        return 0;
    }
}
