using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
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
    private Process _process;

    public RedisServer()
    {
        Port = FreePort();
        _process = Launch();
    }

    /// <summary>Kills the server (as a crash would: no shutdown); <see cref="Restart"/> starts it again on the same port.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }

    /// <summary>Starts the server again on its port (without the data it held: it saves none).</summary>
    public void Restart() => _process = Launch();

    private Process Launch()
    {
        string program = Program ?? throw new InvalidOperationException("redis-server is not on PATH: apt-get install redis-server (.ci/run installs it).");
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" })
        {
            start.ArgumentList.Add(a);
        }

        Process process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (!Accepts(Port))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10) || process.HasExited)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port}.");
            }

            Thread.Sleep(50);
        }

        return process;
    }

    public static string? Program { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // killed by the test and not restarted
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

/// <summary>The processes a test started (killed with their children if still running) and its scratch folder, removed with the test.</summary>
internal sealed class TestProcesses(string directory) : IDisposable
{
    private readonly List<Process> _processes = [];

    /// <summary>Keeps <paramref name="p"/> until the test ends.</summary>
    public Process Add(Process p)
    {
        _processes.Add(p);
        return p;
    }

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

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>A run across processes that find each other through Redis membership, as on several hosts.</summary>
[Collection(nameof(SeededTrainingCollection))]
public sealed class RedisClusterTests : IDisposable
{
    private readonly string _dir;
    private readonly TestProcesses _processes;

    public RedisClusterTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-redis-{Guid.NewGuid():N}");
        _processes = new TestProcesses(_dir);
    }

    public void Dispose() => _processes.Dispose();

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

    [RedisFact]
    public void TheLearnerKilledMidRun_IsStartedAgainWithResume_AndTheActorsGoOnWithIt()
    {
        // A silo, two actor processes started by hand and a learner, each a process. The learner is killed (SIGKILL)
        // once its checkpoint holds 1,000 updates; the actors wait (the shards refuse their inserts while nobody
        // samples) and keep reporting; `cluster learner --resume` goes on from the checkpoint with the same run id, the
        // actors' waiting inserts are taken again, and the run ends with every step.
        using var redis = new RedisServer();
        Start("cluster", "silo", "--redis", redis.Address, "--silo-port", $"{RedisServer.FreePort()}", "--gateway-port", $"{RedisServer.FreePort()}", "--advertise", "127.0.0.1");
        string run = Path.Combine(_dir, "run");
        string[] learnerArgs = ["cluster", "learner", "dqn-cartpole", "--redis", redis.Address, "--actors", "2", "--steps", "8000", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--set", "net_arch=[32]", "--set", "checkpoint_freq=1000", "--out", run];
        Process learner = Start(learnerArgs);
        string? idLine = learner.StandardOutput.ReadLine();
        Assert.True(idLine is not null && idLine.StartsWith("run id: ", StringComparison.Ordinal), $"learner said: {idLine} {(learner.HasExited ? learner.StandardError.ReadToEnd() : string.Empty)}");
        string id = idLine["run id: ".Length..];
        Process[] actors = [.. Enumerable.Range(0, 2).Select(i => Start("cluster", "actor", "--redis", redis.Address, "--run", id, "--index", $"{i}"))];

        var clock = Stopwatch.StartNew();
        long killedAt = 0;
        while (killedAt == 0 && clock.Elapsed < TimeSpan.FromMinutes(3) && !learner.HasExited)
        {
            Thread.Sleep(20);
            try
            {
                if (RlMemory.Distributed.LearnerCheckpoint.Open(run, RlMemory.Distributed.DistributedAlgorithm.For(new RlMemory.Training.Dqn.DqnConfig(), "dqn")).Updates >= 1000)
                {
                    learner.Kill();
                    learner.WaitForExit();
                    killedAt = RlMemory.Distributed.LearnerCheckpoint.Open(run, RlMemory.Distributed.DistributedAlgorithm.For(new RlMemory.Training.Dqn.DqnConfig(), "dqn")).Updates;
                }
            }
            catch (RlMemory.Training.Checkpoints.CheckpointException)
            {
                // none yet
            }
        }

        Assert.True(killedAt >= 1000, $"the learner was not killed mid-run (exited: {learner.HasExited})");
        Assert.All(actors, a => Assert.False(a.HasExited, "an actor stopped when the learner died"));
        Thread.Sleep(1000); // the actors run into the rate limiter, with nobody sampling

        Process again = Start([.. learnerArgs, "--resume"]);
        string output = again.StandardOutput.ReadToEnd();
        string errors = again.StandardError.ReadToEnd();
        Assert.True(again.WaitForExit(TimeSpan.FromMinutes(3)), "the resumed learner did not finish");
        Assert.True(again.ExitCode == 0, $"learner exit {again.ExitCode}: {output} {errors}");
        Assert.Contains($"run id: {id}", output, StringComparison.Ordinal);
        Assert.Matches($@"Resuming at step [0-9,]+ of 8,000 \(update {killedAt:N0}\)\.", output);
        Assert.Matches(@"Final evaluation: mean return [0-9.]+ ± [0-9.]+ at step 8,000 ", output);
        foreach (Process a in actors)
        {
            Assert.True(a.WaitForExit(TimeSpan.FromMinutes(1)), "an actor did not finish");
            Assert.True(a.ExitCode == 0, $"actor exit {a.ExitCode}: {a.StandardError.ReadToEnd()}");
        }

        Assert.True(File.Exists(Path.Combine(run, "final_model.rlagent")));
    }

    [RedisFact]
    public void AReplayShardsSiloKilledMidRun_TheShardComesBackFromItsCheckpoint_AndTheRunTakesEveryStep()
    {
        // Two silos: shard 0 (with the coordinator and the parameter store) on the first in address order, shard 1 on
        // the second (ShardSpreadPlacement). The second silo is killed (SIGKILL) mid-run; the learner configures shard 1
        // again, its new activation on the first silo comes back from its last checkpoint (every 2,000 transitions),
        // the actors send their batches to the shard they can reach, and the run takes every step.
        using var redis = new RedisServer();
        int[] siloPorts = [.. new[] { RedisServer.FreePort(), RedisServer.FreePort() }.Order()];
        Start("cluster", "silo", "--redis", redis.Address, "--silo-port", $"{siloPorts[0]}", "--gateway-port", $"{RedisServer.FreePort()}", "--advertise", "127.0.0.1");
        // The second silo only hosts grains (no gateway): the learner and actors reach the cluster through the first.
        Process second = Start("cluster", "silo", "--redis", redis.Address, "--silo-port", $"{siloPorts[1]}", "--gateway-port", "0", "--advertise", "127.0.0.1");
        Assert.StartsWith("Silo up", second.StandardOutput.ReadLine(), StringComparison.Ordinal);
        Thread.Sleep(2000); // both silos in each other's membership view before any grain is placed
        string run = Path.Combine(_dir, "run");
        Process learner = Start("cluster", "learner", "dqn-cartpole", "--redis", redis.Address, "--actors", "2", "--start-actors", "--steps", "30000", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--set", "net_arch=[32]", "--shard-checkpoint-every", "2000", "--out", run);
        System.Text.StringBuilder errors = CollectErrors(learner);
        WaitForLoggedSteps(run, learner, 6000);

        Assert.False(learner.HasExited, "the run ended before the silo could be killed");
        Assert.True(File.Exists(Path.Combine(run, "shards", "shard-1", "counters.txt")), "shard 1 has no checkpoint yet");
        second.Kill();
        second.WaitForExit();
        string output = learner.StandardOutput.ReadToEnd();
        Assert.True(learner.WaitForExit(TimeSpan.FromMinutes(3)), "the learner did not finish");
        Assert.True(learner.ExitCode == 0, $"learner exit {learner.ExitCode}: {output} {errors}");
        Assert.Matches(@"Final evaluation: mean return [0-9.]+ ± [0-9.]+ at step 30,000 ", output);
        Match back = Regex.Match(errors.ToString(), @"replay shard 1 is back after [0-9.]+ s: restored from its checkpoint \(([0-9,]+) transitions inserted\), ([0-9,]+) inserted after that checkpoint lost");
        Assert.True(back.Success, errors.ToString());
        long restored = long.Parse(back.Groups[1].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        long lost = long.Parse(back.Groups[2].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(restored >= 2000, $"restored {restored}");
        Assert.InRange(lost, 0, 2000 + 64); // bounded by the checkpoint interval (inserts come in batches of 64)
    }

    [RedisFact]
    public void SigtermToTheLearner_StopsIt_WithALastCheckpoint()
    {
        // The host's console lifetime takes SIGTERM over from the process; the learner's loop stops on it too (it
        // once kept running), writes a last checkpoint and says how to resume.
        using var redis = new RedisServer();
        Start("cluster", "silo", "--redis", redis.Address, "--silo-port", $"{RedisServer.FreePort()}", "--gateway-port", $"{RedisServer.FreePort()}", "--advertise", "127.0.0.1");
        string run = Path.Combine(_dir, "run");
        Process learner = Start("cluster", "learner", "dqn-cartpole", "--redis", redis.Address, "--actors", "1", "--start-actors", "--steps", "200000", "--set", "net_arch=[32]", "--set", "checkpoint_freq=2000", "--out", run);
        System.Text.StringBuilder errors = CollectErrors(learner);
        WaitForLoggedSteps(run, learner, 4000);
        Assert.False(learner.HasExited, $"the learner ended early: {errors}");
        Assert.Equal(0, Kill(learner.Id, 15)); // SIGTERM
        string output = learner.StandardOutput.ReadToEnd();
        Assert.True(learner.WaitForExit(TimeSpan.FromSeconds(60)), "the learner ignored SIGTERM");
        Assert.True(learner.ExitCode == RlMemory.App.RlMemoryCli.Interrupted, $"exit {learner.ExitCode}: {output} {errors}");
        Assert.Contains($"Interrupted; learner checkpoint {run}", output, StringComparison.Ordinal);
        Assert.Contains("and --resume.", output, StringComparison.Ordinal);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [RedisFact]
    public void RedisLostMidRun_IsReported_AndTheRunGoesOnToItsEnd()
    {
        // Redis crashes while a silo, a learner and two actor processes train: the cluster needs it only to let
        // processes join, so the run goes on; every process says it lost Redis, and that it is back once a redis-server
        // listens on the port again.
        using var redis = new RedisServer();
        Start("cluster", "silo", "--redis", redis.Address, "--silo-port", $"{RedisServer.FreePort()}", "--gateway-port", $"{RedisServer.FreePort()}", "--advertise", "127.0.0.1");
        string run = Path.Combine(_dir, "run");
        Process learner = Start("cluster", "learner", "dqn-cartpole", "--redis", redis.Address, "--actors", "2", "--start-actors", "--steps", "20000", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--set", "net_arch=[32]", "--out", run);
        System.Text.StringBuilder errors = CollectErrors(learner);
        var clock = Stopwatch.StartNew();
        WaitForLoggedSteps(run, learner, 3000);

        Assert.False(learner.HasExited, "the run ended before Redis could be killed");
        redis.Kill();
        long killedAt = DistributedDqnTests.LoggedSteps(Path.Combine(run, "progress.csv"));
        while (!Said(errors, $"warning: the learner lost Redis at {redis.Address}") && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Thread.Sleep(20);
        }

        redis.Restart();
        string output = learner.StandardOutput.ReadToEnd();
        Assert.True(learner.WaitForExit(TimeSpan.FromMinutes(3)), "the learner did not finish");
        Assert.True(learner.ExitCode == 0, $"learner exit {learner.ExitCode}: {output} {errors}");
        Assert.True(killedAt < 20_000, $"Redis was killed at step {killedAt}");
        Assert.Matches(@"Final evaluation: mean return [0-9.]+ ± [0-9.]+ at step 20,000 ", output);
        Assert.True(Said(errors, $"warning: the learner lost Redis at {redis.Address} ("), errors.ToString());
        Assert.True(Said(errors, "The cluster goes on with the silos it knows; no silo, learner or actor can join until Redis is back. Reconnecting (1 s, doubling, at most 30 s)."), errors.ToString());
        Assert.True(Said(errors, $"warning: the actor 0 lost Redis at {redis.Address}"), errors.ToString());
        Assert.True(Said(errors, $"the learner reaches Redis at {redis.Address} again."), errors.ToString());
    }

    /// <summary>Collects what <paramref name="process"/> writes to standard error (it and the actors it started).</summary>
    private static System.Text.StringBuilder CollectErrors(Process process)
    {
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        return errors;
    }

    /// <summary>Waits (at most 2 minutes) until the run's log shows <paramref name="steps"/> or the learner has exited.</summary>
    private static void WaitForLoggedSteps(string run, Process learner, long steps)
    {
        var clock = Stopwatch.StartNew();
        while (DistributedDqnTests.LoggedSteps(Path.Combine(run, "progress.csv")) < steps && !learner.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Thread.Sleep(20);
        }
    }

    private static bool Said(System.Text.StringBuilder errors, string text)
    {
        lock (errors)
        {
            return errors.ToString().Contains(text, StringComparison.Ordinal);
        }
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
