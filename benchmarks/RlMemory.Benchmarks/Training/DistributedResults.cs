using System.Diagnostics;
using System.Globalization;
using RlMemory.Distributed;
using RlMemory.Training;
using RlMemory.Training.Configuration;

namespace RlMemory.Benchmarks.Training;

/// <summary>
/// Distributed DQN or R2D2 against the single-process trainer on the same preset: for each actor count, one distributed run,
/// then (alternating) one single-process run; env steps/s, learner updates/s, measured samples per insert against the
/// target, the median latency of a weights version reaching an actor, payload bytes per transition, final return, and
/// the machine's CPU time per 1,000 environment steps (busy time of all cores from /proc/stat, so actor processes
/// count: the "per core" comparison, on an otherwise idle machine); with actor processes also the learner process's
/// CPU per update and the actors' CPU per 1,000 steps, and from them the projection for more cores (the learner's
/// ceiling and the actor cores that reach it). Long runs: a benchmark, not a test.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- distributed-results [preset] [--actors 1,2,4,8] [--cli PATH] [--seeds N] [--first-seed S] [--set key=value ...]</c>
/// (a dqn or r2d2 preset, default dqn-cartpole; actors 1, 2, 4, 8; one seed). With <c>--cli</c> (the rlmemory program or its .dll) the
/// actors are processes (<c>rlmemory cluster actor</c>); without it, threads of this process.
/// </remarks>
internal static class DistributedResults
{
    public static void Run(string[] args)
    {
        int[] actorCounts = [1, 2, 4, 8];
        string? cli = null;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--actors")
            {
                actorCounts = [.. args[++i].Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture))];
            }
            else if (args[i] == "--cli")
            {
                cli = Path.GetFullPath(args[++i]);
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        ResultsOptions options = ResultsOptions.Parse([.. rest], defaultSeeds: 1);
        string preset = options.Presets.FirstOrDefault() ?? "dqn-cartpole";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; load average at start: {ResultsOptions.LoadAverage()}");
        Console.WriteLine("| run | seed | env steps | final eval | env steps/s | updates/s | samples/insert (target) | weights latency | bytes/item | CPU s per 1k steps | learner process CPU ms per update | actors' CPU s per 1k steps |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var projections = new List<string>();
        for (int seed = options.FirstSeed; seed < options.FirstSeed + options.Seeds; seed++)
        {
            Preset chosen = Presets.Load(preset);
            TrainerSetup setup = TrainerCatalog.Find(chosen.Algo).Configure(chosen, [.. options.Overrides, $"seed={seed}"]);
            RunConfig config = setup.Config;
            foreach (int actors in actorCounts)
            {
                double cpu = BusySeconds();
                double own = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                DistributedResult d = new DistributedTrainer(config, new DistributedOptions { Actors = actors, ActorProcess = cli is null ? null : launch => Launch(cli, launch) }).Learn();
                double machine = BusySeconds() - cpu;
                double learnerProcess = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - own;
                double cpuPerK = machine * 1000 / d.EnvSteps;

                // With actor processes, this process is the silo and the learner; the rest of the machine's busy time is
                // the actors' (on an otherwise idle machine). With actor threads the two cannot be told apart.
                double learnerMsPerUpdate = cli is null ? double.NaN : learnerProcess * 1000 / d.Updates;
                double actorsPerK = cli is null ? double.NaN : (machine - learnerProcess) * 1000 / d.EnvSteps;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| distributed, {actors} actor {(cli is null ? "thread" : "process")}{(actors == 1 ? string.Empty : cli is null ? "s" : "es")} | {seed} | {d.EnvSteps:N0} | {d.FinalEvaluation.MeanReturn:0.#} | {d.EnvStepsPerSecond:N0} | {d.UpdatesPerSecond:N0} | {d.SamplesPerInsert:0.0} ({d.TargetSamplesPerInsert:0.#}) | {d.WeightLatencyMs:0.0} ms | {d.BytesPerTransition:0} | {cpuPerK:0.00} | {learnerMsPerUpdate:0.00} | {actorsPerK:0.00} |"));
                if (cli is not null)
                {
                    // The projection for more cores: one learner (one thread, at most 1 / its CPU per update updates/s)
                    // bounds the run at the preset's environment steps per update; each actor process adds
                    // 1,000 / its CPU per 1,000 steps per core it gets.
                    double stepsPerUpdate = (double)d.EnvSteps / d.Updates;
                    double learnerCeiling = 1000 / learnerMsPerUpdate * stepsPerUpdate;
                    double perActorCore = 1000 / actorsPerK;
                    projections.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{actors} actor process(es), seed {seed}: the learner's ceiling {learnerCeiling:N0} env steps/s ({1000 / learnerMsPerUpdate:N0} updates/s on its core × {stepsPerUpdate:0.0} steps per update); an actor core gives {perActorCore:N0} env steps/s, so about {Math.Ceiling(learnerCeiling / perActorCore):0} actor cores reach the ceiling, {Math.Ceiling(learnerCeiling / perActorCore) + 1:0} cores in all."));
                }

                cpu = BusySeconds();
                ITrainer single = setup.Create(new TrainerOptions { Quiet = true });
                using var owned = single as IDisposable;
                TrainingResult s = single.Learn();
                cpuPerK = (BusySeconds() - cpu) * 1000 / s.Steps;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| single process | {seed} | {s.Steps:N0} | {s.FinalEvaluation!.MeanReturn:0.#} | {s.StepsPerSecond:N0} | {single.Updates / s.Seconds:N0} | | | | {cpuPerK:0.00} | | |"));
            }
        }

        foreach (string p in projections)
        {
            Console.WriteLine(p);
        }
    }

    private static ProcessStartInfo Launch(string cli, ActorLaunch launch)
    {
        bool dll = cli.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(dll ? "dotnet" : cli) { UseShellExecute = false };
        if (dll)
        {
            start.ArgumentList.Add(cli);
        }

        foreach (string a in launch.Arguments)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>Busy seconds of all cores since boot (/proc/stat: user, nice, system, irq, softirq, steal).</summary>
    private static double BusySeconds()
    {
        string[] f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long busy = long.Parse(f[1], CultureInfo.InvariantCulture) + long.Parse(f[2], CultureInfo.InvariantCulture) + long.Parse(f[3], CultureInfo.InvariantCulture)
            + long.Parse(f[6], CultureInfo.InvariantCulture) + long.Parse(f[7], CultureInfo.InvariantCulture) + long.Parse(f[8], CultureInfo.InvariantCulture);
        return busy / 100.0; // USER_HZ
    }
}
