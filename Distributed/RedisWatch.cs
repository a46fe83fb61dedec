using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace RlMemory.Distributed;

/// <summary>
/// Watches the cluster's Redis for the life of a silo, learner or actor process. A running cluster does not need Redis
/// from moment to moment (its silos know each other), so losing it stops nothing, but nothing can join until it is
/// back: the process says so on standard error when Redis is lost and when it is back, while StackExchange.Redis
/// reconnects with exponential backoff (1 s, doubling, at most 30 s).
/// </summary>
internal sealed class RedisWatch(string redis, string role, TextWriter error) : IHostedService, IDisposable
{
    private ConnectionMultiplexer? _connection;
    private int _lost;

    /// <summary>How often an idle connection is checked (a network that drops silently is noticed within about this).</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ConfigurationOptions options = ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        options.KeepAlive = (int)KeepAlive.TotalSeconds;
        options.ReconnectRetryPolicy = new ExponentialRetry(1000, 30_000);
        _connection = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        _connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive && Interlocked.Exchange(ref _lost, 1) == 0)
            {
                Say($"warning: the {role} lost Redis at {redis} ({e.FailureType}). The cluster goes on with the silos it knows; no silo, learner or actor can join until Redis is back. Reconnecting (1 s, doubling, at most 30 s).");
            }
        };
        _connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive && Interlocked.Exchange(ref _lost, 0) == 1)
            {
                Say($"the {role} reaches Redis at {redis} again.");
            }
        };
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _connection = null;
    }

    private void Say(string message)
    {
        lock (error)
        {
            error.WriteLine(message);
            error.Flush();
        }
    }
}
