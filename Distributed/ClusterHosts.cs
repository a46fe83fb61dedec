using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace RlMemory.Distributed;

/// <summary>
/// The processes of a run across hosts (<c>rlmemory cluster silo|learner|actor --redis HOST:PORT</c>): silos find
/// each other, and clients the silos' gateways, through Redis membership (Microsoft.Orleans.Clustering.Redis). A
/// Redis that cannot be reached is tried again after 1, 2 and 4 s, then refused with a message naming it; a Redis lost
/// later is reported on standard error (<see cref="RedisWatch"/>) while the run goes on.
/// </summary>
public static class ClusterHosts
{
    /// <summary>
    /// How long a client (learner, actor) waits for a grain's answer before the call fails: a grain whose silo died is
    /// given up on after this, and the caller goes on without it (Orleans' default is 30 s; every call here takes
    /// milliseconds).
    /// </summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Tries to reach Redis (or a gateway) before giving up: 1 + 2 + 4 s of waiting between four attempts.</summary>
    public static readonly TimeSpan[] Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];

    /// <summary>
    /// Starts a silo that hosts the run's grains (replay shards, parameter store, coordinator) with Redis membership,
    /// listening on <paramref name="siloPort"/> and <paramref name="gatewayPort"/> of every address and advertising
    /// <paramref name="advertise"/> (default: this host's first IPv4 address).
    /// </summary>
    /// <exception cref="InvalidOperationException">Redis could not be reached (after the retries).</exception>
    public static IHost StartSilo(string redis, int siloPort, int gatewayPort, string? advertise = null, CancellationToken cancel = default)
    {
        IPAddress address = advertise is null ? Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) ?? IPAddress.Loopback : IPAddress.Parse(advertise);
        return Start(redis, "silo", cancel, builder => builder.UseOrleans(silo => silo
            .UseRedisClustering(redis)
            .AddRunGrains()
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ActorProcessHost.ClusterId, ActorProcessHost.ClusterId))
            .ConfigureEndpoints(address, siloPort, gatewayPort, listenOnAnyHostAddress: true)));
    }

    /// <summary>Starts a client of the cluster whose membership is in <paramref name="redis"/>.</summary>
    /// <exception cref="InvalidOperationException">Redis or every gateway could not be reached (after the retries).</exception>
    public static IHost StartClient(string redis, string role, CancellationToken cancel = default) =>
        Start(redis, role, cancel, builder => builder.UseOrleansClient(client => client
            .UseRedisClustering(redis)
            .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout)
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ActorProcessHost.ClusterId, ActorProcessHost.ClusterId))));

    /// <summary>
    /// Cancelled when the host is told to stop: SIGTERM or Ctrl+C, which the host's console lifetime takes over from
    /// the process's default handling, so a role's own loop must stop on it (else <c>kill</c> would not end it).
    /// </summary>
    public static CancellationToken Stopping(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
    }

    /// <summary>The cluster client of a host from <see cref="StartClient"/>.</summary>
    public static IClusterClient Client(IHost host) => host.Services.GetRequiredService<IClusterClient>();

    private static IHost Start(string redis, string role, CancellationToken cancel, Action<HostApplicationBuilder> configure)
    {
        if (string.IsNullOrWhiteSpace(redis) || !redis.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"--redis must be host:port (e.g. 10.0.0.5:6379), got '{redis}'.", nameof(redis));
        }

        for (int attempt = 0; ; attempt++)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Error);
            configure(builder);
            builder.Services.AddHostedService(_ => new RedisWatch(redis, role, Console.Error));
            IHost host = builder.Build();
            try
            {
                host.StartAsync(cancel).GetAwaiter().GetResult();
                return host;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                host.Dispose();
                if (attempt >= Backoff.Length)
                {
                    throw new InvalidOperationException($"The {role} could not join the cluster through Redis at {redis} after {attempt + 1} attempts over {Backoff.Sum(b => b.TotalSeconds):0} s: {e.GetBaseException().Message}{RemoteHint(redis)}", e);
                }

                Console.Error.WriteLine($"The {role} could not join the cluster through Redis at {redis} ({e.GetBaseException().Message}); trying again in {Backoff[attempt].TotalSeconds:0} s.");
                Task.Delay(Backoff[attempt], cancel).GetAwaiter().GetResult();
            }
        }
    }

    /// <summary>
    /// For a Redis on another host: Redis 7 (Debian 12's) refuses remote clients in its protected mode (no password set),
    /// which StackExchange.Redis reports only as "not possible to connect"; say what to check.
    /// </summary>
    internal static string RemoteHint(string redis)
    {
        string host = redis.Contains(':', StringComparison.Ordinal) ? redis[..redis.LastIndexOf(':')] : redis;
        bool local = host is "localhost" or "127.0.0.1" or "::1" or "[::1]";
        return local
            ? string.Empty
            : $". Check that Redis listens on {host} (redis-server --bind {host}) and accepts clients from other hosts: in its protected mode (the default without a password) it refuses them; start it with --protected-mode no on a private network (docs/distributed.md)";
    }
}
