using BenchmarkDotNet.Attributes;
using RlMemory.Environments;
using RlMemory.Environments.Vector;

namespace RlMemory.Benchmarks.Environments;

/// <summary>
/// One step of a single environment made by the registry (time limit included), with a random action drawn
/// beforehand; an episode end triggers a reset inside the measured loop, as in training. The classic-control
/// environments and the memory tasks with their default options (T-maze N = 10, card tasks easy, memory length 10,
/// copy task 10 bits). Reported per step. Reference: Gymnasium 1.0's CartPole-v1 step ≈ 6.3 µs on this machine.
/// </summary>
[MemoryDiagnoser]
public class SingleEnvStepBenchmarks
{
    private const int StepsPerInvoke = 1024;

    private EnvDriver _driver = null!;

    [Params(
        "CartPole-v1",
        "MountainCar-v0",
        "Acrobot-v1",
        "Pendulum-v1",
        "TMaze-v0",
        "RepeatFirst-v0",
        "RepeatPrevious-v0",
        "MemoryLength-v0",
        "CopyTask-v0")]
    public string Env { get; set; } = "CartPole-v1";

    [GlobalSetup]
    public void Setup() => _driver = EnvDriver.Create(Env, StepsPerInvoke);

    [GlobalCleanup]
    public void Cleanup() => _driver.Dispose();

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public double Step() => _driver.Run(StepsPerInvoke);
}

/// <summary>
/// One step of a 16-environment vector environment (sync: one thread; parallel: worker threads), autoreset
/// included. Reported per vector step (16 environment steps).
/// </summary>
[MemoryDiagnoser]
public class VectorEnvStepBenchmarks
{
    private const int NumEnvs = 16;
    private const int StepsPerInvoke = 256;

    private VectorDriver _driver = null!;

    [Params("CartPole-v1", "MountainCar-v0", "Acrobot-v1", "Pendulum-v1")]
    public string Env { get; set; } = "CartPole-v1";

    [Params(VectorMode.Sync, VectorMode.Parallel)]
    public VectorMode Mode { get; set; }

    [GlobalSetup]
    public void Setup() => _driver = VectorDriver.Create(Env, NumEnvs, Mode, StepsPerInvoke);

    [GlobalCleanup]
    public void Cleanup() => _driver.Dispose();

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public double VectorStep() => _driver.Run(StepsPerInvoke);
}

/// <summary>Steps one environment of either action type with pre-drawn random actions.</summary>
internal abstract class EnvDriver : IDisposable
{
    public static EnvDriver Create(string id, int actionCount) =>
        EnvRegistry.Spec(id).ActionType == typeof(int)
            ? new Driver<int>(EnvRegistry.Make<int>(id), actionCount)
            : new Driver<float[]>(EnvRegistry.Make<float[]>(id), actionCount);

    public abstract double Run(int steps);

    public abstract void Dispose();

    private sealed class Driver<TAction> : EnvDriver
    {
        private readonly IEnv<TAction> _env;
        private readonly TAction[] _actions;
        private readonly float[] _observation;

        public Driver(IEnv<TAction> env, int actionCount)
        {
            _env = env;
            _observation = new float[env.ObservationSpace.Size];
            var rng = new NumpyRandom(1);
            _actions = [.. Enumerable.Range(0, actionCount).Select(_ => env.ActionSpace.Sample(rng))];
            env.Reset(_observation, seed: 0);
        }

        public override double Run(int steps)
        {
            double total = 0;
            for (int i = 0; i < steps; i++)
            {
                StepResult r = _env.Step(_actions[i], _observation);
                total += r.Reward;
                if (r.Terminated || r.Truncated)
                {
                    _env.Reset(_observation);
                }
            }

            return total;
        }

        public override void Dispose() => _env.Dispose();
    }
}

/// <summary>Steps a vector environment of either action type with pre-drawn random actions.</summary>
internal abstract class VectorDriver : IDisposable
{
    public static VectorDriver Create(string id, int numEnvs, VectorMode mode, int steps) =>
        EnvRegistry.Spec(id).ActionType == typeof(int)
            ? new Driver<int>(EnvRegistry.MakeVector<int>(id, numEnvs, mode), steps)
            : new Driver<float[]>(EnvRegistry.MakeVector<float[]>(id, numEnvs, mode), steps);

    public abstract double Run(int steps);

    public abstract void Dispose();

    private sealed class Driver<TAction> : VectorDriver
    {
        private readonly VectorEnv<TAction> _env;
        private readonly TAction[][] _actions;

        public Driver(VectorEnv<TAction> env, int steps)
        {
            _env = env;
            var rng = new NumpyRandom(1);
            _actions = [.. Enumerable.Range(0, steps).Select(_ => Enumerable.Range(0, env.NumEnvs).Select(_ => env.SingleActionSpace.Sample(rng)).ToArray())];
            env.Reset(seed: 0);
        }

        public override double Run(int steps)
        {
            double total = 0;
            for (int i = 0; i < steps; i++)
            {
                _env.Step(_actions[i]);
                total += _env.Rewards[0];
            }

            return total;
        }

        public override void Dispose() => _env.Dispose();
    }
}
