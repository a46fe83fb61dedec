using System.Runtime.InteropServices;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Running mean and variance of each observation entry over batches (SB3's <c>RunningMeanStd</c>: Chan et al.'s
/// parallel update with the batch's population variance, starting from a count of 1e-4).
/// </summary>
internal sealed class RunningMeanStd
{
    private readonly double[] _mean;
    private readonly double[] _variance;
    private readonly double[] _batchMean;
    private readonly double[] _batchVariance;

    public RunningMeanStd(int size)
    {
        _mean = new double[size];
        _variance = new double[size];
        Array.Fill(_variance, 1.0);
        _batchMean = new double[size];
        _batchVariance = new double[size];
    }

    public ReadOnlySpan<double> Mean => _mean;

    public ReadOnlySpan<double> Variance => _variance;

    public double Count { get; private set; } = 1e-4;

    /// <summary>Adds a batch of rows (rows × size floats, row-major).</summary>
    public void Update(ReadOnlySpan<float> batch)
    {
        int size = _mean.Length;
        int rows = batch.Length / size;
        if (rows == 0)
        {
            return;
        }

        Array.Clear(_batchMean);
        Array.Clear(_batchVariance);
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < size; i++)
            {
                _batchMean[i] += batch[r * size + i];
            }
        }

        for (int i = 0; i < size; i++)
        {
            _batchMean[i] /= rows;
        }

        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < size; i++)
            {
                double d = batch[r * size + i] - _batchMean[i];
                _batchVariance[i] += d * d;
            }
        }

        double total = Count + rows;
        for (int i = 0; i < size; i++)
        {
            double batchVariance = _batchVariance[i] / rows;
            double delta = _batchMean[i] - _mean[i];
            double m2 = _variance[i] * Count + batchVariance * rows + delta * delta * Count * rows / total;
            _mean[i] += delta * rows / total;
            _variance[i] = m2 / total;
        }

        Count = total;
    }

    /// <summary>The state as bytes (count, means, variances), for checkpoints.</summary>
    public byte[] Export()
    {
        var values = new double[1 + 2 * _mean.Length];
        values[0] = Count;
        _mean.CopyTo(values, 1);
        _variance.CopyTo(values, 1 + _mean.Length);
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    /// <summary>Restores a state from <see cref="Export"/>.</summary>
    public void Import(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<double> values = MemoryMarshal.Cast<byte, double>(bytes);
        if (values.Length != 1 + 2 * _mean.Length)
        {
            throw new InvalidDataException($"RunningMeanStd: the saved statistics have {values.Length} numbers; expected {1 + 2 * _mean.Length}.");
        }

        Count = values[0];
        values.Slice(1, _mean.Length).CopyTo(_mean);
        values.Slice(1 + _mean.Length, _mean.Length).CopyTo(_variance);
    }
}
