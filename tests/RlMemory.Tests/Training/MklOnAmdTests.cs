using System.Runtime.InteropServices;
using RlMemory.Training;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

public sealed class MklOnAmdTests
{
    [Fact]
    public unsafe void AfterApply_MklIsToldTheCpuIsIntels_AndItsProductsStayExact()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || string.Equals(Environment.GetEnvironmentVariable("RLMEMORY_MKL_VENDOR_CHECK"), "keep", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        MklOnAmd.Apply(); // loads libtorch if nothing has yet
        Assert.True(MklOnAmd.Status is "applied" or "not needed (an Intel CPU)", MklOnAmd.Status);

        // The function MKL asks answers yes: patched on another vendor's CPU, MKL's own answer on Intel's.
        string? path = MklOnAmd.LoadedLibTorch();
        Assert.NotNull(path);
        nint library = NativeLibrary.Load(path);
        try
        {
            var intelCpuTrue = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(library, "mkl_serv_intel_cpu_true");
            Assert.Equal(1, intelCpuTrue());
        }
        finally
        {
            NativeLibrary.Free(library);
        }

        // Whatever kernels MKL picks now, a float32 product agrees with the float64 one to float32 rounding.
        var generator = new TorchSharp.torch.Generator(7);
        using var a = randn([64, 256], generator: generator);
        using var b = randn([256, 256], generator: generator);
        using var product = a.matmul(b);
        using var exact = a.to(float64).matmul(b.to(float64));
        using var error = (product.to(float64) - exact).abs().max();
        using var scale = exact.abs().max();
        Assert.True(error.item<double>() <= 1e-5 * scale.item<double>(), $"max error {error.item<double>()} against a scale of {scale.item<double>()}");
    }
}
