using System.Runtime.InteropServices;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.ActorCritic;

/// <summary>
/// The policy outputs of an <see cref="ActorCriticNetwork"/> for a fixed set of environments, each with its own
/// recurrent state row: a call advances only the rows it names (one forward pass for them), <see cref="Reset"/> returns
/// one row to the initial state. What the agents' episode actors share; each turns the outputs into actions.
/// </summary>
internal sealed class ActorCriticRows : IDisposable
{
    private readonly ActorCriticNetwork _network;
    private readonly string _owner;
    private readonly Tensor _observations;
    private readonly RecurrentState? _state;
    private readonly RecurrentState? _initial;
    private readonly int _observationSize;
    private readonly float[] _outputs;
    private readonly long[] _rows;
    private readonly bool[] _seen;
    private bool _disposed;

    /// <summary>Rows for <paramref name="environments"/> environments; <paramref name="owner"/> names the agent in messages.</summary>
    public ActorCriticRows(ActorCriticNetwork network, int environments, string owner)
    {
        _network = network;
        _owner = owner;
        Environments = environments;
        Width = network.PolicyWidth;
        _observationSize = network.Config.ObservationSize;
        _observations = empty([environments, _observationSize], ScalarType.Float32, CPU).DetachFromDisposeScope();
        _state = network.InitialState(environments)?.DetachFromDisposeScope();
        _initial = network.InitialState(1)?.DetachFromDisposeScope();
        _outputs = new float[environments * Width];
        _rows = new long[environments];
        _seen = new bool[environments];
    }

    /// <summary>The environments.</summary>
    public int Environments { get; }

    /// <summary>Floats of policy output per row (<see cref="ActorCriticNetwork.PolicyWidth"/>).</summary>
    public int Width { get; }

    /// <summary>The recurrent state after the last step, one row per environment (null for a feed-forward policy).</summary>
    public RecurrentState? State => _state;

    /// <summary>
    /// One step for <paramref name="rows"/> (distinct environments) with their <paramref name="observations"/>: their
    /// policy outputs, <paramref name="rows"/>.Length × <see cref="Width"/>, valid until the next call.
    /// <paramref name="actions"/> is the length of the caller's action span, checked against the rows.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> observations, ReadOnlySpan<int> rows, int actions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = rows.Length;
        if (actions != n || observations.Length != n * _observationSize)
        {
            throw new ArgumentException(
                $"{_owner}: {n} rows need {n} actions and {n} × {_observationSize} observation floats; got {actions} and {observations.Length}.", nameof(observations));
        }

        if (n == 0)
        {
            return [];
        }

        Array.Clear(_seen);
        bool all = n == Environments;
        for (int k = 0; k < n; k++)
        {
            int row = rows[k];
            if (row < 0 || row >= Environments || _seen[row])
            {
                throw new ArgumentException($"{_owner}: rows must be distinct environments in [0, {Environments - 1}]; got {row} at position {k}.", nameof(rows));
            }

            _seen[row] = true;
            _rows[k] = row;
            all &= row == k;
        }

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            observations.CopyTo(MemoryMarshal.Cast<byte, float>(_observations.bytes));
            Tensor input = all ? _observations : _observations.narrow(0, 0, n);
            Device device = _network.Device;
            if (device.type != DeviceType.CPU)
            {
                input = input.to(device);
            }

            Tensor outputs;
            if (_state is null)
            {
                (outputs, _) = _network.Forward(input);
            }
            else if (all)
            {
                (outputs, _, RecurrentState? next) = _network.Step(input, _state);
                for (int i = 0; i < _state.Tensors.Count; i++)
                {
                    _state.Tensors[i].copy_(next!.Tensors[i]);
                }
            }
            else
            {
                Tensor index = tensor(_rows.AsSpan(0, n).ToArray(), device: _state.Device);
                RecurrentState selected = _state.Select(index);
                (outputs, _, RecurrentState? next) = _network.Step(input, selected);
                for (int i = 0; i < _state.Tensors.Count; i++)
                {
                    _state.Tensors[i].index_copy_(0, index, next!.Tensors[i]);
                }
            }

            Tensor host = (outputs.device_type == DeviceType.CPU ? outputs : outputs.cpu()).contiguous();
            MemoryMarshal.Cast<byte, float>(host.bytes).CopyTo(_outputs);
        }

        return _outputs.AsSpan(0, n * Width);
    }

    /// <summary>Returns <paramref name="row"/> to the initial state (a new episode).</summary>
    public void Reset(int row)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Environments);
        if (_state is null)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            for (int i = 0; i < _state.Tensors.Count; i++)
            {
                _state.Tensors[i].narrow(0, row, 1).copy_(_initial!.Tensors[i]);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _observations.Dispose();
        _state?.Dispose();
        _initial?.Dispose();
    }
}
