using System.Collections.Concurrent;
using System.Diagnostics;

namespace RlMemory.Distributed;

/// <summary>Where an actor process finds the run: its index, the run's id and the arguments that reach the cluster (<c>--gateway HOST:PORT</c> or <c>--redis HOST:PORT</c>).</summary>
public sealed record ActorLaunch(int Index, string RunId, IReadOnlyList<string> Connect)
{
    /// <summary>The arguments of <c>rlmemory</c> that start this actor.</summary>
    public IEnumerable<string> Arguments => ["cluster", "actor", .. Connect, "--run", RunId, "--index", Index.ToString(System.Globalization.CultureInfo.InvariantCulture)];
}

/// <summary>
/// Starts the run's actors as threads of this process or (with <see cref="DistributedOptions.ActorProcess"/>) as
/// processes, restarts an actor process that dies (up to <see cref="DistributedOptions.ActorRestarts"/> times each;
/// it rejoins the run where its predecessor last reported), and stops them all at the end.
/// </summary>
internal sealed class ActorSupervisor(DistributedOptions options, RunIdentity run, IReadOnlyList<string> connect, IGrainFactory grains, Func<bool> stopping) : IDisposable
{
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentQueue<Exception> _errors = new();
    private readonly List<Thread> _threads = [];
    private readonly Process?[] _processes = new Process?[options.Actors];
    private readonly int[] _restarts = new int[options.Actors];

    /// <summary>Actor processes restarted after dying.</summary>
    public int Restarts => _restarts.Sum();

    public void StartAll()
    {
        for (int i = 0; i < options.Actors && options.StartActors; i++)
        {
            Start(i);
        }
    }

    /// <summary>Restarts dead actor processes; an actor that died too often, or an actor thread's exception, stops the run (at <see cref="ThrowIfFailed"/>).</summary>
    public void Check()
    {
        if (!_errors.IsEmpty)
        {
            throw Failure();
        }

        for (int i = 0; i < _processes.Length; i++)
        {
            Process? p = _processes[i];
            if (p is null || !p.HasExited || p.ExitCode == 0 || stopping())
            {
                continue;
            }

            string why = $"actor {i} (process {p.Id}) exited with code {p.ExitCode}";
            p.Dispose();
            _processes[i] = null;
            if (_restarts[i] >= options.ActorRestarts)
            {
                _failures.Enqueue($"{why} after {_restarts[i]} restarts");
                throw Failure();
            }

            _restarts[i]++;
            Start(i);
        }
    }

    /// <summary>
    /// Stops the actors. Threads see the stop. Processes of a run that <paramref name="finished"/> (every actor done)
    /// get 10 s together to exit by themselves, then are killed; those of a run that was interrupted or failed are
    /// killed at once (they would act on until their share is done: waiting for them kept Ctrl+C waiting 10 s per
    /// actor). A killed actor loses its unsent batch, as any dead actor; a resumed run takes those steps again.
    /// </summary>
    public void StopAll(bool finished)
    {
        _threads.ForEach(t => t.Join());
        long deadline = Environment.TickCount64 + 10_000;
        foreach (Process? p in _processes)
        {
            if (p is null || (finished && p.WaitForExit(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)))))
            {
                continue;
            }

            p.Refresh();
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true); // a no-op if it exits in between
            }

            p.WaitForExit();
        }
    }

    public void ThrowIfFailed()
    {
        if (!_errors.IsEmpty || !_failures.IsEmpty)
        {
            throw Failure();
        }
    }

    public void Dispose()
    {
        foreach (Process? p in _processes)
        {
            if (p is not null && !p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }

            p?.Dispose();
        }
    }

    /// <summary>The actor process of index <paramref name="index"/>, for tests that kill one (null with actor threads).</summary>
    internal Process? ProcessOf(int index) => _processes[index];

    private InvalidOperationException Failure()
    {
        var failures = _failures.ToList();
        return new InvalidOperationException(
            $"The distributed run stopped: {string.Join("; ", failures)}",
            _errors.Count switch { 0 => null, 1 => _errors.First(), _ => new AggregateException(_errors) });
    }

    private void Start(int index)
    {
        if (options.ActorProcess is null)
        {
            var thread = new Thread(() =>
            {
                try
                {
                    DistributedActor.Run(grains, run, index, stopping);
                }
                catch (Exception e)
                {
                    _failures.Enqueue($"actor {index} failed: {e.Message}");
                    _errors.Enqueue(e);
                }
            })
            { IsBackground = true, Name = $"rlmemory actor {index}" };
            _threads.Add(thread);
            thread.Start();
            return;
        }

        ProcessStartInfo start = options.ActorProcess(new ActorLaunch(index, run.RunId, connect));
        _processes[index] = Process.Start(start) ?? throw new InvalidOperationException($"actor {index}: {start.FileName} did not start.");
    }
}
