using BenchmarkDotNet.Running;

// Run all suites:  dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- --filter '*'
// Run one suite:   dotnet run -c Release --project benchmarks/RlMemory.Benchmarks -- --filter '*EnvStep*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
