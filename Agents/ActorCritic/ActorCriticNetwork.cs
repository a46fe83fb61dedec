using RlMemory.Agents.Recurrent;
using RlMemory.Memory;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents.ActorCritic;

/// <summary>
/// An actor-critic network: a body, a policy head and a value head (V(s)). The policy head gives, per step, the
/// parameters of the action distribution (<see cref="ActorCriticConfig.Distribution"/>, see <see cref="PolicyWidth"/>):
/// logits for discrete actions; for continuous ones the Gaussian's means and log standard deviations (and, with gSDE,
/// the latent features the exploration noise is drawn from). The body is any <see cref="RecurrentCore"/> built from <see cref="ActorCriticConfig.Core"/> (it carries a
/// <see cref="RecurrentState"/>), or nothing for a feed-forward policy (the heads read the observations). Each head is an
/// MLP of <see cref="ActorCriticConfig.NetArch"/> hidden layers. The critic reads the core's features
/// (<c>shared</c>), those of a second core of its own (<c>separate</c>), or the observations (<c>mlp</c>).
/// </summary>
/// <remarks>
/// Three entry points: <see cref="Step"/> (one time step for a batch of environments: acting),
/// <see cref="Forward"/> (a batch of single observations: feed-forward learning) and <see cref="UnrollSequences"/>
/// (a batch of sequences with episode starts inside them: recurrent learning, through <see cref="SegmentedUnroll"/>).
/// With a separate critic core the state holds both cores' parts, the critic's named <c>critic_…</c>.
/// </remarks>
public sealed class ActorCriticNetwork : nn.Module
{
    private readonly RecurrentCore? core;
    private readonly RecurrentCore? criticCore;
    private readonly Sequential policyBody;
    private readonly Linear policyHead;
    private readonly Sequential valueBody;
    private readonly Linear valueHead;
    private readonly Parameter? logStd;
    private readonly Tensor? observationMean;
    private readonly Tensor? observationScale;
    private readonly bool _valueFromObservations;
    private readonly RecurrentStateSpec? _stateSpec;
    private readonly int _actorParts;
    private readonly int _latentWidth;

    /// <summary>Builds the network described by <paramref name="config"/> on <paramref name="device"/> (CPU by default).</summary>
    /// <exception cref="NotSupportedException">The configured core kind is not available in this version.</exception>
    public ActorCriticNetwork(ActorCriticConfig config, Device? device = null)
        : base(nameof(ActorCriticNetwork))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        core = config.Core?.Create(config.ObservationSize);
        criticCore = core is not null && config.Critic == "separate" ? config.Core!.Create(config.ObservationSize) : null;
        int features = core?.OutputSize ?? config.ObservationSize;
        _valueFromObservations = config.Critic == "mlp" || core is null;
        if (core is not null)
        {
            _actorParts = core.StateSpec.Parts.Count;
            _stateSpec = criticCore is null
                ? core.StateSpec
                : new RecurrentStateSpec([.. core.StateSpec.Parts, .. criticCore.StateSpec.Parts.Select(p => p with { Name = CriticPrefix + p.Name })]);
        }

        (policyBody, int policyWidth) = Mlp(features, config.NetArch, config.Activation, config.OrthoInit);
        (valueBody, int valueWidth) = Mlp(_valueFromObservations ? config.ObservationSize : criticCore?.OutputSize ?? features, config.NetArch, config.Activation, config.OrthoInit);
        policyHead = Linear(policyWidth, config.ActionCount);
        valueHead = Linear(valueWidth, 1);
        _latentWidth = policyWidth;
        if (config.IsContinuous)
        {
            // SB3: log_std = ones(action_dim) · log_std_init; with gSDE, ones(latent_sde_dim, action_dim) · log_std_init.
            long[] shape = config.Distribution == "gsde" ? [policyWidth, config.ActionCount] : [config.ActionCount];
            using Scalar initial = config.LogStdInit.ToScalar();
            logStd = Parameter(full(shape, initial, ScalarType.Float32));
        }

        if (config.OrthoInit)
        {
            Orthogonal(policyHead, 0.01);
            Orthogonal(valueHead, 1.0);
        }

        if (config.NormalizeObservations)
        {
            // Buffers (saved with the weights): the identity until the trainer sets running statistics.
            observationMean = zeros(config.ObservationSize);
            observationScale = ones(config.ObservationSize);
        }

        RegisterComponents();
        if (device is not null && device.type != DeviceType.CPU)
        {
            this.to(device);
        }
    }

    /// <summary>The architecture.</summary>
    public ActorCriticConfig Config { get; }

    /// <summary>The recurrent core, or null for a feed-forward network.</summary>
    public RecurrentCore? Core => core;

    /// <summary>Whether the network carries a recurrent state.</summary>
    public bool IsRecurrent => core is not null;

    /// <summary>The layout of the recurrent state (with a separate critic core, both cores' parts); null for a feed-forward network.</summary>
    public RecurrentStateSpec? StateSpec => _stateSpec;

    /// <summary>The prefix of the critic core's state parts when the critic has a core of its own.</summary>
    public const string CriticPrefix = "critic_";

    /// <summary>
    /// Floats of the policy output per step: the number of actions (<c>categorical</c>: logits); 2 × the action size
    /// (<c>gaussian</c>: the means, then the log standard deviations); 2 × the action size + the latent width
    /// (<c>gsde</c>: the means, the log standard deviations, then the latent features the noise is drawn from).
    /// </summary>
    public int PolicyWidth => Config.Distribution switch
    {
        "gaussian" => 2 * Config.ActionCount,
        "gsde" => (2 * Config.ActionCount) + _latentWidth,
        _ => Config.ActionCount,
    };

    /// <summary>The width of gSDE's latent features (the policy MLP's last hidden layer; the core's features or the observation without one).</summary>
    public int LatentWidth => _latentWidth;

    /// <summary>
    /// The standard deviations of gSDE's exploration weights, exp(log std) [latent width × action size] row-major
    /// (null for other distributions): each environment's exploration matrix is drawn from N(0, these).
    /// </summary>
    public float[]? ExplorationStd()
    {
        if (Config.Distribution != "gsde")
        {
            return null;
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            return logStd!.exp().cpu().data<float>().ToArray();
        }
    }

    /// <summary>The ε added to gSDE's variance (SB3's <c>StateDependentNoiseDistribution.epsilon</c>).</summary>
    public const double GsdeEpsilon = 1e-6;

    /// <summary>The device of the parameters.</summary>
    public Device Device => parameters().First().device;

    /// <summary>The initial state for <paramref name="batchSize"/> environments; null for a feed-forward network.</summary>
    public RecurrentState? InitialState(int batchSize) =>
        core is null ? null : criticCore is null ? core.InitialState(batchSize) : Combine(core.InitialState(batchSize), criticCore.InitialState(batchSize));

    /// <summary>
    /// One time step: observations [N, obs] and the state before it (null for a feed-forward network) → the policy
    /// output [N, <see cref="PolicyWidth"/>] (logits for discrete actions), values [N] and the state after it (null for a feed-forward network).
    /// </summary>
    public (Tensor Logits, Tensor Values, RecurrentState? State) Step(Tensor observations, RecurrentState? state)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (core is null)
        {
            var (logits, values) = Forward(observations);
            return (logits, values, null);
        }

        ArgumentNullException.ThrowIfNull(state, nameof(state));
        using var scope = NewDisposeScope();
        observations = Normalize(observations);
        var (actorState, criticState) = Split(state);
        var (features, next) = core.Step(observations, actorState);
        Tensor l = Policy(policyBody.forward(features));
        Tensor valueInput = features;
        if (criticCore is not null)
        {
            (valueInput, RecurrentState criticNext) = criticCore.Step(observations, criticState!);
            next = Combine(next, criticNext);
        }

        Tensor v = valueHead.forward(valueBody.forward(_valueFromObservations ? observations : valueInput)).squeeze(-1);
        scope.MoveToOuter(l, v);
        next.MoveToOuterDisposeScope();
        return (l, v, next);
    }

    /// <summary>The policy output [B, <see cref="PolicyWidth"/>] and values [B] of single observations [B, obs] (feed-forward networks only).</summary>
    /// <exception cref="InvalidOperationException">The network is recurrent: use <see cref="Step"/> or <see cref="UnrollSequences"/>.</exception>
    public (Tensor Logits, Tensor Values) Forward(Tensor observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (core is not null)
        {
            throw new InvalidOperationException("ActorCriticNetwork.Forward is for feed-forward networks; this one is recurrent (use Step or UnrollSequences with a state).");
        }

        using var scope = NewDisposeScope();
        observations = Normalize(observations);
        Tensor l = Policy(policyBody.forward(observations));
        Tensor v = valueHead.forward(valueBody.forward(observations)).squeeze(-1);
        scope.MoveToOuter(l, v);
        return (l, v);
    }

    /// <summary>
    /// The policy output [B, T, <see cref="PolicyWidth"/>] and values [B, T] of sequences [B, T, obs] that start from <paramref name="state"/> (batch
    /// B), resetting the state before the steps where <paramref name="episodeStarts"/> [B, T] (bool or 0/1, optional)
    /// is set. Recurrent networks only.
    /// </summary>
    public (Tensor Logits, Tensor Values) UnrollSequences(Tensor observations, RecurrentState state, Tensor? episodeStarts)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(state);
        if (core is null)
        {
            throw new InvalidOperationException("ActorCriticNetwork.UnrollSequences is for recurrent networks; this one is feed-forward (use Forward).");
        }

        using var scope = NewDisposeScope();
        observations = Normalize(observations);
        var (actorState, criticState) = Split(state);
        Tensor features = SegmentedUnroll.Features(core, observations, actorState, episodeStarts);
        Tensor l = Policy(policyBody.forward(features));
        Tensor valueInput = criticCore is null ? features : SegmentedUnroll.Features(criticCore, observations, criticState!, episodeStarts);
        Tensor v = valueHead.forward(valueBody.forward(_valueFromObservations ? observations : valueInput)).squeeze(-1);
        scope.MoveToOuter(l, v);
        return (l, v);
    }

    /// <summary>
    /// Sets the observation statistics (per entry: running mean and variance) that the network normalizes with.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network was built without <see cref="ActorCriticConfig.NormalizeObservations"/>.</exception>
    public void SetObservationStatistics(ReadOnlySpan<double> mean, ReadOnlySpan<double> variance)
    {
        if (observationMean is null || observationScale is null)
        {
            throw new InvalidOperationException("ActorCriticNetwork: this network does not normalize observations (ActorCriticConfig.NormalizeObservations is false).");
        }

        int n = Config.ObservationSize;
        if (mean.Length != n || variance.Length != n)
        {
            throw new ArgumentException($"ActorCriticNetwork: observation statistics need {n} entries, got {mean.Length} and {variance.Length}.");
        }

        var m = new float[n];
        var s = new float[n];
        for (int i = 0; i < n; i++)
        {
            m[i] = (float)mean[i];
            s[i] = (float)(1 / Math.Sqrt(variance[i] + ObservationEpsilon));
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            observationMean.copy_(tensor(m));
            observationScale.copy_(tensor(s));
        }
    }

    /// <summary>
    /// The actor core's and the critic core's states as views of <paramref name="state"/>'s tensors (owned by it: the
    /// views are never disposed). Without a critic core, the state itself and null.
    /// </summary>
    private (RecurrentState Actor, RecurrentState? Critic) Split(RecurrentState state)
    {
        if (criticCore is null)
        {
            return (state, null);
        }

        if (!state.Spec.Equals(_stateSpec))
        {
            throw new ArgumentException($"ActorCriticNetwork: the state is {state.Spec}; expected {_stateSpec}.", nameof(state));
        }

        IReadOnlyList<RecurrentStatePart> parts = state.Spec.Parts;
        var actor = new List<(string, Tensor)>(_actorParts);
        var critic = new List<(string, Tensor)>(parts.Count - _actorParts);
        for (int i = 0; i < parts.Count; i++)
        {
            if (i < _actorParts)
            {
                actor.Add((parts[i].Name, state.Tensors[i]));
            }
            else
            {
                critic.Add((parts[i].Name[CriticPrefix.Length..], state.Tensors[i]));
            }
        }

        return (new RecurrentState(actor), new RecurrentState(critic));
    }

    /// <summary>One state of both cores' parts (it takes over their tensors).</summary>
    private static RecurrentState Combine(RecurrentState actor, RecurrentState critic) =>
        new([.. actor.Spec.Parts.Select((p, i) => (p.Name, actor.Tensors[i])), .. critic.Spec.Parts.Select((p, i) => (CriticPrefix + p.Name, critic.Tensors[i]))]);

    /// <summary>The ε in √(var + ε) of observation normalization.</summary>
    public const double ObservationEpsilon = 1e-8;

    /// <summary>Normalized observations are clipped to ± this (SB3's <c>clip_obs</c>).</summary>
    public const double ObservationClip = 10;

    private static readonly Scalar ClipLow = (-ObservationClip).ToScalar(), ClipHigh = ObservationClip.ToScalar(); // held (HeldScalars)

    private static readonly Scalar Half = 0.5.ToScalar(), Two = 2.ToScalar(), VarianceEpsilon = GsdeEpsilon.ToScalar(); // held (HeldScalars)

    /// <summary>The policy output of latent features [..., width]: see <see cref="PolicyWidth"/>.</summary>
    private Tensor Policy(Tensor latent)
    {
        Tensor mean = policyHead.forward(latent);
        switch (Config.Distribution)
        {
            case "gaussian":
                return cat([mean, logStd!.expand_as(mean)], -1);
            case "gsde":
                // SB3 (full_std, no expln, learn_features false): σ² = (latent²) · exp(log std)², σ = √(σ² + ε); the
                // latent is detached, so only log std learns through σ.
                Tensor features = latent.detach();
                Tensor variance = features.mul(features).matmul(logStd!.mul(Two).exp());
                Tensor logSigma = variance.add(VarianceEpsilon).log().mul(Half);
                return cat([mean, logSigma, features], -1);
            default:
                return mean;
        }
    }

    private Tensor Normalize(Tensor observations) =>
        observationMean is null ? observations : observations.sub(observationMean).mul(observationScale!).clamp(ClipLow, ClipHigh);

    private static (Sequential Body, int Width) Mlp(int input, IReadOnlyList<int> widths, string activation, bool ortho)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        int width = input;
        for (int i = 0; i < widths.Count; i++)
        {
            Linear linear = Linear(width, widths[i]);
            if (ortho)
            {
                Orthogonal(linear, Math.Sqrt(2));
            }

            layers.Add(($"linear{i}", linear));
            layers.Add(($"{activation}{i}", activation == "relu" ? ReLU() : Tanh()));
            width = widths[i];
        }

        return (Sequential(layers), width);
    }

    private static void Orthogonal(Linear layer, double gain)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            init.orthogonal_(layer.weight!, gain);
            layer.bias!.zero_();
        }
    }
}
