using RlMemory.Agents;
using RlMemory.Environments;

namespace RlMemory.Tests.Viewer;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks = TimeSpan.TicksPerDay;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    public void AdvanceSeconds(double seconds) => Advance(TimeSpan.FromSeconds(seconds));
}

/// <summary>
/// An actor with a fake external memory of <see cref="Slots"/> slots and three traces: at its t-th step (from 1 since
/// a reset) it writes slot <c>(t - 1) mod N</c> (weight 1), reads slot <c>(t - 2) mod N</c> (0.5 at t = 1, when there
/// is nothing to read) and reports usage 1 for the slots written so far. It pushes CartPole's cart toward the pole.
/// </summary>
internal sealed class FakeMemoryActor(int environments, int slots = 8) : IEpisodeActor, IMemoryIntrospection
{
    private readonly int[] _steps = new int[environments];

    public int Slots { get; } = slots;

    public int Environments { get; } = environments;

    public int MemorySlots => Slots;

    public IReadOnlyList<string> TraceNames { get; } = [MemoryTraceNames.Write, MemoryTraceNames.Read(0), MemoryTraceNames.Usage];

    public int ActCalls { get; private set; }

    public bool Disposed { get; private set; }

    public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
    {
        int size = observations.Length / rows.Length;
        for (int k = 0; k < rows.Length; k++)
        {
            _steps[rows[k]]++;
            actions[k] = observations[(k * size) + Math.Min(2, size - 1)] > 0 ? 1 : 0;
        }

        ActCalls++;
    }

    public void Reset(int row) => _steps[row] = 0;

    public bool TryReadLastStep(int row, Span<float> destination)
    {
        if (destination.Length != TraceNames.Count * Slots)
        {
            throw new ArgumentException($"expected {TraceNames.Count * Slots} floats", nameof(destination));
        }

        int t = _steps[row];
        if (t == 0)
        {
            return false;
        }

        destination.Clear();
        destination[(t - 1) % Slots] = 1;
        if (t == 1)
        {
            destination[Slots + 0] = 0.5f;
        }
        else
        {
            destination[Slots + ((t - 2) % Slots)] = 1;
        }

        for (int s = 0; s < Math.Min(t, Slots); s++)
        {
            destination[(2 * Slots) + s] = 1;
        }

        return true;
    }

    public void Dispose() => Disposed = true;
}

/// <summary>An actor that always plays one action (no memory).</summary>
internal sealed class ConstantActor(int action = 1) : IEpisodeActor
{
    public int Environments => 1;

    public int Resets { get; private set; }

    public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions) => actions.Fill(action);

    public void Reset(int row) => Resets++;

    public void Dispose()
    {
    }
}

/// <summary>An environment without a picture (it does not implement IRenderable), registered as <see cref="Id"/>.</summary>
internal sealed class BlindEnv : Env<int>
{
    public const string Id = "ViewerTestBlind-v0";

    private int _t;

    public BlindEnv()
        : base(new Box(-1f, 1f, 4), new Discrete(2))
    {
    }

    public static void Register()
    {
        if (!EnvRegistry.IsRegistered(Id))
        {
            EnvRegistry.Register<int>(Id, _ => new BlindEnv(), maxEpisodeSteps: 50, description: "viewer tests: cannot render", replace: true);
        }
    }

    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        _t = 0;
        observation.Clear();
        return Info.Empty;
    }

    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _t++;
        observation.Clear();
        return new StepResult(1, _t >= 10, false);
    }
}

/// <summary>A temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rlmemory-viewer-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
