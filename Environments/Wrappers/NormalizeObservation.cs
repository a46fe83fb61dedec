namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Normalizes each observation entry to roughly zero mean and unit variance with running statistics
/// (Gymnasium's <c>NormalizeObservation</c>): <c>(obs − mean) / sqrt(var + epsilon)</c>, the statistics updated with
/// every observation while <see cref="UpdateRunningMean"/> is true (turn it off for evaluation).
/// </summary>
public sealed class NormalizeObservation<TAction> : ObservationWrapper<TAction>
{
    private readonly double[] _mean;
    private readonly double[] _var;
    private readonly double _epsilon;
    private double _count = 1e-4;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public NormalizeObservation(IEnv<TAction> inner, double epsilon = 1e-8)
        : base(inner)
    {
        if (!(epsilon > 0) || double.IsInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "NormalizeObservation: epsilon must be a positive finite number.");
        }

        int n = inner.ObservationSpace.Size;
        _mean = new double[n];
        _var = new double[n];
        Array.Fill(_var, 1.0);
        _epsilon = epsilon;
        ObservationSpace = new Box(float.NegativeInfinity, float.PositiveInfinity, [.. inner.ObservationSpace.Shape]);
    }

    /// <inheritdoc />
    public override Box ObservationSpace { get; }

    /// <summary>Whether observations update the running statistics.</summary>
    public bool UpdateRunningMean { get; set; } = true;

    /// <summary>The running mean of each entry.</summary>
    public ReadOnlySpan<double> Mean => _mean;

    /// <summary>The running variance of each entry.</summary>
    public ReadOnlySpan<double> Variance => _var;

    /// <summary>The (pseudo-)count of observations behind the statistics (starts at 1e-4 as in Gymnasium).</summary>
    public double Count => _count;

    /// <summary>Replaces the running statistics (e.g. from a checkpoint).</summary>
    public void SetStatistics(ReadOnlySpan<double> mean, ReadOnlySpan<double> variance, double count)
    {
        if (mean.Length != _mean.Length || variance.Length != _var.Length)
        {
            throw new ArgumentException($"{Name}: statistics need {_mean.Length} entries, got mean {mean.Length} and variance {variance.Length}.");
        }

        if (!(count > 0) || double.IsInfinity(count))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{Name}: count must be positive and finite.");
        }

        foreach (double m in mean)
        {
            if (!double.IsFinite(m))
            {
                throw new ArgumentException($"{Name}: means must be finite, got {m}.", nameof(mean));
            }
        }

        foreach (double v in variance)
        {
            if (!(v >= 0) || double.IsInfinity(v))
            {
                throw new ArgumentException($"{Name}: variances must be finite and >= 0, got {v}.", nameof(variance));
            }
        }

        mean.CopyTo(_mean);
        variance.CopyTo(_var);
        _count = count;
    }

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(UpdateRunningMean);
        writer.Write(_count);
        EnvState.WriteDoubles(writer, _mean);
        EnvState.WriteDoubles(writer, _var);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        bool update = reader.ReadBoolean();
        double count = reader.ReadDouble();
        var mean = new double[_mean.Length];
        var variance = new double[_var.Length];
        EnvState.ReadDoubles(reader, mean, $"{Name} running mean");
        EnvState.ReadDoubles(reader, variance, $"{Name} running variance");
        SetStatistics(mean, variance, count);
        UpdateRunningMean = update;
    }

    /// <inheritdoc />
    protected override void Transform(ReadOnlySpan<float> innerObservation, Span<float> observation)
    {
        if (UpdateRunningMean)
        {
            for (int i = 0; i < _mean.Length; i++)
            {
                RunningMoments.Add(ref _mean[i], ref _var[i], _count, innerObservation[i]);
            }

            _count += 1;
        }

        for (int i = 0; i < _mean.Length; i++)
        {
            observation[i] = (float)((innerObservation[i] - _mean[i]) / Math.Sqrt(_var[i] + _epsilon));
        }
    }
}
