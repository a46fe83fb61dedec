using RlMemory.Environments.Vector;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// The on-policy memory of PPO and A2C: one rollout of T steps of N environments, stored in tensors preallocated on a
/// device, with GAE(λ) advantages and returns, shuffled minibatches of single entries (feed-forward policies) or of
/// whole sequences with their initial recurrent state, episode starts and masks (recurrent policies).
/// </summary>
/// <remarks>
/// <para>The loop (see docs/replay.md, "Rollout buffer"):</para>
/// <code>
/// for (int t = 0; t &lt; T; t++)
/// {
///     (actions, values, logProbs) = policy.Act(vec.Observations);            // values, logProbs: [N]
///     VectorStep&lt;int&gt; step = vec.Step(actions);
///     buffer.Add(step, values, logProbs);
/// }
/// buffer.ComputeReturnsAndAdvantages(policy.Values(vec.Observations));       // V of the observations after the last step
/// for (int epoch = 0; epoch &lt; 10; epoch++)
///     foreach (RolloutBatch batch in buffer.Minibatches(256)) using (batch) { /* PPO loss */ }
/// buffer.Clear();
/// </code>
/// <para><b>Autoreset.</b> Vector environments follow Gymnasium 1.x's NEXT_STEP autoreset: when environment n's
/// step ended (terminated or truncated), its next step is a reset pseudo-step whose observation is the final
/// observation F of the ended episode, whose action is ignored and whose reward is 0. The buffer tracks this itself
/// (one flag per environment, carried across rollouts and saved). It stores the pseudo-step (its value V(F) is the
/// bootstrap of a truncated episode) with mask 0: it is left out of minibatches, losses and advantage normalization.
/// Its reward and flags are ignored (stored as 0 and false) and not checked.</para>
/// <para><b>Bad input</b> (wrong lengths, shapes or dtypes, the wrong kind of action, NaN or infinite observations,
/// actions, rewards, values, log-probabilities or recurrent states) is refused with an <see cref="ArgumentException"/>
/// naming the buffer, the argument, the index and the value; a refused call changes nothing.</para>
/// <para>Not thread-safe: use one buffer from one thread at a time.</para>
/// </remarks>
public sealed class RolloutBuffer : IDisposable
{
    /// <summary>The kind recorded in saved files.</summary>
    public const string Kind = "RolloutBuffer";

    /// <summary>The version of the saved metadata and sections of this kind.</summary>
    public const int KindVersion = 1;

    /// <summary>The file name inside the directory given to <see cref="Save"/> and <see cref="Load(string, Device?)"/>.</summary>
    public const string FileName = "rollout-buffer.rlmb";

    private readonly RolloutTable _table;
    private readonly RolloutStateStore? _states;
    private readonly Xoshiro256StarStar _rng;
    private readonly int _numSteps;
    private readonly int _numEnvs;
    private readonly int _observationSize;
    private readonly long[] _observationShape;
    private readonly bool _forceStaging;

    // Host copies of what GAE needs, entry t · N + n.
    private readonly double[] _rewards;
    private readonly bool[] _terminated;
    private readonly bool[] _truncated;
    private readonly bool[] _valid;
    private readonly bool[] _episodeStarts;

    // Per environment, carried across rollouts.
    private readonly bool[] _previousEnded;
    private readonly bool[] _nextStartsEpisode;

    // Scratch for ComputeReturnsAndAdvantages.
    private readonly float[] _values;
    private readonly double[] _advantages;
    private readonly double[] _returns;
    private readonly double[] _nextAdvantage;
    private readonly float[] _advantageColumn;
    private readonly float[] _returnColumn;

    private int _count;
    private int _validCount;
    private bool _computed;
    private long _version;
    private bool _disposed;

    /// <summary>Builds an empty buffer, allocating all its storage on the device.</summary>
    /// <exception cref="ArgumentException">The options break a rule between fields (see <see cref="RolloutBufferOptions.Validate"/>).</exception>
    public RolloutBuffer(RolloutBufferOptions options)
        : this(options, forceStaging: false)
    {
    }

    /// <param name="options">What to store.</param>
    /// <param name="forceStaging">Write and read through CPU staging tensors and <c>copy_</c> even on the CPU, and treat
    /// CPU value tensors like device tensors (the paths taken on other devices); for tests.</param>
    internal RolloutBuffer(RolloutBufferOptions options, bool forceStaging)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Device = options.Device ?? torch.CPU;
        _forceStaging = forceStaging;
        _numSteps = options.NumSteps;
        _numEnvs = options.NumEnvs;
        _observationSize = options.ObservationSize;
        _observationShape = [.. options.ObservationShape.Select(d => (long)d)];
        Name = $"{Kind}({_numSteps} steps × {_numEnvs} envs, obs [{ReplayBufferOptions.ShapeText(options.ObservationShape)}]"
            + (options.Action.IsDiscrete ? "" : $", actions {options.Action}")
            + (options.RecurrentState is null ? "" : ", recurrent") + ")";

        int entries = _numSteps * _numEnvs;
        _rewards = new double[entries];
        _terminated = new bool[entries];
        _truncated = new bool[entries];
        _valid = new bool[entries];
        _episodeStarts = new bool[entries];
        _previousEnded = new bool[_numEnvs];
        _nextStartsEpisode = new bool[_numEnvs];
        _nextStartsEpisode.AsSpan().Fill(true);
        _values = new float[entries];
        _advantages = new double[entries];
        _returns = new double[entries];
        _nextAdvantage = new double[_numEnvs];
        _advantageColumn = new float[entries];
        _returnColumn = new float[entries];
        _rng = new Xoshiro256StarStar(options.Seed);

        _table = new RolloutTable(_numSteps, _numEnvs, _observationSize, options.Action.Dimension, Device, forceStaging);
        try
        {
            if (options.RecurrentState is not null)
            {
                _states = new RolloutStateStore(options.RecurrentState, _numSteps, _numEnvs, Device, forceStaging);
            }
        }
        catch
        {
            _table.Dispose();
            throw;
        }
    }

    /// <summary>The options the buffer was built from.</summary>
    public RolloutBufferOptions Options { get; }

    /// <summary>A name for messages, e.g. <c>RolloutBuffer(128 steps × 8 envs, obs [4])</c>.</summary>
    public string Name { get; }

    /// <summary>The device of the storage and of minibatches.</summary>
    public Device Device { get; }

    /// <summary>T, the steps per environment of a full rollout.</summary>
    public int NumSteps => _numSteps;

    /// <summary>N, the environments.</summary>
    public int NumEnvs => _numEnvs;

    /// <summary>The steps added to this rollout so far (0 to T).</summary>
    public int Count => _count;

    /// <summary>Whether T steps were added (the rollout is complete).</summary>
    public bool IsFull => _count == _numSteps;

    /// <summary>The valid entries (real transitions, not autoreset pseudo-steps) added so far.</summary>
    public int ValidCount => _validCount;

    /// <summary>Whether advantages and returns of the current (full) rollout were computed, so minibatches can be drawn.</summary>
    public bool AdvantagesComputed => _computed;

    /// <summary>
    /// One flag per environment: whether its next step begins an episode, i.e. its last step was an autoreset
    /// pseudo-step (or no step was added since the buffer was built or <see cref="BeginNewEpisodes"/>). A recurrent
    /// actor resets those rows of its state before the next step, and only those: the state before a pseudo-step is
    /// the ended episode's, which is what its bootstrap value V(F) needs.
    /// </summary>
    public ReadOnlySpan<bool> NextStepBeginsEpisode => _nextStartsEpisode;

    /// <summary>Bytes of tensor storage on the device (the table and the recurrent states).</summary>
    public long StorageBytes => _table.Bytes + (_states?.Bytes ?? 0);

    /// <summary>The autoreset flags: whether each environment's last step ended (its next step is a pseudo-step).</summary>
    internal ReadOnlySpan<bool> PreviousEnded => _previousEnded;

    internal RolloutTable Table => _table;

    // ---------------------------------------------------------------- adding

    /// <summary>
    /// Adds one step of N environments: <paramref name="step"/> as the vector environment returned it (its observations
    /// are those the actions were chosen from; for an environment in its autoreset pseudo-step, the ended episode's final
    /// observation; its next observations are not stored), with the policy's V(s_t) and log π(a_t | s_t), one per
    /// environment. Actions are <c>int</c> (discrete) or <c>float</c> (N × d, continuous).
    /// </summary>
    /// <param name="step">The step.</param>
    /// <param name="values">V(s_t) from the policy.</param>
    /// <param name="logProbs">log π(a_t | s_t) from the policy.</param>
    /// <param name="stateBeforeStep">The policy's recurrent state before this step (batch N), when the options have a <see cref="RolloutBufferOptions.RecurrentState"/>; null otherwise. It is copied.</param>
    /// <exception cref="ArgumentException">Bad input; the buffer is unchanged.</exception>
    /// <exception cref="InvalidOperationException">The rollout is full.</exception>
    public void Add<TAction>(in VectorStep<TAction> step, ReadOnlySpan<float> values, ReadOnlySpan<float> logProbs, RecurrentState? stateBeforeStep = null)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        ActionSpans.Split(Name, "Add", Options.Action, step.Actions, out ReadOnlySpan<int> discrete, out ReadOnlySpan<float> continuous);
        AddCore(step.Observations, discrete, continuous, step.Rewards, step.Terminations, step.Truncations, values, logProbs, null, null, stateBeforeStep);
    }

    /// <summary>
    /// Adds one step, taking the policy's values and log-probabilities as tensors of shape <c>[N]</c> or <c>[N, 1]</c>
    /// (any floating dtype, any device; detached): no host round trip for the caller. CPU tensors are read in place;
    /// tensors on another device are checked there (one synchronization) and copied device to device.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input; the buffer is unchanged.</exception>
    /// <exception cref="InvalidOperationException">The rollout is full.</exception>
    public void Add<TAction>(in VectorStep<TAction> step, Tensor values, Tensor logProbs, RecurrentState? stateBeforeStep = null)
        where TAction : unmanaged
    {
        ThrowIfDisposed();
        ActionSpans.Split(Name, "Add", Options.Action, step.Actions, out ReadOnlySpan<int> discrete, out ReadOnlySpan<float> continuous);
        ThrowIfFull();
        DisposeScope? scope = null;     // opened only when a tensor must be converted
        try
        {
            TensorInput v = Prepare("Add", nameof(values), values, ref scope);
            TensorInput l = Prepare("Add", nameof(logProbs), logProbs, ref scope);
            AddCore(step.Observations, discrete, continuous, step.Rewards, step.Terminations, step.Truncations, v.Host, l.Host, v.Device, l.Device, stateBeforeStep);
        }
        finally
        {
            scope?.Dispose();
        }
    }

    // ---------------------------------------------------------------- GAE

    /// <summary>
    /// Computes GAE(λ) advantages and returns of the full rollout, on the host in double (see docs/replay.md):
    /// <c>δ_t = r_t + γ·V_{t+1}·(1 − terminated_t) − V_t</c>, <c>A_t = δ_t + γλ·(1 − done_t)·A_{t+1}</c>,
    /// <c>R_t = A_t + V_t</c>, with V_{t+1} the value stored at step t + 1. A truncated step therefore bootstraps from the
    /// value of its final observation, stored at the pseudo-step that follows it, or given here when the truncation
    /// was the rollout's last step. With <see cref="AdvantageNormalization.PerRollout"/> the advantages are then
    /// normalized over the valid entries. May be called again (e.g. with other last values).
    /// </summary>
    /// <param name="lastValues">V of the observations the vector environment returned after the last step (N values;
    /// for an environment whose last step ended, its final observation F).</param>
    /// <exception cref="InvalidOperationException">The rollout is not full.</exception>
    /// <exception cref="ArgumentException"><paramref name="lastValues"/> has the wrong length or a NaN or infinite value; nothing changes.</exception>
    public void ComputeReturnsAndAdvantages(ReadOnlySpan<float> lastValues)
    {
        ThrowIfDisposed();
        ThrowIfNotFull("ComputeReturnsAndAdvantages");
        TransitionChecks.Length(Name, "ComputeReturnsAndAdvantages", nameof(lastValues), lastValues.Length, _numEnvs, 1, "env");
        CheckFinite("ComputeReturnsAndAdvantages", nameof(lastValues), lastValues, "values");

        int entries = _numSteps * _numEnvs;
        _table.ReadColumn(_table.ValueColumn, entries, _values);
        GeneralizedAdvantageEstimation.Compute(_numSteps, _numEnvs, Options.Gamma, Options.GaeLambda, _rewards, _values, lastValues, _terminated, _truncated, _valid, _nextAdvantage, _advantages, _returns);
        for (int i = 0; i < entries; i++)
        {
            _returnColumn[i] = (float)_returns[i];
        }

        if (Options.AdvantageNormalization == AdvantageNormalization.PerRollout)
        {
            GeneralizedAdvantageEstimation.Normalize(_advantages, _valid, RolloutBufferOptions.NormalizationEpsilon);
        }

        for (int i = 0; i < entries; i++)
        {
            _advantageColumn[i] = (float)_advantages[i];
        }

        _table.WriteColumnPair(_table.AdvantageColumn, _advantageColumn, _returnColumn);
        _computed = true;
        _version++;
    }

    /// <summary>
    /// Computes advantages and returns like <see cref="ComputeReturnsAndAdvantages(ReadOnlySpan{float})"/>, taking the
    /// last values as a tensor of shape <c>[N]</c> or <c>[N, 1]</c> (any floating dtype, any device; GAE runs on the
    /// host, so a device tensor is copied over once).
    /// </summary>
    public void ComputeReturnsAndAdvantages(Tensor lastValues)
    {
        ThrowIfDisposed();
        ThrowIfNotFull("ComputeReturnsAndAdvantages");
        using var scope = torch.NewDisposeScope();
        DisposeScope? inner = scope;
        TensorInput input = Prepare("ComputeReturnsAndAdvantages", nameof(lastValues), lastValues, ref inner);
        if (input.Device is null)
        {
            ComputeReturnsAndAdvantages(input.Host);
            return;
        }

        float[] host = input.Device.to(torch.CPU).data<float>().ToArray();
        ComputeReturnsAndAdvantages(host);
    }

    // ---------------------------------------------------------------- minibatches

    /// <summary>
    /// One epoch of minibatches for a feed-forward policy: the valid entries in a random order (the buffer's own
    /// generator, seeded from <see cref="RolloutBufferOptions.Seed"/>; the order is drawn when the enumeration starts,
    /// so each enumeration is a new epoch), cut into minibatches of <paramref name="batchSize"/>. Every valid entry
    /// appears exactly once; the last minibatch is smaller when <paramref name="batchSize"/> does not divide the number
    /// of valid entries, or left out with <paramref name="dropLast"/>. Pseudo-steps never appear. Dispose each batch.
    /// </summary>
    /// <exception cref="InvalidOperationException">Advantages were not computed for the current rollout.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is below 1.</exception>
    public IEnumerable<RolloutBatch> Minibatches(int batchSize, bool dropLast = false)
    {
        ThrowIfDisposed();
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{Name}: the minibatch size must be at least 1, got {batchSize}.");
        }

        ThrowIfNotComputed("Minibatches");
        return EnumerateMinibatches(batchSize, dropLast, _version);
    }

    /// <summary>
    /// One epoch of sequence minibatches for a recurrent policy. Each environment's T steps are cut into consecutive
    /// chunks of <paramref name="sequenceLength"/> steps (steps 0..L−1, L..2L−1, …; when L does not divide T, the last
    /// chunk is padded with mask 0). Chunks without any valid step are left out. The chunks are shuffled (the buffer's
    /// generator, drawn when the enumeration starts) and grouped <paramref name="sequencesPerBatch"/> at a time (the
    /// last group may be smaller). Each sequence carries its initial recurrent state (the one stored by <c>Add</c> for
    /// its first step), episode starts and a mask; every valid entry appears exactly once per epoch. Dispose each batch.
    /// </summary>
    /// <exception cref="InvalidOperationException">Advantages were not computed for the current rollout.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A length or count below 1, or a sequence longer than T.</exception>
    public IEnumerable<RolloutSequenceBatch> SequenceMinibatches(int sequenceLength, int sequencesPerBatch)
    {
        ThrowIfDisposed();
        if (sequenceLength < 1 || sequenceLength > _numSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, $"{Name}: the sequence length must be in [1, {_numSteps}] (the steps of a rollout), got {sequenceLength}.");
        }

        if (sequencesPerBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(sequencesPerBatch), sequencesPerBatch, $"{Name}: the sequences per minibatch must be at least 1, got {sequencesPerBatch}.");
        }

        ThrowIfNotComputed("SequenceMinibatches");
        return EnumerateSequences(sequenceLength, sequencesPerBatch, _version);
    }

    // ---------------------------------------------------------------- rollout boundaries

    /// <summary>
    /// Empties the buffer for the next rollout. The per-environment autoreset flags are kept, because the vector
    /// environment goes on: an environment whose last step ended starts the next rollout with its pseudo-step.
    /// </summary>
    public void Clear()
    {
        ThrowIfDisposed();
        _count = 0;
        _validCount = 0;
        _computed = false;
        _version++;
    }

    /// <summary>
    /// Tells the buffer that the vector environment was reset outside the step loop (e.g. <c>vec.Reset()</c>): the next
    /// step of every environment is a real first step of an episode. Only between rollouts (on an empty buffer),
    /// because a reset inside a rollout leaves the step before it without a next value.
    /// </summary>
    /// <exception cref="InvalidOperationException">The buffer holds steps of a rollout; call <see cref="Clear"/> first.</exception>
    public void BeginNewEpisodes()
    {
        ThrowIfDisposed();
        if (_count != 0)
        {
            throw new InvalidOperationException($"{Name}: BeginNewEpisodes is only allowed between rollouts, but {_count} of {_numSteps} steps were added; finish the rollout (or Clear it) before resetting the environments.");
        }

        Array.Clear(_previousEnded);
        _nextStartsEpisode.AsSpan().Fill(true);
        _version++;
    }

    // ---------------------------------------------------------------- persistence

    /// <summary>
    /// Saves the buffer (options, the steps of the current rollout, computed advantages and returns, recurrent states,
    /// autoreset flags and the generator state) to <c><paramref name="directory"/>/rollout-buffer.rlmb</c>, creating
    /// the directory if needed. The file is written under a temporary name, flushed and renamed, so an older save stays
    /// intact until the new one is complete.
    /// </summary>
    public void Save(string directory)
    {
        ThrowIfDisposed();
        RolloutBufferFile.Save(this, directory);
    }

    /// <summary>
    /// Loads a buffer saved by <see cref="Save"/> from <paramref name="directory"/> onto <paramref name="device"/>
    /// (default: the CPU). The file is verified in full (length, checksum, kind, version, consistency) before any
    /// storage is allocated; a bad file is refused with an <see cref="InvalidDataException"/> naming it and what is
    /// wrong. The generator state is restored on any device, so the same minibatches follow.
    /// </summary>
    /// <exception cref="FileNotFoundException">No saved buffer in the directory.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another kind or inconsistent.</exception>
    public static RolloutBuffer Load(string directory, Device? device = null) => RolloutBufferFile.Load(directory, device, expected: null, forceStaging: false);

    /// <summary>
    /// Loads a buffer like <see cref="Load(string, Device?)"/>, onto <paramref name="expected"/>'s device, and refuses
    /// a file saved with other options (everything but the device and the seed is compared): the message names the
    /// file, the field, the saved value and the expected one.
    /// </summary>
    public static RolloutBuffer Load(string directory, RolloutBufferOptions expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return RolloutBufferFile.Load(directory, expected.Device, expected, forceStaging: false);
    }

    /// <summary>Disposes the storage.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _version++;
        _table.Dispose();
        _states?.Dispose();
    }

    public override string ToString() => Name;

    // ---------------------------------------------------------------- internals (persistence, tests)

    internal RolloutStateStore? States => _states;

    internal Xoshiro256StarStar Generator => _rng;

    internal ReadOnlySpan<double> Rewards => _rewards;

    internal ReadOnlySpan<bool> Terminated => _terminated;

    internal ReadOnlySpan<bool> Truncated => _truncated;

    internal ReadOnlySpan<bool> Valid => _valid;

    internal ReadOnlySpan<bool> EpisodeStarts => _episodeStarts;

    /// <summary>Restores the host state of a loaded buffer (already checked) and makes the table's mask columns agree with it.</summary>
    internal void Restore(int count, bool computed, double[] rewards, bool[] terminated, bool[] truncated, bool[] valid, bool[] episodeStarts, bool[] previousEnded, bool[] nextStartsEpisode, byte[] generatorState)
    {
        _count = count;
        _computed = computed;
        rewards.CopyTo(_rewards, 0);
        terminated.CopyTo(_terminated, 0);
        truncated.CopyTo(_truncated, 0);
        valid.CopyTo(_valid, 0);
        episodeStarts.CopyTo(_episodeStarts, 0);
        previousEnded.CopyTo(_previousEnded, 0);
        nextStartsEpisode.CopyTo(_nextStartsEpisode, 0);
        _validCount = valid.Count(v => v);
        _rng.ImportState(generatorState);
        int entries = valid.Length;
        float[] mask = new float[entries];
        float[] starts = new float[entries];
        for (int i = 0; i < entries; i++)
        {
            mask[i] = valid[i] ? 1 : 0;
            starts[i] = episodeStarts[i] ? 1 : 0;
        }

        _table.WriteColumnPair(_table.MaskColumn, mask, starts);
        _version++;
    }

    /// <summary>Everything the buffer holds, read back to the host (slow: for tests).</summary>
    internal RolloutSnapshot Snapshot()
    {
        ThrowIfDisposed();
        using var scope = torch.NewDisposeScope();
        int entries = _count * _numEnvs;
        float[] table = entries == 0 ? [] : _table.Tensor.narrow(0, 0, entries).to(torch.CPU).contiguous().data<float>().ToArray();
        var states = new List<byte[]>();
        if (_states is not null)
        {
            foreach (Tensor part in _states.Parts)
            {
                states.Add(entries == 0 ? [] : part.narrow(0, 0, entries).to(torch.CPU).contiguous().bytes.ToArray());
            }
        }

        return new RolloutSnapshot(_count, _validCount, _computed, table, _rewards[..entries], _terminated[..entries], _truncated[..entries], _valid[..entries], _episodeStarts[..entries],
            [.. _previousEnded], [.. _nextStartsEpisode], _rng.ExportState(), states);
    }

    // ---------------------------------------------------------------- private

    private unsafe void AddCore(
        ReadOnlySpan<float> observations, ReadOnlySpan<int> discreteActions, ReadOnlySpan<float> continuousActions,
        ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated,
        ReadOnlySpan<float> values, ReadOnlySpan<float> logProbs, Tensor? valuesOnDevice, Tensor? logProbsOnDevice, RecurrentState? state)
    {
        ThrowIfFull();
        const string call = "Add";
        int n = _numEnvs;
        ActionSpec action = Options.Action;
        bool discreteCall = action.IsDiscrete;

        TransitionChecks.Length(Name, call, nameof(observations), observations.Length, n, _observationSize, "env");
        if (discreteCall)
        {
            TransitionChecks.Length(Name, call, "actions", discreteActions.Length, n, 1, "env");
        }
        else
        {
            TransitionChecks.Length(Name, call, "actions", continuousActions.Length, n, action.Dimension, "env");
        }

        TransitionChecks.Length(Name, call, nameof(rewards), rewards.Length, n, 1, "env");
        TransitionChecks.Length(Name, call, nameof(terminated), terminated.Length, n, 1, "env");
        TransitionChecks.Length(Name, call, nameof(truncated), truncated.Length, n, 1, "env");
        if (valuesOnDevice is null)
        {
            TransitionChecks.Length(Name, call, nameof(values), values.Length, n, 1, "env");
        }

        if (logProbsOnDevice is null)
        {
            TransitionChecks.Length(Name, call, nameof(logProbs), logProbs.Length, n, 1, "env");
        }

        // Everything that is stored is checked, pseudo-steps included: their rows reach sequence minibatches (masked,
        // but a NaN times a zero mask is still NaN). Rewards of pseudo-steps are ignored, so they are not checked.
        TransitionChecks.Observations(Name, call, nameof(observations), observations, _observationSize, ObservationStorage.Float32, default, "env");
        if (discreteCall)
        {
            TransitionChecks.DiscreteActions(Name, call, "actions", discreteActions, default, "env");
        }
        else
        {
            TransitionChecks.ContinuousActions(Name, call, "actions", continuousActions, action.Dimension, default, "env");
        }

        TransitionChecks.Rewards(Name, call, nameof(rewards), rewards, _previousEnded, "env");
        if (valuesOnDevice is null)
        {
            CheckFinite(call, nameof(values), values, "values");
        }

        if (logProbsOnDevice is null)
        {
            CheckFinite(call, nameof(logProbs), logProbs, "log-probabilities");
        }

        if (_states is not null)
        {
            _states.Check(Name, state);
        }
        else if (state is not null)
        {
            throw new ArgumentException($"{Name}: {call} got a recurrent state, but the buffer was built without RecurrentState; set RolloutBufferOptions.RecurrentState to {state.Spec} to store it, or pass null.", "stateBeforeStep");
        }

        // Checked in full: write.
        int step = _count;
        int first = step * n;
        int width = _table.Width;
        int added = 0;
        Span<float> rows = _table.BeginStep(step);
        for (int e = 0; e < n; e++)
        {
            int i = first + e;
            bool pseudo = _previousEnded[e];
            _valid[i] = !pseudo;
            _rewards[i] = pseudo ? 0 : rewards[e];
            _terminated[i] = !pseudo && terminated[e];
            _truncated[i] = !pseudo && truncated[e];
            _episodeStarts[i] = !pseudo && _nextStartsEpisode[e];

            Span<float> row = rows.Slice(e * width, width);
            observations.Slice(e * _observationSize, _observationSize).CopyTo(row);
            if (discreteCall)
            {
                row[_table.ActionColumn] = discreteActions[e];
            }
            else
            {
                continuousActions.Slice(e * action.Dimension, action.Dimension).CopyTo(row[_table.ActionColumn..]);
            }

            row[_table.ValueColumn] = valuesOnDevice is null ? values[e] : 0f;
            row[_table.LogProbColumn] = logProbsOnDevice is null ? logProbs[e] : 0f;
            row[_table.AdvantageColumn] = 0f;
            row[_table.ReturnColumn] = 0f;
            row[_table.MaskColumn] = pseudo ? 0f : 1f;
            row[_table.EpisodeStartColumn] = _episodeStarts[i] ? 1f : 0f;

            added += pseudo ? 0 : 1;
        }

        _table.CommitStep(step);
        if (valuesOnDevice is not null)
        {
            _table.CopyColumn(step, _table.ValueColumn, valuesOnDevice);
        }

        if (logProbsOnDevice is not null)
        {
            _table.CopyColumn(step, _table.LogProbColumn, logProbsOnDevice);
        }

        _states?.Write(step, state!);

        for (int e = 0; e < n; e++)
        {
            int i = first + e;
            if (_valid[i])
            {
                _previousEnded[e] = _terminated[i] || _truncated[i];
                _nextStartsEpisode[e] = false;
            }
            else
            {
                // The pseudo-step: the next step is the new episode's first.
                _previousEnded[e] = false;
                _nextStartsEpisode[e] = true;
            }
        }

        _validCount += added;
        _count++;
        _version++;
    }

    /// <summary>
    /// Checks a policy tensor (shape [N] or [N, 1], floating, finite) and makes it readable: host memory on the CPU, a
    /// float32 [N] device tensor elsewhere. Tensors it creates go into <paramref name="scope"/>, opened on first need.
    /// </summary>
    private unsafe TensorInput Prepare(string call, string argument, Tensor values, ref DisposeScope? scope)
    {
        ArgumentNullException.ThrowIfNull(values, argument);
        int n = _numEnvs;
        bool shapeOk = values.numel() == n && (values.dim() == 1 || (values.dim() == 2 && values.size(1) == 1));
        if (!shapeOk)
        {
            throw new ArgumentException($"{Name}: {call} needs {argument} of shape [{n}] (or [{n}, 1]), one per environment; got shape [{string.Join(", ", values.shape)}].", argument);
        }

        if (!values.is_floating_point())
        {
            throw new ArgumentException($"{Name}: {call} needs floating-point {argument}; got dtype {values.dtype} (shape [{string.Join(", ", values.shape)}]).", argument);
        }

        if (values.device_type == DeviceType.CPU && !_forceStaging)
        {
            // Read in place when possible (no tensor operation); otherwise convert inside the caller's scope.
            Tensor host = values;
            if (values.dtype != ScalarType.Float32 || !values.is_contiguous())
            {
                scope ??= torch.NewDisposeScope();
                host = values.detach().to(ScalarType.Float32).contiguous();
            }

            return new TensorInput(new ReadOnlySpan<float>(TensorMemory.Address(host), n), null);
        }

        scope ??= torch.NewDisposeScope();
        Tensor flat = values.detach().reshape(n).to(ScalarType.Float32);
        if (!flat.isfinite().all().item<bool>())
        {
            float[] host = flat.to(torch.CPU).data<float>().ToArray();
            CheckFinite(call, argument, host, argument == "logProbs" ? "log-probabilities" : "values");
        }

        return new TensorInput(default, flat);
    }

    private void CheckFinite(string call, string argument, ReadOnlySpan<float> values, string what)
    {
        int bad = SpanMath.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            throw new ArgumentException($"{Name}: {call}: {argument}[{bad}] (env {bad}) is {TransitionChecks.Text(values[bad])}; {what} must be finite.", argument);
        }
    }

    private IEnumerable<RolloutBatch> EnumerateMinibatches(int batchSize, bool dropLast, long version)
    {
        CheckVersion(version);
        long[] order = new long[_validCount];
        int k = 0;
        int entries = _numSteps * _numEnvs;
        for (int i = 0; i < entries; i++)
        {
            if (_valid[i])
            {
                order[k++] = i;
            }
        }

        Shuffling.Shuffle(order.AsSpan(), _rng);
        int total = dropLast ? order.Length / batchSize * batchSize : order.Length;
        if (total == 0)
        {
            yield break;
        }

        Tensor indices = torch.tensor(order, device: Device).DetachFromDisposeScope();
        try
        {
            for (int start = 0; start < total; start += batchSize)
            {
                CheckVersion(version);
                yield return BuildBatch(indices, start, Math.Min(batchSize, total - start));
            }
        }
        finally
        {
            indices.Dispose();
        }
    }

    private RolloutBatch BuildBatch(Tensor epochIndices, int start, int size)
    {
        using var scope = torch.NewDisposeScope();
        Tensor indices = epochIndices.narrow(0, start, size);
        Tensor rows = _table.Gather(indices);
        Tensor observations = rows.narrow(1, 0, _observationSize).reshape([size, .. _observationShape.AsSpan(0)]);
        Tensor actions = Options.Action.IsDiscrete
            ? rows.select(1, _table.ActionColumn).to(ScalarType.Int64)
            : rows.narrow(1, _table.ActionColumn, Options.Action.Dimension);
        Tensor advantages = rows.select(1, _table.AdvantageColumn);
        if (Options.AdvantageNormalization == AdvantageNormalization.PerMinibatch && size > 1)
        {
            (Tensor std, Tensor mean) = advantages.std_mean();
            using Scalar epsilon = RolloutBufferOptions.NormalizationEpsilon.ToScalar();
            advantages = advantages.sub(mean).div(std.add(epsilon, HeldScalars.One));
        }

        var batch = new RolloutBatch(observations, actions, rows.select(1, _table.ValueColumn), rows.select(1, _table.LogProbColumn), advantages, rows.select(1, _table.ReturnColumn), indices);
        scope.MoveToOuter(batch.Observations, batch.Actions, batch.OldValues, batch.OldLogProbs, batch.Advantages, batch.Returns, batch.Indices);
        return batch;
    }

    private IEnumerable<RolloutSequenceBatch> EnumerateSequences(int length, int perBatch, long version)
    {
        CheckVersion(version);
        int n = _numEnvs;
        int chunksPerEnv = (_numSteps + length - 1) / length;
        var chunks = new List<(int Env, int Start, int Valid)>(n * chunksPerEnv);
        for (int e = 0; e < n; e++)
        {
            for (int c = 0; c < chunksPerEnv; c++)
            {
                int start = c * length;
                int end = Math.Min(_numSteps, start + length);
                int valid = 0;
                for (int t = start; t < end; t++)
                {
                    valid += _valid[t * n + e] ? 1 : 0;
                }

                if (valid > 0)
                {
                    chunks.Add((e, start, valid));
                }
            }
        }

        var order = chunks.ToArray();
        Shuffling.Shuffle(order.AsSpan(), _rng);
        if (order.Length == 0)
        {
            yield break;
        }

        long[] rowIndices = new long[order.Length * length];
        long[] startRows = new long[order.Length];
        for (int k = 0; k < order.Length; k++)
        {
            (int e, int start, _) = order[k];
            startRows[k] = (long)start * n + e;
            for (int l = 0; l < length; l++)
            {
                int t = start + l;
                rowIndices[k * length + l] = t < _numSteps ? (long)t * n + e : _table.PaddingRow;
            }
        }

        Tensor rowTensor = torch.tensor(rowIndices, device: Device).DetachFromDisposeScope();
        Tensor startTensor;
        try
        {
            startTensor = torch.tensor(startRows, device: Device).DetachFromDisposeScope();
        }
        catch
        {
            rowTensor.Dispose();
            throw;
        }

        try
        {
            for (int k = 0; k < order.Length; k += perBatch)
            {
                CheckVersion(version);
                int count = Math.Min(perBatch, order.Length - k);
                int valid = 0;
                for (int j = k; j < k + count; j++)
                {
                    valid += order[j].Valid;
                }

                yield return BuildSequenceBatch(rowTensor, startTensor, k, count, length, valid);
            }
        }
        finally
        {
            rowTensor.Dispose();
            startTensor.Dispose();
        }
    }

    private RolloutSequenceBatch BuildSequenceBatch(Tensor rowIndices, Tensor startRows, int first, int count, int length, int validCount)
    {
        using var scope = torch.NewDisposeScope();
        Tensor rows = _table.Gather(rowIndices.narrow(0, (long)first * length, (long)count * length)).view(count, length, _table.Width);
        Tensor observations = rows.narrow(2, 0, _observationSize).reshape([count, length, .. _observationShape.AsSpan(0)]);
        Tensor actions = Options.Action.IsDiscrete
            ? rows.select(2, _table.ActionColumn).to(ScalarType.Int64)
            : rows.narrow(2, _table.ActionColumn, Options.Action.Dimension);
        Tensor mask = rows.select(2, _table.MaskColumn);
        Tensor advantages = rows.select(2, _table.AdvantageColumn);
        if (Options.AdvantageNormalization == AdvantageNormalization.PerMinibatch && validCount > 1)
        {
            // Mean and unbiased standard deviation over the valid positions only; masked positions stay 0. The scalars
            // are held in locals until the block ends: TorchSharp 0.107 keeps no reference to a number it converts to a
            // Scalar, so a collection during the native call could finalize it while libtorch reads it (it crashed long
            // PPO runs here twice: "Unknown scalar type"). square() would convert a hidden 2, add(x) a hidden alpha 1.
            using Scalar valid = ((double)validCount).ToScalar(), unbiased = ((double)(validCount - 1)).ToScalar();
            using Scalar epsilon = RolloutBufferOptions.NormalizationEpsilon.ToScalar(), one = 1.0.ToScalar();
            Tensor mean = advantages.mul(mask).sum().div(valid);
            Tensor centered = advantages.sub(mean).mul(mask);
            Tensor std = centered.mul(centered).sum().div(unbiased).sqrt();
            advantages = centered.div(std.add(epsilon, one));
        }

        Tensor starts = startRows.narrow(0, first, count);
        using Scalar envCount = ((long)_numEnvs).ToScalar(); // held until the calls return (an int here crashed a run: "Unknown scalar type")
        Tensor envs = starts.remainder(envCount);
        Tensor steps = starts.div(envCount, rounding_mode: RoundingMode.floor);
        RecurrentState? initial = _states?.Select(starts);
        var batch = new RolloutSequenceBatch(
            observations, actions, rows.select(2, _table.ValueColumn), rows.select(2, _table.LogProbColumn), advantages,
            rows.select(2, _table.ReturnColumn), mask, rows.select(2, _table.EpisodeStartColumn), initial, envs, steps, validCount);
        scope.MoveToOuter(batch.Observations, batch.Actions, batch.OldValues, batch.OldLogProbs, batch.Advantages, batch.Returns, batch.Mask, batch.EpisodeStarts, batch.Envs, batch.StartSteps);
        initial?.MoveToOuterDisposeScope();
        return batch;
    }

    private void CheckVersion(long version)
    {
        ThrowIfDisposed();
        if (version != _version)
        {
            throw new InvalidOperationException($"{Name}: the buffer changed (Add, Clear, ComputeReturnsAndAdvantages or BeginNewEpisodes) while its minibatches were enumerated; start a new enumeration.");
        }
    }

    private void ThrowIfFull()
    {
        if (_count == _numSteps)
        {
            throw new InvalidOperationException($"{Name}: the rollout is full ({_numSteps} of {_numSteps} steps); call ComputeReturnsAndAdvantages, train on its minibatches, then Clear() before adding the next rollout.");
        }
    }

    private void ThrowIfNotFull(string call)
    {
        if (_count != _numSteps)
        {
            throw new InvalidOperationException($"{Name}: {call} needs a full rollout, but {_count} of {_numSteps} steps were added.");
        }
    }

    private void ThrowIfNotComputed(string call)
    {
        if (!_computed)
        {
            throw new InvalidOperationException(IsFull
                ? $"{Name}: {call} needs advantages; call ComputeReturnsAndAdvantages(lastValues) first."
                : $"{Name}: {call} needs a full rollout with computed advantages, but {_count} of {_numSteps} steps were added.");
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            // ThrowIf(bool, object) would name the string's type, not the buffer.
            throw new ObjectDisposedException(Name, $"{Name} was disposed; create or load a new buffer.");
        }
    }

    /// <summary>A policy output made readable: host values, or a float32 [N] tensor on another device.</summary>
    private readonly ref struct TensorInput(ReadOnlySpan<float> host, Tensor? device)
    {
        public ReadOnlySpan<float> Host { get; } = host;

        public Tensor? Device { get; } = device;
    }
}

/// <summary>Everything a <see cref="RolloutBuffer"/> holds, on the host (for tests).</summary>
internal sealed record RolloutSnapshot(
    int Count, int ValidCount, bool Computed, float[] Table, double[] Rewards, bool[] Terminated, bool[] Truncated, bool[] Valid, bool[] EpisodeStarts,
    bool[] PreviousEnded, bool[] NextStartsEpisode, byte[] Generator, List<byte[]> States);
