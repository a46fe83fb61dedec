using RlMemory.Environments.Vector;
using RlMemory.Memory.Persistence;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Turns the steps of a vector environment into n-step transitions
/// <c>(s_t, a_t, G = Σ_{k&lt;m} γᵏ r_{t+k}, s_{t+m}, γᵐ, terminated, truncated)</c>, per environment, and hands them
/// to an <see cref="ITransitionSink"/> (a replay buffer). m = n while an episode runs; at its end the last window
/// entries are flushed with m &lt; n.
/// </summary>
/// <remarks>
/// <para>Each environment keeps a window of its last (at most n) steps. For environment e at each
/// <see cref="AddStep{TAction}"/>:</para>
/// <list type="bullet">
/// <item>If e's previous step ended (terminated or truncated), this entry is the vector environment's autoreset
/// pseudo-step (Gymnasium 1.x NEXT_STEP): it is skipped.</item>
/// <item>On termination, every window entry is emitted with its reward sum up to the end, next observation = the
/// final observation, <c>terminated = true</c> (no bootstrap; the discount γᵐ is set anyway).</item>
/// <item>On truncation, every entry is emitted with next observation = the final observation and discount γᵐ
/// (m = steps to the end), <c>terminated = false</c>, <c>truncated = true</c>: the learner bootstraps from the final
/// observation.</item>
/// <item>Otherwise, once the window holds n steps its oldest is emitted with discount γⁿ and next observation
/// <c>s_{t+n}</c> (this step's next observation).</item>
/// </list>
/// <para>All transitions of one step go to the sink in one <c>AddTransitions</c> call (environment order, oldest
/// first). Each call is checked in full first; if the check or the sink refuses it, the assembler is unchanged.</para>
/// <para>Not thread-safe.</para>
/// </remarks>
public sealed class NStepAssembler
{
    private readonly int _ring;
    private readonly double[] _gammaPowers;
    private readonly float[] _obs;
    private readonly int[] _discreteActions;
    private readonly float[] _continuousActions;
    private readonly double[] _rewards;
    private readonly int[] _start;
    private readonly int[] _count;
    private readonly bool[] _ended;

    // One step's emitted transitions.
    private readonly float[] _outObs;
    private readonly float[] _outNext;
    private readonly int[] _outDiscrete;
    private readonly float[] _outContinuous;
    private readonly double[] _outRewards;
    private readonly bool[] _outTerminated;
    private readonly bool[] _outTruncated;
    private readonly double[] _outDiscounts;
    private readonly double[] _returns;

    /// <param name="n">Steps per transition, in [1, 1000].</param>
    /// <param name="gamma">The discount factor, in [0, 1].</param>
    /// <param name="numEnvs">Environments per step, in [1, 65536].</param>
    /// <param name="observationSize">Floats per observation.</param>
    /// <param name="action">Discrete or continuous actions.</param>
    public NStepAssembler(int n, double gamma, int numEnvs, int observationSize, ActionSpec action)
    {
        if (n is < 1 or > ReplayBufferOptions.MaxNSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"NStepAssembler: n must be in [1, {ReplayBufferOptions.MaxNSteps}], got {n}.");
        }

        if (!(gamma >= 0 && gamma <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"NStepAssembler: gamma must be in [0, 1], got {gamma}.");
        }

        if (numEnvs is < 1 or > ReplayBufferOptions.MaxNumEnvs)
        {
            throw new ArgumentOutOfRangeException(nameof(numEnvs), numEnvs, $"NStepAssembler: numEnvs must be in [1, {ReplayBufferOptions.MaxNumEnvs}], got {numEnvs}.");
        }

        if (observationSize is < 1 or > ReplayBufferOptions.MaxObservationSize)
        {
            throw new ArgumentOutOfRangeException(nameof(observationSize), observationSize, $"NStepAssembler: observationSize must be in [1, {ReplayBufferOptions.MaxObservationSize}], got {observationSize}.");
        }

        ArgumentNullException.ThrowIfNull(action);
        long perStep = (long)numEnvs * (n + 1) * observationSize;
        if (perStep > int.MaxValue / 2)
        {
            throw new ArgumentException($"NStepAssembler: numEnvs × (n + 1) × observationSize = {perStep} values is too large (at most {int.MaxValue / 2}).");
        }

        N = n;
        Gamma = gamma;
        NumEnvs = numEnvs;
        ObservationSize = observationSize;
        Action = action;
        Name = $"NStepAssembler(n {n}, {numEnvs} envs, obs {observationSize})";
        _ring = n + 1;
        _gammaPowers = new double[n + 1];
        _gammaPowers[0] = 1;
        for (int k = 1; k <= n; k++)
        {
            _gammaPowers[k] = _gammaPowers[k - 1] * gamma;
        }

        int entries = numEnvs * _ring;
        _obs = new float[entries * observationSize];
        _discreteActions = action.IsDiscrete ? new int[entries] : [];
        _continuousActions = action.IsDiscrete ? [] : new float[entries * action.Dimension];
        _rewards = new double[entries];
        _start = new int[numEnvs];
        _count = new int[numEnvs];
        _ended = new bool[numEnvs];

        int maxOut = numEnvs * n;
        _outObs = new float[maxOut * observationSize];
        _outNext = new float[maxOut * observationSize];
        _outDiscrete = action.IsDiscrete ? new int[maxOut] : [];
        _outContinuous = action.IsDiscrete ? [] : new float[maxOut * action.Dimension];
        _outRewards = new double[maxOut];
        _outTerminated = new bool[maxOut];
        _outTruncated = new bool[maxOut];
        _outDiscounts = new double[maxOut];
        _returns = new double[n];
    }

    /// <summary>n, steps per transition.</summary>
    public int N { get; }

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <summary>Environments per step.</summary>
    public int NumEnvs { get; }

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The kind of action.</summary>
    public ActionSpec Action { get; }

    /// <summary>A name for messages.</summary>
    public string Name { get; }

    /// <summary>Steps of environment <paramref name="env"/> waiting in its window (not yet emitted).</summary>
    public int PendingCount(int env) => _count[env];

    /// <summary>Whether environment <paramref name="env"/>'s next entry is an autoreset pseudo-step (its last step ended).</summary>
    internal bool IsPseudoStep(int env) => _ended[env];

    /// <summary>
    /// Adds one vector-environment step (actions <c>int</c> when discrete, <c>float</c> N × d when continuous) and emits
    /// the transitions it completes into <paramref name="sink"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input, or actions of the other kind; nothing changes.</exception>
    public void AddStep<TAction>(in VectorStep<TAction> step, ITransitionSink sink)
        where TAction : unmanaged
    {
        ActionSpans.Split(Name, "AddStep", Action, step.Actions, out ReadOnlySpan<int> discrete, out ReadOnlySpan<float> continuous);
        AddStepCore(step.Observations, discrete, continuous, step.Rewards, step.Terminations, step.Truncations, step.NextObservations, sink);
    }

    /// <summary>
    /// The vector environment was reset outside <c>AddStep</c>: the running episodes were cut. Each environment's
    /// window is flushed as transitions that bootstrap from its last next observation (discount γᵐ, both flags false,
    /// as the environment reported), and the record of which environments ended is cleared.
    /// </summary>
    public void BeginNewEpisodes(ITransitionSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        int m = 0;
        int os = ObservationSize;
        for (int e = 0; e < NumEnvs; e++)
        {
            int count = _count[e];
            if (count == 0)
            {
                continue;
            }

            ReadOnlySpan<float> next = _obs.AsSpan(Slot(e, count) * os, os);
            ComputeReturns(e, count, hasCurrent: false, 0);
            for (int j = 0; j < count; j++)
            {
                Emit(m++, e, j, count, next, terminated: false, truncated: false, default, default, default);
            }
        }

        Send(sink, m);
        Array.Clear(_count);
        Array.Clear(_start);
        Array.Clear(_ended);
    }

    // ---------------------------------------------------------------- persistence (with the owning buffer)

    /// <summary>Writes the windows and flags as sections named <paramref name="prefix"/> + field.</summary>
    internal void WriteSections(BufferFileWriter writer, string prefix)
    {
        int os = ObservationSize;
        writer.WriteSection<float>(prefix + "obs", _obs, NumEnvs, _ring, os);
        if (Action.IsDiscrete)
        {
            writer.WriteSection<int>(prefix + "actions", _discreteActions, NumEnvs, _ring);
        }
        else
        {
            writer.WriteSection<float>(prefix + "actions", _continuousActions, NumEnvs, _ring, Action.Dimension);
        }

        writer.WriteSection<double>(prefix + "rewards", _rewards, NumEnvs, _ring);
        writer.WriteSection<int>(prefix + "start", _start, NumEnvs);
        writer.WriteSection<int>(prefix + "count", _count, NumEnvs);
        writer.WriteSection<bool>(prefix + "ended", _ended, NumEnvs);
    }

    /// <summary>Checks that the sections written by <see cref="WriteSections"/> fit these settings (before anything is read).</summary>
    internal static void CheckSaved(BufferFileReader reader, string prefix, int n, int numEnvs, int observationSize, ActionSpec action)
    {
        int ring = n + 1;
        reader.Expect(prefix + "obs", ScalarType.Float32, numEnvs, ring, observationSize);
        if (action.IsDiscrete)
        {
            reader.Expect(prefix + "actions", ScalarType.Int32, numEnvs, ring);
        }
        else
        {
            reader.Expect(prefix + "actions", ScalarType.Float32, numEnvs, ring, action.Dimension);
        }

        reader.Expect(prefix + "rewards", ScalarType.Float64, numEnvs, ring);
        reader.Expect(prefix + "start", ScalarType.Int32, numEnvs);
        reader.Expect(prefix + "count", ScalarType.Int32, numEnvs);
        reader.Expect(prefix + "ended", ScalarType.Bool, numEnvs);
    }

    /// <summary>Reads the sections written by <see cref="WriteSections"/> into this (fresh) assembler.</summary>
    internal void ReadSections(BufferFileReader reader, string prefix)
    {
        int[] start = reader.ReadArray<int>(prefix + "start");
        int[] count = reader.ReadArray<int>(prefix + "count");
        bool[] ended = reader.ReadArray<bool>(prefix + "ended");
        for (int e = 0; e < NumEnvs; e++)
        {
            if (start[e] < 0 || start[e] >= _ring || count[e] < 0 || count[e] >= N || (ended[e] && count[e] != 0))
            {
                throw new InvalidDataException($"{reader.Path}: inconsistent n-step window of environment {e}: start {start[e]}, count {count[e]}, ended {ended[e]} (n = {N}).");
            }
        }

        reader.ReadArray<float>(prefix + "obs").CopyTo(_obs, 0);
        if (Action.IsDiscrete)
        {
            reader.ReadArray<int>(prefix + "actions").CopyTo(_discreteActions, 0);
        }
        else
        {
            reader.ReadArray<float>(prefix + "actions").CopyTo(_continuousActions, 0);
        }

        reader.ReadArray<double>(prefix + "rewards").CopyTo(_rewards, 0);
        start.CopyTo(_start, 0);
        count.CopyTo(_count, 0);
        ended.CopyTo(_ended, 0);
    }

    // ---------------------------------------------------------------- core

    private void AddStepCore(ReadOnlySpan<float> observations, ReadOnlySpan<int> discrete, ReadOnlySpan<float> continuous, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ITransitionSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        Validate(observations, discrete, continuous, rewards, terminated, truncated, nextObservations);
        int os = ObservationSize;

        // Phase 1: collect what this step emits, reading the windows without changing them.
        int m = 0;
        for (int e = 0; e < NumEnvs; e++)
        {
            if (_ended[e])
            {
                continue;
            }

            int total = _count[e] + 1;
            ReadOnlySpan<float> next = nextObservations.Slice(e * os, os);
            bool ends = terminated[e] || truncated[e];
            if (ends)
            {
                ComputeReturns(e, total, hasCurrent: true, rewards[e]);
                for (int j = 0; j < total; j++)
                {
                    Emit(m++, e, j, total, next, terminated[e], truncated[e], observations, discrete, continuous);
                }
            }
            else if (total == N)
            {
                ComputeReturns(e, total, hasCurrent: true, rewards[e]);
                Emit(m++, e, 0, total, next, false, false, observations, discrete, continuous);
            }
        }

        // Phase 2: the sink stores them (or refuses, leaving this assembler unchanged).
        Send(sink, m);

        // Phase 3: update the windows.
        int d = Action.Dimension;
        for (int e = 0; e < NumEnvs; e++)
        {
            if (_ended[e])
            {
                _ended[e] = false;
                continue;
            }

            int slot = Slot(e, _count[e]);
            observations.Slice(e * os, os).CopyTo(_obs.AsSpan(slot * os, os));
            if (Action.IsDiscrete)
            {
                _discreteActions[slot] = discrete[e];
            }
            else
            {
                continuous.Slice(e * d, d).CopyTo(_continuousActions.AsSpan(slot * d, d));
            }

            _rewards[slot] = rewards[e];
            _count[e]++;
            if (terminated[e] || truncated[e])
            {
                _count[e] = 0;
                _start[e] = 0;
                _ended[e] = true;
                continue;
            }

            // Keep the next observation after the newest entry (for a flush by BeginNewEpisodes).
            nextObservations.Slice(e * os, os).CopyTo(_obs.AsSpan(Slot(e, _count[e]) * os, os));
            if (_count[e] == N)
            {
                _start[e] = (_start[e] + 1) % _ring;
                _count[e]--;
            }
        }
    }

    /// <summary>
    /// Fills <see cref="_returns"/>[j] = Σ_{k=j}^{total−1} γ^{k−j} r_k over the window entries of environment
    /// <paramref name="e"/> (entry <c>total − 1</c> is the current step when <paramref name="hasCurrent"/>).
    /// </summary>
    private void ComputeReturns(int e, int total, bool hasCurrent, double currentReward)
    {
        double g = 0;
        for (int j = total - 1; j >= 0; j--)
        {
            double r = hasCurrent && j == total - 1 ? currentReward : _rewards[Slot(e, j)];
            g = r + Gamma * g;
            _returns[j] = g;
        }
    }

    /// <summary>Writes window entry <paramref name="j"/> of <paramref name="total"/> of environment <paramref name="e"/> as output transition <paramref name="m"/>.</summary>
    private void Emit(int m, int e, int j, int total, ReadOnlySpan<float> next, bool terminated, bool truncated, ReadOnlySpan<float> observations, ReadOnlySpan<int> discrete, ReadOnlySpan<float> continuous)
    {
        int os = ObservationSize;
        int d = Action.Dimension;
        bool current = j == _count[e];
        int slot = Slot(e, j);
        ReadOnlySpan<float> obs = current ? observations.Slice(e * os, os) : _obs.AsSpan(slot * os, os);
        obs.CopyTo(_outObs.AsSpan(m * os, os));
        next.CopyTo(_outNext.AsSpan(m * os, os));
        if (Action.IsDiscrete)
        {
            _outDiscrete[m] = current ? discrete[e] : _discreteActions[slot];
        }
        else
        {
            (current ? continuous.Slice(e * d, d) : _continuousActions.AsSpan(slot * d, d)).CopyTo(_outContinuous.AsSpan(m * d, d));
        }

        _outRewards[m] = _returns[j];
        _outTerminated[m] = terminated;
        _outTruncated[m] = truncated;
        _outDiscounts[m] = _gammaPowers[total - j];
    }

    private void Send(ITransitionSink sink, int m)
    {
        if (m == 0)
        {
            return;
        }

        int os = ObservationSize;
        if (Action.IsDiscrete)
        {
            sink.AddTransitions(new VectorStep<int>(_outObs.AsSpan(0, m * os), _outDiscrete.AsSpan(0, m), _outRewards.AsSpan(0, m), _outTerminated.AsSpan(0, m), _outTruncated.AsSpan(0, m), _outNext.AsSpan(0, m * os)), _outDiscounts.AsSpan(0, m));
        }
        else
        {
            sink.AddTransitions(new VectorStep<float>(_outObs.AsSpan(0, m * os), _outContinuous.AsSpan(0, m * Action.Dimension), _outRewards.AsSpan(0, m), _outTerminated.AsSpan(0, m), _outTruncated.AsSpan(0, m), _outNext.AsSpan(0, m * os)), _outDiscounts.AsSpan(0, m));
        }
    }

    private int Slot(int e, int j) => e * _ring + (_start[e] + j) % _ring;

    private void Validate(ReadOnlySpan<float> observations, ReadOnlySpan<int> discrete, ReadOnlySpan<float> continuous, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations)
    {
        const string call = "AddStep";
        int n = NumEnvs;
        int os = ObservationSize;
        TransitionChecks.Length(Name, call, "observations", observations.Length, n, os, "env");
        TransitionChecks.Length(Name, call, "nextObservations", nextObservations.Length, n, os, "env");
        TransitionChecks.Length(Name, call, "actions", Action.IsDiscrete ? discrete.Length : continuous.Length, n, Action.Dimension, "env");
        TransitionChecks.Length(Name, call, "rewards", rewards.Length, n, 1, "env");
        TransitionChecks.Length(Name, call, "terminated", terminated.Length, n, 1, "env");
        TransitionChecks.Length(Name, call, "truncated", truncated.Length, n, 1, "env");
        ReadOnlySpan<bool> skip = _ended;
        TransitionChecks.Rewards(Name, call, "rewards", rewards, skip, "env");
        if (Action.IsDiscrete)
        {
            TransitionChecks.DiscreteActions(Name, call, "actions", discrete, skip, "env");
        }
        else
        {
            TransitionChecks.ContinuousActions(Name, call, "actions", continuous, Action.Dimension, skip, "env");
        }

        TransitionChecks.Observations(Name, call, "observations", observations, os, ObservationStorage.Float32, skip, "env");
        TransitionChecks.Observations(Name, call, "nextObservations", nextObservations, os, ObservationStorage.Float32, skip, "env");
    }
}
