using System.Diagnostics;

namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Tracks each episode's return, length and duration (Gymnasium's <c>RecordEpisodeStatistics</c>). When an episode
/// ends, the step's info carries an <see cref="EpisodeStatistics"/> under <see cref="Info.EpisodeKey"/>
/// (<c>info.Episode</c>), and the statistics join the recent-episode queues.
/// </summary>
public sealed class RecordEpisodeStatistics<TAction> : Wrapper<TAction>
{
    private readonly Queue<EpisodeStatistics> _recent;
    private readonly int _bufferLength;
    private double _return;
    private int _length;
    private long _startTimestamp;

    /// <summary>Wraps <paramref name="inner"/>, keeping the last <paramref name="bufferLength"/> episodes.</summary>
    public RecordEpisodeStatistics(IEnv<TAction> inner, int bufferLength = 100)
        : base(inner)
    {
        if (bufferLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferLength), bufferLength, "RecordEpisodeStatistics: bufferLength must be at least 1.");
        }

        _bufferLength = bufferLength;
        _recent = new Queue<EpisodeStatistics>(bufferLength);
    }

    /// <summary>The number of episodes finished so far.</summary>
    public int EpisodeCount { get; private set; }

    /// <summary>The most recent finished episodes, oldest first.</summary>
    public IReadOnlyList<EpisodeStatistics> RecentEpisodes => [.. _recent];

    /// <summary>The return of the episode under way.</summary>
    public double CurrentReturn => _return;

    /// <summary>The length of the episode under way.</summary>
    public int CurrentLength => _length;

    /// <inheritdoc />
    public override Info Reset(Span<float> observation, int? seed = null, EnvOptions? options = null)
    {
        Info info = Inner.Reset(observation, seed, options);
        _return = 0;
        _length = 0;
        _startTimestamp = Stopwatch.GetTimestamp();
        return info;
    }

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(_return);
        writer.Write(_length);
        writer.Write(Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds);
        writer.Write(EpisodeCount);
        writer.Write(_recent.Count);
        foreach (var e in _recent)
        {
            writer.Write(e.Return);
            writer.Write(e.Length);
            writer.Write(e.Seconds);
        }
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        _return = reader.ReadDouble();
        _length = reader.ReadInt32();
        double elapsed = reader.ReadDouble();
        _startTimestamp = Stopwatch.GetTimestamp() - (long)(elapsed * Stopwatch.Frequency);
        EpisodeCount = reader.ReadInt32();
        int count = reader.ReadInt32();
        if (count < 0 || count > _bufferLength)
        {
            throw new InvalidDataException($"{Name}: the saved state holds {count} recent episodes; this wrapper keeps at most {_bufferLength}.");
        }

        _recent.Clear();
        for (int i = 0; i < count; i++)
        {
            _recent.Enqueue(new EpisodeStatistics(reader.ReadDouble(), reader.ReadInt32(), reader.ReadDouble()));
        }
    }

    /// <inheritdoc />
    public override StepResult Step(TAction action, Span<float> observation)
    {
        StepResult result = Inner.Step(action, observation);
        _return += result.Reward;
        _length++;
        if (!result.Done)
        {
            return result;
        }

        var stats = new EpisodeStatistics(_return, _length, Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds);
        if (_recent.Count == _bufferLength)
        {
            _recent.Dequeue();
        }

        _recent.Enqueue(stats);
        EpisodeCount++;
        return result.WithInfo(result.Info.With(Info.EpisodeKey, stats));
    }
}
