namespace RlMemory.Distributed;

/// <summary>The run's versioned policy weights: the learner publishes, actors pull what is newer than theirs. Keyed by the run's id.</summary>
public interface IParameterStoreGrain : IGrainWithStringKey
{
    /// <summary>Stores weights newer than the ones held (an older or equal version is refused).</summary>
    /// <exception cref="RunMismatchException">Weights of another run or protocol.</exception>
    Task Publish(WeightsMessage weights);

    /// <summary>The newest weights when their version is above <paramref name="haveVersion"/>, else null.</summary>
    Task<WeightsMessage?> Pull(RunIdentity run, long haveVersion);

    /// <summary>The newest version held (0: none).</summary>
    Task<long> Version();
}

/// <inheritdoc cref="IParameterStoreGrain" />
[ShardSpreadPlacement]
internal sealed class ParameterStoreGrain : Grain, IParameterStoreGrain
{
    private WeightsMessage? _latest;

    private string Where => $"the parameter store of run '{this.GetPrimaryKeyString()}'";

    public Task Publish(WeightsMessage weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        RunIdentity.Current(this.GetPrimaryKeyString()).Require(weights.Run, Where);
        if (weights.Values is null || weights.Values.Length == 0 || Array.Exists(weights.Values, v => !float.IsFinite(v)))
        {
            throw new ArgumentException($"{Where}: weights version {weights.Version} hold no values or a NaN or infinite one; refused.", nameof(weights));
        }

        if (_latest is not null && weights.Version <= _latest.Version)
        {
            throw new ArgumentException($"{Where}: version {weights.Version} is not newer than the version held ({_latest.Version}).", nameof(weights));
        }

        if (_latest is not null && weights.Values.Length != _latest.Values.Length)
        {
            throw new ArgumentException($"{Where}: version {weights.Version} has {weights.Values.Length} values, the version held {_latest.Values.Length}: another architecture.", nameof(weights));
        }

        _latest = weights;
        return Task.CompletedTask;
    }

    public Task<WeightsMessage?> Pull(RunIdentity run, long haveVersion)
    {
        RunIdentity.Current(this.GetPrimaryKeyString()).Require(run, Where);
        return Task.FromResult(_latest is not null && _latest.Version > haveVersion ? _latest : null);
    }

    public Task<long> Version() => Task.FromResult(_latest?.Version ?? 0);
}
