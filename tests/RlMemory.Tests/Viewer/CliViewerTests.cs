using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using RlMemory.Agents;
using RlMemory.App;
using RlMemory.App.Viewer.Raylib;

namespace RlMemory.Tests.Viewer;

/// <summary>A running <c>rlmemory</c> command whose output the test reads while it runs.</summary>
internal sealed partial class RunningCli : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private readonly TextWriter _syncOutput;
    private readonly TextWriter _syncError;

    public RunningCli(params string[] args)
    {
        _syncOutput = TextWriter.Synchronized(_output);
        _syncError = TextWriter.Synchronized(_error);
        Exit = Task.Run(() => RlMemoryCli.Run(args, _syncOutput, _syncError, _cancel.Token));
    }

    public Task<int> Exit { get; }

    public string Output
    {
        get
        {
            lock (_syncOutput)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_syncError)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>The viewer's address, once the command has printed it.</summary>
    public async Task<Uri> UrlAsync()
    {
        for (int i = 0; i < 600; i++)
        {
            Match match = UrlPattern().Match(Output);
            if (match.Success)
            {
                return new Uri(match.Value);
            }

            if (Exit.IsCompleted)
            {
                Assert.Fail($"The command ended ({Exit.Result}) without serving: {Output} {Error}");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No viewer address after 30 s: {Output} {Error}");
    }

    public async Task<int> StopAsync()
    {
        await _cancel.CancelAsync();
        return await Exit.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        _cancel.Cancel();
        try
        {
            Exit.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
        }

        _cancel.Dispose();
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/")]
    private static partial Regex UrlPattern();
}

[Collection("raylib")]
public sealed class CliViewerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A CartPole agent with random weights, saved to a file.</summary>
    internal static string SaveRandomAgent(string path, string envId = "CartPole-v1")
    {
        TorchSharp.torch.manual_seed(1);
        using var agent = new DqnAgent(new QNetwork(new QNetworkConfig { ObservationSize = 4, ActionCount = 2, HiddenSizes = [8] }), envId, ownsNetwork: true);
        agent.Save(path);
        return path;
    }

    /// <summary>A T-maze agent with external memory (R2D2's recurrent Q-network, memory core) and random weights, saved to a file.</summary>
    internal static string SaveRandomMemoryAgent(string path)
    {
        TorchSharp.torch.manual_seed(2);
        var network = new RlMemory.Agents.Recurrent.RecurrentQNetwork(new RlMemory.Agents.Recurrent.RecurrentQNetworkConfig
        {
            ObservationSize = 3,
            ActionCount = 4,
            Core = new RlMemory.Agents.Recurrent.CoreConfig { Kind = "memory", EncoderSizes = [8], HiddenSize = 8, MemorySlots = 6, MemoryWidth = 4 },
        });
        using var agent = new RecurrentDqnAgent(network, "TMaze-v0", ownsNetwork: true);
        agent.Save(path);
        return path;
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RlMemoryCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Watch_ServesTheAgentLive_UntilCancelled_ThenStopsCleanly()
    {
        string agent = SaveRandomAgent(_dir.File("agent.rlagent"));
        using var cli = new RunningCli("watch", agent, "--port", "0");
        Uri url = await cli.UrlAsync();
        Assert.Contains("Watching DqnAgent on CartPole-v1 at", cli.Output, StringComparison.Ordinal);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using HttpResponseMessage frame = await http.GetAsync(new Uri(url, "api/frame.png"));
        Assert.Equal(HttpStatusCode.OK, frame.StatusCode);
        Assert.Equal("image/png", frame.Content.Headers.ContentType!.MediaType);

        Assert.Equal(0, await cli.StopAsync());
        Assert.EndsWith("Viewer stopped." + Environment.NewLine, cli.Output, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(url));
    }

    [Fact]
    public void Watch_BadInput_IsOneLineWithExitCode2()
    {
        string agent = SaveRandomAgent(_dir.File("agent.rlagent"));
        BlindEnv.Register();
        string blind = SaveRandomAgent(_dir.File("blind.rlagent"), BlindEnv.Id);
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;

        (string[] Args, string Expected)[] cases =
        [
            (["watch", _dir.File("no-such-run")], $"error: No agent file or run folder at '{_dir.File("no-such-run")}'."),
            (["watch", _dir.Path], $"error: {_dir.Path} holds no best_model.rlagent or final_model.rlagent; train first, or pass an agent file."),
            (["watch", blind], $"error: {BlindEnv.Id} cannot render (its innermost environment, a BlindEnv, does not implement IRenderable), so there is nothing to watch; watch or record an environment that draws itself."),
            (["watch", agent, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], $"error: Port {port} on 127.0.0.1 is in use; choose another with --port (or stop the program using it)."),
            (["watch", agent, "--port", "0", "--address", "my-laptop"], "error: --address must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1) or localhost, got 'my-laptop'."),
            (["watch", agent, "--speed", "0"], "error: --speed must be a positive number, got 0."),
            (["watch", agent, "--with-memory", "--window"], "error: --with-memory needs an agent with external memory, and this DqnAgent has none (it reports no memory read/write weights); leave out --with-memory."),
        ];
        foreach (var (args, expected) in cases)
        {
            var r = Run(args);
            Assert.True(r.Code == RlMemoryCli.InvalidInput, $"{string.Join(' ', args)}: exit {r.Code}, {r.Error}");
            Assert.Equal(expected + Environment.NewLine, r.Error);
        }
    }

    [Fact]
    public void WatchInAWindow_WithoutRaylib_SaysHowToInstallIt()
    {
        string agent = SaveRandomAgent(_dir.File("agent.rlagent"));
        string? saved = Environment.GetEnvironmentVariable(RaylibLibrary.PathVariable);
        try
        {
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, null);
            Environment.SetEnvironmentVariable("RLMEMORY_CACHE", _dir.File("empty-cache"));   // not build/raylib.sh's build either
            if (RaylibLibrary.TryLoad(out _, out _))
            {
                return;   // raylib is installed system-wide here
            }

            var r = Run("watch", agent, "--window");
            Assert.Equal(RlMemoryCli.InvalidInput, r.Code);
            Assert.StartsWith("error: The desktop viewer needs the raylib library (raylib 5), which was not found", r.Error, StringComparison.Ordinal);
            Assert.EndsWith("Or watch in the browser: rlmemory watch <agent> without --window." + Environment.NewLine, r.Error, StringComparison.Ordinal);
            Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Environment.SetEnvironmentVariable(RaylibLibrary.PathVariable, saved);
            Environment.SetEnvironmentVariable("RLMEMORY_CACHE", null);
        }
    }

    [CCompilerFact]
    public void WatchInAWindow_PlaysUntilTheWindowCloses()
    {
        string agent = SaveRandomAgent(_dir.File("agent.rlagent"));
        RaylibStub.Configure(closeAfterFrames: 5);
        (int Code, string Output, string Error) r = default;
        RaylibStub.With(() => r = Run("watch", agent, "--window"));
        Assert.True(r.Code == 0, r.Error);
        Assert.StartsWith("Playing DqnAgent on CartPole-v1 in a window", r.Output, StringComparison.Ordinal);
        string[] log = RaylibStub.Log();
        Assert.Equal("InitWindow 600 430 RlMemory: DqnAgent on CartPole-v1", log[1]);
        Assert.Equal(5, log.Count(l => l.StartsWith("EndDrawing", StringComparison.Ordinal)));
        Assert.Equal("CloseWindow", log[^1]);
    }

    [CCompilerFact]
    public void TrainWithWindow_OpensItBeforeTraining_PresentsWithoutWaiting_AndClosesItAtTheEnd()
    {
        RaylibStub.Configure(closeAfterFrames: int.MaxValue);
        (int Code, string Output, string Error) r = default;
        string run = _dir.File("run");
        RaylibStub.With(() => r = Run("train", "dqn-cartpole", "--seed", "0", "--out", run, "--quiet", "--steps", "600", "--set", "learning_starts=200", "--set", "eval_freq=0", "--set", "eval_episodes=1", "--window"));
        Assert.True(r.Code == 0, r.Error);
        Assert.Contains("Watching the training in a window", r.Output, StringComparison.Ordinal);
        string[] log = RaylibStub.Log();
        Assert.Equal(["SetTraceLogLevel 7", "InitWindow 600 430 RlMemory: DQN training on CartPole-v1", "SetTraceLogLevel 4", "SetTargetFPS 60", "SetTargetFPS 0"], log[..5]);
        Assert.True(log.Count(l => l.StartsWith("EndDrawing", StringComparison.Ordinal)) >= 2, "fewer than two pictures (the first and the finished run's)");
        Assert.Contains("(finished)", log.Last(l => l.StartsWith("DrawText", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("CloseWindow", log[^1]);
        Assert.True(File.Exists(Path.Combine(run, "final_model.rlagent")));
    }

    [Fact]
    public void RecordWithMemory_ForAMemoryAgent_PutsTheHeatmapsBesideTheFrames()
    {
        string path = SaveRandomMemoryAgent(_dir.File("memory.rlagent"));

        string plain = _dir.File("plain.gif");
        string withMemory = _dir.File("memory.gif");
        var a = Run("record", path, "--gif", plain, "--episodes", "1");
        var b = Run("record", path, "--gif", withMemory, "--episodes", "1", "--with-memory");
        Assert.True(a.Code == 0, a.Error);
        Assert.True(b.Code == 0, b.Error);

        // GIF logical screen size: little-endian width and height at bytes 6..9.
        static (int Width, int Height) Size(string gif)
        {
            byte[] header = File.ReadAllBytes(gif)[..10];
            Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(header, 0, 6));
            return (header[6] | header[7] << 8, header[8] | header[9] << 8);
        }

        var (plainWidth, plainHeight) = Size(plain);
        var (memoryWidth, memoryHeight) = Size(withMemory);
        Assert.Equal(plainWidth + 320, memoryWidth);
        Assert.True(memoryHeight >= plainHeight, $"{memoryHeight} < {plainHeight}");
    }

    [Fact]
    public void RecordWithMemory_ForAnAgentWithoutExternalMemory_IsOneLine()
    {
        string agent = SaveRandomAgent(_dir.File("agent.rlagent"));
        var r = Run("record", agent, "--gif", _dir.File("out.gif"), "--with-memory");
        Assert.Equal(RlMemoryCli.InvalidInput, r.Code);
        Assert.Equal("error: --with-memory needs an agent with external memory, and this DqnAgent has none (it reports no memory read/write weights); leave out --with-memory." + Environment.NewLine, r.Error);
        Assert.False(File.Exists(_dir.File("out.gif")));
    }

    [Fact]
    public async Task TrainWatch_ServesWhileTraining_AndTheRunEndsNormally()
    {
        string run = _dir.File("run");
        using var cli = new RunningCli("train", "--steps", "3000", "--out", run, "--quiet", "--set", "learning_starts=500", "--set", "eval_episodes=1", "--watch", "--watch-port", "0");
        Uri url = await cli.UrlAsync();
        Assert.StartsWith($"Watch the training at {url} (the viewer stops when training ends).", cli.Output, StringComparison.Ordinal);
        int code = await cli.Exit.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, cli.Error);
        Assert.Contains("Final evaluation: mean return", cli.Output, StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(url));
    }

    [Fact]
    public void TrainWatch_BadInput_IsOneLineBeforeTraining()
    {
        BlindEnv.Register();
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        string port = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var blind = Run("train", "--steps", "100", "--out", _dir.File("blind"), "--quiet", "--set", $"env={BlindEnv.Id}", "--watch");
        Assert.Equal(RlMemoryCli.InvalidInput, blind.Code);
        Assert.Equal($"error: {BlindEnv.Id} cannot render (its innermost environment, a BlindEnv, does not implement IRenderable), so --watch has nothing to show; train without --watch." + Environment.NewLine, blind.Error);

        var taken = Run("train", "--steps", "100", "--out", _dir.File("taken"), "--quiet", "--watch", "--watch-port", port);
        Assert.Equal(RlMemoryCli.InvalidInput, taken.Code);
        Assert.Equal($"error: Port {port} on 127.0.0.1 is in use; choose another with --watch-port (or stop the program using it)." + Environment.NewLine, taken.Error);
        Assert.False(File.Exists(Path.Combine(_dir.File("taken"), "final_model.rlagent")));
    }
}
