using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// R2D2's sequence priority (Kapturowski et al. 2019): <c>p = η · max_t |δ_t| + (1 − η) · mean_t |δ_t|</c> over the
/// valid learning steps of each sequence. A sequence with no valid learning step gets p = 0.
/// </summary>
internal static class SequencePriorities
{
    /// <summary>
    /// Checks <paramref name="tdErrors"/> and <paramref name="mask"/> (<c>[B, L]</c>, any device) and writes the B
    /// priorities to <paramref name="destination"/>. CPU tensors of float32/float64 (mask also bool) are read and
    /// computed on the host; others are computed on their device, and B values are copied back (one synchronization).
    /// TD errors at masked steps are ignored (they may be anything, NaN included).
    /// </summary>
    /// Pass <c>allowHostPath: false</c> to force the tensor path (tests compare the two).
    /// <exception cref="ArgumentException">Wrong shapes or types, a NaN or infinite TD error at a valid step, or a mask value other than 0 and 1.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A priority overflows to infinity.</exception>
    public static void Compute(string owner, Tensor tdErrors, Tensor mask, double eta, int batchSize, int learningLength, Span<double> destination, bool allowHostPath = true)
    {
        ArgumentNullException.ThrowIfNull(tdErrors);
        ArgumentNullException.ThrowIfNull(mask);
        CheckShape(owner, nameof(tdErrors), tdErrors, batchSize, learningLength);
        CheckShape(owner, nameof(mask), mask, batchSize, learningLength);
        if (!tdErrors.is_floating_point())
        {
            throw new ArgumentException($"{owner}: tdErrors must be a floating-point tensor; got {tdErrors.dtype}. Nothing was changed.", nameof(tdErrors));
        }

        if (mask.dtype != ScalarType.Bool && !mask.is_floating_point())
        {
            throw new ArgumentException($"{owner}: mask must be a bool or floating-point tensor of 0s and 1s (e.g. batch.Mask.narrow(1, batch.BurnIn, batch.LearningLength)); got {mask.dtype}. Nothing was changed.", nameof(mask));
        }

        using DisposeScope scope = NewDisposeScope();
        using IDisposable noGrad = torch.no_grad();
        if (allowHostPath && tdErrors.device_type == DeviceType.CPU && mask.device_type == DeviceType.CPU
            && tdErrors.dtype is ScalarType.Float32 or ScalarType.Float64 && mask.dtype is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Bool)
        {
            ComputeOnHost(owner, tdErrors.detach().contiguous(), mask.detach().contiguous(), eta, batchSize, learningLength, destination);
            return;
        }

        Tensor delta = tdErrors.detach().to(ScalarType.Float64);
        Tensor m = mask.detach().to(delta.device);
        Tensor valid = m.to(ScalarType.Bool);
        Tensor maskOk = m.dtype == ScalarType.Bool ? torch.ones_like(valid) : m.eq(HeldScalars.Zero).logical_or(m.eq(HeldScalars.One));
        Tensor magnitude = delta.abs();
        Tensor ok = magnitude.isfinite().logical_or(valid.logical_not()).logical_and(maskOk).all(1);
        Tensor masked = torch.where(valid, magnitude, torch.zeros_like(magnitude));
        Tensor count = valid.sum(1, type: ScalarType.Float64).clamp_min(HeldScalars.One);
        using Scalar maxWeight = eta.ToScalar(), meanWeight = (1 - eta).ToScalar(), bad = (-1.0).ToScalar();
        Tensor priority = masked.amax([1L]).mul(maxWeight).add(masked.sum(1).div(count).mul(meanWeight), HeldScalars.One);
        // A bad row is marked −1 (a priority is never negative): one copy back gives both the values and the verdict.
        Tensor marked = torch.where(ok, priority, torch.full_like(priority, bad)).cpu();
        ReadOnlySpan<double> values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(marked.contiguous().bytes);
        for (int b = 0; b < batchSize; b++)
        {
            if (values[b] < 0)
            {
                throw Explain(owner, delta, m, b, learningLength);
            }

            if (!double.IsFinite(values[b]))
            {
                throw Overflow(owner, b, values[b]);
            }
        }

        values.CopyTo(destination);
    }

    /// <summary>The host path of <see cref="Compute"/>: reads contiguous CPU tensors directly (no tensor operation).</summary>
    private static void ComputeOnHost(string owner, Tensor tdErrors, Tensor mask, double eta, int batchSize, int learningLength, Span<double> destination)
    {
        ReadOnlySpan<byte> tdBytes = tdErrors.bytes;
        ReadOnlySpan<byte> maskBytes = mask.bytes;
        bool tdDouble = tdErrors.dtype == ScalarType.Float64;
        ScalarType maskType = mask.dtype;
        int overflow = -1;
        for (int b = 0; b < batchSize; b++)
        {
            double max = 0;
            double sum = 0;
            int count = 0;
            for (int t = 0; t < learningLength; t++)
            {
                int i = (b * learningLength) + t;
                double m = maskType switch
                {
                    ScalarType.Bool => maskBytes[i] != 0 ? 1 : 0,
                    ScalarType.Float32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(maskBytes)[i],
                    _ => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(maskBytes)[i],
                };
                if (m is not (0.0 or 1.0))
                {
                    throw MaskError(owner, b, t, m);
                }

                if (m == 0)
                {
                    continue;
                }

                double d = tdDouble ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(tdBytes)[i] : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tdBytes)[i];
                if (!double.IsFinite(d))
                {
                    throw TdError(owner, b, t, d);
                }

                double a = Math.Abs(d);
                max = Math.Max(max, a);
                sum += a;
                count++;
            }

            double p = count == 0 ? 0 : (eta * max) + ((1 - eta) * (sum / count));
            if (!double.IsFinite(p) && overflow < 0)
            {
                overflow = b;
            }

            destination[b] = p;
        }

        if (overflow >= 0)
        {
            throw Overflow(owner, overflow, destination[overflow]);
        }
    }

    /// <summary>The priority of one sequence from host values (the reference the tests and docs use).</summary>
    public static double Of(ReadOnlySpan<double> tdErrors, ReadOnlySpan<bool> mask, double eta)
    {
        double max = 0;
        double sum = 0;
        int count = 0;
        for (int t = 0; t < tdErrors.Length; t++)
        {
            if (mask[t])
            {
                double a = Math.Abs(tdErrors[t]);
                max = Math.Max(max, a);
                sum += a;
                count++;
            }
        }

        return count == 0 ? 0 : (eta * max) + ((1 - eta) * (sum / count));
    }

    private static void CheckShape(string owner, string name, Tensor tensor, int batchSize, int learningLength)
    {
        if (tensor.dim() != 2 || tensor.shape[0] != batchSize || tensor.shape[1] != learningLength)
        {
            throw new ArgumentException($"{owner}: {name} has shape [{string.Join(", ", tensor.shape)}]; expected [{batchSize}, {learningLength}] (batch × learning steps, after the burn-in). Nothing was changed.", name);
        }
    }

    /// <summary>Finds the first bad element of row <paramref name="row"/> (slow path, on failure only).</summary>
    private static ArgumentException Explain(string owner, Tensor delta, Tensor mask, int row, int learningLength)
    {
        double[] d = delta.select(0, row).cpu().contiguous().data<double>().ToArray();
        double[] m = mask.select(0, row).to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
        for (int t = 0; t < learningLength; t++)
        {
            if (m[t] is not (0.0 or 1.0))
            {
                return MaskError(owner, row, t, m[t]);
            }

            if (m[t] == 1 && !double.IsFinite(d[t]))
            {
                return TdError(owner, row, t, d[t]);
            }
        }

        return new ArgumentException($"{owner}: row {row} of tdErrors or mask is not valid. Nothing was changed.", "tdErrors");
    }

    private static ArgumentException MaskError(string owner, int row, int t, double value) =>
        new($"{owner}: mask[{row}, {t}] = {TransitionChecks.Text(value)}; mask values must be 0 or 1. Nothing was changed.", "mask");

    private static ArgumentException TdError(string owner, int row, int t, double value) =>
        new($"{owner}: tdErrors[{row}, {t}] is {TransitionChecks.Text(value)} at a valid step; TD errors must be finite. Nothing was changed.", "tdErrors");

    private static ArgumentOutOfRangeException Overflow(string owner, int row, double value) =>
        new("tdErrors", value, $"{owner}: the priority η·max|δ| + (1 − η)·mean|δ| of row {row} overflows to {TransitionChecks.Text(value)}; the TD errors are too large. Nothing was changed.");
}
