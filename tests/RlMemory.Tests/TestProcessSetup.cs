using System.Runtime.CompilerServices;
using RlMemory.Training;

namespace RlMemory.Tests;

/// <summary>Process-wide settings fixed before any test runs.</summary>
internal static class TestProcessSetup
{
    /// <summary>
    /// On non-Intel CPUs the first training run lets MKL choose its kernels by the CPU's features (<see cref="MklOnAmd"/>),
    /// which changes products within rounding. Tests run in parallel and some compare two computations bitwise, so
    /// the change is made once, before any test computes anything, rather than whenever the first training starts.
    /// </summary>
    [ModuleInitializer]
    internal static void MklKernelsFromTheStart() => MklOnAmd.Apply(); // loads libtorch, without a matrix product
}
