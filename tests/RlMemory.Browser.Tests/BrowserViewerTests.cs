using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace RlMemory.Browser.Tests;

/// <summary>
/// A fact that needs Debian's chromium. Skipped, with the reason, when chromium is missing locally; in CI
/// (<c>CI=true</c>, whose script installs chromium) it always runs, and fails if chromium is missing.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (BrowserViewerTests.Chromium is null && !BrowserViewerTests.InCi)
        {
            Skip = $"Needs chromium at {BrowserViewerTests.ChromiumPath} (apt-get install chromium); CI installs it and runs this test.";
        }
    }
}

/// <summary>
/// The browser viewer end to end: <c>rlmemory train</c> trains a small CartPole agent, <c>rlmemory watch</c> serves it
/// (both as separate processes, as a user runs them), and Playwright drives headless chromium against the page.
/// </summary>
public sealed partial class BrowserViewerTests : IDisposable
{
    /// <summary>Where the test looks for chromium (override with RLMEMORY_CHROMIUM).</summary>
    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("RLMEMORY_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-browser-{Guid.NewGuid():N}");

    public BrowserViewerTests() => Directory.CreateDirectory(_dir);

    public static string? Chromium => File.Exists(ChromiumPath) ? ChromiumPath : null;

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [ChromiumFact]
    public async Task ThePage_ShowsLiveFrames_PauseStopsThem_StepAdvancesOne_ResumePlaysOn_AndCtrlCStopsTheServer()
    {
        Assert.True(Chromium is not null, $"chromium is missing at {ChromiumPath}; CI must install it (.ci/run installs the Debian package chromium).");
        Assert.True(OperatingSystem.IsLinux(), "This test signals the viewer process with kill(1).");

        // 1. A briefly trained agent, from the CLI.
        string run = Path.Combine(_dir, "run");
        using (var train = Cli.Start("train", "--steps", "1000", "--out", run, "--quiet", "--set", "learning_starts=200", "--set", "eval_episodes=1", "--set", "buffer_size=2000"))
        {
            Assert.True(await train.WaitAsync(TimeSpan.FromSeconds(120)) == 0, train.Text);
        }

        // 2. Served live.
        using var watch = Cli.Start("watch", run, "--port", "0");
        Uri url = await watch.UrlAsync();

        // 3. Driven in chromium.
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        });
        IPage page = await browser.NewPageAsync();
        var external = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(url.ToString(), StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                external.Add(request.Url);
            }
        };
        await page.GotoAsync(url.ToString());
        await ExpectText(page, "#title", "DqnAgent on CartPole-v1");

        // Frames arrive and change.
        long first = await WaitForFrameAbove(page, 0);
        string firstImage = (await page.GetAttributeAsync("#frame", "src"))!;
        Assert.StartsWith("data:image/png;base64,", firstImage, StringComparison.Ordinal);
        await WaitForFrameAbove(page, first + 3);
        await WaitForPictureOtherThan(page, firstImage, first);
        Assert.NotEqual("–", await page.TextContentAsync("#step"));

        // Pause: the button turns to Resume, and no new frame arrives.
        await page.ClickAsync("#pause");
        await ExpectText(page, "#pause", "Resume");
        await Task.Delay(400);
        long paused = await FrameNumber(page);
        await Task.Delay(1000);
        Assert.Equal(paused, await FrameNumber(page));

        // Step: exactly one more frame, still paused.
        await page.ClickAsync("#step-button");
        Assert.Equal(paused + 1, await WaitForFrameAbove(page, paused));
        await Task.Delay(500);
        Assert.Equal(paused + 1, await FrameNumber(page));
        Assert.Equal("Resume", (await page.TextContentAsync("#pause"))?.Trim());

        // Faster, then resume: frames flow again.
        await page.ClickAsync("#faster");
        await ExpectText(page, "#speed", "2×");
        await page.ClickAsync("#pause");
        await ExpectText(page, "#pause", "Pause");
        await WaitForFrameAbove(page, paused + 3);

        // The learning curve comes from the run's progress.csv; nothing was fetched from elsewhere.
        Assert.Contains("\"train\":[[", await page.EvaluateAsync<string>("fetch('/api/curve').then(r => r.text())"), StringComparison.Ordinal);
        Assert.Empty(external);

        // Its axes are labelled at round values that cover the data (CartPole returns, a constant curve, small losses).
        Assert.Equal("-100,0,100,200,300,400,500", await page.EvaluateAsync<string>("RlMemoryViewer.niceTicks(-3.7, 498.2, 5).values.join(',')"));
        Assert.Equal("22,22.5,23,23.5,24,24.5", await page.EvaluateAsync<string>("RlMemoryViewer.niceTicks(23.07, 23.07, 5).values.join(',')"));
        Assert.Equal("0.013,0.014,0.015,0.016,0.017,0.018|3", await page.EvaluateAsync<string>("(t => t.values.join(',') + '|' + t.decimals)(RlMemoryViewer.niceTicks(0.013, 0.0171, 5))"));
        Assert.Equal("0,10000,20000,30000,40000,50000", await page.EvaluateAsync<string>("RlMemoryViewer.niceTicks(1000, 50000, 5).values.join(',')"));

        // 4. Ctrl+C (SIGINT) stops the server cleanly.
        await browser.CloseAsync();
        watch.Signal("INT");
        Assert.True(await watch.WaitAsync(TimeSpan.FromSeconds(30)) == 0, watch.Text);
        Assert.Contains("Viewer stopped.", watch.Text, StringComparison.Ordinal);
    }

    private static async Task<long> FrameNumber(IPage page) =>
        long.Parse((await page.GetAttributeAsync("#frame", "data-frame"))!, System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<long> WaitForFrameAbove(IPage page, long number)
    {
        for (int i = 0; i < 300; i++)
        {
            long current = await FrameNumber(page);
            if (current > number)
            {
                return current;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No frame after {number} within 15 s.");
    }

    /// <summary>
    /// Waits (up to 15 s) for a picture that differs from <paramref name="image"/>. Two frames a few steps apart can be
    /// equal pixel for pixel (CartPole barely moves in its first steps, and the step counter is not in the picture), so
    /// the test asks for change over many frames rather than at one; a feed that repeats one picture still fails.
    /// </summary>
    private static async Task WaitForPictureOtherThan(IPage page, string image, long firstFrame)
    {
        for (int i = 0; i < 300; i++)
        {
            if (await page.GetAttributeAsync("#frame", "src") != image)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Frames {firstFrame} to {await FrameNumber(page)} all showed the same picture.");
    }

    private static async Task ExpectText(IPage page, string selector, string text)
    {
        for (int i = 0; i < 200 && (await page.TextContentAsync(selector))?.Trim() != text; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(text, (await page.TextContentAsync(selector))?.Trim());
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/")]
    private static partial Regex UrlPattern();

    /// <summary>An <c>rlmemory</c> process (the CLI project's build output).</summary>
    private sealed class Cli : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _text = new();

        private Cli(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public static Cli Start(params string[] args)
        {
            string dll = typeof(BrowserViewerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RlMemoryCli").Value!;
            string host = Path.ChangeExtension(dll, null);
            var start = File.Exists(host) ? new ProcessStartInfo(host) : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { ArgumentList = { dll } };
            foreach (string arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            return new Cli(Process.Start(start)!);
        }

        public async Task<Uri> UrlAsync()
        {
            for (int i = 0; i < 1200; i++)
            {
                Match match = UrlPattern().Match(Text);
                if (match.Success)
                {
                    return new Uri(match.Value);
                }

                Assert.False(_process.HasExited, $"rlmemory ended ({(_process.HasExited ? _process.ExitCode : 0)}) without serving: {Text}");
                await Task.Delay(50);
            }

            throw new TimeoutException($"rlmemory printed no viewer address within 60 s: {Text}");
        }

        public async Task<int> WaitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cancel.Token);
            return _process.ExitCode;
        }

        public void Signal(string signal)
        {
            using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_text)
                {
                    _text.AppendLine(line);
                }
            }
        }
    }
}
