using System.Runtime.ExceptionServices;

namespace RlMemory.Environments.Vector;

/// <summary>
/// Steps the environments on worker threads, each owning a contiguous block of environments (the calling thread
/// takes the first block). Results are identical to <see cref="SyncVectorEnv{TAction}"/> for the same seeds and
/// actions: every environment runs the same calls in the same order, only on another thread. Use it when a step is
/// expensive (tens of microseconds or more); for classic control the hand-off costs more than the step.
/// Environments must tolerate being stepped from a thread other than the one that created them.
/// Dispose it when done: its worker threads wait for work (as background threads) until then.
/// </summary>
public sealed class ParallelVectorEnv<TAction> : VectorEnv<TAction>
{
    private readonly WorkerBlock[] _blocks;
    private readonly ManualResetEventSlim _allDone = new(false);
    private readonly TAction[] _actions;
    private int _pending;
    private Job _job;
    private int? _resetSeed;
    private EnvOptions? _resetOptions;

    /// <summary>Takes ownership of <paramref name="envs"/> and starts the workers.</summary>
    /// <param name="envs">The environments.</param>
    /// <param name="workers">Threads to use, the caller's included; defaults to min(processor count, number of environments).</param>
    public ParallelVectorEnv(IReadOnlyList<IEnv<TAction>> envs, int? workers = null)
        : base(envs)
    {
        int count = workers ?? Math.Min(Environment.ProcessorCount, NumEnvs);
        if (count < 1 || count > NumEnvs)
        {
            throw new ArgumentOutOfRangeException(nameof(workers), workers, $"{Name}: workers must be between 1 and the number of environments ({NumEnvs}).");
        }

        _actions = new TAction[NumEnvs];
        _blocks = new WorkerBlock[count];
        for (int w = 0; w < count; w++)
        {
            int start = (int)((long)NumEnvs * w / count);
            int end = (int)((long)NumEnvs * (w + 1) / count);
            _blocks[w] = new WorkerBlock(start, end);
        }

        // Block 0 runs on the caller's thread; the others get a dedicated background thread each.
        for (int w = 1; w < count; w++)
        {
            WorkerBlock block = _blocks[w];
            block.Thread = new Thread(() => WorkerLoop(block))
            {
                IsBackground = true,
                Name = $"RlMemory {Name} worker {w}",
            };
            block.Thread.Start();
        }
    }

    /// <summary>The number of threads stepping environments, the caller's included.</summary>
    public int Workers => _blocks.Length;

    private enum Job
    {
        Reset,
        Step,
        Exit,
    }

    /// <inheritdoc />
    protected override void ResetAll(int? seed, EnvOptions? options)
    {
        _resetSeed = seed;
        _resetOptions = options;
        Run(Job.Reset);
        _resetOptions = null;
    }

    /// <inheritdoc />
    protected override void StepAll(ReadOnlySpan<TAction> actions)
    {
        actions.CopyTo(_actions);
        Run(Job.Step);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _job = Job.Exit;
            for (int w = 1; w < _blocks.Length; w++)
            {
                _blocks[w].Go.Set();
            }

            for (int w = 1; w < _blocks.Length; w++)
            {
                _blocks[w].Thread?.Join();
                _blocks[w].Go.Dispose();
            }

            _blocks[0].Go.Dispose();
            _allDone.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Run(Job job)
    {
        _job = job;
        foreach (var b in _blocks)
        {
            b.Error = null;
        }

        if (_blocks.Length > 1)
        {
            _allDone.Reset();
            Volatile.Write(ref _pending, _blocks.Length - 1);
            for (int w = 1; w < _blocks.Length; w++)
            {
                _blocks[w].Go.Set();
            }
        }

        RunBlock(_blocks[0]);
        if (_blocks.Length > 1)
        {
            _allDone.Wait();
        }

        foreach (var b in _blocks)
        {
            if (b.Error is not null)
            {
                ExceptionDispatchInfo.Capture(b.Error).Throw();
            }
        }
    }

    private void WorkerLoop(WorkerBlock block)
    {
        while (true)
        {
            block.Go.Wait();
            block.Go.Reset();
            if (_job == Job.Exit)
            {
                return;
            }

            RunBlock(block);
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                _allDone.Set();
            }
        }
    }

    private void RunBlock(WorkerBlock block)
    {
        try
        {
            for (int i = block.Start; i < block.End; i++)
            {
                if (_job == Job.Reset)
                {
                    ResetOne(i, _resetSeed, _resetOptions);
                }
                else
                {
                    StepOne(i, _actions[i]);
                }
            }
        }
        catch (Exception e)
        {
            // Handed to the calling thread, which rethrows it from Run.
            block.Error = e;
        }
    }

    private sealed class WorkerBlock(int start, int end)
    {
        public int Start { get; } = start;

        public int End { get; } = end;

        public ManualResetEventSlim Go { get; } = new(false);

        public Thread? Thread { get; set; }

        public Exception? Error { get; set; }
    }
}
