using BenchmarkDotNet.Running;
using RlMemory.Benchmarks.Fuzzing;
using RlMemory.Benchmarks.Memory;
using RlMemory.Benchmarks.Training;

// Run all suites:  dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- --filter '*'
// Run one suite:   dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- --filter '*EnvStep*'
// Sequence replay: dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- --filter '*SequenceSample*' '*SequenceAddStep*'
// Memory core:    dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- --filter '*MemoryCore*'
// Replay memory:   dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- replay-memory
// Replay save/load: dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- replay-persistence
// DQN results:     dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- dqn-results [preset ...] [--seeds N] [--first-seed S] [--set key=value] [--env-option key=value]
// R2D2 results:    dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- r2d2-results [preset ...] [--seeds N] [--first-seed S] [--episodes N] [--set key=value] [--env-option key=value]
// PPO results:     dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- ppo-results [preset ...] [--seeds N] [--first-seed S] [--set key=value] [--env-option key=value]
// Distributed:     dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- distributed-results [preset] [--actors 1,2,4,8] [--seeds N] [--set key=value]
// Loader fuzzing:  dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- fuzz [agent|checkpoint|buffer|yaml ...] [--minutes M] [--seed S] [--out DIR] [--corpus DIR]
// Fuzz corpus:     dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- fuzz-corpus
// Interruptions:   dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- interrupt-stress [--trials N] [--seed S] [--cli PATH]
switch (args.FirstOrDefault())
{
    case "fuzz":
        return LoaderFuzzer.Run(args[1..]);
    case "fuzz-worker":
        return LoaderFuzzer.Worker(args[1..]);
    case "fuzz-replay":
        return LoaderFuzzer.Replay(args[1..]);
    case "interrupt-stress":
        return InterruptStress.Run(args[1..]);
    case "fuzz-corpus":
        return LoaderFuzzer.MakeCorpus(args[1..]);
    case "replay-memory":
        ReplayMeasurements.Memory();
        break;
    case "replay-persistence":
        ReplayMeasurements.Persistence();
        break;
    case "dqn-results":
        TrainingResults.Dqn(args[1..]);
        break;
    case "r2d2-results":
        R2d2Results.Run(args[1..]);
        break;
    case "ppo-results":
        PpoResults.Run(args[1..]);
        break;
    case "results":
        PresetResults.Run(args[1..]);
        break;
    case "distributed-results":
        DistributedResults.Run(args[1..]);
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        break;
}

return 0;
