using System.Runtime.InteropServices;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// Acts for N environments with a <see cref="RecurrentQNetwork"/>, carrying one recurrent-state row per environment:
/// one batched forward pass per vector step (greedy or ε-greedy with its own seeded generator), the state kept on the
/// network's device between steps. Rows are reset one by one when their environment starts an episode.
/// </summary>
/// <remarks>
/// <para>Training loop (all N environments at once; the state before the step goes to sequence replay):</para>
/// <code>
/// actor.EpsilonGreedy(obs, actions, epsilon);           // State advances; PreviousState is the state the actions came from
/// VectorStep&lt;int&gt; step = vec.Step(actions);
/// buffer.Add(step, actor.PreviousState);
/// actor.ResetRows(buffer.NextStepBeginsEpisode);        // new episodes start from the zero state
/// </code>
/// <para>Evaluation and recording use the <see cref="IEpisodeActor"/> side (<see cref="Act"/>, <see cref="Reset"/>): greedy
/// actions for any subset of rows, the other rows untouched.</para>
/// </remarks>
public sealed class RecurrentQActor : IEpisodeActor, IExploringActor
{
    private readonly RecurrentQNetwork _network;
    private readonly Tensor _observations;
    private readonly Tensor? _hostStaging;
    private readonly Generator _generator;
    private readonly int _observationSize;
    private readonly long[] _greedy;
    private readonly long[] _rowScratch;
    private readonly bool[] _seen;
    private RecurrentState _state;
    private RecurrentState? _previous;
    private bool _disposed;

    /// <summary>Creates an actor for <paramref name="environments"/> environments, every row at the initial state.</summary>
    /// <param name="network">The Q-network (not owned; its parameters' device is used).</param>
    /// <param name="environments">The number of environments (state rows).</param>
    /// <param name="seed">Seed of the exploration generator.</param>
    public RecurrentQActor(RecurrentQNetwork network, int environments, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(environments, 1);
        _network = network;
        Environments = environments;
        _observationSize = network.Config.ObservationSize;
        Device device = network.Device;
        _observations = empty([environments, _observationSize], ScalarType.Float32, device).DetachFromDisposeScope();
        if (device.type != DeviceType.CPU)
        {
            _hostStaging = empty([environments, _observationSize], ScalarType.Float32, CPU).pin_memory().DetachFromDisposeScope();
        }

        _generator = new Generator(seed, CPU);
        _greedy = new long[environments];
        _rowScratch = new long[environments];
        _seen = new bool[environments];
        _state = network.InitialState(environments).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public int Environments { get; }

    /// <summary>The recurrent state before the next step, one row per environment (owned by the actor; do not dispose).</summary>
    public RecurrentState State
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _state;
        }
    }

    /// <summary>
    /// The state the last <see cref="EpsilonGreedy"/> (or <see cref="Greedy"/>) call acted from: what sequence replay
    /// stores for the step just taken. Valid until the next call that acts; owned by the actor.
    /// </summary>
    /// <exception cref="InvalidOperationException">No step over all environments was taken since the actor was created or last acted on a subset of rows.</exception>
    public RecurrentState PreviousState
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _previous ?? throw new InvalidOperationException("RecurrentQActor: no step over all environments has been taken yet, so there is no previous state.");
        }
    }

    /// <summary>Greedy actions (argmax Q) for all environments; advances every row's state.</summary>
    public void Greedy(ReadOnlySpan<float> observations, Span<int> actions) => EpsilonGreedy(observations, actions, 0.0);

    /// <summary>
    /// An ε-greedy action for every environment from one forward pass: with probability <paramref name="epsilon"/> a
    /// uniformly random action (from this actor's generator), otherwise the greedy one. <paramref name="observations"/> is
    /// <c>[N × obs]</c>, <paramref name="actions"/> has N entries. Every row's state advances, whatever action is taken.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, or ε outside [0, 1].</exception>
    public void EpsilonGreedy(ReadOnlySpan<float> observations, Span<int> actions, double epsilon)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = Environments;
        if (actions.Length != n)
        {
            throw new ArgumentException($"RecurrentQActor: {actions.Length} actions requested for {n} environments.", nameof(actions));
        }

        CheckObservations(observations, n);
        if (!(epsilon >= 0 && epsilon <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "RecurrentQActor: epsilon must be in [0, 1].");
        }

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            Tensor input = Upload(observations, n);
            var (q, next) = _network.Step(input, _state);
            ReadArgmax(q, n);
            next.DetachFromDisposeScope();
            _previous?.Dispose();
            _previous = _state;
            _state = next;
        }

        Exploration.EpsilonGreedy(_generator, _network.Config.ActionCount, epsilon, _greedy.AsSpan(0, n), actions);
    }

    /// <summary>
    /// Greedy actions for the environments <paramref name="rows"/> (distinct, below <see cref="Environments"/>), whose
    /// observations are given in the same order. Only those rows' states advance; the others stay bit for bit as they were.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, or a row out of range or repeated.</exception>
    public void Act(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, Span<int> actions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = rows.Length;
        if (actions.Length != n || n < 1)
        {
            throw new ArgumentException($"RecurrentQActor: {n} rows but {actions.Length} actions (need at least one row, one action per row).", nameof(actions));
        }

        CheckObservations(observations, n);
        bool all = n == Environments;
        Array.Clear(_seen);
        for (int k = 0; k < n; k++)
        {
            int row = rows[k];
            if (row < 0 || row >= Environments)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), row, $"RecurrentQActor: row {row} is outside [0, {Environments}).");
            }

            if (_seen[row])
            {
                throw new ArgumentException($"RecurrentQActor: row {row} appears twice.", nameof(rows));
            }

            _seen[row] = true;
            all &= row == k;
        }

        if (all)
        {
            Greedy(observations, actions);
            return;
        }

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            for (int k = 0; k < n; k++)
            {
                _rowScratch[k] = rows[k];
            }

            Tensor index = tensor(_rowScratch.AsSpan(0, n).ToArray(), ScalarType.Int64).to(_state.Device);
            Tensor input = Upload(observations, n);
            RecurrentState selected = _state.Select(index);
            var (q, next) = _network.Step(input, selected);
            ReadArgmax(q, n);
            for (int i = 0; i < next.Tensors.Count; i++)
            {
                _state.Tensors[i].index_copy_(0, index, next.Tensors[i]);
            }
        }

        // The state was changed in place on a subset of rows: no whole-batch previous state any more.
        _previous?.Dispose();
        _previous = null;
        for (int k = 0; k < n; k++)
        {
            actions[k] = (int)_greedy[k];
        }
    }

    /// <summary>Resets environment <paramref name="row"/>'s state to the initial (zero) state, in place; other rows are untouched.</summary>
    public void Reset(int row)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Environments);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (Tensor t in _state.Tensors)
            {
                t.select(0, row).zero_();
            }
        }
    }

    /// <summary>Resets the rows whose flag is true (e.g. <c>SequenceReplayBuffer.NextStepBeginsEpisode</c>), in place.</summary>
    /// <exception cref="ArgumentException"><paramref name="rows"/> does not hold one flag per environment.</exception>
    public void ResetRows(ReadOnlySpan<bool> rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows.Length != Environments)
        {
            throw new ArgumentException($"RecurrentQActor: {rows.Length} reset flags for {Environments} environments.", nameof(rows));
        }

        int count = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i])
            {
                _rowScratch[count++] = i;
            }
        }

        if (count == 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            Tensor index = tensor(_rowScratch.AsSpan(0, count).ToArray(), ScalarType.Int64).to(_state.Device);
            foreach (Tensor t in _state.Tensors)
            {
                t.index_fill_(0, index, HeldScalars.Zero);
            }
        }
    }

    /// <summary>Resets every row to the initial state.</summary>
    public void ResetAll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (Tensor t in _state.Tensors)
            {
                t.zero_();
            }
        }
    }

    /// <summary>Replaces the state with a copy of <paramref name="state"/> (same layout and row count), e.g. when resuming.</summary>
    /// <exception cref="ArgumentException">The layout or the row count differs.</exception>
    public void SetState(RecurrentState state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Spec.Equals(_state.Spec) || state.BatchSize != Environments)
        {
            throw new ArgumentException($"RecurrentQActor: the state {state.Spec} × {state.BatchSize} does not fit {_state.Spec} × {Environments}.", nameof(state));
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            for (int i = 0; i < state.Tensors.Count; i++)
            {
                _state.Tensors[i].copy_(state.Tensors[i]);
            }
        }
    }

    /// <summary>The exploration generator's state (for checkpoints).</summary>
    public byte[] GetGeneratorState()
    {
        using Tensor state = _generator.get_state();
        return state.bytes.ToArray();
    }

    /// <summary>Restores the exploration generator's state.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid state of this generator; nothing changed.</exception>
    public void SetGeneratorState(ReadOnlySpan<byte> state) =>
        TorchGeneratorState.Set(_generator, state, "RecurrentQActor: the saved exploration generator state");

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _state.Dispose();
        _previous?.Dispose();
        _observations.Dispose();
        _hostStaging?.Dispose();
        _generator.Dispose();
    }

    private void CheckObservations(ReadOnlySpan<float> observations, int n)
    {
        if (observations.Length != n * _observationSize)
        {
            throw new ArgumentException(
                $"RecurrentQActor: {observations.Length} observation floats for {n} environments; expected {n} × {_observationSize} = {n * _observationSize}.",
                nameof(observations));
        }
    }

    private Tensor Upload(ReadOnlySpan<float> observations, int n)
    {
        Tensor target = _hostStaging ?? _observations;
        observations.CopyTo(MemoryMarshal.Cast<byte, float>(target.bytes));
        if (_hostStaging is not null)
        {
            _observations.copy_(_hostStaging, nonBlocking: true);
        }

        return n == Environments ? _observations : _observations.narrow(0, 0, n);
    }

    private void ReadArgmax(Tensor q, int n)
    {
        Tensor best = q.argmax(1);
        if (best.device_type != DeviceType.CPU)
        {
            best = best.cpu();
        }

        MemoryMarshal.Cast<byte, long>(best.bytes).CopyTo(_greedy.AsSpan(0, n));
    }
}
