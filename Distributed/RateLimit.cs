namespace RlMemory.Distributed;

/// <summary>
/// Reverb's <c>SampleToInsertRatio</c> rate limiter (Cassirer et al. 2021): the learner should see each transition
/// about <see cref="SamplesPerInsert"/> times. With i transitions inserted and s sampled, d = i·SPI − s must stay within
/// [SPI·min − buffer, SPI·min + buffer]: an insert that would push d above the upper end is refused (the actors wait:
/// back-pressure), a sample that would push it below the lower end, or one before <see cref="MinSizeToSample"/>
/// transitions were inserted, is refused (the learner waits). So the learner neither starves nor overfits to a few
/// transitions, whatever the speed of the actors.
/// </summary>
/// <param name="SamplesPerInsert">SPI: samples per inserted transition (DQN: batch_size · gradient_steps / (train_freq · n_envs)).</param>
/// <param name="MinSizeToSample">Transitions inserted before sampling starts (DQN's learning_starts).</param>
/// <param name="ErrorBuffer">How far d may stray from its target, in sampled transitions; at least one sample batch plus SPI times one insert batch, or the two sides can wait on each other.</param>
[GenerateSerializer]
[Alias("RlMemory.Distributed.RateLimit")]
public sealed record RateLimit([property: Id(0)] double SamplesPerInsert, [property: Id(1)] long MinSizeToSample, [property: Id(2)] double ErrorBuffer)
{
    /// <summary>Throws when a setting is out of range or the buffer is too small for <paramref name="sampleBatch"/> and <paramref name="insertBatch"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Names the setting, its value and what is allowed.</exception>
    public RateLimit Validate(int sampleBatch, int insertBatch)
    {
        if (!double.IsFinite(SamplesPerInsert) || SamplesPerInsert <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SamplesPerInsert), SamplesPerInsert, "samples_per_insert must be a finite number > 0.");
        }

        if (MinSizeToSample < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinSizeToSample), MinSizeToSample, "The rate limiter's minimum size to sample must be at least 1 transition.");
        }

        double needed = sampleBatch + (SamplesPerInsert * insertBatch);
        if (!double.IsFinite(ErrorBuffer) || ErrorBuffer < needed)
        {
            throw new ArgumentOutOfRangeException(nameof(ErrorBuffer), ErrorBuffer, $"The rate limiter's error buffer must be at least one sample batch ({sampleBatch}) plus samples_per_insert ({SamplesPerInsert}) times one insert batch ({insertBatch}) = {needed}, or actors and learner can wait on each other.");
        }

        return this;
    }
}

/// <summary>The state of a <see cref="RateLimit"/>: counts of inserted and sampled transitions.</summary>
public sealed class SampleToInsertRatio(RateLimit limit)
{
    private readonly double _target = limit.SamplesPerInsert * limit.MinSizeToSample;

    /// <summary>Transitions inserted.</summary>
    public long Inserted { get; private set; }

    /// <summary>Transitions sampled.</summary>
    public long Sampled { get; private set; }

    /// <summary>d = inserted · SPI − sampled.</summary>
    public double Difference => (Inserted * limit.SamplesPerInsert) - Sampled;

    /// <summary>Whether <paramref name="count"/> more transitions may be inserted now.</summary>
    public bool CanInsert(int count) =>
        ((Inserted + count) * limit.SamplesPerInsert) - Sampled <= _target + limit.ErrorBuffer;

    /// <summary>Whether <paramref name="count"/> transitions may be sampled now.</summary>
    public bool CanSample(int count) =>
        Inserted >= limit.MinSizeToSample && (Inserted * limit.SamplesPerInsert) - (Sampled + count) >= _target - limit.ErrorBuffer;

    /// <summary>Counts an insert of <paramref name="count"/> transitions.</summary>
    public void Insert(int count) => Inserted += count;

    /// <summary>Counts a sample of <paramref name="count"/> transitions.</summary>
    public void Sample(int count) => Sampled += count;

    /// <summary>Restores counters (a shard restarted from its checkpoint).</summary>
    public void Restore(long inserted, long sampled) => (Inserted, Sampled) = (inserted, sampled);
}
