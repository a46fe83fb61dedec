using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Checks a saved torch generator state before it reaches libtorch. libtorch refuses an invalid state by throwing a
/// C++ exception that crosses TorchSharp's native layer uncaught, which aborts the whole process
/// (<c>terminate called after throwing an instance of 'c10::Error': Invalid mt19937 state</c>); a file that was damaged
/// or crafted must be refused here instead, with a message, and nothing changed.
/// </summary>
public static class TorchGeneratorState
{
    /// <summary>The size of a CPU (mt19937) generator state: libtorch's <c>CPUGeneratorImplState</c>.</summary>
    public const int CpuStateBytes = 5056;

    private const int MersenneStateN = 624;

    /// <summary>
    /// What is wrong with <paramref name="state"/> as the state of <paramref name="generator"/> (null when nothing is):
    /// its length must be the generator's; a CPU state must be a seeded mt19937 state whose position lies in its
    /// 624-word table; a CUDA state's offset must be a non-negative multiple of 4 (libtorch's own conditions).
    /// </summary>
    public static string? Problem(Generator generator, ReadOnlySpan<byte> state)
    {
        ArgumentNullException.ThrowIfNull(generator);
        long expected;
        using (Tensor current = generator.get_state())
        {
            expected = current.numel();
        }

        if (state.Length != expected)
        {
            return $"is {state.Length} bytes; this generator's state is {expected}";
        }

        if (generator.device.type == DeviceType.CPU)
        {
            if (state.Length != CpuStateBytes)
            {
                return $"is {state.Length} bytes; a CPU generator state is {CpuStateBytes}";
            }

            // CPUGeneratorImplStateLegacy: seed (u64 @0), left (i32 @8), seeded (i32 @12), next (u64 @16), state[624] (u64 @24),
            // normal_x/y/rho (f64 @5016), normal_is_valid (i32 @5040); then next_float_normal_sample (f32 @5048) and its
            // validity flag (bool @5052).
            int left = BinaryPrimitives.ReadInt32LittleEndian(state[8..]);
            int seeded = BinaryPrimitives.ReadInt32LittleEndian(state[12..]);
            uint next = (uint)BinaryPrimitives.ReadUInt64LittleEndian(state[16..]);
            if (seeded != 1)
            {
                return "is not the state of a seeded mt19937 generator";
            }

            if (left is < 1 or > MersenneStateN || next > MersenneStateN)
            {
                return $"places the mt19937 generator outside its table (left {left}, next {next}; both must be at most {MersenneStateN}, left at least 1)";
            }

            if (state[5052] > 1)
            {
                return "has a validity flag that is neither 0 nor 1";
            }
        }
        else if (state.Length == 16)
        {
            long offset = BinaryPrimitives.ReadInt64LittleEndian(state[8..]);
            if (offset < 0 || offset % 4 != 0)
            {
                return $"has the Philox offset {offset}; it must be a non-negative multiple of 4";
            }
        }

        return null;
    }

    /// <summary>Sets <paramref name="generator"/>'s state after checking it with <see cref="Problem"/>.</summary>
    /// <exception cref="InvalidDataException">The state is not valid for this generator (<paramref name="what"/> names it in the message); nothing changed.</exception>
    public static void Set(Generator generator, ReadOnlySpan<byte> state, string what)
    {
        if (Problem(generator, state) is string problem)
        {
            throw new InvalidDataException($"{what} {problem}; it was not applied.");
        }

        using var scope = NewDisposeScope();
        generator.set_state(tensor(state.ToArray(), ScalarType.Byte));
    }
}
