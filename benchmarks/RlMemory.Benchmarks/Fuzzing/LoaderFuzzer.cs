using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlMemory.Agents;
using RlMemory.Memory;
using RlMemory.Training;
using RlMemory.Training.Checkpoints;
using RlMemory.Training.Configuration;

namespace RlMemory.Benchmarks.Fuzzing;

/// <summary>
/// A mutation fuzzer for the loaders of files a user may be handed: agent files, checkpoints (manifest and files),
/// replay and rollout buffer files, and YAML configurations. Each execution mutates a file of the corpus (see
/// <see cref="Mutator"/>), hands it to the loader, and accepts only the loader's documented refusal
/// (<see cref="InvalidDataException"/>, <see cref="CheckpointException"/>, <see cref="ConfigException"/>) or success.
/// Any other exception is a finding; so is a worker process that dies (a native abort) or stops making progress.
/// </summary>
/// <remarks>
/// <c>fuzz [agent|checkpoint|buffer|yaml ...] [--minutes M] [--seed S] [--out DIR] [--corpus DIR]</c> runs each target for M minutes
/// (default 2) in a worker process, restarting it after a crash; findings go to <c>DIR/findings</c> (default
/// <c>fuzz-out</c>) with the input and the exception; the corpus is the repository's unless <c>--corpus</c> names a copy. <c>fuzz-corpus</c> regenerates the corpus in the repository
/// (<c>benchmarks/RlMemory.Benchmarks/Fuzzing/corpus</c>) from short training runs.
/// </remarks>
internal static class LoaderFuzzer
{
    private static readonly string[] Targets = ["agent", "checkpoint", "buffer", "yaml"];

    public static int Run(string[] args)
    {
        var targets = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        double minutes = CommandOptions.Number(args, "--minutes", 2.0);
        int seed = (int)CommandOptions.Number(args, "--seed", 1);
        string output = Path.GetFullPath(CommandOptions.Text(args, "--out") ?? "fuzz-out");
        if (targets.Count == 0)
        {
            targets = [.. Targets];
        }

        string? unknown = targets.FirstOrDefault(t => !Targets.Contains(t));
        if (unknown is not null)
        {
            Console.Error.WriteLine($"fuzz: unknown target '{unknown}'; targets: {string.Join(", ", Targets)}.");
            return 2;
        }

        string? corpus = CommandOptions.Text(args, "--corpus") ?? RepositoryCorpus();
        if (corpus is null || !Directory.Exists(corpus))
        {
            Console.Error.WriteLine($"fuzz: no corpus folder ({corpus ?? "no RlMemory.sln above " + AppContext.BaseDirectory}); run from the repository's build output or pass --corpus DIR.");
            return 2;
        }

        Directory.CreateDirectory(Path.Combine(output, "findings"));
        var summary = new List<string>();
        foreach (string target in targets)
        {
            summary.Add(Supervise(target, seed, TimeSpan.FromMinutes(minutes), output, corpus));
        }

        Console.WriteLine();
        foreach (string line in summary)
        {
            Console.WriteLine(line);
        }

        return 0;
    }

    /// <summary>Runs workers for <paramref name="target"/> until the time is spent, restarting after each crash.</summary>
    private static string Supervise(string target, int seed, TimeSpan budget, string output, string corpus)
    {
        var clock = Stopwatch.StartNew();
        long executions = 0, rejected = 0, accepted = 0;
        int findings = 0, crashes = 0, hangs = 0;
        string work = Path.Combine(output, "work", target);
        while (clock.Elapsed < budget)
        {
            Directory.CreateDirectory(work);
            string stats = Path.Combine(work, "stats.json");
            File.Delete(stats);
            double remaining = Math.Max(0.1, (budget - clock.Elapsed).TotalSeconds);
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                start.ArgumentList.Add(typeof(LoaderFuzzer).Assembly.Location);
            }

            foreach (string argument in new[] { "fuzz-worker", target, (seed + crashes + hangs).ToString(CultureInfo.InvariantCulture), remaining.ToString(CultureInfo.InvariantCulture), output, corpus })
            {
                start.ArgumentList.Add(argument);
            }

            using Process worker = Process.Start(start)!;
            var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
            worker.OutputDataReceived += (_, _) => { };
            worker.ErrorDataReceived += (_, line) =>
            {
                if (line.Data is not null)
                {
                    errors.Enqueue(line.Data);
                    while (errors.Count > 40)
                    {
                        errors.TryDequeue(out string? _);
                    }
                }
            };
            worker.BeginOutputReadLine();
            worker.BeginErrorReadLine();
            DateTime lastProgress = DateTime.UtcNow;
            long lastExecutions = -1;
            bool hung = false;
            while (!worker.WaitForExit(1000))
            {
                long now = ReadStats(stats).Executions;
                if (now != lastExecutions)
                {
                    (lastExecutions, lastProgress) = (now, DateTime.UtcNow);
                }
                else if (DateTime.UtcNow - lastProgress > TimeSpan.FromSeconds(60))
                {
                    worker.Kill(entireProcessTree: true);
                    worker.WaitForExit();
                    hung = true;
                    break;
                }
            }

            var (e, r, a, f) = ReadStats(stats);
            (executions, rejected, accepted, findings) = (executions + e, rejected + r, accepted + a, findings + f);
            if (hung || worker.ExitCode != 0)
            {
                string kind = hung ? "hang" : $"crash (exit {worker.ExitCode})";
                (crashes, hangs) = hung ? (crashes, hangs + 1) : (crashes + 1, hangs);
                string keep = Path.Combine(output, "findings", $"{target}-{(hung ? "hang" : "crash")}-{crashes + hangs}");
                CopyInput(Path.Combine(work, "input"), keep);
                File.WriteAllText(Path.Combine(keep, "finding.txt"), $"{kind} at {ReadText(Path.Combine(work, "mutation.txt"))}\n{string.Join('\n', errors)}\n");
                Console.WriteLine($"{target}: {kind}; input kept in {keep}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{target}: {executions:N0} executions in {clock.Elapsed.TotalMinutes:0.0} min ({executions / Math.Max(1, clock.Elapsed.TotalSeconds):0}/s): {rejected:N0} refused as documented, {accepted:N0} loaded, {findings} unexpected exceptions, {crashes} crashes, {hangs} hangs.");
    }

    /// <summary>The worker: mutates and loads until the deadline, writing its statistics every second.</summary>
    public static int Worker(string[] args)
    {
        string target = args[0];
        var random = new Random(int.Parse(args[1], CultureInfo.InvariantCulture));
        var deadline = DateTime.UtcNow.AddSeconds(double.Parse(args[2], CultureInfo.InvariantCulture));
        string output = args[3];
        string work = Path.Combine(output, "work", target);
        string input = Path.Combine(work, "input");
        var mutator = new Mutator(random);
        string corpus = args[4];
        long executions = 0, rejected = 0, accepted = 0;
        int findings = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tick = Stopwatch.StartNew();
        TorchSharp.torch.set_num_threads(1);

        // RLMEMORY_FUZZ_HISTORY=1 logs every input's mutation (to find what ran before a crash that needs a history).
        using StreamWriter? history = Environment.GetEnvironmentVariable("RLMEMORY_FUZZ_HISTORY") == "1"
            ? new StreamWriter(Path.Combine(work, "history.txt")) { AutoFlush = true }
            : null;
        while (DateTime.UtcNow < deadline)
        {
            File.WriteAllText(Path.Combine(work, "mutation.txt"), "preparing the input (mutating a corpus file)");
            string mutation;
            try
            {
                mutation = Prepare(target, corpus, input, mutator, random);
            }
            catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException)
            {
                continue; // the mutation itself could not be written (an infinite number, say): try another
            }

            File.WriteAllText(Path.Combine(work, "mutation.txt"), "loading the input in this folder; mutation: " + mutation);
            history?.WriteLine($"{executions} {mutation}");
            try
            {
                Execute(target, input);
                accepted++;
            }
            catch (Exception e) when (e is InvalidDataException or CheckpointException or ConfigException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                findings++;
                string signature = $"{e.GetType().Name} at {e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("RlMemory", StringComparison.Ordinal))?.Trim()}";
                if (seen.Add(signature))
                {
                    string keep = Path.Combine(output, "findings", $"{target}-{Convert.ToHexString(XxHash3.Hash(System.Text.Encoding.UTF8.GetBytes(signature)))[..12]}");
                    CopyInput(input, keep);
                    File.WriteAllText(Path.Combine(keep, "finding.txt"), $"mutation: {mutation}\n{e}\n");
                    Console.WriteLine($"{target}: {signature}");
                }
            }

            executions++;
            if (tick.ElapsedMilliseconds > 1000)
            {
                WriteStats(Path.Combine(work, "stats.json"), executions, rejected, accepted, findings);
                tick.Restart();
            }
        }

        WriteStats(Path.Combine(work, "stats.json"), executions, rejected, accepted, findings);
        return 0;
    }

    /// <summary>Loads one kept input again (<c>fuzz-replay TARGET FOLDER</c>) and prints what happens.</summary>
    public static int Replay(string[] args)
    {
        try
        {
            Execute(args[0], args[1]);
            Console.WriteLine("loaded");
        }
        catch (Exception e) when (e is InvalidDataException or CheckpointException or ConfigException)
        {
            Console.WriteLine($"refused as documented: {e.Message}");
        }

        return 0;
    }

    /// <summary>Copies a random corpus entry of <paramref name="target"/> to <paramref name="input"/> and mutates it; returns what was changed.</summary>
    private static string Prepare(string target, string corpus, string input, Mutator mutator, Random random)
    {
        if (Directory.Exists(input))
        {
            Directory.Delete(input, recursive: true);
        }

        Directory.CreateDirectory(input);
        switch (target)
        {
            case "agent":
                {
                    string[] agents = Directory.GetFiles(Path.Combine(corpus, "agent"), "*.rlagent");
                    string source = agents[random.Next(agents.Length)];
                    string path = Path.Combine(input, "agent.rlagent");
                    File.Copy(source, path);
                    return $"{Path.GetFileName(source)}: {mutator.MutateBufferFile(path)}";
                }

            case "buffer":
                {
                    string[] buffers = Directory.GetFiles(Path.Combine(corpus, "checkpoint"), "*.rlmb", SearchOption.AllDirectories)
                        .Where(f => Path.GetFileName(f) is ReplayBufferFile.UniformFileName or ReplayBufferFile.PrioritizedFileName or SequenceReplayBuffer.FileName or RolloutBuffer.FileName)
                        .ToArray();
                    string source = buffers[random.Next(buffers.Length)];
                    string path = Path.Combine(input, Path.GetFileName(source));
                    File.Copy(source, path);
                    return $"{Path.GetRelativePath(corpus, source)}: {mutator.MutateBufferFile(path)}";
                }

            case "checkpoint":
                {
                    string[] checkpoints = Directory.GetDirectories(Path.Combine(corpus, "checkpoint"));
                    string source = checkpoints[random.Next(checkpoints.Length)];
                    CopyInput(source, input);
                    string manifest = Path.Combine(input, CheckpointStore.ManifestName);
                    string what;
                    string[] files = Directory.GetFiles(input, "*", SearchOption.AllDirectories)
                        .Where(f => !Path.GetFileName(f).StartsWith("checkpoint.json", StringComparison.Ordinal)).ToArray();
                    if (random.Next(2) == 0 || files.Length == 0)
                    {
                        // The manifest's values (state, config, file list), with its hash rewritten.
                        File.WriteAllText(manifest, mutator.MutateJson(File.ReadAllText(manifest)));
                        what = "manifest";
                    }
                    else
                    {
                        string file = files[random.Next(files.Length)];
                        what = file.EndsWith(".rlmb", StringComparison.Ordinal)
                            ? $"{Path.GetRelativePath(input, file)}: {mutator.MutateBufferFile(file)}"
                            : $"{Path.GetRelativePath(input, file)}: {MutateBytes(file, random)}";
                        RehashFile(manifest, input, file);
                    }

                    if (random.Next(10) != 0)
                    {
                        File.WriteAllText(Path.Combine(input, CheckpointStore.ManifestHashName), Hash(manifest) + "\n");
                    }

                    return $"{Path.GetFileName(source)}: {what}";
                }

            default:
                {
                    string[] texts = [.. Directory.GetFiles(Path.Combine(corpus, "yaml"), "*.y*ml").Select(File.ReadAllText), .. Presets.Names.Select(PresetText)];
                    string text = texts[random.Next(texts.Length)];
                    File.WriteAllText(Path.Combine(input, "config.yaml"), mutator.MutateText(text, texts));
                    return "yaml";
                }
        }
    }

    private static void Execute(string target, string input)
    {
        switch (target)
        {
            case "agent":
                using (AgentFile.Load(Path.Combine(input, "agent.rlagent")))
                {
                }

                break;
            case "buffer":
                string file = Directory.GetFiles(input, "*.rlmb").Single();
                IDisposable loaded = Path.GetFileName(file) switch
                {
                    ReplayBufferFile.UniformFileName => ReplayBuffer.Load(input),
                    ReplayBufferFile.PrioritizedFileName => ReplayBuffer.Load(input),
                    SequenceReplayBuffer.FileName => SequenceReplayBuffer.Load(input),
                    _ => RolloutBuffer.Load(input),
                };
                loaded.Dispose();
                break;
            case "checkpoint":
                string algo = JsonNode.Parse(File.ReadAllText(Path.Combine(input, CheckpointStore.ManifestName)))?["algo"] is JsonValue v && v.TryGetValue(out string? a) ? a : "dqn";
                TrainerDefinition definition = TrainerCatalog.All.FirstOrDefault(d => d.Algo == algo) ?? TrainerCatalog.All[0];
                Preset preset = Presets.All.First(p => p.Algo == definition.Algo);
                using (definition.Configure(preset, []).Create(new TrainerOptions { Quiet = true, ResumeFrom = input, KeepSavedBudget = true }))
                {
                }

                break;
            default:
                string path = Path.Combine(input, "config.yaml");
                string text = File.ReadAllText(path);
                Preset parsed = ZooHyperparameters.IsZooFile(text) ? ZooHyperparameters.Parse(text, path, "dqn", null) : Presets.Parse(text, "fuzz", path);
                TrainerCatalog.Find(parsed.Algo).Configure(parsed, []);
                break;
        }
    }

    /// <summary>Regenerates the corpus: agents, checkpoints (with their replay, sequence and rollout buffers) from short runs.</summary>
    public static int MakeCorpus(string[] args)
    {
        string corpus = CommandOptions.Text(args, "--corpus") ?? RepositoryCorpus() ?? throw new DirectoryNotFoundException("RlMemory.sln not found above the benchmarks' folder; pass --corpus DIR.");
        foreach (string folder in new[] { "agent", "checkpoint" })
        {
            string path = Path.Combine(corpus, folder);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }

            Directory.CreateDirectory(path);
        }

        (string Name, string Preset, string[] Set)[] runs =
        [
            ("dqn", "dqn-cartpole", ["n_timesteps=400", "buffer_size=64", "learning_starts=100", "net_arch=[8, 8]", "eval_episodes=1"]),
            ("dqn-prioritized", "dqn-cartpole", ["n_timesteps=400", "buffer_size=64", "learning_starts=100", "net_arch=[8]", "prioritized=true", "n_steps=3", "eval_episodes=1"]),
            ("r2d2-lstm", "r2d2-tmaze", ["n_timesteps=400", "buffer_size=40", "batch_size=8", "learning_starts=100", "encoder_sizes=[8]", "hidden_size=8", "eval_episodes=1"]),
            ("r2d2-memory", "r2d2-tmaze-memory", ["n_timesteps=400", "buffer_size=40", "batch_size=8", "learning_starts=100", "encoder_sizes=[8]", "hidden_size=8", "memory_slots=4", "memory_width=4", "eval_episodes=1"]),
            ("ppo-mlp", "ppo-cartpole", ["n_timesteps=256", "n_envs=2", "n_steps=16", "batch_size=8", "net_arch=[8]", "eval_episodes=1"]),
            ("ppo-lstm", "ppo-cartpole-novel", ["n_timesteps=256", "n_envs=2", "n_steps=16", "batch_size=16", "hidden_size=8", "net_arch=[8]", "eval_episodes=1"]),
        ];
        string scratch = Path.Combine(Path.GetTempPath(), $"rlmemory-corpus-{Guid.NewGuid():N}");
        try
        {
            foreach (var (name, presetName, set) in runs)
            {
                string run = Path.Combine(scratch, name);
                TrainerSetup setup = TrainerCatalog.Configure(presetName, [.. set, "eval_freq=0", "seed=1"]);
                using (ITrainer trainer = setup.Create(new TrainerOptions { Quiet = true, RunDirectory = run, TensorBoard = false }))
                {
                    trainer.Learn();
                }

                File.Copy(Path.Combine(run, "final_model.rlagent"), Path.Combine(corpus, "agent", name + ".rlagent"));
                CopyInput(new CheckpointStore(run).Latest!, Path.Combine(corpus, "checkpoint", name));
                Console.WriteLine($"corpus: {name}");
            }
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }

        return 0;
    }

    private static string MutateBytes(string path, Random random)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0)
        {
            return "empty";
        }

        if (random.Next(4) == 0)
        {
            Array.Resize(ref bytes, random.Next(bytes.Length));
            File.WriteAllBytes(path, bytes);
            return $"truncated to {bytes.Length}";
        }

        int at = random.Next(bytes.Length);
        bytes[at] = (byte)random.Next(256);
        File.WriteAllBytes(path, bytes);
        return $"byte {at}";
    }

    /// <summary>Rewrites <paramref name="file"/>'s hash in the manifest, as someone crafting a checkpoint would.</summary>
    private static void RehashFile(string manifest, string folder, string file)
    {
        JsonNode? root = JsonNode.Parse(File.ReadAllText(manifest));
        if (root?["files"] is JsonObject files)
        {
            files[Path.GetRelativePath(folder, file).Replace('\\', '/')] = Hash(file);
            File.WriteAllText(manifest, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
    }

    private static string Hash(string path) => Convert.ToHexString(XxHash3.Hash(File.ReadAllBytes(path))).ToLowerInvariant();

    private static string PresetText(string name)
    {
        using Stream stream = typeof(Presets).Assembly.GetManifestResourceStream($"RlMemory.Training.Presets.{name}.yaml")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static void CopyInput(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        if (!Directory.Exists(source))
        {
            return;
        }

        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    private static (long Executions, long Rejected, long Accepted, int Findings) ReadStats(string path)
    {
        try
        {
            JsonNode? s = JsonNode.Parse(File.ReadAllText(path));
            return ((long)s!["executions"]!, (long)s["rejected"]!, (long)s["accepted"]!, (int)s["findings"]!);
        }
        catch (Exception e) when (e is IOException or JsonException or NullReferenceException)
        {
            return (0, 0, 0, 0);
        }
    }

    private static void WriteStats(string path, long executions, long rejected, long accepted, int findings)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, new JsonObject { ["executions"] = executions, ["rejected"] = rejected, ["accepted"] = accepted, ["findings"] = findings }.ToJsonString());
        File.Move(temp, path, overwrite: true);
    }

    private static string ReadText(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "unknown";

    /// <summary>The corpus in the repository above the build output, or null outside a repository.</summary>
    private static string? RepositoryCorpus() =>
        CommandOptions.RepositoryRoot() is string root ? Path.Combine(root, "benchmarks", "RlMemory.Benchmarks", "Fuzzing", "corpus") : null;
}
