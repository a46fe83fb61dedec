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
/// <remarks>
/// <para>Without gradients on the CPU (acting, evaluation, R2D2's burn-in and targets) libtorch runs the LSTM through
/// oneDNN's <c>forward_inference</c> kernel, and that kernel can be wrong: the oneDNN 3.7.1 bundled with libtorch 2.10
/// picks <c>brgemm:avx512_core</c> on AVX-512 CPUs without AMX, and on a 2-core AMD EPYC (Zen 5) it returns outputs off
/// by up to 1.0 whenever the hidden size modulo 32 is between 1 and 16 (8, 16, 33–48, 65–80, 100, 200, ...), while the
/// training kernel is right. An actor would then act on other features than the learner replays. So the first time a
/// core runs without gradients on the CPU, it compares the kernel with the LSTM's equations on a small random batch
/// (its own weights, a private generator: the global random stream is untouched); where they disagree it computes the
/// equations itself from then on (<see cref="InferencePath"/> says which). With gradients, and on other devices, the
/// LSTM module runs as it is.</para>
/// </remarks>
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
        if (UsesExplicitCell(observations))
        {
            var (hNext, cNext) = ExplicitSequence(encoder.forward(observations).unsqueeze(1), state["h"], state["c"], outputs: null);
            // The features and the state's h are the same values, as two tensors (each may be disposed on its own).
            return (hNext.alias().MoveToOuterDisposeScope(), new RecurrentState([("h", hNext.MoveToOuterDisposeScope()), ("c", cNext.MoveToOuterDisposeScope())]));
        }

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
        if (UsesExplicitCell(observations))
        {
            Tensor outputs = empty([encoded.shape[0], encoded.shape[1], Config.HiddenSize], encoded.dtype, encoded.device);
            var (hLast, cLast) = ExplicitSequence(encoded, state["h"], state["c"], outputs);
            return (outputs.MoveToOuterDisposeScope(), new RecurrentState([("h", hLast.MoveToOuterDisposeScope()), ("c", cLast.MoveToOuterDisposeScope())]));
        }

        var (output, h, c) = lstm.forward(encoded, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)));
        return (output.MoveToOuterDisposeScope(), new RecurrentState([("h", h.squeeze(0).MoveToOuterDisposeScope()), ("c", c.squeeze(0).MoveToOuterDisposeScope())]));
    }

    /// <summary>
    /// How this core computes the LSTM without gradients on the CPU: <see cref="LstmInferencePath.Kernel"/> (libtorch's
    /// LSTM kernel agreed with the equations), <see cref="LstmInferencePath.Equations"/> (it did not, see the class
    /// remarks), or <see cref="LstmInferencePath.Unchecked"/> before the first such call.
    /// </summary>
    public LstmInferencePath InferencePath => _kernelAgrees switch
    {
        null => LstmInferencePath.Unchecked,
        true => LstmInferencePath.Kernel,
        false => LstmInferencePath.Equations,
    };

    private bool? _kernelAgrees;

    /// <summary>The seed of the private generator that draws the inputs of the kernel check.</summary>
    private const ulong KernelCheckSeed = 20_261_205;

    /// <summary>Whether this call computes the equations itself (no gradients, CPU, a kernel that disagrees).</summary>
    private bool UsesExplicitCell(Tensor observations)
    {
        if (is_grad_enabled() || observations.device_type != DeviceType.CPU)
        {
            return false;
        }

        _kernelAgrees ??= KernelAgreesWithEquations();
        return !_kernelAgrees.Value;
    }

    /// <summary>
    /// Runs a small random batch (3 sequences of 4 steps, from random states) through libtorch's LSTM and through the
    /// equations, with this core's weights and without gradients; true when outputs and final states agree to 1e-4.
    /// </summary>
    private bool KernelAgreesWithEquations()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(KernelCheckSeed, CPU);
        long inputSize = LstmParameter("weight_ih_l0").shape[1];
        long hidden = Config.HiddenSize;
        Tensor input = randn([3, 4, inputSize], generator: generator);
        using Scalar half = 0.5.ToScalar(); // held until the calls return (HeldScalars)
        Tensor h = randn([3, hidden], generator: generator).mul_(half);
        Tensor c = randn([3, hidden], generator: generator).mul_(half);
        var (kernelOutput, kernelH, kernelC) = lstm.forward(input, (h.unsqueeze(0), c.unsqueeze(0)));
        Tensor outputs = empty([3, 4, hidden]);
        var (equationsH, equationsC) = ExplicitSequence(input, h, c, outputs);
        return allclose(kernelOutput, outputs, rtol: 1e-3, atol: 1e-4)
            && allclose(kernelH.squeeze(0), equationsH, rtol: 1e-3, atol: 1e-4)
            && allclose(kernelC.squeeze(0), equationsC, rtol: 1e-3, atol: 1e-4);
    }

    /// <summary>
    /// The LSTM's equations (PyTorch's gate order i, f, g, o) over encoded steps [B, T, E] from h, c [B, H], without
    /// gradients. Writes each step's h into <paramref name="outputs"/> [B, T, H] when given; returns the last h and c.
    /// </summary>
    private (Tensor H, Tensor C) ExplicitSequence(Tensor encoded, Tensor h, Tensor c, Tensor? outputs)
    {
        long hidden = Config.HiddenSize;
        long steps = encoded.shape[1];
        Tensor weightIh = LstmParameter("weight_ih_l0");
        Tensor weightHh = LstmParameter("weight_hh_l0").t();
        Tensor bias = LstmParameter("bias_ih_l0").add(LstmParameter("bias_hh_l0"), HeldScalars.One);

        // The input's share of the gates for every step at once: [B, T, 4H].
        Tensor inputGates = encoded.matmul(weightIh.t()).add_(bias, HeldScalars.One);
        for (long t = 0; t < steps; t++)
        {
            Tensor gates = inputGates.select(1, t).addmm(h, weightHh);
            Tensor sigmoids = gates.sigmoid();
            Tensor candidate = gates.narrow(1, 2 * hidden, hidden).tanh();
            c = sigmoids.narrow(1, hidden, hidden).mul(c).addcmul_(sigmoids.narrow(1, 0, hidden), candidate, HeldScalars.One);
            h = sigmoids.narrow(1, 3 * hidden, hidden).mul(c.tanh());
            outputs?.select(1, t).copy_(h);
        }

        return (h, c);
    }

    private Tensor LstmParameter(string name) =>
        lstm.get_parameter(name) ?? throw new InvalidOperationException($"LstmCore: the LSTM has no parameter '{name}'.");
}

/// <summary>How an <see cref="LstmCore"/> computes its LSTM without gradients on the CPU.</summary>
public enum LstmInferencePath
{
    /// <summary>Not decided yet: the core has not run without gradients on the CPU.</summary>
    Unchecked,

    /// <summary>libtorch's LSTM kernel, which agreed with the LSTM's equations on this machine.</summary>
    Kernel,

    /// <summary>The LSTM's equations as tensor operations, because libtorch's kernel disagreed with them here.</summary>
    Equations,
}
