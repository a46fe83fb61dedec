using System.Buffers;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RlMemory.Training;

namespace RlMemory.App.Viewer;

/// <summary>Where and how the browser viewer serves.</summary>
public sealed record ViewerServerOptions
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 5117;

    /// <summary>The address to bind: loopback (<c>127.0.0.1</c>) unless the user asks for another explicitly.</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>The TCP port, or 0 for any free port (see <see cref="ViewerServer.Url"/>).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The run's <c>progress.csv</c>, for the learning curve (none if null or missing).</summary>
    public string? ProgressCsv { get; init; }

    /// <summary>The command-line option that sets the port, named in errors (<c>--port</c>, or <c>--watch-port</c> for training).</summary>
    public string PortOption { get; init; } = "--port";

    /// <summary>The command-line option that sets the address, named in errors.</summary>
    public string AddressOption { get; init; } = "--address";

    /// <summary>The shortest time between two frames sent to one page (frames in between are dropped).</summary>
    public TimeSpan MinFrameInterval { get; init; } = TimeSpan.FromSeconds(1.0 / 30);
}

/// <summary>
/// The browser viewer: a small HTTP server (Kestrel, bound to loopback by default) that serves one page with the live
/// frames of a <see cref="LiveFeed"/>, the episode's step and return, the learning curve from the run's progress.csv,
/// the memory heatmaps of agents with external memory, and pause/step/speed controls that act on a
/// <see cref="PlaybackClock"/>. The page and its script are embedded; nothing is loaded from the internet.
/// </summary>
/// <remarks>
/// Endpoints: <c>GET /</c> (the page), <c>GET /events</c> (Server-Sent Events: one JSON message per frame, with the
/// picture as a PNG data URL), <c>GET /api/status</c>, <c>GET /api/frame.png</c>, <c>GET /api/memory.png</c>,
/// <c>GET /api/curve</c> and <c>POST /api/control/{toggle|pause|resume|step|faster|slower}</c> (which must carry the
/// header <c>X-RlMemory-Viewer: 1</c>, so that other web sites cannot post to it). Bound to loopback, the server
/// answers only requests whose Host is a loopback name (against DNS rebinding).
/// </remarks>
public sealed class ViewerServer : IAsyncDisposable
{
    /// <summary>The header control requests must carry.</summary>
    public const string ControlHeader = "X-RlMemory-Viewer";

    private static readonly Dictionary<string, PlaybackCommand> Commands = new(StringComparer.Ordinal)
    {
        ["toggle"] = PlaybackCommand.TogglePause,
        ["pause"] = PlaybackCommand.Pause,
        ["resume"] = PlaybackCommand.Resume,
        ["step"] = PlaybackCommand.Step,
        ["faster"] = PlaybackCommand.Faster,
        ["slower"] = PlaybackCommand.Slower,
    };

    private readonly WebApplication _app;
    private readonly LiveFeed _feed;
    private readonly PlaybackClock _clock;
    private readonly ViewerServerOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly bool _loopback;
    private bool _stopped;

    private ViewerServer(WebApplication app, LiveFeed feed, PlaybackClock clock, ViewerServerOptions options, bool loopback)
    {
        _app = app;
        _feed = feed;
        _clock = clock;
        _options = options;
        _loopback = loopback;
        Url = new Uri("http://127.0.0.1/");
    }

    /// <summary>The address the page is served at, e.g. <c>http://127.0.0.1:5117/</c>.</summary>
    public Uri Url { get; private set; }

    /// <summary>Whether the server is bound to a loopback address only.</summary>
    public bool IsLoopback => _loopback;

    /// <summary>Starts serving <paramref name="feed"/>, with controls acting on <paramref name="clock"/>.</summary>
    /// <exception cref="ArgumentException">The address is not an IP address (or <c>localhost</c>), or the port is out of range.</exception>
    /// <exception cref="InvalidOperationException">The port is in use, or the address cannot be bound (one line that says what to do).</exception>
    public static async Task<ViewerServer> StartAsync(LiveFeed feed, PlaybackClock clock, ViewerServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(clock);
        options ??= new ViewerServerOptions();
        IPAddress address = ParseAddress(options.Address, options.AddressOption);
        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentException($"{options.PortOption} must be in [0, 65535] (0: any free port), got {options.Port}.", nameof(options));
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "rlmemory-viewer" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(address, options.Port);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(3));
        WebApplication app = builder.Build();
        var server = new ViewerServer(app, feed, clock, options, IPAddress.IsLoopback(address));
        app.Run(server.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or AddressInUseException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            server._stopping.Dispose();
            string where = $"{FormatHost(address)}:{options.Port}";
            throw new InvalidOperationException(
                IsAddressInUse(e)
                    ? $"Port {options.Port} on {FormatHost(address)} is in use; choose another with {options.PortOption} (or stop the program using it)."
                    : $"Cannot serve the viewer at {where}: {e.Message.ReplaceLineEndings(" ")}",
                e);
        }

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? $"http://{FormatHost(address)}:{options.Port}";
        var url = new Uri(bound.EndsWith('/') ? bound : bound + "/");
        server.Url = IPAddress.Any.Equals(address) || IPAddress.IPv6Any.Equals(address) ? new UriBuilder(url) { Host = "127.0.0.1" }.Uri : url;
        return server;
    }

    /// <summary>Stops serving: open event streams end, and the port is released.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _stopping.CancelAsync().ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Parses a bind address: an IPv4 or IPv6 address, or <c>localhost</c>.</summary>
    /// <param name="address">The address.</param>
    /// <param name="option">The command-line option it came from, named in the error.</param>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static IPAddress ParseAddress(string address, string option = "--address")
    {
        ArgumentNullException.ThrowIfNull(address);
        if (string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(address.Trim('[', ']'), out IPAddress? ip)
            ? ip
            : throw new ArgumentException($"{option} must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1) or localhost, got '{address}'.", nameof(address));
    }

    private static string FormatHost(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    private static bool IsAddressInUse(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is AddressInUseException || x is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers.CacheControl = "no-store";
        if (_loopback && !IsLoopbackHost(request.Host.Host))
        {
            await Text(response, StatusCodes.Status421MisdirectedRequest, "This viewer answers only requests addressed to 127.0.0.1, localhost or [::1].").ConfigureAwait(false);
            return;
        }

        string path = request.Path.Value ?? "/";
        bool get = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        if (request.Path.StartsWithSegments("/api/control", out PathString rest))
        {
            await ControlAsync(context, rest.Value?.Trim('/') ?? string.Empty).ConfigureAwait(false);
            return;
        }

        if (!get)
        {
            await Text(response, StatusCodes.Status405MethodNotAllowed, "Method not allowed.").ConfigureAwait(false);
            return;
        }

        switch (path)
        {
            case "/":
            case "/index.html":
                response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";
                await Asset(response, "index.html", "text/html; charset=utf-8").ConfigureAwait(false);
                break;
            case "/viewer.js":
                await Asset(response, "viewer.js", "text/javascript; charset=utf-8").ConfigureAwait(false);
                break;
            case "/viewer.css":
                await Asset(response, "viewer.css", "text/css; charset=utf-8").ConfigureAwait(false);
                break;
            case "/events":
                await EventsAsync(context).ConfigureAwait(false);
                break;
            case "/api/status":
                await Json(response, writer => WriteStatus(writer, _feed.Status, _feed.FrameNumber, image: null, memory: null)).ConfigureAwait(false);
                break;
            case "/api/curve":
                await Json(response, writer => WriteCurve(writer, ProgressCurve.Read(_options.ProgressCsv))).ConfigureAwait(false);
                break;
            case "/api/frame.png":
            case "/api/memory.png":
                FeedSnapshot? snapshot = await _feed.SnapshotAsync(context.RequestAborted).ConfigureAwait(false);
                byte[]? png = path == "/api/frame.png" ? snapshot?.Png : snapshot?.MemoryPng;
                if (png is null)
                {
                    await Text(response, StatusCodes.Status404NotFound, path == "/api/frame.png" ? "No frame yet." : "This agent has no external memory to show.").ConfigureAwait(false);
                    return;
                }

                response.ContentType = "image/png";
                response.ContentLength = png.Length;
                await response.Body.WriteAsync(png, context.RequestAborted).ConfigureAwait(false);
                break;
            default:
                await Text(response, StatusCodes.Status404NotFound, "Not found.").ConfigureAwait(false);
                break;
        }
    }

    private async Task ControlAsync(HttpContext context, string name)
    {
        HttpResponse response = context.Response;
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await Text(response, StatusCodes.Status405MethodNotAllowed, "Use POST.").ConfigureAwait(false);
            return;
        }

        if (context.Request.Headers[ControlHeader] != "1")
        {
            await Text(response, StatusCodes.Status403Forbidden, $"Control requests must carry the header {ControlHeader}: 1.").ConfigureAwait(false);
            return;
        }

        if (!Commands.TryGetValue(name, out PlaybackCommand command))
        {
            await Text(response, StatusCodes.Status404NotFound, $"Unknown control '{name}'; use one of {string.Join(", ", Commands.Keys)}.").ConfigureAwait(false);
            return;
        }

        _clock.Apply(command);
        await Json(response, writer =>
        {
            writer.WriteStartObject();
            writer.WriteBoolean("paused", _clock.Paused);
            writer.WriteNumber("speed", _clock.Speed);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task EventsAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        using var connection = _feed.Connect();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        CancellationToken token = linked.Token;
        response.ContentType = "text/event-stream";
        response.Headers["X-Accel-Buffering"] = "no";
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        long seen = -1;
        long framesSent = -1;
        try
        {
            await response.WriteAsync("retry: 1000\n\n", token).ConfigureAwait(false);
            await response.Body.FlushAsync(token).ConfigureAwait(false);
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await _feed.WaitForChangeAsync(seen, token).WaitAsync(TimeSpan.FromSeconds(15), token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    await response.WriteAsync(": keep-alive\n\n", token).ConfigureAwait(false);
                    await response.Body.FlushAsync(token).ConfigureAwait(false);
                    continue;
                }

                long version = _feed.Version;
                FeedSnapshot? snapshot = await _feed.SnapshotAsync(token).ConfigureAwait(false);
                if (snapshot is null)
                {
                    seen = version;
                    continue;
                }

                seen = snapshot.Version;
                bool newFrame = snapshot.FrameNumber != framesSent;
                framesSent = snapshot.FrameNumber;
                buffer.ResetWrittenCount();
                buffer.Write("data: "u8);
                using (var writer = new Utf8JsonWriter(buffer))
                {
                    WriteStatus(writer, snapshot.Status, snapshot.FrameNumber, newFrame ? snapshot.Png : null, newFrame ? snapshot.MemoryPng : null);
                }

                buffer.Write("\n\n"u8);
                await response.Body.WriteAsync(buffer.WrittenMemory, token).ConfigureAwait(false);
                await response.Body.FlushAsync(token).ConfigureAwait(false);
                if (newFrame)
                {
                    await Task.Delay(_options.MinFrameInterval, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away, or the server is stopping.
        }
        catch (IOException)
        {
            // The connection broke.
        }
    }

    private void WriteStatus(Utf8JsonWriter writer, ViewerStatus? status, long frameNumber, byte[]? image, byte[]? memory)
    {
        writer.WriteStartObject();
        writer.WriteNumber("frame", frameNumber);
        writer.WriteBoolean("paused", _clock.Paused);
        writer.WriteNumber("speed", _clock.Speed);
        writer.WriteNumber("viewers", _feed.Viewers);
        writer.WriteBoolean("curve", _options.ProgressCsv is not null);
        if (status is not null)
        {
            writer.WriteString("title", status.Title);
            writer.WriteNumber("episode", status.Episode);
            writer.WriteNumber("step", status.Step);
            writer.WriteNumber("return", Finite(status.Return));
            writer.WriteBoolean("done", status.Done);
            if (status.Action is { } action)
            {
                writer.WriteString("action", action);
            }

            if (status.LastReturn is double last)
            {
                writer.WriteNumber("lastReturn", Finite(last));
                writer.WriteNumber("lastLength", status.LastLength ?? 0);
            }

            writer.WriteBoolean("hasMemory", status.HasMemory);
            if (status.TrainingStep is long trainingStep)
            {
                writer.WriteNumber("trainingStep", trainingStep);
            }
        }

        if (image is not null)
        {
            writer.WriteString("image", "data:image/png;base64," + Convert.ToBase64String(image));
        }

        if (memory is not null)
        {
            writer.WriteString("memory", "data:image/png;base64," + Convert.ToBase64String(memory));
        }

        writer.WriteEndObject();
    }

    private static void WriteCurve(Utf8JsonWriter writer, ProgressCurve curve)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("train");
        foreach (var (step, mean) in curve.Training)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(step);
            writer.WriteNumberValue(mean);
            writer.WriteEndArray();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("eval");
        foreach (var (step, mean, std) in curve.Evaluations)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(step);
            writer.WriteNumberValue(mean);
            writer.WriteNumberValue(std);
            writer.WriteEndArray();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static double Finite(double value) => double.IsFinite(value) ? value : 0;

    private static bool IsLoopbackHost(string host) =>
        host is "127.0.0.1" or "localhost" or "[::1]" or "::1"
        || (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? ip) && IPAddress.IsLoopback(ip));

    private static async Task Json(HttpResponse response, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
    }

    private static async Task Text(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        await response.WriteAsync(text + "\n").ConfigureAwait(false);
    }

    private static async Task Asset(HttpResponse response, string name, string contentType)
    {
        using Stream stream = typeof(ViewerServer).Assembly.GetManifestResourceStream($"RlMemory.App.Viewer.Web.{name}")
            ?? throw new InvalidOperationException($"The viewer's page asset {name} is missing from the assembly.");
        response.ContentType = contentType;
        response.ContentLength = stream.Length;
        await stream.CopyToAsync(response.Body).ConfigureAwait(false);
    }
}
