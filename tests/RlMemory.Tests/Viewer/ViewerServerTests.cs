using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RlMemory.App.Viewer;
using RlMemory.Environments.Rendering;

namespace RlMemory.Tests.Viewer;

public sealed class ViewerServerTests : IAsyncLifetime, IDisposable
{
    private readonly LiveFeed _feed = new();
    private readonly PlaybackClock _clock = new(10, new ManualTime());
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };
    private ViewerServer _server = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllLines(_dir.File("progress.csv"),
        [
            "time/total_timesteps,rollout/ep_rew_mean,eval/mean_reward,eval/std_reward",
            "1000,20.5,,",
            "2000,31,,",
            "2000,,150,12.5",
        ]);
        _server = await ViewerServer.StartAsync(_feed, _clock, new ViewerServerOptions { Port = 0, ProgressCsv = _dir.File("progress.csv") });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task ThePage_IsServedFromLoopback_WithItsOwnAssetsOnly()
    {
        Assert.True(_server.IsLoopback);
        Assert.Equal("127.0.0.1", _server.Url.Host);
        Assert.NotEqual(0, _server.Url.Port);
        using HttpResponseMessage page = await _http.GetAsync(_server.Url);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<img id=\"frame\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        string script = await _http.GetStringAsync(new Uri(_server.Url, "viewer.js"));
        Assert.Contains("EventSource('/events')", script, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", script, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(new Uri(_server.Url, "viewer.css"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri(_server.Url, "nothing"))).StatusCode);
    }

    [Fact]
    public async Task Events_CarryEachNewFrameAndTheStatus()
    {
        using var stream = new StreamReader(await _http.GetStreamAsync(new Uri(_server.Url, "events")));
        await WaitUntil(() => _feed.Viewers == 1);
        var frame = new RgbFrame(6, 4);
        _feed.Publish(frame, null, new ViewerStatus("CartPole", 3, 17, 17, false, 42, 42, false, 1, false, TrainingStep: 1234, Action: "[0.5, -1.25]"));

        JsonElement message = await NextMessage(stream);
        Assert.Equal(1, message.GetProperty("frame").GetInt64());
        Assert.Equal("CartPole", message.GetProperty("title").GetString());
        Assert.Equal(17, message.GetProperty("step").GetInt32());
        Assert.Equal(42, message.GetProperty("lastReturn").GetDouble());
        Assert.Equal("[0.5, -1.25]", message.GetProperty("action").GetString());
        Assert.Equal(1234, message.GetProperty("trainingStep").GetInt64());
        Assert.StartsWith("data:image/png;base64,", message.GetProperty("image").GetString(), StringComparison.Ordinal);

        _feed.Publish(frame, null, new ViewerStatus("CartPole", 3, 18, 18, false, 42, 42, false, 1, false));
        Assert.Equal(2, (await NextMessage(stream)).GetProperty("frame").GetInt64());
    }

    [Fact]
    public async Task Controls_ActOnTheClock_OnlyWithTheViewerHeader()
    {
        using var bare = await _http.PostAsync(new Uri(_server.Url, "api/control/pause"), null);
        Assert.Equal(HttpStatusCode.Forbidden, bare.StatusCode);
        Assert.False(_clock.Paused);

        JsonElement paused = await Control("pause");
        Assert.True(paused.GetProperty("paused").GetBoolean());
        Assert.True(_clock.Paused);
        Assert.Equal(2, (await Control("faster")).GetProperty("speed").GetDouble());
        Assert.False((await Control("toggle")).GetProperty("paused").GetBoolean());
        Assert.True((await Control("step")).GetProperty("paused").GetBoolean());

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server.Url, "api/control/rewind"));
        request.Headers.Add(ViewerServer.ControlHeader, "1");
        using var unknown = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("toggle, pause, resume, step, faster, slower", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _http.GetAsync(new Uri(_server.Url, "api/control/pause"))).StatusCode);
    }

    [Fact]
    public async Task RequestsForAnotherHost_AreRefused_AgainstDnsRebinding()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Url);
        request.Headers.Host = "attacker.example:80";
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);

        using var local = new HttpRequestMessage(HttpMethod.Get, _server.Url);
        local.Headers.Host = $"localhost:{_server.Url.Port}";
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(local)).StatusCode);
    }

    [Fact]
    public async Task TheCurve_ComesFromProgressCsv()
    {
        using JsonDocument curve = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_server.Url, "api/curve")));
        Assert.Equal("[[1000,20.5],[2000,31]]", curve.RootElement.GetProperty("train").GetRawText());
        Assert.Equal("[[2000,150,12.5]]", curve.RootElement.GetProperty("eval").GetRawText());
    }

    [Fact]
    public async Task FrameAndMemoryImages_AreServed_OnceThereIsAFrame()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri(_server.Url, "api/frame.png"))).StatusCode);
        _feed.Publish(new RgbFrame(3, 3), null, new ViewerStatus("t", 1, 0, 0, false, null, null, false, 1, false));
        using var png = await _http.GetAsync(new Uri(_server.Url, "api/frame.png"));
        Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
        using var memory = await _http.GetAsync(new Uri(_server.Url, "api/memory.png"));
        Assert.Equal(HttpStatusCode.NotFound, memory.StatusCode);
        Assert.Contains("no external memory", await memory.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_EndsOpenEventStreams_AndReleasesThePort()
    {
        using var stream = new StreamReader(await _http.GetStreamAsync(new Uri(_server.Url, "events")));
        await WaitUntil(() => _feed.Viewers == 1);
        int port = _server.Url.Port;
        var stopping = _server.StopAsync();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        string rest = await stream.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("data:", rest, StringComparison.Ordinal);
        await WaitUntil(() => _feed.Viewers == 0);

        // The port is free again.
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
    }

    [Fact]
    public async Task APortInUse_IsOneLineSayingSo()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ViewerServer.StartAsync(new LiveFeed(), _clock, new ViewerServerOptions { Port = _server.Url.Port }));
        Assert.Equal($"Port {_server.Url.Port} on 127.0.0.1 is in use; choose another with --port (or stop the program using it).", e.Message);
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("999.0.0.1")]
    public async Task ABadAddress_IsRefused(string address)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            ViewerServer.StartAsync(new LiveFeed(), _clock, new ViewerServerOptions { Address = address, Port = 0 }));
        Assert.Contains($"--address must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1) or localhost, got '{address}'", e.Message, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> NextMessage(StreamReader stream)
    {
        while (true)
        {
            string? line = await stream.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(line);
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }

    private async Task<JsonElement> Control(string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server.Url, $"api/control/{name}"));
        request.Headers.Add(ViewerServer.ControlHeader, "1");
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
