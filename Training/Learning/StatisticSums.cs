using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace RlMemory.Training.Learning;

/// <summary>
/// Sums a learner accumulates between log rows: some on the device (so that recording them costs no host round trip),
/// some on the host. <see cref="Take"/> reads them all with one transfer and starts over; <see cref="Read"/> and
/// <see cref="Restore"/> carry them through a checkpoint, so that a resumed run's next log row is the uninterrupted one's.
/// </summary>
internal sealed class StatisticSums : IDisposable
{
    private readonly Tensor _device;
    private readonly double[] _host;
    private readonly string _what;

    /// <param name="deviceSums">Sums kept on <paramref name="device"/> (float64).</param>
    /// <param name="hostSums">Sums kept on the host.</param>
    /// <param name="device">The learner's device.</param>
    /// <param name="what">What they are, for messages, e.g. <c>DQN statistics (loss sum, Q sum, steps)</c>.</param>
    public StatisticSums(int deviceSums, int hostSums, Device device, string what)
    {
        _device = zeros([deviceSums], ScalarType.Float64, device).DetachFromDisposeScope();
        _host = new double[hostSums];
        _what = what;
    }

    /// <summary>The device sums (add to them in place, e.g. <c>Device.narrow(0, 0, 2).add_(values)</c>).</summary>
    public Tensor Device => _device;

    /// <summary>The host sums.</summary>
    public Span<double> Host => _host;

    /// <summary>The device sums followed by the host sums.</summary>
    public double[] Read()
    {
        using Tensor host = _device.cpu();
        return [.. MemoryMarshal.Cast<byte, double>(host.bytes), .. _host];
    }

    /// <summary>Reads the sums and sets them to zero.</summary>
    public double[] Take()
    {
        double[] sums = Read();

        // In-place operations may hand back a wrapper of their own: the scope disposes that, never the sums.
        using (NewDisposeScope())
        {
            _device.zero_();
        }

        Array.Clear(_host);
        return sums;
    }

    /// <summary>Restores sums saved with <see cref="Read"/>.</summary>
    /// <exception cref="InvalidDataException">Another number of sums, a sum that is not finite, or a negative count (<paramref name="counts"/>: positions of counts).</exception>
    public void Restore(double[] sums, params int[] counts)
    {
        int deviceSums = (int)_device.shape[0];
        if (sums is null || sums.Length != deviceSums + _host.Length || !sums.All(double.IsFinite) || counts.Any(i => sums[i] < 0))
        {
            throw new InvalidDataException($"The saved {_what} must be {deviceSums + _host.Length} finite numbers with non-negative counts.");
        }

        using (NewDisposeScope())
        {
            _device.copy_(tensor(sums[..deviceSums], ScalarType.Float64, _device.device));
        }

        sums.AsSpan(deviceSums).CopyTo(_host);
    }

    /// <inheritdoc />
    public void Dispose() => _device.Dispose();
}
