using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace RlMemory.Distributed;

/// <summary>
/// Spreads a run's grains over the silos: replay shard i on silo i mod S of the S compatible silos in address order,
/// so S silos each hold their share of the shards (Orleans' default placement may put them all on one); keyed by a
/// string (the coordinator, the parameter store), a grain goes to the first silo. A grain whose silo died is placed
/// again over the silos alive at its next activation.
/// </summary>
[GenerateSerializer]
[Alias("RlMemory.Distributed.ShardSpreadPlacement")]
[Immutable]
public sealed class ShardSpreadPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static readonly ShardSpreadPlacement Instance = new();
}

/// <summary>Places a grain as <see cref="ShardSpreadPlacement"/> says.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardSpreadPlacementAttribute : PlacementAttribute
{
    /// <summary>Marks a grain class.</summary>
    public ShardSpreadPlacementAttribute()
        : base(ShardSpreadPlacement.Instance)
    {
    }
}

/// <inheritdoc cref="ShardSpreadPlacement" />
internal sealed class ShardSpreadPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        SiloAddress[] silos = [.. context.GetCompatibleSilos(target).OrderBy(s => s.Endpoint.Address.ToString(), StringComparer.Ordinal).ThenBy(s => s.Endpoint.Port)];
        if (silos.Length == 0)
        {
            throw new InvalidOperationException($"No silo can host {target.GrainIdentity}.");
        }

        long index = target.GrainIdentity.TryGetIntegerKey(out long key, out _) ? key : 0;
        return Task.FromResult(silos[(int)(Math.Abs(index) % silos.Length)]);
    }
}

/// <summary>What every silo that hosts a run's grains adds.</summary>
public static class RunSilo
{
    /// <summary>Registers the placement of the run's grains (<see cref="ShardSpreadPlacement"/>).</summary>
    public static ISiloBuilder AddRunGrains(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        return silo.AddPlacementDirector<ShardSpreadPlacement, ShardSpreadPlacementDirector>();
    }
}
