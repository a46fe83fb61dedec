using System.Runtime.InteropServices;
using RlMemory.Training;

namespace RlMemory.Tests.Training;

public sealed class NativeHeapTests
{
    [Fact]
    public void AfterApply_ABlockBelow32MiB_ComesFromTheHeap_NotAMappingOfItsOwn()
    {
        if (!OperatingSystem.IsLinux() || (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? string.Empty).Contains("glibc.malloc.", StringComparison.Ordinal))
        {
            return;
        }

        Assert.True(NativeHeap.Apply());
        Assert.True(NativeHeap.Apply());   // once per process; asking again is harmless

        // glibc's default would map a 24 MiB block on its own (its dynamic threshold starts at 128 KiB and only
        // rises to the size of mapped blocks freed since), and unmap it again on free.
        long before = MappedBlocks();
        nint block = Marshal.AllocHGlobal(24 << 20);
        try
        {
            Assert.Equal(before, MappedBlocks());
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }

    /// <summary>mallinfo2's <c>hblks</c>: the blocks glibc has mapped with mmap of their own.</summary>
    private static long MappedBlocks() => (long)mallinfo2().MappedBlocks;

    [DllImport("libc")]
    private static extern MallInfo2 mallinfo2();

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena;
        public nuint OrdinaryBlocks;
        public nuint SmallBlocks;
        public nuint MappedBlocks;
        public nuint MappedBytes;
        public nuint Unused1;
        public nuint Unused2;
        public nuint Allocated;
        public nuint Free;
        public nuint KeepCost;
    }
}
