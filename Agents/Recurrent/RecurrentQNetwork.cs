using System.Text.Json.Serialization;
using RlMemory.Memory;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// The architecture of a <see cref="RecurrentQNetwork"/>: a recurrent core (<see cref="CoreConfig"/>) and a Q head over
/// its features, optionally dueling. Serialized as JSON next to the weights when an agent is saved.
/// </summary>
public sealed record RecurrentQNetworkConfig
{
    /// <summary>The number of floats in one observation.</summary>
    public required int ObservationSize { get; init; }

    /// <summary>The number of discrete actions.</summary>
    public required int ActionCount { get; init; }

    /// <summary>The recurrent core (kind and sizes).</summary>
    public CoreConfig Core { get; init; } = new();

    /// <summary>Widths of the head's hidden layers between the core's features and the Q-values (ReLU after each); empty for a linear head.</summary>
    public IReadOnlyList<int> HeadSizes { get; init; } = [];

    /// <summary>Split the head into a state value V and advantages A: Q = V + A − mean(A) (Wang et al. 2016; R2D2 uses it).</summary>
    public bool Dueling { get; init; }

    /// <summary>Throws when a field is out of range, naming it, the value and what is allowed.</summary>
    public RecurrentQNetworkConfig Validate()
    {
        if (ObservationSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ObservationSize), ObservationSize, "RecurrentQNetworkConfig.ObservationSize must be at least 1.");
        }

        if (ActionCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ActionCount), ActionCount, "RecurrentQNetworkConfig.ActionCount must be at least 1.");
        }

        if (Core is null)
        {
            throw new ArgumentNullException(nameof(Core), "RecurrentQNetworkConfig.Core must be a core configuration.");
        }

        Core.Validate();
        if (HeadSizes is null || HeadSizes.Any(s => s is < 1 or > 1 << 16))
        {
            throw new ArgumentOutOfRangeException(nameof(HeadSizes), "RecurrentQNetworkConfig.HeadSizes must be widths in [1, 65536] (or empty).");
        }

        return this;
    }

    /// <summary>Whether <paramref name="other"/> describes the same architecture (lists compared by content).</summary>
    public bool SameArchitecture(RecurrentQNetworkConfig other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ObservationSize == other.ObservationSize && ActionCount == other.ActionCount && Dueling == other.Dueling
            && HeadSizes.SequenceEqual(other.HeadSizes)
            && Core.Kind == other.Core.Kind && Core.EncoderSizes.SequenceEqual(other.Core.EncoderSizes) && Core.HiddenSize == other.Core.HiddenSize
            && Core.MemorySlots == other.Core.MemorySlots && Core.MemoryWidth == other.Core.MemoryWidth && Core.ReadHeads == other.Core.ReadHeads
            && Core.MemoryAllocation == other.Core.MemoryAllocation;
    }

    /// <summary>A short description, e.g. <c>obs 3 → lstm(64→128) → 4 Q (dueling)</c>.</summary>
    [JsonIgnore]
    public string Description =>
        $"obs {ObservationSize} → {Core}{(HeadSizes.Count > 0 ? $" → {string.Join("→", HeadSizes)}" : string.Empty)} → {ActionCount} Q{(Dueling ? " (dueling)" : string.Empty)}";
}

/// <summary>
/// A recurrent Q-network (R2D2's network without the convolutional torso): a <see cref="RecurrentCore"/> maps each
/// observation and the recurrent state to features, and a head maps features to one Q-value per action. Any core
/// works (<see cref="CoreConfig.Create"/> builds it); the network never looks inside the state.
/// </summary>
/// <example>
/// <code>
/// using var net = new RecurrentQNetwork(new RecurrentQNetworkConfig { ObservationSize = 3, ActionCount = 4, Dueling = true });
/// RecurrentState state = net.InitialState(16);
/// (Tensor q, RecurrentState next) = net.Step(observations /* [16, 3] */, state);
/// </code>
/// </example>
public sealed class RecurrentQNetwork : nn.Module
{
    private readonly RecurrentCore core;
    private readonly Sequential? body;
    private readonly Linear? head;
    private readonly Linear? value;
    private readonly Linear? advantage;

    /// <summary>Builds the network described by <paramref name="config"/> on <paramref name="device"/> (CPU by default).</summary>
    /// <exception cref="ArgumentException">A field of the configuration is out of range.</exception>
    /// <exception cref="NotSupportedException">The core kind is not available in this build.</exception>
    public RecurrentQNetwork(RecurrentQNetworkConfig config, Device? device = null)
        : base(nameof(RecurrentQNetwork))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        core = config.Core.Create(config.ObservationSize);
        long width = core.OutputSize;
        if (config.HeadSizes.Count > 0)
        {
            var layers = new List<(string, Module<Tensor, Tensor>)>();
            for (int i = 0; i < config.HeadSizes.Count; i++)
            {
                layers.Add(($"linear{i}", Linear(width, config.HeadSizes[i])));
                layers.Add(($"relu{i}", ReLU()));
                width = config.HeadSizes[i];
            }

            body = Sequential(layers);
        }

        if (config.Dueling)
        {
            value = Linear(width, 1);
            advantage = Linear(width, config.ActionCount);
        }
        else
        {
            head = Linear(width, config.ActionCount);
        }

        RegisterComponents();
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>The architecture.</summary>
    public RecurrentQNetworkConfig Config { get; }

    /// <summary>The recurrent core.</summary>
    public RecurrentCore Core => core;

    /// <summary>The layout of the recurrent state.</summary>
    public RecurrentStateSpec StateSpec => core.StateSpec;

    /// <summary>The device of the parameters.</summary>
    public Device Device => core.Device;

    /// <summary>The initial (zero) state for <paramref name="batchSize"/> environments, on the network's device.</summary>
    public RecurrentState InitialState(int batchSize) => core.InitialState(batchSize);

    /// <summary>One time step: observations [B, obs] and the state before it → Q-values [B, actions] and the state after it.</summary>
    public (Tensor Q, RecurrentState State) Step(Tensor observations, RecurrentState state)
    {
        using var scope = NewDisposeScope();
        var (features, next) = core.Step(observations, state);
        Tensor q = Head(features).MoveToOuterDisposeScope();
        return (q, next.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// A batch of sequences: observations [B, T, obs] from <paramref name="state"/> → Q-values [B, T, actions] and the
    /// state after the last step. <paramref name="resets"/> ([B, T], optional) restarts rows from the initial state
    /// where an episode begins inside a sequence (see <see cref="RecurrentCore.Unroll"/>).
    /// </summary>
    public (Tensor Q, RecurrentState State) Unroll(Tensor observations, RecurrentState state, Tensor? resets = null)
    {
        using var scope = NewDisposeScope();
        var (features, last) = core.Unroll(observations, state, resets);
        Tensor q = Head(features).MoveToOuterDisposeScope();
        return (q, last.MoveToOuterDisposeScope());
    }

    /// <summary>The Q head alone: features [..., F] → Q-values [..., actions].</summary>
    public Tensor Head(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var scope = NewDisposeScope();
        Tensor x = body is null ? features : body.forward(features);
        Tensor q;
        if (head is not null)
        {
            q = head.forward(x);
        }
        else
        {
            Tensor v = value!.forward(x);
            Tensor a = advantage!.forward(x);
            q = v + a - a.mean([-1], keepdim: true);
        }

        return q.MoveToOuterDisposeScope();
    }
}
