using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RlMemory.Tests.Training;

namespace RlMemory.Tests.Distributed;

/// <summary>A test that needs Debian's redis-server; skipped without it, except under CI (CI=true, where .ci/run installs it).</summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        bool inCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (RedisServer.Program is null && !inCi)
        {
            Skip = "Needs redis-server on PATH (apt-get install redis-server).";
        }
    }
}

/// <summary>A redis-server of its own on a free port, stopped with the test.</summary>
internal sealed class RedisServer : IDisposable
{
    private readonly Process _process;

    public RedisServer()
    {
        string program = Program ?? throw new InvalidOperationException("redis-server is not on PATH: apt-get install redis-server (.ci/run installs it).");
        Port = FreePort();
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" })
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (!Accepts(Port))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10) || _process.HasExited)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port}.");
            }

            Thread.Sleep(50);
        }
    }

    public static string? Program { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>A run across processes that find each other through Redis membership, as on several hosts.</summary>
[Collection(nameof(SeededTrainingCollection))]
public sealed class RedisClusterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-redis-{Guid.NewGuid():N}");
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }

            p.Dispose();
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [RedisFact]
    public void ASiloALearnerAndTwoActors_InProcessesOfTheirOwn_TrainThroughRedisMembership()
    {
        // A real redis-server; the silo and the learner are rlmemory processes, the learner starts two actor processes
        // that find the silo's gateway through Redis (as hosts of their own would), and the learner's run folder is whole.
        using var redis = new RedisServer();
        Process silo = Start("cluster", "silo", "--redis", redis.Address, "--silo-port", $"{RedisServer.FreePort()}", "--gateway-port", $"{RedisServer.FreePort()}", "--advertise", "127.0.0.1");
        string run = Path.Combine(_dir, "run");
        Process learner = Start("cluster", "learner", "dqn-cartpole", "--redis", redis.Address, "--actors", "2", "--start-actors", "--steps", "3000", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--set", "net_arch=[32]", "--out", run);
        string output = learner.StandardOutput.ReadToEnd();
        string errors = learner.StandardError.ReadToEnd();
        Assert.True(learner.WaitForExit(TimeSpan.FromMinutes(3)), "the learner did not finish");
        Assert.True(learner.ExitCode == 0, $"learner exit {learner.ExitCode}: {output} {errors}");
        Assert.Matches(@"run id: CartPole-v1-0-[0-9a-f]{32}", output);
        Assert.Matches(@"Final evaluation: mean return [0-9.]+ ± [0-9.]+ at step 3,000 ", output);
        Assert.True(File.Exists(Path.Combine(run, "final_model.rlagent")) && File.Exists(Path.Combine(run, "progress.csv")));
        Assert.False(silo.HasExited, "the silo stopped");
    }

    [Fact]
    public void UnreachableRedis_IsRetriedWithBackoff_ThenRefusedWithItsAddress()
    {
        int port = RedisServer.FreePort(); // nothing listens there
        Process silo = Start("cluster", "silo", "--redis", $"127.0.0.1:{port}", "--silo-port", $"{RedisServer.FreePort()}", "--gateway-port", $"{RedisServer.FreePort()}");
        string errors = silo.StandardError.ReadToEnd();
        Assert.True(silo.WaitForExit(TimeSpan.FromMinutes(2)), "the silo hung");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains($"The silo could not join the cluster through Redis at 127.0.0.1:{port} (", errors, StringComparison.Ordinal);
        Assert.Contains("trying again in 1 s.", errors, StringComparison.Ordinal);
        Assert.Contains("trying again in 4 s.", errors, StringComparison.Ordinal);
        Assert.Contains($"error: The silo could not join the cluster through Redis at 127.0.0.1:{port} after 4 attempts over 7 s", errors, StringComparison.Ordinal);
    }

    private Process Start(params string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "rlmemory.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        Process p = Process.Start(start)!;
        _processes.Add(p);
        return p;
    }
}
