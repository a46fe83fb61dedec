using RlMemory.Memory;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.Recurrent;

/// <summary>The architecture of an <see cref="LstmCore"/>.</summary>
public sealed record LstmCoreConfig
{
    /// <summary>Floats in one observation.</summary>
    public required int ObservationSize { get; init; }

    /// <summary>Widths of the MLP encoder's layers (ReLU after each); empty feeds observations to the LSTM directly.</summary>
    public IReadOnlyList<int> EncoderSizes { get; init; } = [64];

    /// <summary>The LSTM's hidden size (the core's output size).</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Throws when a field is out of range, naming it and the allowed range.</summary>
    public LstmCoreConfig Validate()
    {
        if (ObservationSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ObservationSize), ObservationSize, "LstmCoreConfig.ObservationSize must be at least 1.");
        }

        if (HiddenSize is < 1 or > 1 << 16)
        {
            throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "LstmCoreConfig.HiddenSize must be in [1, 65536].");
        }

        if (EncoderSizes is null || EncoderSizes.Any(s => s is < 1 or > 1 << 16))
        {
            throw new ArgumentOutOfRangeException(nameof(EncoderSizes), "LstmCoreConfig.EncoderSizes must be widths in [1, 65536].");
        }

        return this;
    }
}

/// <summary>
/// An MLP encoder followed by a one-layer LSTM. The state is the LSTM's <c>h</c> and <c>c</c> ([B, hidden] each).
/// Sequences without resets run through one fused LSTM call; with resets, step by step.
/// </summary>
public sealed class LstmCore : RecurrentCore
{
    private readonly Sequential encoder;
    private readonly LSTM lstm;
    private readonly RecurrentStateSpec _spec;

    /// <summary>Builds the core on <paramref name="device"/> (CPU by default).</summary>
    public LstmCore(LstmCoreConfig config, Device? device = null)
        : base(nameof(LstmCore))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        long width = config.ObservationSize;
        for (int i = 0; i < config.EncoderSizes.Count; i++)
        {
            layers.Add(($"linear{i}", Linear(width, config.EncoderSizes[i])));
            layers.Add(($"relu{i}", ReLU()));
            width = config.EncoderSizes[i];
        }

        encoder = Sequential(layers);
        lstm = LSTM(width, config.HiddenSize, batchFirst: true);
        _spec = new RecurrentStateSpec([new("h", [config.HiddenSize], ScalarType.Float32), new("c", [config.HiddenSize], ScalarType.Float32)]);
        RegisterComponents();
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>The architecture.</summary>
    public LstmCoreConfig Config { get; }

    /// <inheritdoc />
    public override int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public override int OutputSize => Config.HiddenSize;

    /// <inheritdoc />
    public override RecurrentStateSpec StateSpec => _spec;

    /// <inheritdoc />
    public override (Tensor Features, RecurrentState State) Step(Tensor observations, RecurrentState state)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        CheckStep(observations, state);
        using var scope = NewDisposeScope();
        Tensor encoded = encoder.forward(observations).unsqueeze(1);
        var (output, h, c) = lstm.forward(encoded, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)));
        Tensor features = output.squeeze(1).MoveToOuterDisposeScope();
        return (features, new RecurrentState([("h", h.squeeze(0).MoveToOuterDisposeScope()), ("c", c.squeeze(0).MoveToOuterDisposeScope())]));
    }

    /// <inheritdoc />
    public override (Tensor Features, RecurrentState State) Unroll(Tensor observations, RecurrentState state, Tensor? resets = null)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        CheckSequence(observations, state, resets);
        bool anyReset;
        using (var check = NewDisposeScope())
        {
            anyReset = resets is not null && resets.to(ScalarType.Bool).any().item<bool>();
        }

        if (anyReset)
        {
            return base.Unroll(observations, state, resets);
        }

        using var scope = NewDisposeScope();
        Tensor encoded = encoder.forward(observations);
        var (output, h, c) = lstm.forward(encoded, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)));
        return (output.MoveToOuterDisposeScope(), new RecurrentState([("h", h.squeeze(0).MoveToOuterDisposeScope()), ("c", c.squeeze(0).MoveToOuterDisposeScope())]));
    }
}
