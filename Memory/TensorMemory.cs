using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Direct access to the memory of contiguous CPU tensors. <see cref="Tensor.bytes"/> is the fastest way in and out of
/// a tensor (torchsharp-notes §9) but is limited to 2 GiB; a replay tensor of frames is larger, so the base address is
/// taken once and spans are cut from it. The tensor must stay alive (and is never reallocated) while they are used.
/// </summary>
internal static unsafe class TensorMemory
{
    /// <summary>Whether the tensor's memory can be written from C#: on the CPU and contiguous.</summary>
    public static bool IsHostAccessible(Tensor tensor) => tensor.device_type == DeviceType.CPU && tensor.is_contiguous();

    /// <summary>The address of the first element of a contiguous CPU tensor with at least one element.</summary>
    public static byte* Address(Tensor tensor)
    {
        if (!IsHostAccessible(tensor))
        {
            throw new InvalidOperationException("TensorMemory.Address needs a contiguous CPU tensor.");
        }

        if (tensor.numel() == 0)
        {
            throw new InvalidOperationException("TensorMemory.Address needs a tensor with at least one element.");
        }

        if (ByteLength(tensor) <= int.MaxValue)
        {
            // No tensor operation: Tensor.bytes reads the data pointer directly.
            return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
        }

        using Tensor flat = tensor.view(-1);
        using Tensor first = flat.narrow(0, 0, 1);
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(first.bytes));
    }

    /// <summary>The total size of the tensor's elements in bytes.</summary>
    public static long ByteLength(Tensor tensor) => tensor.numel() * tensor.element_size();

    /// <summary>A span over <paramref name="count"/> elements of type <typeparamref name="T"/> starting <paramref name="elementOffset"/> elements after <paramref name="address"/>.</summary>
    public static Span<T> Span<T>(byte* address, long elementOffset, int count)
        where T : unmanaged => new((T*)address + elementOffset, count);

    /// <summary>Allocates a tensor that lives until it is disposed (outside any dispose scope).</summary>
    public static Tensor Persistent(long[] shape, ScalarType dtype, Device device, bool zero)
    {
        Tensor t = zero ? torch.zeros(shape, dtype, device) : torch.empty(shape, dtype, device);
        return t.DetachFromDisposeScope();
    }
}
