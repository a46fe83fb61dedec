using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;

namespace RlMemory.Agents;

/// <summary>
/// Lower bounds on the parameters an architecture holds, computable without building it: the weight matrices of its
/// main layers (biases, heads and the memory interface left out). A file's configuration is checked against the tensors
/// the file actually stores before the network is built, so a crafted configuration (an action count of 2³¹, hidden
/// widths of 65,536) is refused with a message instead of asking torch for terabytes.
/// </summary>
public static class ArchitectureSize
{
    /// <summary>Σ widths[i] · widths[i + 1]: the weights of a chain of linear layers (saturating at <see cref="long.MaxValue"/>).</summary>
    public static long Chain(IEnumerable<int> widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        long total = 0;
        long? previous = null;
        foreach (int width in widths)
        {
            if (previous is long p)
            {
                total = Add(total, Multiply(p, width));
            }

            previous = width;
        }

        return total;
    }

    /// <summary>At least this many parameters are in a <see cref="QNetwork"/> of <paramref name="config"/>.</summary>
    public static long Minimum(QNetworkConfig config) =>
        Chain([config.ObservationSize, .. config.HiddenSizes, config.ActionCount]);

    /// <summary>At least this many parameters are in a policy for Box actions of <paramref name="config"/> (the body and the action head; a squashed Gaussian adds a log-std head).</summary>
    public static long Minimum(Continuous.ContinuousActorConfig config) =>
        Chain([config.ObservationSize, .. config.HiddenSizes, config.ActionSize]);

    /// <summary>At least this many parameters are in the core <paramref name="config"/> builds for <paramref name="observationSize"/> floats.</summary>
    public static long Minimum(CoreConfig config, int observationSize)
    {
        int encoded = config.EncoderSizes.Count > 0 ? config.EncoderSizes[^1] : observationSize;
        long lstmInput = config.Kind == "memory" ? (long)encoded + ((long)config.ReadHeads * config.MemoryWidth) : encoded;
        long gates = 4L * config.HiddenSize;
        return Add(Chain([observationSize, .. config.EncoderSizes]), Multiply(gates, Add(lstmInput, config.HiddenSize)));
    }

    /// <summary>The width of the features the core <paramref name="config"/> produces.</summary>
    public static long Features(CoreConfig config) =>
        config.Kind == "memory" ? config.HiddenSize + ((long)config.ReadHeads * config.MemoryWidth) : config.HiddenSize;

    /// <summary>At least this many parameters are in a recurrent Q-network of <paramref name="config"/>.</summary>
    public static long Minimum(RecurrentQNetworkConfig config) =>
        Add(Minimum(config.Core, config.ObservationSize), Add(Chain([(int)Math.Min(Features(config.Core), int.MaxValue), .. config.HeadSizes]), Multiply(config.HeadSizes.Count > 0 ? config.HeadSizes[^1] : Features(config.Core), config.ActionCount)));

    /// <summary>At least this many parameters are in an actor-critic network of <paramref name="config"/>.</summary>
    public static long Minimum(ActorCriticConfig config)
    {
        long core = config.Core is null ? 0 : Minimum(config.Core, config.ObservationSize);
        long features = config.Core is null ? config.ObservationSize : Features(config.Core);
        long policy = Add(Chain([(int)Math.Min(features, int.MaxValue), .. config.NetArch]), Multiply(config.NetArch.Count > 0 ? config.NetArch[^1] : features, config.ActionCount));
        return Add(core, policy);
    }

    private static long Multiply(long a, long b)
    {
        long product;
        try
        {
            product = checked(a * b);
        }
        catch (OverflowException)
        {
            product = long.MaxValue;
        }

        return product;
    }

    private static long Add(long a, long b)
    {
        long sum;
        try
        {
            sum = checked(a + b);
        }
        catch (OverflowException)
        {
            sum = long.MaxValue;
        }

        return sum;
    }
}
