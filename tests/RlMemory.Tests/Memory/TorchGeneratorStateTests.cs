using RlMemory.Memory;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// Issue 12: a replay file whose generator_state was random bytes (or 16 bytes) made libtorch throw a C++ exception
/// through native code, and the process aborted ('Invalid mt19937 state'). The state is checked before libtorch sees it.
/// </summary>
public sealed class TorchGeneratorStateTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-genstate-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void ARealState_IsAccepted_AndDamagedOnesAreRefusedWithTheReason()
    {
        using var generator = new Generator(42, CPU);
        byte[] state;
        using (Tensor t = generator.get_state())
        {
            state = t.bytes.ToArray();
        }

        Assert.Equal(TorchGeneratorState.CpuStateBytes, state.Length);
        Assert.Null(TorchGeneratorState.Problem(generator, state));

        Assert.Contains("is 16 bytes; this generator's state is 5056", TorchGeneratorState.Problem(generator, new byte[16]), StringComparison.Ordinal);
        var random = new byte[state.Length];
        new Random(3).NextBytes(random);
        Assert.NotNull(TorchGeneratorState.Problem(generator, random));
        Assert.Contains("not the state of a seeded mt19937 generator", TorchGeneratorState.Problem(generator, new byte[state.Length]), StringComparison.Ordinal);

        byte[] outside = [.. state];
        BitConverter.GetBytes(625).CopyTo(outside, 8); // left beyond the 624-word table
        Assert.Contains("outside its table", TorchGeneratorState.Problem(generator, outside), StringComparison.Ordinal);

        // A valid state still round-trips through Set.
        using var other = new Generator(7, CPU);
        TorchGeneratorState.Set(other, state, "test");
        Assert.Equal(generator.initial_seed(), other.initial_seed());
        var e = Assert.Throws<InvalidDataException>(() => TorchGeneratorState.Set(other, random, "the saved state"));
        Assert.StartsWith("the saved state ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(TorchGeneratorState.CpuStateBytes)]
    public void AReplayFileWithARandomGeneratorState_IsRefused_NotAProcessAbort(int length)
    {
        string saved = Path.Combine(_dir, "saved");
        using (var buffer = new ReplayBuffer(new ReplayBufferOptions { Capacity = 32, ObservationShape = [2], Seed = 1 }))
        {
            buffer.Save(saved);
        }

        string file = Path.Combine(saved, ReplayBufferFile.UniformFileName);
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        ReplaceSection(file, "generator_state", bytes);
        var e = Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(saved));
        Assert.Contains("section 'generator_state'", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Rewrites a buffer file (valid checksum) with one section's bytes replaced.</summary>
    private static void ReplaceSection(string path, string name, byte[] replacement)
    {
        var sections = new List<(string Name, Tensor Value)>();
        string kind, metadata;
        int version;
        using (BufferFileReader reader = BufferFileReader.Open(path))
        {
            (kind, version, metadata) = (reader.Kind, reader.KindVersion, reader.MetadataJson);
            foreach (BufferSection section in reader.Sections)
            {
                Tensor value = empty([.. section.Shape], section.DType, CPU);
                reader.ReadInto(section.Name, value);
                sections.Add((section.Name, section.Name == name ? tensor(replacement, ScalarType.Byte) : value));
            }
        }

        using (var writer = BufferFileWriter.Create(path, kind, version, metadata))
        {
            foreach (var (n, value) in sections)
            {
                writer.WriteSection(n, value);
            }

            writer.Commit();
        }

        foreach (var (_, value) in sections)
        {
            value.Dispose();
        }
    }
}
