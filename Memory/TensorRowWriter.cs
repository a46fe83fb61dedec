using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Writes whole rows of a 2-D storage tensor <c>[rows, rowLength]</c> from C#. On a CPU device the span handed out
/// by <see cref="Begin"/> is the storage itself (no copy, no tensor operation). On any other device it is a
/// preallocated staging tensor on the CPU (pinned for CUDA), and <see cref="Commit"/> copies the rows to the device
/// in one <c>copy_</c>.
/// </summary>
internal sealed unsafe class TensorRowWriter<T> : IDisposable
    where T : unmanaged
{
    private readonly Tensor _target;
    private readonly ScalarType _dtype;
    private readonly byte* _targetAddress;
    private Tensor? _staging;
    private byte* _stagingAddress;
    private int _stagingRows;

    /// <param name="target">The storage, contiguous, with rows along dimension 0 (any further dimensions are flattened).</param>
    /// <param name="rowLength">Elements per row.</param>
    /// <param name="stagingRows">Rows of the staging area on non-CPU devices (grown on demand).</param>
    /// <param name="forceStaging">Stage even on the CPU (tests the device path without a device).</param>
    public TensorRowWriter(Tensor target, int rowLength, int stagingRows, bool forceStaging)
    {
        _target = target;
        _dtype = target.dtype;
        RowLength = rowLength;
        Direct = !forceStaging && TensorMemory.IsHostAccessible(target);
        if (Direct)
        {
            _targetAddress = TensorMemory.Address(target);
        }
        else
        {
            EnsureStaging(Math.Max(1, stagingRows));
        }
    }

    /// <summary>Elements per row.</summary>
    public int RowLength { get; }

    /// <summary>Whether writes go straight into the storage.</summary>
    public bool Direct { get; }

    /// <summary>The most rows one <see cref="Begin"/> can hand out (a span holds at most 2^31 − 1 elements).</summary>
    public int MaxRowsPerWrite => Math.Max(1, int.MaxValue / Math.Max(1, RowLength));

    /// <summary>A span over rows [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <paramref name="rowCount"/>) to fill.</summary>
    public Span<T> Begin(long firstRow, int rowCount)
    {
        int length = checked(rowCount * RowLength);
        if (Direct)
        {
            return TensorMemory.Span<T>(_targetAddress, firstRow * RowLength, length);
        }

        EnsureStaging(rowCount);
        return TensorMemory.Span<T>(_stagingAddress, 0, length);
    }

    /// <summary>Makes rows written into the span of the last <see cref="Begin"/> reach the storage.</summary>
    public void Commit(long firstRow, int rowCount)
    {
        if (Direct || rowCount == 0)
        {
            return;
        }

        using Tensor destination = _target.narrow(0, firstRow, rowCount);
        using Tensor source = _staging!.narrow(0, 0, rowCount);
        using Tensor shaped = source.view(destination.shape);
        destination.copy_(shaped);
    }

    /// <summary>Disposes the staging tensor (the storage belongs to the caller).</summary>
    public void Dispose()
    {
        _staging?.Dispose();
        _staging = null;
    }

    private void EnsureStaging(int rows)
    {
        if (_staging is not null && rows <= _stagingRows)
        {
            return;
        }

        _staging?.Dispose();
        Tensor staging = torch.empty([rows, RowLength], _dtype, torch.CPU);
        if (_target.device_type == DeviceType.CUDA)
        {
            // Pinned host memory makes the host-to-device copy a direct DMA.
            Tensor pinned = staging.pin_memory();
            staging.Dispose();
            staging = pinned;
        }

        _staging = staging.DetachFromDisposeScope();
        _stagingRows = rows;
        _stagingAddress = TensorMemory.Address(_staging);
    }
}
