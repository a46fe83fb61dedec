namespace RlMemory.Distributed;

/// <summary>
/// Which run a message belongs to and the wire protocol it speaks. Every message carries one; a grain configured for
/// another run or protocol refuses it with a <see cref="RunMismatchException"/> naming both.
/// </summary>
/// <param name="RunId">The run's id (its run folder's name and a random suffix, chosen by the learner).</param>
/// <param name="Protocol">The wire protocol's version (<see cref="Current"/>).</param>
[GenerateSerializer]
[Alias("RlMemory.Distributed.RunIdentity")]
public sealed record RunIdentity([property: Id(0)] string RunId, [property: Id(1)] int Protocol)
{
    /// <summary>The protocol this build speaks; raised when a message's meaning changes.</summary>
    public const int CurrentProtocol = 4;

    /// <summary>A run of this build's protocol.</summary>
    public static RunIdentity Current(string runId) => new(runId, CurrentProtocol);

    /// <summary>Throws unless <paramref name="other"/> is this run and protocol; <paramref name="where"/> names the receiver.</summary>
    /// <exception cref="RunMismatchException">A different run or protocol.</exception>
    public void Require(RunIdentity? other, string where)
    {
        if (other is null)
        {
            throw new RunMismatchException($"{where}: a message without a run identity was refused (this is run '{RunId}', protocol {Protocol}).");
        }

        if (other.Protocol != Protocol)
        {
            throw new RunMismatchException($"{where}: a message of protocol {other.Protocol} was refused; this is run '{RunId}' with protocol {Protocol} (actors, learner and silos must run the same RlMemory version).");
        }

        if (!string.Equals(other.RunId, RunId, StringComparison.Ordinal))
        {
            throw new RunMismatchException($"{where}: a message of run '{other.RunId}' was refused; this is run '{RunId}' (an actor or learner of another run is connected to this cluster).");
        }
    }
}

/// <summary>
/// A replay shard was asked for transitions, or given some, before the learner configured it: a new activation, e.g.
/// after its silo died (the learner configures it again, and it comes back from its checkpoint).
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ShardNotConfiguredException")]
public sealed class ShardNotConfiguredException : InvalidOperationException
{
    public ShardNotConfiguredException()
    {
    }

    public ShardNotConfiguredException(string message)
        : base(message)
    {
    }

    public ShardNotConfiguredException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// A run's coordinator was asked about a run it does not hold: the learner has not started it yet, or the coordinator's
/// silo died and a new activation took its place (the learner starts it again from what it knows).
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.RunNotStartedException")]
public sealed class RunNotStartedException : InvalidOperationException
{
    public RunNotStartedException()
    {
    }

    public RunNotStartedException(string message)
        : base(message)
    {
    }

    public RunNotStartedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>A message from another run or protocol version was refused.</summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.RunMismatchException")]
public sealed class RunMismatchException : Exception
{
    public RunMismatchException()
    {
    }

    public RunMismatchException(string message)
        : base(message)
    {
    }

    public RunMismatchException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Complete transitions with discrete actions (their n-step returns assembled by the actor), flattened: observations
/// and next observations <c>Count × ObservationSize</c>, the rest <c>Count</c> values each. For prioritized shards,
/// <see cref="Priorities"/> holds each transition's initial priority: the |TD error| the actor computed with its copy of
/// the network (Ape-X).
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.TransitionBatchMessage")]
[Immutable] // never changed after it is made: Orleans passes it between grains and clients of one process without a copy
public sealed record TransitionBatchMessage(
    [property: Id(0)] RunIdentity Run,
    [property: Id(1)] string Actor,
    [property: Id(2)] long Sequence,
    [property: Id(3)] int Count,
    [property: Id(4)] float[] Observations,
    [property: Id(5)] int[] Actions,
    [property: Id(6)] double[] Rewards,
    [property: Id(7)] float[] NextObservations,
    [property: Id(8)] bool[] Terminated,
    [property: Id(9)] double[] Discounts,
    [property: Id(10)] double[]? Priorities = null)
{
    /// <summary>Payload bytes of one transition on the wire, less framing: two observations of float32, an int action, a double reward and discount, a bool flag.</summary>
    public static int BytesPerTransition(int observationSize) => (2 * sizeof(float) * observationSize) + sizeof(int) + (2 * sizeof(double)) + sizeof(bool);

    /// <summary>Throws when the arrays do not hold <see cref="Count"/> transitions of <paramref name="observationSize"/> floats or a value is not finite.</summary>
    /// <exception cref="ArgumentException">Names the field and what it holds.</exception>
    public void Check(int observationSize, int actionCount)
    {
        if (Count < 1 || Observations.Length != Count * observationSize || NextObservations.Length != Count * observationSize
            || Actions.Length != Count || Rewards.Length != Count || Terminated.Length != Count || Discounts.Length != Count)
        {
            throw new ArgumentException($"Batch {Sequence} of actor {Actor}: {Count} transitions of {observationSize} observation floats need {Count * observationSize} observation and next-observation floats and {Count} actions, rewards, flags and discounts; got {Observations.Length}, {NextObservations.Length}, {Actions.Length}, {Rewards.Length}, {Terminated.Length}, {Discounts.Length}.");
        }

        int bad = Array.FindIndex(Actions, a => a < 0 || a >= actionCount);
        if (bad >= 0)
        {
            throw new ArgumentException($"Batch {Sequence} of actor {Actor}: action {Actions[bad]} of transition {bad} is not in [0, {actionCount}).");
        }
    }
}

/// <summary>
/// Complete R2D2 sequences cut by an actor, flattened: <see cref="Count"/> rows of <see cref="Width"/> floats in the
/// sequence replay's table layout (observations of the T steps and the one after, actions, rewards, terminated and
/// truncated flags, mask), each sequence's valid steps, and the recurrent state the actor had before each sequence's
/// first step (one array per state part, <c>Count × part size</c> floats). <see cref="Steps"/> is what the batch counts
/// for in the shards' rate limiters: the environment steps its actor took since its previous batch (sequences overlap,
/// and episodes shorter than the minimum length give none, so the sequence count does not say how much was played).
/// For prioritized shards, <see cref="Priorities"/> holds each sequence's initial priority, R2D2's
/// <c>η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c> over its learning steps under the actor's copy of the network.
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.SequenceBatchMessage")]
[Immutable] // never changed after it is made: Orleans passes it between grains and clients of one process without a copy
public sealed record SequenceBatchMessage(
    [property: Id(0)] RunIdentity Run,
    [property: Id(1)] string Actor,
    [property: Id(2)] long Sequence,
    [property: Id(3)] int Count,
    [property: Id(4)] int Width,
    [property: Id(5)] float[] Table,
    [property: Id(6)] int[] Lengths,
    [property: Id(7)] float[][] States,
    [property: Id(8)] int Steps,
    [property: Id(9)] double[]? Priorities = null);

/// <summary>What a learner samples from a shard: transitions or sequences, with the shard's insert counter at the time.</summary>
public interface IShardSample
{
    /// <summary>What the shard's rate limiter had counted as inserted when it drew this sample (transitions; R2D2: environment steps).</summary>
    long Inserted { get; }

    /// <summary>The sampled items' slots in a prioritized shard (for their new priorities), or null (uniform sampling).</summary>
    long[]? Slots { get; }
}

/// <summary>
/// Sequences sampled from a shard, flattened as <see cref="SequenceBatchMessage"/>, with the shard's insert counter at
/// the time; from a prioritized shard also their slots (to send their new priorities back) and importance-sampling
/// weights <c>(p_min / p_i)^β</c> within the shard.
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.SampledSequences")]
[Immutable] // never changed after it is made: Orleans passes it between grains and clients of one process without a copy
public sealed record SampledSequences(
    [property: Id(0)] int Count,
    [property: Id(1)] int Width,
    [property: Id(2)] float[] Table,
    [property: Id(3)] int[] Lengths,
    [property: Id(4)] float[][] States,
    [property: Id(5)] long Inserted,
    [property: Id(6)] long[]? Slots = null,
    [property: Id(7)] float[]? Weights = null) : IShardSample;

/// <summary>
/// The sequences a replay shard holds (R2D2): burn-in, learning steps, the overlap of consecutive sequences, the
/// fewest valid steps of a stored partial sequence, and the recurrent state's parts (float32, names and shapes in the
/// network's order).
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.SequenceShape")]
public sealed record SequenceShape(
    [property: Id(0)] int BurnIn,
    [property: Id(1)] int LearningLength,
    [property: Id(2)] int Overlap,
    [property: Id(3)] int MinLength,
    [property: Id(4)] string[] StateNames,
    [property: Id(5)] long[][] StateShapes)
{
    /// <summary>Value equality over the arrays too (settings sent again must compare equal).</summary>
    public bool Equals(SequenceShape? other) =>
        other is not null && BurnIn == other.BurnIn && LearningLength == other.LearningLength && Overlap == other.Overlap && MinLength == other.MinLength
        && StateNames.SequenceEqual(other.StateNames) && StateShapes.Length == other.StateShapes.Length
        && StateShapes.Zip(other.StateShapes).All(p => p.First.SequenceEqual(p.Second));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(BurnIn, LearningLength, Overlap, MinLength, StateNames.Length);

    /// <inheritdoc />
    public override string ToString() =>
        $"burn-in {BurnIn} + {LearningLength} steps, overlap {Overlap}, at least {MinLength} valid, state {string.Join(", ", StateNames.Zip(StateShapes, (n, s) => $"{n} [{string.Join(", ", s)}]"))}";
}

/// <summary>A shard's answer to an insert: whether it stored the batch, or (back-pressure) the learner must sample first.</summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.InsertReply")]
public sealed record InsertReply([property: Id(0)] bool Accepted, [property: Id(1)] long Stored);

/// <summary>
/// Transitions sampled from a shard, flattened as <see cref="TransitionBatchMessage"/>, with the shard's insert counter
/// at the time; from a prioritized shard also their slots (to send their new priorities back) and importance-sampling
/// weights <c>(p_min / p_i)^β</c> within the shard.
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.SampledTransitions")]
[Immutable] // never changed after it is made: Orleans passes it between grains and clients of one process without a copy
public sealed record SampledTransitions(
    [property: Id(0)] int Count,
    [property: Id(1)] float[] Observations,
    [property: Id(2)] long[] Actions,
    [property: Id(3)] float[] Rewards,
    [property: Id(4)] float[] NextObservations,
    [property: Id(5)] float[] Terminated,
    [property: Id(6)] float[] Discounts,
    [property: Id(7)] long Inserted = 0,
    [property: Id(8)] long[]? Slots = null,
    [property: Id(9)] float[]? Weights = null) : IShardSample;

/// <summary>Versioned weights: every parameter of the policy network, flattened in its parameter order, and when the learner published them (UTC ticks).</summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.WeightsMessage")]
[Immutable] // never changed after it is made: Orleans passes it between grains and clients of one process without a copy
public sealed record WeightsMessage([property: Id(0)] RunIdentity Run, [property: Id(1)] long Version, [property: Id(2)] float[] Values, [property: Id(3)] long PublishedTicks = 0);

/// <summary>How a replay shard is built for a run.</summary>
/// <param name="Run">The run it serves.</param>
/// <param name="Capacity">Transitions it holds (the oldest are overwritten).</param>
/// <param name="ObservationSize">Floats per observation.</param>
/// <param name="ActionCount">Discrete actions.</param>
/// <param name="Limiter">The samples-per-insert rate limiter's settings.</param>
/// <param name="Seed">The sampler's seed.</param>
/// <param name="CheckpointDirectory">Where the shard checkpoints its replay and counters (a folder the silo can write; null: no checkpoints). A shard configured again after its silo died comes back from it.</param>
/// <param name="CheckpointEvery">Inserts between checkpoints, as the rate limiter counts them (transitions; R2D2: environment steps of the sequences): at most this many (and the inserts since) are lost with the silo.</param>
/// <param name="Sequences">Null: the shard holds transitions (DQN); else sequences of this shape (R2D2), <paramref name="Capacity"/> of them.</param>
/// <param name="Priorities">Null: uniform sampling; else proportional prioritized sampling (of transitions or sequences) with these settings.</param>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ShardSettings")]
public sealed record ShardSettings(
    [property: Id(0)] RunIdentity Run,
    [property: Id(1)] int Capacity,
    [property: Id(2)] int ObservationSize,
    [property: Id(3)] int ActionCount,
    [property: Id(4)] RateLimit Limiter,
    [property: Id(5)] ulong Seed,
    [property: Id(6)] string? CheckpointDirectory = null,
    [property: Id(7)] long CheckpointEvery = 0,
    [property: Id(8)] SequenceShape? Sequences = null,
    [property: Id(9)] ShardPriorities? Priorities = null);

/// <summary>A prioritized shard's priority exponent α and the ε added to each priority (a transition's |TD error|, a sequence's η-mix of them).</summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ShardPriorities")]
public sealed record ShardPriorities([property: Id(0)] double Alpha, [property: Id(1)] double Epsilon);

/// <summary>A shard's counters.</summary>
/// <param name="Inserted">Transitions inserted.</param>
/// <param name="Sampled">Transitions sampled (with repetition).</param>
/// <param name="Stored">Transitions held now.</param>
/// <param name="InsertsRefused">Insert calls refused by the rate limiter (back-pressure).</param>
/// <param name="SamplesRefused">Sample calls refused by the rate limiter (the learner waited).</param>
/// <param name="Checkpoints">Checkpoints written by this activation.</param>
/// <param name="Restored">Whether this activation came back from a checkpoint.</param>
/// <param name="Silo">The silo that hosts this activation.</param>
/// <param name="PriorityUpdates">Priorities the learner sent back (a prioritized shard).</param>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ShardStatistics")]
public sealed record ShardStatistics(
    [property: Id(0)] long Inserted,
    [property: Id(1)] long Sampled,
    [property: Id(2)] long Stored,
    [property: Id(3)] long InsertsRefused,
    [property: Id(4)] long SamplesRefused,
    [property: Id(5)] int Checkpoints = 0,
    [property: Id(6)] bool Restored = false,
    [property: Id(7)] string Silo = "",
    [property: Id(8)] long PriorityUpdates = 0);
