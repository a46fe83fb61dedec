using System.CommandLine;
using RlMemory.Agents;
using RlMemory.App.Viewer;
using RlMemory.Environments;
using RlMemory.Training;
using RlMemory.Training.Configuration;
using RlMemory.Training.Logging;

namespace RlMemory.App;

/// <summary>The viewer's commands and options: <c>watch</c>, <c>train --watch</c> and <c>record --with-memory</c>.</summary>
public static partial class RlMemoryCli
{
    private const string NonLoopbackWarning =
        "warning: the viewer is bound to {0}, so anyone who can reach this machine on that port can watch and pause it (it has no login); bind to 127.0.0.1 unless you mean that.";

    private static Command WatchCommand(TextWriter output, TextWriter error, CancellationToken external)
    {
        var source = new Argument<string>("agent") { Description = "An agent file (.rlagent) or a run folder (its best model, else its final model; a newer file is picked up between episodes)." };
        var env = new EnvironmentOptions();
        var seed = new Option<int>("--seed") { Description = "Seed of the first episode (episode k uses seed + k).", DefaultValueFactory = _ => Evaluator.SeedOffset };
        var port = new Option<int>("--port") { Description = "Port of the browser viewer (0: any free port).", DefaultValueFactory = _ => ViewerServerOptions.DefaultPort };
        var address = new Option<string>("--address") { Description = "Address to serve on. Default 127.0.0.1 (this machine only); anything else exposes the viewer to the network.", DefaultValueFactory = _ => "127.0.0.1" };
        var speed = new Option<double>("--speed") { Description = "Playback speed (1: the environment's natural speed; rounded to a power of two in [1/8, 64]).", DefaultValueFactory = _ => 1.0 };
        var window = new Option<bool>("--window") { Description = "Play in a desktop window (needs the raylib library) instead of the browser." };
        var paused = new Option<bool>("--paused") { Description = "Start paused at the first episode's first picture (space plays, right arrow steps)." };
        var withMemory = new Option<bool>("--with-memory") { Description = "Insist on the memory heatmaps beside the picture (shown anyway for agents with external memory; refused for others)." };
        var command = new Command("watch", "Watch an agent play, live, in the browser (or a desktop window with --window), episode after episode.")
        {
            source, seed, port, address, speed, window, paused, withMemory,
        };
        env.AddTo(command);
        command.SetAction(parse => Guard(error, () =>
        {
            string sourcePath = parse.GetValue(source)!;
            string agentPath = ResolveAgent(sourcePath, output);
            using var agents = new AgentReloader(agentPath);
            var (id, envOptions) = env.Resolve(parse, sourcePath, agents.Agent);
            using var player = EpisodePlayer.For(agents.Agent, EnvironmentOptions.Make(id, envOptions), NonNegative(parse.GetValue(seed), "--seed"), ownsEnv: true);
            double speedFactor = parse.GetValue(speed);
            if (!(speedFactor > 0 && double.IsFinite(speedFactor)))
            {
                throw new ConfigException($"--speed must be a positive number, got {speedFactor}.");
            }

            if (parse.GetValue(withMemory) && player.MemoryPanel is null)
            {
                throw NoMemory(agents.Agent);
            }

            var clock = new PlaybackClock(player.Fps, paused: parse.GetValue(paused));
            clock.SetSpeed(speedFactor);
            string title = $"{agents.Agent.Kind} on {id}";
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(external);

            if (parse.GetValue(window))
            {
                int width = player.Frame.Width + (player.MemoryPanel?.Width ?? 0);
                int height = Math.Max(player.Frame.Height, player.MemoryPanel?.Height ?? 0);
                using IViewerWindow desktop = DesktopViewer.OpenWindow(width, height, $"RlMemory: {title}");
                output.WriteLine($"Playing {title} in a window: space pauses, right arrow steps, up/down change the speed; Esc or Q closes it.");
                ViewerSession session = DesktopViewer.Run(desktop, player, clock, title, agents.NextAgent, cancel.Token);
                output.WriteLine(session.ToString());
                return 0;
            }

            var feed = new LiveFeed();
            var loop = new WatchLoop(player, clock, feed, title) { NextAgent = agents.NextAgent };
            var options = new ViewerServerOptions
            {
                Address = parse.GetValue(address)!,
                Port = parse.GetValue(port),
                ProgressCsv = ProgressFileFor(sourcePath, agentPath),
            };
            ViewerServer server = ViewerServer.StartAsync(feed, clock, options, cancel.Token).GetAwaiter().GetResult();
            try
            {
                output.WriteLine($"Watching {title} at {server.Url} (open it in a browser; Ctrl+C stops).");
                if (!server.IsLoopback)
                {
                    output.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, NonLoopbackWarning, options.Address));
                }

                loop.Run(cancel.Token);
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            output.WriteLine("Viewer stopped.");
            return 0;
        }));
        return command;
    }

    /// <summary>The learning curve's source: the run folder's progress.csv (which may appear later), or the one beside an agent file.</summary>
    private static string? ProgressFileFor(string source, string agentPath)
    {
        if (Directory.Exists(source))
        {
            return Path.Combine(source, RunLog.CsvFileName);
        }

        string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(agentPath)) ?? ".", RunLog.CsvFileName);
        return File.Exists(beside) ? beside : null;
    }

    private static MemoryFrameComposer MemoryComposerFor(IEpisodeActor actor, IAgent agent) =>
        actor is IMemoryIntrospection memory
            ? new MemoryFrameComposer(memory)
            : throw NoMemory(agent);

    private static ConfigException NoMemory(IAgent agent) =>
        new($"--with-memory needs an agent with external memory, and this {agent.Kind} has none (it reports no memory read/write weights); leave out --with-memory.");

    /// <summary><c>train</c>'s viewer options: <c>--watch</c>, <c>--watch-port</c>, <c>--watch-address</c>.</summary>
    private sealed class TrainingWatchOptions
    {
        private readonly Option<bool> _watch = new("--watch")
        {
            Description = "Serve a live view of the training in the browser: episodes played with the current weights, the learning curve, pause/step/speed.",
        };

        private readonly Option<int> _port = new("--watch-port")
        {
            Description = "Port of the training viewer (0: any free port).",
            DefaultValueFactory = _ => ViewerServerOptions.DefaultPort,
        };

        private readonly Option<string> _address = new("--watch-address")
        {
            Description = "Address of the training viewer. Default 127.0.0.1 (this machine only); anything else exposes it to the network.",
            DefaultValueFactory = _ => "127.0.0.1",
        };

        private readonly Option<bool> _window = new("--window")
        {
            Description = "Watch the training in a desktop window (needs the raylib library) instead of the browser; implies --watch.",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(_watch);
            command.Options.Add(_port);
            command.Options.Add(_address);
            command.Options.Add(_window);
        }

        /// <summary>Whether --watch or --window was given.</summary>
        public bool Requested(ParseResult parse) => parse.GetValue(_watch) || parse.GetValue(_window);

        /// <summary>The viewer for this run, or null without --watch or --window.</summary>
        public TrainingViewer? Create(ParseResult parse, RunConfig config, string runDirectory, TextWriter output) =>
            parse.GetValue(_window)
                ? new TrainingViewer(config, output)
                : parse.GetValue(_watch)
                ? new TrainingViewer(config, new ViewerServerOptions
                {
                    Address = parse.GetValue(_address)!,
                    Port = parse.GetValue(_port),
                    ProgressCsv = Path.Combine(runDirectory, RunLog.CsvFileName),
                    PortOption = "--watch-port",
                    AddressOption = "--watch-address",

                    // Half the standalone viewer's rate: each picture costs the machine that trains a drawing and a PNG.
                    MinFrameInterval = TimeSpan.FromSeconds(1.0 / 15),
                })
                : null;
    }

    /// <summary>
    /// The viewer of a training run: the callback that plays showcase episodes, and the browser's server or the
    /// desktop window.
    /// </summary>
    private sealed class TrainingViewer : IDisposable
    {
        private readonly LiveFeed _feed = new();
        private readonly ViewerServerOptions? _options;
        private readonly TrainingWindow? _window;
        private ViewerServer? _server;

        public TrainingViewer(RunConfig config, ViewerServerOptions options)
        {
            ViewerServer.ParseAddress(options.Address, options.AddressOption);
            _options = options;

            // The showcase environment is made like the training one, with the run's env_options.
            var envOptions = new EnvOptions(config.EnvOptions);
            var watch = new TrainingWatch(() => EnvRegistry.Make(config.Env, envOptions), _feed);
            Callback = watch;
            Clock = watch.Clock;
        }

        public TrainingViewer(RunConfig config, TextWriter output)
        {
            var envOptions = new EnvOptions(config.EnvOptions);
            _window = new TrainingWindow(() => EnvRegistry.Make(config.Env, envOptions), DesktopViewer.OpenWindow, output);
            Callback = _window;
        }

        public TrainingCallback Callback { get; }

        private PlaybackClock? Clock { get; }

        /// <summary>Starts the server, or opens the window (on this thread, which trains).</summary>
        public void Start(TextWriter output, ITrainer trainer)
        {
            if (_window is not null)
            {
                _window.Open(trainer);
                output.WriteLine("Watching the training in a window: space pauses, right arrow steps, up/down change the speed; Esc or Q closes it (training goes on).");
                return;
            }

            _server = ViewerServer.StartAsync(_feed, Clock!, _options!).GetAwaiter().GetResult();
            output.WriteLine($"Watch the training at {_server.Url} (the viewer stops when training ends).");
            if (!_server.IsLoopback)
            {
                output.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, NonLoopbackWarning, _options!.Address));
            }
        }

        public void Dispose()
        {
            _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ((IDisposable)Callback).Dispose();
        }
    }

    /// <summary>The agent being watched, reloaded between episodes when its file is replaced (a run still training).</summary>
    private sealed class AgentReloader : IDisposable
    {
        private readonly string _path;
        private readonly List<IDisposable> _retired = [];
        private DateTime _stamp;

        public AgentReloader(string path)
        {
            _path = path;
            _stamp = File.GetLastWriteTimeUtc(path);
            Agent = AgentFile.Load(path);
            if (Agent is not (IDiscreteAgent or IContinuousAgent))
            {
                string kind = Agent.Kind;
                Agent.Dispose();
                throw new ConfigException($"watch plays agents with discrete or continuous actions; this {kind} is neither.");
            }

            MklOnAmd.Apply();   // the kernels training used (libtorch is loaded now; no product has run yet)
        }

        public IAgent Agent { get; private set; }

        /// <summary>A newer agent of the same action type if the file changed since it was loaded (and loads cleanly), else null.</summary>
        public IAgent? NextAgent()
        {
            DisposeRetired();
            DateTime stamp;
            IAgent agent;
            try
            {
                stamp = File.GetLastWriteTimeUtc(_path);
                if (stamp <= _stamp)
                {
                    return null;
                }

                agent = AgentFile.Load(_path);
                if ((agent is IDiscreteAgent) != (Agent is IDiscreteAgent) || (agent is IContinuousAgent) != (Agent is IContinuousAgent))
                {
                    agent.Dispose();
                    return null;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                return null;
            }

            // The old agent's actor is the player's, disposed when it takes the new one; the old agent goes next time.
            _stamp = stamp;
            _retired.Add(Agent);
            Agent = agent;
            return Agent;
        }

        public void Dispose()
        {
            Agent.Dispose();
            DisposeRetired();
        }

        private void DisposeRetired()
        {
            foreach (IDisposable retired in _retired)
            {
                retired.Dispose();
            }

            _retired.Clear();
        }
    }
}
