namespace RlMemory.Memory;

/// <summary>
/// What a learner needs from a replay memory, whatever it stores (transitions: <see cref="ReplayBuffer"/>; sequences
/// with recurrent states: <see cref="SequenceReplayBuffer"/>): sampling, its size, episode boundaries and
/// saving. Writing is the buffer's own (<c>Add</c> takes a vector step, plus the recurrent state for sequences), and so
/// is a priority update (per transition, or per sequence from masked TD errors).
/// </summary>
/// <typeparam name="TBatch">What <see cref="Sample"/> returns; the caller owns and disposes it.</typeparam>
public interface IReplayBuffer<out TBatch> : IDisposable
    where TBatch : IDisposable
{
    /// <summary>A name for messages.</summary>
    string Name { get; }

    /// <summary>How many items (transitions or sequences) can be sampled.</summary>
    long Count { get; }

    /// <summary>Whether sampling is proportional to priorities (else uniform).</summary>
    bool Prioritized { get; }

    /// <summary>
    /// Draws <paramref name="batchSize"/> items. <paramref name="beta"/> is the importance-sampling exponent of
    /// prioritized sampling (ignored by uniform sampling).
    /// </summary>
    TBatch Sample(int batchSize, double beta);

    /// <summary>Tells the buffer the vector environment was reset outside <c>Add</c> (the running episodes were cut).</summary>
    void BeginNewEpisodes();

    /// <summary>Saves the buffer (contents, cursors, random state) into <paramref name="directory"/>, atomically.</summary>
    void Save(string directory);
}
