using RlMemory.Environments.Tests.Support;
using RlMemory.Environments.Vector;

namespace RlMemory.Environments.Tests.Vector;

/// <summary>Worker threads, failures inside them, and shutdown.</summary>
public sealed class ParallelVectorEnvTests
{
    private static CountingEnv[] Counting(int n) => [.. Enumerable.Range(0, n).Select(_ => new CountingEnv())];

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(-1)]
    public void Workers_MustBeBetweenOneAndTheNumberOfEnvironments(int workers)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("workers", () => new ParallelVectorEnv<int>(Counting(3), workers));
        Assert.Contains("between 1 and the number of environments (3)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workers_DefaultsToTheProcessorCountCappedByTheEnvironments()
    {
        using var one = new ParallelVectorEnv<int>(Counting(1));
        Assert.Equal(1, one.Workers);
        using var many = new ParallelVectorEnv<int>(Counting(64));
        Assert.Equal(Math.Min(Environment.ProcessorCount, 64), many.Workers);
    }

    [Fact]
    public void EachWorker_StepsAContiguousBlock_TheCallerTakingTheFirst()
    {
        // 7 environments over 3 workers: blocks [0, 2), [2, 4), [4, 7).
        var envs = Enumerable.Range(0, 7).Select(_ => new ThreadRecordingEnv()).ToArray();
        using (var vector = new ParallelVectorEnv<int>(envs, workers: 3))
        {
            vector.Reset(seed: 0);
            for (int t = 0; t < 5; t++)
            {
                vector.Step(new int[7]);
            }
        }

        Thread[] threads = [.. envs.Select(e => Assert.Single(e.Threads.Distinct()))];
        Assert.Same(Thread.CurrentThread, threads[0]);
        Assert.Same(threads[0], threads[1]);
        Assert.Same(threads[2], threads[3]);
        Assert.Same(threads[4], threads[5]);
        Assert.Same(threads[4], threads[6]);
        Assert.Equal(3, threads.Distinct().Count());
    }

    [Fact]
    public void Dispose_EndsTheWorkerThreads()
    {
        var envs = Enumerable.Range(0, 4).Select(_ => new ThreadRecordingEnv()).ToArray();
        var vector = new ParallelVectorEnv<int>(envs, workers: 4);
        vector.Reset(seed: 0);
        vector.Step(new int[4]);
        Thread[] workers = [.. envs.Skip(1).Select(e => e.Threads[0])];
        Assert.All(workers, w => Assert.NotSame(Thread.CurrentThread, w));
        Assert.All(workers, w => Assert.True(w.IsAlive));

        Assert.True(DisposesWithin(vector, TimeSpan.FromSeconds(10)), "Dispose did not return");
        Assert.All(workers, w => Assert.True(w.Join(TimeSpan.FromSeconds(10)), $"{w.Name} is still running"));
        Assert.All(envs, e => Assert.True(e.Disposed));
    }

    [Fact]
    public void Dispose_WithoutEverStepping_EndsTheWorkerThreads()
    {
        var vector = new ParallelVectorEnv<int>(Counting(3), workers: 3);
        Assert.True(DisposesWithin(vector, TimeSpan.FromSeconds(10)), "Dispose did not return");
    }

    [Theory]
    [InlineData(0)] // the caller's block, [0, 1)
    [InlineData(1)] // first in a worker's block, [1, 3)
    [InlineData(4)] // last in a worker's block, [3, 5)
    public void AnInvalidOperationInOneEnvironment_SurfacesOnTheCaller_WithItsIndex(int failing)
    {
        CountingEnv[] envs = Counting(5);
        envs[failing].BeforeStep = (t, _) =>
        {
            if (t == 3)
            {
                throw new InvalidOperationException("the simulator diverged");
            }
        };
        using var vector = new ParallelVectorEnv<int>(envs, workers: 3);
        vector.Reset(seed: 0);
        vector.Step(new int[5]);
        vector.Step(new int[5]);
        var e = Assert.Throws<InvalidOperationException>(() => vector.Step(new int[5]));
        Assert.Equal($"CountingEnv×5, environment {failing}: the simulator diverged", e.Message);
        Assert.Equal("the simulator diverged", e.InnerException!.Message);

        // Every other block finished its step before the exception was rethrown; within the failing block, the
        // environments after the failing one did not step.
        for (int i = 0; i < 5; i++)
        {
            bool sameBlockAfterFailure = (failing == 1 && i == 2) || (failing == 3 && i == 4);
            int expected = i == failing || sameBlockAfterFailure ? 2 : 3;
            Assert.Equal(expected, envs[i].StepCount);
        }
    }

    [Fact]
    public void AfterAFailure_ResetMakesTheVectorEnvUsableAgain()
    {
        CountingEnv[] envs = Counting(5);
        bool fail = true;
        envs[3].BeforeStep = (_, _) =>
        {
            if (fail)
            {
                throw new InvalidOperationException("transient");
            }
        };
        using var vector = new ParallelVectorEnv<int>(envs, workers: 3);
        using var reference = new SyncVectorEnv<int>(Counting(5));
        vector.Reset(seed: 0);
        Assert.Throws<InvalidOperationException>(() => vector.Step(new int[5]));

        fail = false;
        vector.Reset(seed: 9);
        reference.Reset(seed: 9);
        for (int t = 0; t < 20; t++)
        {
            int[] actions = [t % 3, 1, 2, 0, 1];
            vector.Step(actions);
            reference.Step(actions);
            Assert.Equal(reference.Rewards, vector.Rewards);
            for (int i = 0; i < 5; i++)
            {
                // Step count and reset draw (entry 1 counts resets, which differ: the vector env was reset twice).
                Assert.Equal(reference.Observation(i)[0], vector.Observation(i)[0]);
                Assert.Equal(reference.Observation(i)[2], vector.Observation(i)[2]);
            }
        }
    }

    [Fact]
    public void AnInvalidActionForAWorkersEnvironment_SurfacesAsArgumentException_WithItsIndex()
    {
        using var vector = new ParallelVectorEnv<int>(Counting(6), workers: 3);
        vector.Reset(seed: 0);
        var e = Assert.Throws<ArgumentException>(() => vector.Step([0, 0, 0, 0, 0, 7]));
        Assert.StartsWith("CountingEnv×6, environment 5: CountingEnv: action 7 is not in the action space Discrete(3)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherExceptionTypes_SurfaceUnchanged()
    {
        CountingEnv[] envs = Counting(4);
        var thrown = new DivideByZeroException("custom failure");
        envs[3].BeforeStep = (_, _) => throw thrown;
        using var vector = new ParallelVectorEnv<int>(envs, workers: 2);
        vector.Reset(seed: 0);
        var e = Assert.Throws<DivideByZeroException>(() => vector.Step(new int[4]));
        Assert.Same(thrown, e);
    }

    [Fact]
    public void WhenSeveralBlocksFail_TheLowestBlocksErrorSurfaces()
    {
        CountingEnv[] envs = Counting(6);
        envs[2].BeforeStep = (_, _) => throw new InvalidOperationException("two");
        envs[5].BeforeStep = (_, _) => throw new InvalidOperationException("five");
        using var vector = new ParallelVectorEnv<int>(envs, workers: 3);
        vector.Reset(seed: 0);
        var e = Assert.Throws<InvalidOperationException>(() => vector.Step(new int[6]));
        Assert.Equal("CountingEnv×6, environment 2: two", e.Message);
    }

    private static bool DisposesWithin(IDisposable disposable, TimeSpan timeout)
    {
        var disposer = new Thread(disposable.Dispose) { IsBackground = true };
        disposer.Start();
        return disposer.Join(timeout);
    }

    /// <summary>Records the thread of every step.</summary>
    private sealed class ThreadRecordingEnv() : Env<int>(new Box(0f, 1f, 1), new Discrete(1))
    {
        public List<Thread> Threads { get; } = [];

        public bool Disposed { get; private set; }

        public override void Dispose()
        {
            Disposed = true;
            base.Dispose();
        }

        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            observation[0] = 0;
            return Info.Empty;
        }

        protected override StepResult StepCore(int action, Span<float> observation)
        {
            Threads.Add(Thread.CurrentThread);
            observation[0] = 0;
            return new StepResult(0, false, false);
        }
    }
}
