using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace RlMemory.Distributed;

/// <summary>An actor in a process of its own (<c>rlmemory cluster actor</c>): an Orleans client of the run's silo running <see cref="DistributedActor"/>.</summary>
public static class ActorProcessHost
{
    /// <summary>The cluster id and service id of a run's silo and its clients.</summary>
    public const string ClusterId = "rlmemory";

    /// <summary>How long an actor keeps trying to reach the silo before it gives up with a message.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Joins the cluster whose membership is in Redis (<paramref name="redis"/>, <c>host:port</c>) and runs actor <paramref name="index"/> of run <paramref name="runId"/> to its end.</summary>
    public static void RunWithRedis(string redis, string runId, int index, CancellationToken cancel = default)
    {
        using var host = ClusterHosts.StartClient(redis, $"actor {index}", cancel);
        try
        {
            CancellationToken stopping = ClusterHosts.Stopping(host); // SIGTERM
            DistributedActor.Run(ClusterHosts.Client(host), RunIdentity.Current(runId), index, () => cancel.IsCancellationRequested || stopping.IsCancellationRequested);
        }
        finally
        {
            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>Connects to the silo at <paramref name="gateway"/> (<c>host:port</c>) and runs actor <paramref name="index"/> of run <paramref name="runId"/> to its end.</summary>
    /// <exception cref="ArgumentException">The gateway is not <c>host:port</c>.</exception>
    public static void Run(string gateway, string runId, int index, CancellationToken cancel = default)
    {
        IPEndPoint endpoint = Parse(gateway);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(endpoint)
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ClusterId))
            .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ClusterHosts.ResponseTimeout)
            .UseConnectionRetryFilter(async (exception, token) =>
            {
                // Retry every second while the silo may still be starting, then give up (no silent hang).
                if (clock.Elapsed > ConnectTimeout)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), token);
                return true;
            }));
        using IHost host = builder.Build();
        try
        {
            host.StartAsync(cancel).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"actor {index} of run '{runId}' could not reach the silo at {gateway} within {ConnectTimeout.TotalSeconds:0} s: {e.Message}", e);
        }

        try
        {
            IClusterClient client = host.Services.GetRequiredService<IClusterClient>();
            CancellationToken stopping = ClusterHosts.Stopping(host); // SIGTERM
            DistributedActor.Run(client, RunIdentity.Current(runId), index, () => cancel.IsCancellationRequested || stopping.IsCancellationRequested);
        }
        finally
        {
            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    private static IPEndPoint Parse(string gateway)
    {
        int colon = gateway?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !int.TryParse(gateway![(colon + 1)..], out int port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"--gateway must be host:port (e.g. 127.0.0.1:30000), got '{gateway}'.", nameof(gateway));
        }

        string host = gateway[..colon];
        IPAddress address = IPAddress.TryParse(host, out IPAddress? parsed) ? parsed : Dns.GetHostAddresses(host).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        return new IPEndPoint(address, port);
    }
}
