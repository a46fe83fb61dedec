using System.Diagnostics;
using RlMemory.Tests.Training;

namespace RlMemory.Tests.Distributed;

/// <summary>
/// A test that puts processes in network namespaces of their own (two "hosts" joined by a virtual Ethernet pair): it
/// needs root, iproute2's <c>ip</c> and redis-server, and a kernel that lets it create namespaces; skipped where any of
/// that is missing (a container without CAP_NET_ADMIN, say), with the reason.
/// </summary>
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    public NetworkNamespaceFactAttribute()
    {
        if (NetworkNamespaces.Unavailable is string why)
        {
            Skip = why;
        }
    }
}

/// <summary>Two network namespaces joined by a veth pair, 10.231.N.1 (host A) and 10.231.N.2 (host B); removed on dispose.</summary>
internal sealed class NetworkNamespaces : IDisposable
{
    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal))
        {
            return "Needs root to create network namespaces (ip netns add).";
        }

        if (Program("ip") is null)
        {
            return "Needs iproute2's ip (apt-get install iproute2).";
        }

        if (RedisServer.Program is null)
        {
            return "Needs redis-server on PATH (apt-get install redis-server).";
        }

        string name = $"rlm-probe-{Environment.ProcessId}";
        (int code, string output) = Run("ip", "netns", "add", name);
        if (code != 0)
        {
            return $"This machine does not let the test create network namespaces: ip netns add said: {output.Trim()}";
        }

        Run("ip", "netns", "del", name);
        return null;
    });

    private readonly string _suffix = $"{Environment.ProcessId % 10000}{Random.Shared.Next(100, 999)}";

    public NetworkNamespaces()
    {
        int subnet = Random.Shared.Next(1, 250);
        A = $"rlm-a-{_suffix}";
        B = $"rlm-b-{_suffix}";
        AddressA = $"10.231.{subnet}.1";
        AddressB = $"10.231.{subnet}.2";
        string va = $"rva{_suffix}", vb = $"rvb{_suffix}";
        string[][] setup =
        [
            ["netns", "add", A], ["netns", "add", B],
            ["link", "add", va, "type", "veth", "peer", "name", vb],
            ["link", "set", va, "netns", A], ["link", "set", vb, "netns", B],
            ["-n", A, "addr", "add", $"{AddressA}/24", "dev", va], ["-n", B, "addr", "add", $"{AddressB}/24", "dev", vb],
            ["-n", A, "link", "set", va, "up"], ["-n", B, "link", "set", vb, "up"],
            ["-n", A, "link", "set", "lo", "up"], ["-n", B, "link", "set", "lo", "up"],
        ];
        foreach (string[] args in setup)
        {
            (int code, string output) = Run("ip", args);
            if (code != 0)
            {
                Dispose();
                throw new InvalidOperationException($"ip {string.Join(' ', args)} failed: {output}");
            }
        }
    }

    /// <summary>Why the namespaces cannot be made here, or null.</summary>
    public static string? Unavailable => Probe.Value;

    public string A { get; }

    public string B { get; }

    public string AddressA { get; }

    public string AddressB { get; }

    /// <summary>Starts <paramref name="program"/> inside namespace <paramref name="ns"/>, its output redirected.</summary>
    public static Process Start(string ns, string program, params string[] args)
    {
        var start = new ProcessStartInfo(Program("ip")!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["netns", "exec", ns, program, .. args])
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    /// <summary>Whether something in namespace <paramref name="ns"/> accepts TCP connections at <paramref name="address"/>:<paramref name="port"/>.</summary>
    public static bool Accepts(string ns, string address, int port) =>
        Run("ip", "netns", "exec", ns, "bash", "-c", $"exec 3<>/dev/tcp/{address}/{port}").Code == 0;

    public void Dispose()
    {
        // Deleting a namespace deletes its end of the veth pair, and with it the other end.
        Run("ip", "netns", "del", A);
        Run("ip", "netns", "del", B);
    }

    internal static string? Program(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/sbin"]).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(Program(program) ?? program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using Process p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}

/// <summary>The distributed run across two network namespaces: roles that reach each other only over a (virtual) network link.</summary>
[Collection(nameof(SeededTrainingCollection))]
public sealed class NetworkNamespaceTests : IDisposable
{
    private readonly string _dir;
    private readonly TestProcesses _processes;
    private readonly System.Text.StringBuilder _log = new();

    public NetworkNamespaceTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-netns-{Guid.NewGuid():N}");
        _processes = new TestProcesses(_dir);
    }

    public void Dispose() => _processes.Dispose();

    [NetworkNamespaceFact]
    public void ASiloAndRedisOnOneHost_ALearnerAndTwoActorsOnAnother_TrainOverTheLink()
    {
        // Host A (its own network namespace): Redis and a silo, advertising A's address. Host B: the learner and the two
        // actor processes it starts. B reaches A only through the veth pair: Redis membership, the gateway and every
        // grain call cross it, as between two machines.
        using var hosts = new NetworkNamespaces();
        string cli = Path.Combine(AppContext.BaseDirectory, "rlmemory.dll");

        // Debian's Redis 7 in its default protected mode (no password) refuses clients from another host; the client
        // library only says it could not connect, so the learner's message says what to check.
        Process guarded = Drain(NetworkNamespaces.Start(hosts.A, RedisServer.Program!, "--port", "6380", "--bind", hosts.AddressA, "--save", string.Empty, "--appendonly", "no"));
        WaitFor(() => NetworkNamespaces.Accepts(hosts.A, hosts.AddressA, 6380), guarded, "the protected redis-server in host A");
        Process refused = Keep(NetworkNamespaces.Start(hosts.B, "dotnet", cli, "cluster", "learner", "dqn-cartpole", "--redis", $"{hosts.AddressA}:6380", "--actors", "1", "--out", Path.Combine(_dir, "refused")));
        Task<string> refusal = refused.StandardError.ReadToEndAsync();
        refused.StandardOutput.ReadToEnd();
        Assert.True(refused.WaitForExit(TimeSpan.FromMinutes(1)), "the learner hung on a Redis that refuses it");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"could not join the cluster through Redis at {hosts.AddressA}:6380 after 4 attempts", refusal.Result, StringComparison.Ordinal);
        Assert.Contains("start it with --protected-mode no on a private network", refusal.Result, StringComparison.Ordinal);

        Process redis = Drain(NetworkNamespaces.Start(hosts.A, RedisServer.Program!, "--port", "6379", "--bind", hosts.AddressA, "--protected-mode", "no", "--save", string.Empty, "--appendonly", "no"));
        WaitFor(() => NetworkNamespaces.Accepts(hosts.A, hosts.AddressA, 6379), redis, "redis-server in host A");
        string r = $"{hosts.AddressA}:6379";
        Process silo = Drain(NetworkNamespaces.Start(hosts.A, "dotnet", cli, "cluster", "silo", "--redis", r, "--advertise", hosts.AddressA));
        WaitFor(() => NetworkNamespaces.Accepts(hosts.A, hosts.AddressA, 30000), silo, "the silo's gateway in host A");
        Assert.False(NetworkNamespaces.Accepts(hosts.B, "127.0.0.1", 30000), "host B sees a gateway on its own loopback: the namespaces are not separate");

        string run = Path.Combine(_dir, "run");
        Process learner = Keep(NetworkNamespaces.Start(hosts.B, "dotnet", cli, "cluster", "learner", "dqn-cartpole", "--redis", r, "--actors", "2", "--start-actors", "--steps", "3000", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--set", "net_arch=[32]", "--out", run));
        Task<string> output = learner.StandardOutput.ReadToEndAsync();
        Task<string> errors = learner.StandardError.ReadToEndAsync();
        Assert.True(learner.WaitForExit(TimeSpan.FromMinutes(3)), "the learner did not finish");
        Assert.True(learner.ExitCode == 0, $"learner exit {learner.ExitCode}: {output.Result} {errors.Result} (host A: {_log})");
        Assert.Matches(@"Final evaluation: mean return [0-9.]+ ± [0-9.]+ at step 3,000 ", output.Result);
        Assert.True(File.Exists(Path.Combine(run, "final_model.rlagent")) && File.Exists(Path.Combine(run, "progress.csv")));
        Assert.False(silo.HasExited, "the silo stopped");
    }

    private Process Keep(Process p) => _processes.Add(p);

    /// <summary>Keeps <paramref name="p"/> and collects its output as it comes (a full pipe would stop it).</summary>
    private Process Drain(Process p)
    {
        void Collect(object sender, DataReceivedEventArgs e)
        {
            lock (_log)
            {
                _log.AppendLine(e.Data);
            }
        }

        p.OutputDataReceived += Collect;
        p.ErrorDataReceived += Collect;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return Keep(p);
    }

    private void WaitFor(Func<bool> ready, Process process, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            if (process.HasExited)
            {
                lock (_log)
                {
                    throw new InvalidOperationException($"{what} exited ({process.ExitCode}): {_log}");
                }
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"{what} did not start listening within 60 s.");
            }

            Thread.Sleep(200);
        }
    }
}
