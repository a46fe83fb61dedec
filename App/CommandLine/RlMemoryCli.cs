using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using RlMemory.Agents;
using RlMemory.App.Plots;
using RlMemory.App.Viewer;
using RlMemory.Distributed;
using RlMemory.Environments;
using RlMemory.Environments.Recording;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;
using RlMemory.Training.Dqn;

namespace RlMemory.App;

/// <summary>
/// The <c>rlmemory</c> command line: <c>train</c>, <c>eval</c>, <c>record</c>, <c>watch</c>, <c>random</c> and <c>list</c>.
/// Exit codes: 0 success; 1 invalid command line; 2 invalid input (bad preset, key, value, id, file or checkpoint);
/// 3 training diverged (a NaN or infinite loss, gradient, observation or reward; the last good state is checkpointed);
/// 4 an I/O failure (e.g. a full disk); 130 interrupted by Ctrl+C or SIGTERM (after writing a checkpoint).
/// Errors print one line on the error output.
/// </summary>
public static partial class RlMemoryCli
{
    /// <summary>Exit code: the command line could not be parsed.</summary>
    public const int InvalidCommandLine = 1;

    /// <summary>Exit code: the input (preset, key, value, id, file, checkpoint) is invalid.</summary>
    public const int InvalidInput = 2;

    /// <summary>Exit code: training diverged.</summary>
    public const int Diverged = 3;

    /// <summary>Exit code: reading or writing files failed.</summary>
    public const int IoFailure = 4;

    /// <summary>Exit code: interrupted (checkpoint written).</summary>
    public const int Interrupted = 130;

    /// <summary>The preset <c>rlmemory train</c> uses without an argument.</summary>
    public const string DefaultPreset = "dqn-cartpole";

    /// <summary>
    /// Runs <paramref name="args"/> as the <c>rlmemory</c> process: as <see cref="Run(string[], TextWriter?, TextWriter?, CancellationToken)"/>, except that a Ctrl+C or
    /// SIGTERM arriving after <c>train</c> or <c>watch</c> finished (while the process exits) no longer kills it, so
    /// the exit code stays the command's.
    /// </summary>
    public static int RunProcess(string[] args) => RunCommand(args, null, null, default, signalsOutliveRun: true);

    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/> (the console by default).</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default) =>
        RunCommand(args, output, error, cancellationToken, signalsOutliveRun: false);

    private static int RunCommand(string[] args, TextWriter? output, TextWriter? error, CancellationToken cancellationToken, bool signalsOutliveRun)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancellationToken = cancel.Token;
        var root = new RootCommand("RlMemory: reinforcement learning for .NET with memory at its centre.");
        root.Subcommands.Add(TrainCommand(args, output, error, cancellationToken));
        root.Subcommands.Add(EvalCommand(output, error));
        root.Subcommands.Add(RecordCommand(output, error));
        root.Subcommands.Add(WatchCommand(output, error, cancellationToken));
        root.Subcommands.Add(RandomCommand(output, error));
        root.Subcommands.Add(ListCommand(output, error));
        root.Subcommands.Add(ClusterCommand(output, error, cancellationToken));
        ParseResult parse = root.Parse(args);

        // Ctrl+C, SIGTERM and the rest reach .NET's handlers on another thread, never a thread inside a torch kernel.
        using IDisposable shield = TorchThreadSignals.Block();

        // train and watch stop cleanly on Ctrl+C or SIGTERM (train checkpoints first): from here on, not only once
        // their work has started, so that a signal during start-up also ends in a checkpoint and exit 130.
        using SignalHandlers? signals = parse.CommandResult.Command.Name is "train" or "watch" ? new SignalHandlers(cancel, signalsOutliveRun) : null;
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null });
    }

    private static Command TrainCommand(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken external)
    {
        var presetArgument = new Argument<string?>("preset")
        {
            Description = $"A preset name (see `rlmemory list presets`), a YAML file, or an rl-baselines3-zoo hyperparameter file (with --env). Default: {DefaultPreset}, or with --algo the shipped preset for --algo and --env.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var algo = new Option<string?>("--algo") { Description = "The algorithm: with a zoo file, the zoo's name (dqn, ppo, ppo_lstm, sac, td3; default: the file's name); without a preset, picks the shipped preset of that algorithm for --env." };
        var envId = new Option<string?>("--env") { Description = "The environment: the entry of a zoo file, or an override of the preset's env." };
        var confFile = new Option<string?>("--conf-file", "-conf", "-f") { Description = "An rl-baselines3-zoo hyperparameter file (hyperparams/dqn.yml, ppo.yml, ppo_lstm.yml, sac.yml, td3.yml), read as it is." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the run (overrides the preset's)." };
        var steps = new Option<long?>("--steps") { Description = "Total environment steps (overrides n_timesteps)." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N." };
        var outDir = new Option<string?>("--out") { Description = "Run folder for logs, checkpoints and models (default: runs/<preset>-seed<seed>)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest checkpoint." };
        var set = new Option<string[]>("--set") { Description = "Override a key: --set learning_rate=1e-3 (repeatable).", AllowMultipleArgumentsPerToken = true };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the final result." };
        var actors = new Option<int?>("--actors") { Description = "Distributed DQN or R2D2 (Ape-X / R2D2 layout) on a local Orleans silo: this many actor processes feed replay shards, one learner trains (dqn and r2d2 presets)." };
        var actorThreads = new Option<bool>("--actor-threads") { Description = "With --actors: run the actors as threads of this process instead of processes of their own." };
        var watch = new TrainingWatchOptions();
        var assemblies = new EnvAssemblyOption();
        var command = new Command("train", "Train an agent from a preset, a YAML file or an rl-baselines3-zoo hyperparameter file.")
        {
            presetArgument, algo, envId, confFile, seed, steps, device, outDir, resume, set, quiet, actors, actorThreads,
        };
        watch.AddTo(command);
        assemblies.AddTo(command);
        command.SetAction(parse => Guard(error, () =>
        {
            assemblies.Load(parse);
            Preset preset = ChoosePreset(parse.GetValue(presetArgument), parse.GetValue(confFile), parse.GetValue(algo), parse.GetValue(envId));
            foreach (string note in preset.Notes)
            {
                output.WriteLine($"note: {note}");
            }

            var overrides = new List<string>(parse.GetValue(set) ?? []);
            if (parse.GetValue(envId) is string envOverride && preset.Values.FirstOrDefault(kv => kv.Key == "env").Value as string != envOverride)
            {
                overrides.Insert(0, $"env={envOverride}");
            }

            if (parse.GetValue(seed) is int s)
            {
                overrides.Add($"seed={s}");
            }

            if (parse.GetValue(steps) is long n)
            {
                overrides.Add($"n_timesteps={n}");
            }

            if (parse.GetValue(device) is string d)
            {
                overrides.Add($"device={d}");
            }

            TrainerSetup setup = TrainerCatalog.Find(preset.Algo).Configure(preset, overrides);
            if (EnvAssemblies.AssemblyOf(setup.Config.Env) is string assembly)
            {
                // The run records where its environment comes from: eval, record, watch and --resume need no option.
                overrides.Add($"env={EnvAssemblies.Qualify(assembly, setup.Config.Env)}");
                setup = TrainerCatalog.Find(preset.Algo).Configure(preset, overrides);
            }

            RunConfig config = setup.Config;

            bool resuming = parse.GetValue(resume);
            string runDirectory = parse.GetValue(outDir) ?? Path.Combine("runs", $"{preset.Name}-seed{config.Seed}");
            if (!resuming && parse.GetValue(outDir) is null)
            {
                runDirectory = FreshFolder(runDirectory);
            }
            else if (!resuming && new CheckpointStore(runDirectory).HasCheckpoint)
            {
                throw new ConfigException($"{runDirectory} already holds a run; pass --resume to continue it, or choose another --out.");
            }

            if (resuming && parse.GetValue(set) is { Length: > 0 })
            {
                output.WriteLine("note: --set is ignored when resuming: the run keeps the configuration it was started with (--steps extends its budget).");
            }

            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(external);
            if (parse.GetValue(actors) is int actorCount)
            {
                return TrainDistributed(config, preset.Algo, actorCount, parse.GetValue(actorThreads), runDirectory, resuming, watch.Requested(parse), output, cancel.Token, () => ResumeCommand(args, runDirectory));
            }

            using TrainingViewer? viewer = watch.Create(parse, config, runDirectory, output);
            using ITrainer trainer = setup.Create(new TrainerOptions
            {
                RunDirectory = runDirectory,
                ResumeFrom = resuming ? runDirectory : null,
                KeepSavedBudget = parse.GetValue(steps) is null,
                Quiet = parse.GetValue(quiet),
                Display = new LiveProgress(ReferenceEquals(output, Console.Out) ? null : output),
                Callbacks = viewer is null ? [] : [viewer.Callback],
            });
            viewer?.Start(output, trainer);
            output.WriteLine(resuming
                ? $"Resuming {runDirectory} at step {trainer.Step:N0} of {trainer.TotalTimesteps:N0}."
                : $"Training {setup.Title} on {config.Env} (seed {config.Seed}, {config.TotalTimesteps:N0} steps); run folder {runDirectory}.");
            TrainingResult result = trainer.Learn(cancel.Token);
            LearningCurve.Save(Path.Combine(runDirectory, "learning_curve.png"), trainer.Title, trainer.EpisodeReturns, [.. trainer.Evaluations.Select(e => (e.Step, e.MeanReturn, e.StdReturn))]);
            if (result.Interrupted)
            {
                output.WriteLine($"Interrupted at step {result.Steps:N0}; checkpoint {result.CheckpointPath}. Resume with: {ResumeCommand(args, runDirectory)}");
                return Interrupted;
            }

            EvaluationResult final = result.FinalEvaluation!;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Final evaluation: mean return {final.MeanReturn:0.##} ± {final.StdReturn:0.##} over {final.Returns.Count} episodes at step {result.Steps:N0} ({result.Seconds:0.0} s, {result.StepsPerSecond:N0} steps/s{(result.StoppedEarly ? ", stopped early" : string.Empty)})."));
            output.WriteLine($"Models, logs (progress.csv, tensorboard/) and learning_curve.png are in {runDirectory}.");
            return 0;
        }));
        return command;
    }

    private static int TrainDistributed(RunConfig config, string algo, int actors, bool threads, string runDirectory, bool resuming, bool watching, TextWriter output, CancellationToken cancel, Func<string> resumeCommand)
    {
        if (watching)
        {
            throw new ConfigException("--actors cannot be combined with --watch or --window: the distributed run has no viewer yet.");
        }

        DistributedTrainer.RequireDistributed(config, algo);
        var trainer = new DistributedTrainer(config, new DistributedOptions { Actors = actors, RunDirectory = runDirectory, ActorProcess = threads ? null : ActorProcess, ResumeFrom = resuming ? runDirectory : null });
        config = trainer.Config;
        output.WriteLine(resuming
            ? $"Resuming distributed {trainer.Title} run {trainer.ResumedRunId} in {runDirectory} at step {trainer.ResumedAt.Steps:N0} of {config.TotalTimesteps:N0} (update {trainer.ResumedAt.Updates:N0}; {actors} actor {(threads ? "threads" : "processes")})."
            : $"Training distributed {trainer.Title} on {config.Env} (seed {config.Seed}, {config.TotalTimesteps:N0} steps, {actors} actor {(threads ? "threads" : "processes")}, samples per insert {trainer.TargetSamplesPerInsert:0.##}); run folder {runDirectory}.");
        DistributedResult result;
        try
        {
            result = trainer.Learn(cancel);
        }
        catch (OperationCanceledException) // Ctrl+C, or SIGTERM (the local silo's host stops the run)
        {
            output.WriteLine(trainer.LastCheckpoint is string saved
                ? $"Interrupted; learner checkpoint {saved}. Resume with: {resumeCommand()}"
                : "Interrupted before the learner's first update: nothing to resume; start the run again.");
            return Interrupted;
        }

        EvaluationResult final = result.FinalEvaluation;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Final evaluation: mean return {final.MeanReturn:0.##} ± {final.StdReturn:0.##} over {final.Returns.Count} episodes at step {result.EnvSteps:N0} ({result.Seconds:0.0} s, {result.EnvStepsPerSecond:N0} env steps/s, {result.UpdatesPerSecond:N0} updates/s, {result.SamplesPerInsert:0.##} samples per insert)."));
        output.WriteLine($"Model and logs (progress.csv, tensorboard/) are in {runDirectory}.");
        return 0;
    }

    /// <summary>This program started again as actor <see cref="ActorLaunch.Index"/> of a distributed run (<c>rlmemory cluster actor</c>).</summary>
    internal static System.Diagnostics.ProcessStartInfo ActorProcess(ActorLaunch launch)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown: actor processes cannot be started (use --actor-threads).");
        var start = new System.Diagnostics.ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(RlMemoryCli).Assembly.Location);
        }

        foreach (string a in launch.Arguments)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    private static Command ClusterCommand(TextWriter output, TextWriter error, CancellationToken external)
    {
        var redisHelp = "Redis holding the cluster's membership, host:port (several hosts).";

        var gateway = new Option<string?>("--gateway") { Description = "The silo's gateway, host:port (one machine; train --actors passes it)." };
        var redis = new Option<string?>("--redis") { Description = redisHelp };
        var run = new Option<string>("--run") { Description = "The run's id (the learner prints it).", Required = true };
        var index = new Option<int>("--index") { Description = "This actor's index (0 to actors − 1).", Required = true };
        var actor = new Command("actor", "Run one actor of a distributed run: join its cluster, act, send transitions, pull weights.") { gateway, redis, run, index };
        actor.SetAction(parse => Guard(error, () =>
        {
            switch (parse.GetValue(gateway), parse.GetValue(redis))
            {
                case (string g, null):
                    ActorProcessHost.Run(g, parse.GetValue(run)!, parse.GetValue(index), external);
                    break;
                case (null, string r):
                    ActorProcessHost.RunWithRedis(r, parse.GetValue(run)!, parse.GetValue(index), external);
                    break;
                default:
                    throw new ConfigException("cluster actor needs exactly one of --gateway HOST:PORT (one machine) and --redis HOST:PORT (several hosts).");
            }

            return 0;
        }));

        var siloRedis = new Option<string>("--redis") { Description = redisHelp, Required = true };
        var siloPort = new Option<int>("--silo-port") { Description = "Port silos talk on.", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port clients (learner, actors) connect to (0: none, a silo that only hosts grains; clients connect through the others).", DefaultValueFactory = _ => 30000 };
        var advertise = new Option<string?>("--advertise") { Description = "The address other hosts reach this silo at (default: this host's first IPv4 address)." };
        var silo = new Command("silo", "Host a silo of the cluster (replay shards, parameter store, run coordinators) until Ctrl+C.") { siloRedis, siloPort, gatewayPort, advertise };
        silo.SetAction(parse => Guard(error, () =>
        {
            using var host = ClusterHosts.StartSilo(parse.GetValue(siloRedis)!, parse.GetValue(siloPort), parse.GetValue(gatewayPort), parse.GetValue(advertise), external);
            output.WriteLine(parse.GetValue(gatewayPort) == 0
                ? $"Silo up (port {parse.GetValue(siloPort)}, no gateway, membership in Redis at {parse.GetValue(siloRedis)}); Ctrl+C stops it."
                : $"Silo up (ports {parse.GetValue(siloPort)} and {parse.GetValue(gatewayPort)}, membership in Redis at {parse.GetValue(siloRedis)}); Ctrl+C stops it.");
            output.Flush();
            // Until Ctrl+C, or until the host stops (SIGTERM: the host's console lifetime stops it).
            var lifetime = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>(host.Services);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(external, lifetime.ApplicationStopping);
            stop.Token.WaitHandle.WaitOne();

            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            return 0;
        }));

        var preset = new Argument<string>("preset") { Description = "A dqn or r2d2 preset, or YAML file." };
        var learnerRedis = new Option<string>("--redis") { Description = redisHelp, Required = true };
        var actors = new Option<int>("--actors") { Description = "Actors of the run.", Required = true };
        var startActors = new Option<bool>("--start-actors") { Description = "Start the actors as processes on this host (else start them yourself, on any host)." };
        var runId = new Option<string?>("--run") { Description = "The run's id (default: env-seed-random)." };
        var steps = new Option<long?>("--steps") { Description = "Total environment steps (overrides n_timesteps)." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the run." };
        var set = new Option<string[]>("--set") { Description = "Override a key (repeatable).", AllowMultipleArgumentsPerToken = true };
        var outDir = new Option<string?>("--out") { Description = "Run folder (default: runs/<preset>-seed<seed>)." };
        var resume = new Option<bool>("--resume") { Description = "Go on from the learner checkpoint in --out (after the learner died): same run id, configuration and actors." };
        var shardCheckpoints = new Option<long>("--shard-checkpoint-every") { Description = "Transitions a replay shard takes between its checkpoints (a shard whose silo dies comes back from its last one; 0: none).", DefaultValueFactory = _ => new DistributedOptions().ShardCheckpointEvery };
        var learner = new Command("learner", "Be the learner of a distributed DQN or R2D2 run on a Redis-membership cluster: configure the shards, train, write the run folder.")
        {
            preset, learnerRedis, actors, startActors, runId, steps, seed, set, outDir, resume, shardCheckpoints,
        };
        learner.SetAction(parse => Guard(error, () =>
        {
            var overrides = new List<string>(parse.GetValue(set) ?? []);
            if (parse.GetValue(steps) is long n)
            {
                overrides.Add($"n_timesteps={n}");
            }

            if (parse.GetValue(seed) is int sd)
            {
                overrides.Add($"seed={sd}");
            }

            Preset chosen = Presets.Load(parse.GetValue(preset)!);
            RunConfig config = TrainerCatalog.Find(chosen.Algo).Configure(chosen, overrides).Config;
            DistributedTrainer.RequireDistributed(config, chosen.Algo);

            string r = parse.GetValue(learnerRedis)!;
            string[] connect = ["--redis", r];
            bool resuming = parse.GetValue(resume);
            string? folder = parse.GetValue(outDir);
            if (resuming && folder is null)
            {
                throw new ConfigException("cluster learner --resume needs --out: the run folder that holds the learner's checkpoints.");
            }

            if (!resuming && folder is not null && new CheckpointStore(folder).HasCheckpoint)
            {
                throw new ConfigException($"{folder} already holds a run; pass --resume to continue it, or choose another --out.");
            }

            var trainer = new DistributedTrainer(config, new DistributedOptions
            {
                Actors = parse.GetValue(actors),
                RunDirectory = folder ?? FreshFolder(Path.Combine("runs", $"{chosen.Name}-seed{config.Seed}")),
                StartActors = parse.GetValue(startActors),
                ActorProcess = ActorProcess,
                ResumeFrom = resuming ? folder : null,
                ShardCheckpointEvery = parse.GetValue(shardCheckpoints),
            });
            string id = parse.GetValue(runId) ?? trainer.ResumedRunId ?? trainer.NewRunId();
            using var host = ClusterHosts.StartClient(r, "learner", external);
            output.WriteLine($"run id: {id}");
            if (resuming)
            {
                output.WriteLine($"Resuming at step {trainer.ResumedAt.Steps:N0} of {trainer.Config.TotalTimesteps:N0} (update {trainer.ResumedAt.Updates:N0}).");
            }

            if (!parse.GetValue(startActors))
            {
                output.WriteLine($"Start each actor I (0 to {parse.GetValue(actors) - 1}) on any host within 30 s: rlmemory cluster actor --redis {r} --run {id} --index I");
            }

            output.Flush();
            DistributedResult result;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(external, ClusterHosts.Stopping(host)); // Ctrl+C or SIGTERM
            try
            {
                result = trainer.Learn(ClusterHosts.Client(host), id, connect, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                output.WriteLine(trainer.LastCheckpoint is string saved
                    ? $"Interrupted; learner checkpoint {saved}. Resume with the same command, --out {Path.GetDirectoryName(Path.GetDirectoryName(saved))} and --resume."
                    : "Interrupted before the learner's first update: nothing to resume.");
                return Interrupted;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Final evaluation: mean return {result.FinalEvaluation.MeanReturn:0.##} ± {result.FinalEvaluation.StdReturn:0.##} at step {result.EnvSteps:N0} ({result.Seconds:0.0} s, {result.EnvStepsPerSecond:N0} env steps/s, {result.UpdatesPerSecond:N0} updates/s, {result.SamplesPerInsert:0.##} samples per insert)."));
            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            return 0;
        }));

        return new Command("cluster", "Roles of a distributed run: silo, learner, actor (train --actors N runs all of them on one machine).") { silo, learner, actor };
    }

    /// <summary>
    /// The command that resumes a run started with <paramref name="args"/> (the same preset, keys and budget), its
    /// arguments quoted for a POSIX shell, with <c>--out</c> naming <paramref name="runDirectory"/> and <c>--resume</c>.
    /// </summary>
    internal static string ResumeCommand(IReadOnlyList<string> args, string runDirectory)
    {
        var kept = args.Where(a => a != "--resume").ToList();
        if (!kept.Any(a => a == "--out" || a.StartsWith("--out=", StringComparison.Ordinal)))
        {
            kept.AddRange(["--out", runDirectory]);
        }

        kept.Add("--resume");
        return "rlmemory " + string.Join(' ', kept.Select(Quote));

        static string Quote(string arg) =>
            arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+".Contains(c, StringComparison.Ordinal))
                ? arg
                : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>
    /// The preset <c>train</c> runs: a zoo file (<c>--conf-file</c>, or a YAML file given as the preset that is in the
    /// zoo's format), a preset or YAML file, or with <c>--algo</c> alone the shipped preset of that algorithm for
    /// <c>--env</c>.
    /// </summary>
    private static Preset ChoosePreset(string? presetOrFile, string? zooFile, string? algo, string? env)
    {
        if (zooFile is not null)
        {
            if (presetOrFile is not null)
            {
                throw new ConfigException($"train takes a preset or --conf-file, not both (got '{presetOrFile}' and '{zooFile}').");
            }

            return ZooHyperparameters.Load(zooFile, algo, env);
        }

        if (presetOrFile is not null && File.Exists(presetOrFile) && ZooHyperparameters.IsZooFile(File.ReadAllText(presetOrFile)))
        {
            return ZooHyperparameters.Load(presetOrFile, algo, env);
        }

        if (presetOrFile is null && algo is not null)
        {
            string wanted = env ?? TrainerCatalog.Find(algo).DefaultEnv;
            return Presets.All.FirstOrDefault(p => p.Algo == algo && p.Values.Any(kv => kv.Key == "env" && kv.Value as string == wanted))
                ?? throw new ConfigException(
                    $"No shipped {algo} preset trains {wanted}; pass an rl-baselines3-zoo file with --conf-file, a YAML file, or one of: {string.Join(", ", Presets.All.Where(p => p.Algo == algo).Select(p => p.Name))}.");
        }

        Preset preset = Presets.Load(presetOrFile ?? DefaultPreset);
        if (algo is not null && algo != preset.Algo)
        {
            throw new ConfigException($"{preset.Source} is a '{preset.Algo}' configuration, but --algo says '{algo}'.");
        }

        return preset;
    }

    private static Command EvalCommand(TextWriter output, TextWriter error)
    {
        var source = new Argument<string>("agent") { Description = "An agent file (.rlagent) or a run folder (its best model, else its final model)." };
        var episodes = new Option<int>("--episodes", "-n") { Description = "Episodes to play.", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the first episode (episode k uses seed + k).", DefaultValueFactory = _ => Evaluator.SeedOffset };
        var env = new EnvironmentOptions();
        var command = new Command("eval", "Play deterministic (greedy) episodes with a trained agent and print the returns.") { source, episodes, seed };
        env.AddTo(command);
        command.SetAction(parse => Guard(error, () =>
        {
            int n = Positive(parse.GetValue(episodes), "--episodes");
            string sourcePath = parse.GetValue(source)!;
            using IAgent agent = AgentFile.Load(ResolveAgent(sourcePath, output));
            MklOnAmd.Apply();   // the kernels training used (libtorch is loaded now; no product has run yet)
            var (id, envOptions) = env.Resolve(parse, sourcePath, agent);
            int firstSeed = NonNegative(parse.GetValue(seed), "--seed");
            EvaluationResult r = agent is IContinuousAgent continuous
                ? Evaluate(continuous, () => EnvironmentOptions.Make<float[]>(id, envOptions), n, firstSeed)
                : Evaluate(EnvironmentOptions.Discrete(agent, "eval"), () => EnvironmentOptions.Make<int>(id, envOptions), n, firstSeed);
            for (int k = 0; k < r.Returns.Count; k++)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"episode {k + 1}: return {r.Returns[k]:0.###}, length {r.Lengths[k]}"));
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id}: mean return {r.MeanReturn:0.##} ± {r.StdReturn:0.##} over {n} episodes"));
            return 0;
        }));
        return command;
    }

    private static EvaluationResult Evaluate<TAction>(IAgent<TAction> agent, Func<IEnv<TAction>> make, int episodes, int seed)
    {
        using var evaluator = new Evaluator<TAction>(make, episodes, seed);
        using IEpisodeActor<TAction> actor = agent.Begin(episodes);
        return evaluator.Run(0, actor);
    }

    private static Command RecordCommand(TextWriter output, TextWriter error)
    {
        var source = new Argument<string>("agent") { Description = "An agent file (.rlagent) or a run folder." };
        var gif = new Option<string?>("--gif") { Description = "Write an animated GIF to this path." };
        var mp4 = new Option<string?>("--mp4") { Description = "Write an MP4 video to this path (needs ffmpeg)." };
        var episodes = new Option<int>("--episodes", "-n") { Description = "Episodes to record, one after another.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the first episode.", DefaultValueFactory = _ => Evaluator.SeedOffset };
        var env = new EnvironmentOptions();
        var withMemory = new Option<bool>("--with-memory") { Description = "Place the agent's external-memory heatmaps (read/write weights over time) beside the frames." };
        var command = new Command("record", "Record episodes of a trained agent to a GIF or an MP4.") { source, gif, mp4, episodes, seed, withMemory };
        env.AddTo(command);
        command.SetAction(parse => Guard(error, () =>
        {
            string? gifPath = parse.GetValue(gif);
            string? mp4Path = parse.GetValue(mp4);
            if ((gifPath is null) == (mp4Path is null))
            {
                throw new ConfigException("record needs exactly one of --gif <file.gif> or --mp4 <file.mp4>.");
            }

            string sourcePath = parse.GetValue(source)!;
            using IAgent agent = AgentFile.Load(ResolveAgent(sourcePath, output));
            MklOnAmd.Apply();   // the kernels training used (libtorch is loaded now; no product has run yet)
            var (id, envOptions) = env.Resolve(parse, sourcePath, agent);
            string path = gifPath ?? mp4Path!;
            int count = Positive(parse.GetValue(episodes), "--episodes");
            int firstSeed = NonNegative(parse.GetValue(seed), "--seed");
            RecordingResult result;
            if (agent is IContinuousAgent continuous)
            {
                if (parse.GetValue(withMemory))
                {
                    throw new ConfigException($"--with-memory draws an agent's external memory; this {agent.Kind} has none.");
                }

                using IEnv<float[]> environment = EnvironmentOptions.Make<float[]>(id, envOptions);
                using IEpisodeActor<float[]> actor = continuous.Begin(1);
                var action = new float[1][];
                result = EpisodeRecorder.Record(
                    environment,
                    obs =>
                    {
                        action[0] = new float[continuous.ActionSize];
                        actor.Act(obs, [0], action);
                        return action[0];
                    },
                    path,
                    count,
                    firstSeed,
                    episodeStarting: _ => actor.Reset(0));
            }
            else
            {
                IDiscreteAgent discrete = EnvironmentOptions.Discrete(agent, "record");
                using IEnv<int> environment = EnvironmentOptions.Make<int>(id, envOptions);
                using IEpisodeActor actor = discrete.Begin(1);
                using MemoryFrameComposer? memory = parse.GetValue(withMemory) ? MemoryComposerFor(actor, agent) : null;
                result = EpisodeRecorder.Record(
                    environment,
                    obs =>
                    {
                        Span<int> chosen = stackalloc int[1];
                        actor.Act(obs, [0], chosen);
                        memory?.AfterAct();
                        return chosen[0];
                    },
                    path,
                    count,
                    firstSeed,
                    episodeStarting: _ =>
                    {
                        actor.Reset(0);
                        memory?.EpisodeStarting();
                    },
                    composeFrame: memory is null ? null : memory.Compose);
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {result.Path}: {result.FrameCount} frames of {result.Width}×{result.Height} at {result.Fps} fps; returns {string.Join(", ", result.Episodes.Select(e => e.Return.ToString("0.##", CultureInfo.InvariantCulture)))}."));
            return 0;
        }));
        return command;
    }

    private static Command RandomCommand(TextWriter output, TextWriter error)
    {
        var env = new Argument<string>("env") { Description = "The environment id (see `rlmemory list envs`).", DefaultValueFactory = _ => "CartPole-v1" };
        var episodes = new Option<int>("--episodes", "-n") { Description = "Number of episodes to play.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the first episode (episode k uses seed + k) and of the random actions.", DefaultValueFactory = _ => Evaluator.SeedOffset };
        var envOption = new Option<string[]>("--env-option") { Description = "Set an environment option: --env-option corridor_length=50 (repeatable)." };
        var assemblies = new EnvAssemblyOption();
        var command = new Command("random", "Play episodes with uniformly random actions and print their returns.") { env, episodes, seed, envOption };
        assemblies.AddTo(command);
        command.SetAction(parse => Guard(error, () =>
        {
            assemblies.Load(parse);
            string id = parse.GetValue(env)!;
            int n = Positive(parse.GetValue(episodes), "--episodes");
            int s = NonNegative(parse.GetValue(seed), "--seed");
            EnvOptions options = EnvironmentOptions.Apply(parse.GetValue(envOption), new EnvOptions());
            using IEnv environment = EnvRegistry.Make(id, options.Count == 0 ? null : options);
            var results = RandomAgent.Play(environment, n, s);
            for (int k = 0; k < results.Count; k++)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id} random agent, episode {k + 1} (seed {s + k}): return {results[k].Return:0.###}, length {results[k].Length}"));
            }

            if (results.Count > 1)
            {
                double mean = results.Average(r => r.Return);
                double sd = Math.Sqrt(results.Sum(r => (r.Return - mean) * (r.Return - mean)) / results.Count);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean return over {results.Count} episodes: {mean:0.###} ± {sd:0.###}"));
            }

            return 0;
        }));
        return command;
    }

    private static Command ListCommand(TextWriter output, TextWriter error)
    {
        var what = new Argument<string>("what") { Description = "envs, presets, or keys (the configuration keys, with their defaults)." };
        what.AcceptOnlyFromAmong("envs", "presets", "keys");
        var algorithm = new Argument<string?>("algorithm")
        {
            Description = $"With keys: one algorithm ({string.Join(", ", TrainerCatalog.All.Select(d => d.Algo))}); default all.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var assemblies = new EnvAssemblyOption();
        var command = new Command("list", "List the registered environments, the shipped presets, or the configuration keys.") { what, algorithm };
        assemblies.AddTo(command);
        command.SetAction(parse => Guard(error, () =>
        {
            assemblies.Load(parse);
            if (parse.GetValue(what) == "keys")
            {
                string? only = parse.GetValue(algorithm);
                IEnumerable<TrainerDefinition> definitions = only is null ? TrainerCatalog.All : [TrainerCatalog.Find(only)];
                foreach (TrainerDefinition definition in definitions)
                {
                    output.WriteLine($"{definition.Algo} ({definition.Title}): key, default, meaning");
                    foreach (ConfigKey key in definition.DescribeKeys())
                    {
                        output.WriteLine($"  {key.Name,-26} {key.Default,-12} {key.Description}");
                    }
                }

                return 0;
            }

            if (parse.GetValue(algorithm) is string unexpected)
            {
                throw new ConfigException($"list {parse.GetValue(what)} takes no algorithm (got '{unexpected}'); the algorithm goes with `list keys`.");
            }

            if (parse.GetValue(what) == "presets")
            {
                Preset[] presets = [.. Presets.All];
                int width = presets.Max(p => p.Name.Length) + 1;
                foreach (Preset p in presets)
                {
                    output.WriteLine($"{p.Name.PadRight(width)} {p.Algo,-5} {p.Description}");
                }

                return 0;
            }

            foreach (EnvSpec spec in EnvRegistry.All)
            {
                string limit = spec.MaxEpisodeSteps is int m ? m.ToString(CultureInfo.InvariantCulture) : "-";
                string threshold = spec.RewardThreshold is double t ? t.ToString(CultureInfo.InvariantCulture) : "-";
                string actions = spec.ActionType == typeof(int) ? "discrete" : "continuous";
                output.WriteLine($"{spec.Id,-22} {actions,-10} max steps {limit,-5} solved at {threshold,-6} {spec.Description}");
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Runs a command body, turning errors a user can cause into one line and an exit code.</summary>
    private static int Guard(TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (TrainingDivergedException e)
        {
            error.WriteLine($"error: {e.Message}");
            return Diverged;
        }
        catch (CheckpointException e) when (e.InnerException is IOException)
        {
            error.WriteLine($"error: {e.Message}");
            return IoFailure;
        }
        catch (Exception e) when (e is ConfigException or CheckpointException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"error: {OneLine(e)}");
            return InvalidInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {e.Message}");
            return IoFailure;
        }
        catch (Exception e) when (e is OutOfMemoryException || (e is ExternalException && e.Message.Contains("allocate", StringComparison.OrdinalIgnoreCase)))
        {
            // An allocation that the configuration's estimate did not foresee (activations of a large batch, say).
            error.WriteLine($"error: out of memory ({OneLine(e).Split(" (", 2)[0]}); this machine has {MemoryBudget.Format(MemoryBudget.AvailableBytes())} available. Lower batch_size, the network sizes or the buffer size.");
            return InvalidInput;
        }
    }

    private static string OneLine(Exception e)
    {
        string message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : e.Message;
        return message.ReplaceLineEndings(" ");
    }

    /// <summary>The agent file named by <paramref name="source"/>; for a run folder, its best model, else its final one (said on <paramref name="output"/>).</summary>
    private static string ResolveAgent(string source, TextWriter output)
    {
        if (File.Exists(source))
        {
            return source;
        }

        if (Directory.Exists(source))
        {
            foreach (var (name, what) in new[] { ("best_model.rlagent", "the weights of its best evaluation"), ("final_model.rlagent", "the weights at its end; it has no best model") })
            {
                string path = Path.Combine(source, name);
                if (File.Exists(path))
                {
                    output.WriteLine($"Playing {path} ({what}).");
                    return path;
                }
            }

            throw new FileNotFoundException($"{source} holds no best_model.rlagent or final_model.rlagent; train first, or pass an agent file.");
        }

        throw new FileNotFoundException($"No agent file or run folder at '{source}'.");
    }

    private static string FreshFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return folder;
        }

        for (int k = 2; ; k++)
        {
            string candidate = $"{folder}-{k}";
            if (!Directory.Exists(candidate))
            {
                return candidate;
            }
        }
    }

    private static int Positive(int value, string option) =>
        value >= 1 ? value : throw new ConfigException($"{option} must be at least 1, got {value}.");

    private static int NonNegative(int value, string option) =>
        value >= 0 ? value : throw new ConfigException($"{option} must be non-negative, got {value}.");

    /// <summary>Cancels training on Ctrl+C and SIGTERM (the trainer then checkpoints and returns).</summary>
    /// <summary>
    /// Turns Ctrl+C and SIGTERM into cancellation of the run. Once the command has finished, a signal is absorbed
    /// instead: in the <c>rlmemory</c> process (<c>outliveRun</c>) the handlers stay registered until it exits, so a
    /// signal during its teardown cannot end it with 130 or 143 after the run's work is saved; in-process callers
    /// (tests) get their handlers back.
    /// </summary>
    private sealed class SignalHandlers : IDisposable
    {
        private readonly CancellationTokenSource _cancel;
        private readonly PosixSignalRegistration? _sigterm;
        private readonly bool _outliveRun;
        private readonly Lock _gate = new();
        private bool _finished;

        public SignalHandlers(CancellationTokenSource cancel, bool outliveRun)
        {
            _cancel = cancel;
            _outliveRun = outliveRun;
            Console.CancelKeyPress += OnCancelKeyPress;
            if (!OperatingSystem.IsWindows())
            {
                _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true;
                    CancelRun();
                });
            }
        }

        public void Dispose()
        {
            // The run's cancellation source is disposed next: no handler may touch it from here on.
            lock (_gate)
            {
                _finished = true;
            }

            if (!_outliveRun)
            {
                Console.CancelKeyPress -= OnCancelKeyPress;
                _sigterm?.Dispose();
            }
        }

        private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            CancelRun();
        }

        private void CancelRun()
        {
            lock (_gate)
            {
                if (!_finished)
                {
                    _cancel.Cancel();
                }
            }
        }
    }
}
