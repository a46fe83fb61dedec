using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RlMemory.Memory;
using RlMemory.Memory.External;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.Recurrent;

/// <summary>The architecture of a <see cref="MemoryCore"/>. Serialized as JSON next to the weights (<see cref="MemoryCore.Save"/>).</summary>
public sealed record MemoryCoreConfig
{
    /// <summary>A configuration to fill with an object initializer (<see cref="ObservationSize"/> is required).</summary>
    public MemoryCoreConfig()
    {
    }

    /// <summary>
    /// A configuration from its fields. JSON deserialization goes through this constructor so that a field missing from
    /// the JSON keeps its default (source-generated JSON would set a missing init-only property to 0 or null).
    /// </summary>
    [JsonConstructor]
    [SetsRequiredMembers]
    public MemoryCoreConfig(int observationSize, IReadOnlyList<int>? encoderSizes = null, int hiddenSize = 128, ExternalMemoryConfig? memory = null, double retentionBias = 0)
    {
        ObservationSize = observationSize;
        EncoderSizes = encoderSizes ?? [64];
        HiddenSize = hiddenSize;
        Memory = memory ?? new ExternalMemoryConfig();
        RetentionBias = retentionBias;
    }

    /// <summary>The largest <see cref="RetentionBias"/> accepted.</summary>
    public const double MaxRetentionBias = 20;

    /// <summary>Floats in one observation.</summary>
    public required int ObservationSize { get; init; }

    /// <summary>Widths of the MLP encoder's layers (ReLU after each); empty feeds observations to the controller directly.</summary>
    public IReadOnlyList<int> EncoderSizes { get; init; } = [64];

    /// <summary>The LSTM controller's hidden size.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>The external memory's size and addressing.</summary>
    public ExternalMemoryConfig Memory { get; init; } = new();

    /// <summary>
    /// How strongly the memory starts out keeping what it holds: the interface layer's biases of the erase vector, and
    /// with allocation of the write gate and the free gates, start at −<see cref="RetentionBias"/> instead of near 0.
    /// At 0 (the default) every step writes with gate ≈ 0.5 and erases ≈ 0.5, so at initialisation a word written at
    /// step 0 is gone after a few hundred steps (the difference two cues make at step 1,000 is ~1e-7 of the read); at
    /// 2 (gate and erase ≈ 0.12) it is still there, and the gradient from a late read reaches the early write through the
    /// memory rather than through the LSTM. Training moves the biases from there. Allowed: [0, 20].
    /// </summary>
    public double RetentionBias { get; init; }

    /// <summary>Floats in the features per step: the controller's output and the read vectors, H + R·W.</summary>
    [JsonIgnore]
    public int OutputSize => HiddenSize + Memory.ReadSize;

    /// <summary>Throws when a field is out of range, naming it, the value and the allowed range.</summary>
    public MemoryCoreConfig Validate()
    {
        if (ObservationSize is < 1 or > 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(ObservationSize), ObservationSize, $"MemoryCoreConfig.ObservationSize must be in [1, {1 << 20}], got {Text(ObservationSize)}.");
        }

        if (HiddenSize is < 1 or > 1 << 16)
        {
            throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, $"MemoryCoreConfig.HiddenSize must be in [1, 65536], got {Text(HiddenSize)}.");
        }

        if (EncoderSizes is null)
        {
            throw new ArgumentNullException(nameof(EncoderSizes), "MemoryCoreConfig.EncoderSizes must be a list (empty for no encoder).");
        }

        for (int i = 0; i < EncoderSizes.Count; i++)
        {
            if (EncoderSizes[i] is < 1 or > 1 << 16)
            {
                throw new ArgumentOutOfRangeException(nameof(EncoderSizes), EncoderSizes[i], $"MemoryCoreConfig.EncoderSizes[{i}] must be in [1, 65536], got {Text(EncoderSizes[i])}.");
            }
        }

        if (!(RetentionBias is >= 0 and <= MaxRetentionBias))
        {
            throw new ArgumentOutOfRangeException(nameof(RetentionBias), RetentionBias, $"MemoryCoreConfig.RetentionBias must be a number in [0, {MaxRetentionBias}], got {RetentionBias.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (Memory is null)
        {
            throw new ArgumentNullException(nameof(Memory), "MemoryCoreConfig.Memory must be set (an ExternalMemoryConfig).");
        }

        Memory.Validate();
        return this;
    }

    /// <summary>The configuration as JSON (source-generated serializer; no reflection).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, AgentsJsonContext.Default.MemoryCoreConfig);

    /// <summary>Reads a configuration written by <see cref="ToJson"/> and validates it.</summary>
    /// <exception cref="ArgumentException">The JSON is malformed, empty, or holds an invalid configuration.</exception>
    public static MemoryCoreConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            MemoryCoreConfig config = JsonSerializer.Deserialize(json, AgentsJsonContext.Default.MemoryCoreConfig)
                ?? throw new ArgumentException("MemoryCoreConfig: the JSON is null.", nameof(json));
            return config.Validate();
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"MemoryCoreConfig: the JSON is invalid: {e.Message}", nameof(json), e);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// An LSTM controller with a differentiable <see cref="ExternalMemory"/> (a DNC without temporal links, Graves et al.
/// 2016). Per step: an MLP encodes the observation; the LSTMCell reads the encoding and the previous step's read
/// vectors; a linear layer maps its output h to the memory's interface vector; the memory writes, then reads. The
/// features are h ⊕ the read vectors ([B, H + R·W]). The state is the LSTM's h and c and the memory's parts.
/// </summary>
/// <remarks>
/// Sequences run step by step (the encoder once for all steps); a reset replaces a row of every state part by zeros
/// before the flagged step. <see cref="Trace"/> records one row's weightings for heatmaps. Not thread-safe while tracing.
/// </remarks>
public sealed class MemoryCore : RecurrentCore
{
    /// <summary>The kind recorded in files written by <see cref="Save"/>.</summary>
    public const string Kind = "MemoryCore";

    private const int KindVersion = 1;

    private readonly Sequential encoder;
    private readonly LSTMCell controller;
    private readonly Linear interfaceLayer;
    private readonly ExternalMemory _memory;
    private readonly RecurrentStateSpec _spec;

    /// <summary>Builds the core on <paramref name="device"/> (CPU by default).</summary>
    /// <exception cref="ArgumentException">The configuration is invalid (the message names the field and value).</exception>
    public MemoryCore(MemoryCoreConfig config, Device? device = null)
        : base(nameof(MemoryCore))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        _memory = new ExternalMemory(config.Memory);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        long width = config.ObservationSize;
        for (int i = 0; i < config.EncoderSizes.Count; i++)
        {
            layers.Add(($"linear{i}", Linear(width, config.EncoderSizes[i])));
            layers.Add(($"relu{i}", ReLU()));
            width = config.EncoderSizes[i];
        }

        encoder = Sequential(layers);
        controller = LSTMCell(width + config.Memory.ReadSize, config.HiddenSize);
        interfaceLayer = Linear(config.HiddenSize, _memory.InterfaceSize);
        if (config.RetentionBias > 0)
        {
            InitialiseForRetention(interfaceLayer.bias!, config.Memory, config.RetentionBias);
        }
        _spec = new RecurrentStateSpec(
        [
            new("h", [config.HiddenSize], ScalarType.Float32),
            new("c", [config.HiddenSize], ScalarType.Float32),
            .. _memory.StateParts,
        ]);
        RegisterComponents();
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>The architecture.</summary>
    public MemoryCoreConfig Config { get; }

    /// <summary>The external memory (its equations; it holds no parameters).</summary>
    public ExternalMemory Memory => _memory;

    /// <inheritdoc />
    public override int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public override int OutputSize => Config.OutputSize;

    /// <summary>{h [H], c [H], memory [N, W], read_weights [R, N], write_weights [N], usage [N], read_vectors [R·W]}, all float32.</summary>
    public override RecurrentStateSpec StateSpec => _spec;

    /// <summary>
    /// When set, every step (of <see cref="Step"/> and of <see cref="Unroll"/>) appends the traced row's write weights,
    /// read weights and usage to it (one small host copy per step). Null (the default) records nothing.
    /// </summary>
    public MemoryTrace? Trace { get; set; }

    /// <summary>
    /// Whether <see cref="Step"/> and <see cref="Unroll"/> run the fused kernel (default true): the whole recurrence of a
    /// sequence, forward and backward, in one autograd function written in C# (<c>FusedMemorySequence</c>) instead of
    /// about 70 tensor operations per step. It applies on the CPU with float32 or float64 parameters while
    /// <see cref="Trace"/> is null, for batches whose per-step tables fit .NET arrays (B·T·N·W ≤ 2³¹ − 57 values);
    /// elsewhere (another device, tracing, larger batches) the tensor path runs. Both compute the same
    /// function to float rounding (tests hold them within 1e-5); the tensor path is the reference.
    /// </summary>
    public bool UseFusedKernel { get; set; } = true;

    /// <summary>
    /// Sets the biases of the erase vector, and with allocation of the free gates and the write gate (not the
    /// allocation gate), to −<paramref name="bias"/>. ξ = [read keys R·W | write key W | write vector W | strengths R + 1
    /// | erase W (| free gates R | g^a | g^w)] (<see cref="ExternalMemory.ParseInterface"/>).
    /// </summary>
    private static void InitialiseForRetention(Tensor interfaceBias, ExternalMemoryConfig memory, double bias)
    {
        int r = memory.ReadHeads, w = memory.Width;
        int erase = (r * w) + (2 * w) + r + 1;
        using var noGrad = no_grad();
        using Scalar value = (-bias).ToScalar(); // held until the calls return (HeldScalars)
        interfaceBias.narrow(0, erase, w).fill_(value);
        if (memory.UseAllocation)
        {
            interfaceBias.narrow(0, erase + w, r).fill_(value);
            interfaceBias.narrow(0, erase + w + r + 1, 1).fill_(value);
        }
    }

    /// <summary>
    /// Why the fused kernel's last backward on this thread failed, once (then null). The backward runs inside libtorch's
    /// autograd engine, which cannot carry a .NET exception; when it fails (for example because a weight it saved was
    /// changed in place between the forward and <c>backward()</c>), <c>backward()</c> throws libtorch's error that a
    /// <c>CSharpNode</c> "returned an invalid gradient", and this returns the exception that caused it. The trainers
    /// report it.
    /// </summary>
    public static Exception? TakeFusedBackwardError() => FusedMemoryFunction.TakeBackwardError();

    /// <summary>Whether the next call runs the fused kernel (see <see cref="UseFusedKernel"/>).</summary>
    public bool RunsFused => UseFusedKernel && Trace is null && Device.type == DeviceType.CPU
        && controller.weight_ih!.dtype is ScalarType.Float32 or ScalarType.Float64;

    /// <inheritdoc />
    public override (Tensor Features, RecurrentState State) Step(Tensor observations, RecurrentState state)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        CheckStep(observations, state);
        using var scope = NewDisposeScope();
        if (RunsFusedFor(observations.shape[0], 1))
        {
            var (all, last) = Fused(encoder.forward(observations).unsqueeze(1), state, null);
            return (all.select(1, 0).MoveToOuterDisposeScope(), last.MoveToOuterDisposeScope());
        }

        var (features, next) = Advance(encoder.forward(observations), CoreState.From(state));
        return (features.MoveToOuterDisposeScope(), next.ToState().MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public override (Tensor Features, RecurrentState State) Unroll(Tensor observations, RecurrentState state, Tensor? resets = null)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        CheckSequence(observations, state, resets);
        int steps = (int)observations.shape[1];
        if (steps == 0)
        {
            throw new ArgumentException($"{GetName()}: sequences must have at least one step, got [{string.Join(", ", observations.shape)}].", nameof(observations));
        }

        bool[]? resetAt = null;
        Tensor? resetMask = null;
        using var scope = NewDisposeScope();
        if (resets is not null)
        {
            resetMask = resets.to(ScalarType.Bool, state.Device);
            using Tensor any = resetMask.any(0).cpu();
            resetAt = any.data<bool>().ToArray();
            if (!resetAt.Contains(true))
            {
                resetAt = null;
            }
        }

        Tensor encoded = encoder.forward(observations);
        if (RunsFusedFor(observations.shape[0], steps))
        {
            bool[]? flags = null;
            if (resetAt is not null)
            {
                using Tensor host = resetMask!.cpu().contiguous();
                flags = host.data<bool>().ToArray();
            }

            var (fusedFeatures, last) = Fused(encoded, state, flags);
            return (fusedFeatures.MoveToOuterDisposeScope(), last.MoveToOuterDisposeScope());
        }

        var outputs = new Tensor[steps];
        CoreState initial = CoreState.From(state);
        CoreState current = initial;
        long batch = observations.shape[0];
        for (int t = 0; t < steps; t++)
        {
            CoreState previous = current;
            using (var step = NewDisposeScope())
            {
                if (resetAt is not null && resetAt[t])
                {
                    current = Reset(current, resetMask!.select(1, t), batch);
                }

                var (features, next) = Advance(encoded.select(1, t), current);
                outputs[t] = features.MoveToOuterDisposeScope();
                current = next.MoveToOuterDisposeScope();
            }

            // Each step's parts are the next step's input only: release them (never the caller's).
            if (!ReferenceEquals(previous.H, initial.H))
            {
                previous.Dispose();
            }
        }

        Tensor all = stack(outputs, 1).MoveToOuterDisposeScope();
        return (all, current.ToState().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Throws when a part of <paramref name="state"/> (h, c or a memory part) holds NaN or infinity, naming the part and
    /// the first row. One host synchronization: call it on request (e.g. every few hundred updates), not every step.
    /// </summary>
    /// <exception cref="InvalidOperationException">A part is not finite.</exception>
    public void ThrowIfNotFinite(RecurrentState state) => ExternalMemory.ThrowIfNotFinite(state, nameof(MemoryCore));

    /// <summary>
    /// Saves the weights and the configuration to <paramref name="path"/> in RlMemory's checked file format (atomically;
    /// kind <see cref="Kind"/>, tensors under <c>core/</c>).
    /// </summary>
    public void Save(string path) =>
        ModuleFile.Save(path, Kind, KindVersion, Config.ToJson(), ("core", this));

    /// <summary>Loads a core saved by <see cref="Save"/>, building it from the saved configuration.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, not a MemoryCore file, or its configuration is invalid.</exception>
    public static MemoryCore Load(string path, Device? device = null)
    {
        MemoryCoreConfig config;
        try
        {
            config = MemoryCoreConfig.FromJson(ModuleFile.ReadMetadata(path, Kind));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: the MemoryCore configuration is invalid: {e.Message}", e);
        }

        var asCore = new CoreConfig
        {
            Kind = "memory",
            EncoderSizes = config.EncoderSizes,
            HiddenSize = config.HiddenSize,
            MemorySlots = config.Memory.Slots,
            MemoryWidth = config.Memory.Width,
            ReadHeads = config.Memory.ReadHeads,
        };
        ModuleFile.RequireStoredParameters(path, Kind, ArchitectureSize.Minimum(asCore, config.ObservationSize), asCore.ToString());
        var core = new MemoryCore(config, device);
        try
        {
            ModuleFile.Load(path, Kind, ("core", core));
            return core;
        }
        catch
        {
            core.Dispose();
            throw;
        }
    }

    /// <summary>Replaces this core's weights with those saved in <paramref name="path"/> (checked against this architecture first).</summary>
    /// <exception cref="InvalidDataException">The file is not a MemoryCore file, or its tensors do not fit this core.</exception>
    public void LoadWeights(string path) => ModuleFile.Load(path, Kind, ("core", this));

    /// <summary>The fused kernel resets rows inside its pass (the tensor path cuts nothing either, it steps).</summary>
    internal override bool UnrollsResetsInOnePass => RunsFused;

    /// <summary>Whether a call over <paramref name="batch"/> rows and <paramref name="steps"/> steps runs the fused kernel.</summary>
    private bool RunsFusedFor(long batch, long steps) =>
        RunsFused && FusedMemorySequence<float>.Fits(batch, steps, Config.HiddenSize, Config.Memory);

    /// <summary>The fused recurrence over encoded observations [B, T, E] (resets [B, T] flattened, or null).</summary>
    private (Tensor Features, RecurrentState State) Fused(Tensor encoded, RecurrentState state, bool[]? resets)
    {
        Tensor[] parts = [.. _spec.Parts.Select(p => state[p.Name])];
        var (features, next) = FusedMemoryFunction.Run(
            encoded, parts, controller.weight_ih!, controller.weight_hh!, controller.bias_ih!, controller.bias_hh!, interfaceLayer.weight!, interfaceLayer.bias!,
            Config.Memory, resets);
        return (features, new RecurrentState([.. _spec.Parts.Select((p, i) => (p.Name, next[i]))]));
    }

    /// <summary>One step from encoded observations [B, E].</summary>
    private (Tensor Features, CoreState Next) Advance(Tensor encoded, CoreState state)
    {
        var (h, c) = controller.forward(cat([encoded, state.Memory.ReadVectors], 1), (state.H, state.C));
        MemoryInterface signals = _memory.ParseInterface(interfaceLayer.forward(h));
        ExternalMemoryState memory = _memory.Update(state.Memory, signals);
        Trace?.Record(memory.WriteWeights, memory.ReadWeights, memory.Usage);
        Tensor features = cat([h, memory.ReadVectors], 1);
        return (features, new CoreState(h, c, memory));
    }

    /// <summary>The state with the rows flagged in <paramref name="reset"/> [B] replaced by zeros (the initial state).</summary>
    private static CoreState Reset(CoreState state, Tensor reset, long batch)
    {
        Tensor asColumn = reset.view(batch, 1);
        Tensor asMatrix = reset.view(batch, 1, 1);
        return state.Map(part => part.masked_fill(part.dim() == 3 ? asMatrix : asColumn, HeldScalars.Zero));
    }

    /// <summary>The core's state by name: the controller's h and c, and the memory's parts.</summary>
    private readonly record struct CoreState(Tensor H, Tensor C, ExternalMemoryState Memory)
    {
        public static CoreState From(RecurrentState state) => new(state["h"], state["c"], ExternalMemoryState.From(state));

        public RecurrentState ToState() => new([("h", H), ("c", C), .. Memory.Parts()]);

        public CoreState Map(Func<Tensor, Tensor> change) =>
            new(change(H), change(C), new ExternalMemoryState(change(Memory.Memory), change(Memory.ReadWeights), change(Memory.WriteWeights), change(Memory.Usage), change(Memory.ReadVectors)));

        public CoreState MoveToOuterDisposeScope()
        {
            H.MoveToOuterDisposeScope();
            C.MoveToOuterDisposeScope();
            Memory.MoveToOuterDisposeScope();
            return this;
        }

        public void Dispose()
        {
            H.Dispose();
            C.Dispose();
            foreach (var (_, part) in Memory.Parts())
            {
                part.Dispose();
            }
        }
    }
}
