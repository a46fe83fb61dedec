using RlMemory.Memory;
using RlMemory.Memory.Persistence;
using RlMemory.Tests.Build;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>Save → load gives the same buffer: contents, cursors, autoreset flags, n-step windows and generator.</summary>
[Collection(nameof(TensorCountCollection))]
public sealed class ReplayPersistenceTests
{
    public static TheoryData<bool, bool, bool, int> Variants() => new()
    {
        { false, false, false, 1 },
        { true, false, false, 1 },
        { false, true, false, 1 },
        { true, true, true, 1 },
        { false, false, true, 3 },
        { false, true, false, 4 },
    };

    private static ReplayBufferOptions Options(bool memorySaving, bool bytes, bool continuous, int nSteps) => new()
    {
        Capacity = 50,
        ObservationShape = [2, 2],
        ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        Action = continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
        NumEnvs = 3,
        Gamma = 0.95,
        NSteps = nSteps,
        MemorySaving = memorySaving,
        Seed = 21,
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void SaveThenLoad_GivesIdenticalSamples_AndContinuesIdentically(bool memorySaving, bool bytes, bool continuous, int nSteps)
    {
        using var dir = new ScratchDirectory();
        ReplayBufferOptions options = Options(memorySaving, bytes, continuous, nSteps);
        using var original = new ReplayBuffer(options);
        var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 13, pTerminate: 0.15, pTruncate: 0.1, actionDimension: continuous ? 2 : 0), 0.95f);
        for (int t = 0; t < 40; t++)
        {
            driver.Step(original);
        }

        original.Sample(5).Dispose();   // move the generator on
        original.Save(dir.Path);
        Assert.Equal([ReplayBufferFile.UniformFileName], dir.FileNames());

        using ReplayBuffer loaded = ReplayBuffer.Load(dir.Path);

        Assert.Equal(original.Options, loaded.Options);
        Assert.Equal(original.Count, loaded.Count);
        Assert.Equal(ReplayAssert.StoredKeys(original), ReplayAssert.StoredKeys(loaded));
        AssertSameSamples(original, loaded, rounds: 5);

        // Both go on identically: cursors, autoreset flags and n-step windows were restored.
        for (int t = 0; t < 30; t++)
        {
            driver.Step(original, loaded);
        }

        driver.ResetOutOfBand(original, loaded);
        driver.Step(original, loaded);
        Assert.Equal(ReplayAssert.StoredKeys(original), ReplayAssert.StoredKeys(loaded));
        AssertSameSamples(original, loaded, rounds: 5);
    }

    [Fact]
    public void EmptyBuffer_SavesAndLoads()
    {
        using var dir = new ScratchDirectory();
        using var empty = new ReplayBuffer(Options(true, false, false, 1));
        empty.Save(dir.Path);
        using ReplayBuffer loaded = ReplayBuffer.Load(dir.Path, torch.CPU);
        Assert.Equal(0, loaded.Count);
        Assert.Equal(DeviceType.CPU, loaded.Device.type);
    }

    [Fact]
    public void Load_WithExpectedOptions_RefusesAnotherObservationShape_NamingFileAndBothShapes()
    {
        using var dir = new ScratchDirectory();
        using (var buffer = new ReplayBuffer(Options(false, false, false, 1)))
        {
            buffer.Save(dir.Path);
        }

        ReplayBufferOptions expected = Options(false, false, false, 1) with { ObservationShape = [4] };
        var e = Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(dir.Path, expected));
        Assert.Contains(Path.Combine(dir.Path, ReplayBufferFile.UniformFileName), e.Message);
        Assert.Contains("ObservationShape [2, 2]", e.Message);
        Assert.Contains("[4] is expected", e.Message);

        var otherAction = Options(false, false, false, 1) with { Action = ActionSpec.Continuous(2) };
        Assert.Contains("Action discrete", Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(dir.Path, otherAction)).Message);

        // The same options (but another seed) load.
        using ReplayBuffer ok = ReplayBuffer.Load(dir.Path, Options(false, false, false, 1) with { Seed = 99 });
        Assert.Equal(21UL, ok.Options.Seed);
    }

    [Fact]
    public void Load_RefusesAFileOfAnotherKind()
    {
        using var dir = new ScratchDirectory();
        using (var writer = BufferFileWriter.Create(Path.Combine(dir.Path, ReplayBufferFile.UniformFileName), "PrioritizedReplayBuffer", 1, "{}"))
        {
            writer.Commit();
        }

        Assert.Contains("holds a PrioritizedReplayBuffer, not a UniformReplayBuffer", Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(dir.Path)).Message);
    }

    [Fact]
    public void DamagedFiles_AreRefused_WithoutAllocatingAnything_AndTheLiveBufferIsUntouched()
    {
        using var dir = new ScratchDirectory();
        using var buffer = new ReplayBuffer(Options(true, false, false, 1));
        using var twin = new ReplayBuffer(Options(true, false, false, 1));
        var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 17), 0.95f);
        for (int t = 0; t < 30; t++)
        {
            driver.Step(buffer, twin);
        }

        buffer.Save(dir.Path);
        string path = Path.Combine(dir.Path, ReplayBufferFile.UniformFileName);
        byte[] good = File.ReadAllBytes(path);
        long tensors = TensorCountCollection.SettledTensorCount(); // not moved by earlier tests' finalizers while it measures

        var cases = new List<(string Name, byte[] Bytes)>
        {
            ("truncated by one byte", good[..^1]),
            ("truncated to half", good[..(good.Length / 2)]),
            ("empty", []),
        };
        foreach (int position in new[] { 3, 20, good.Length / 3, good.Length / 2, good.Length - 30, good.Length - 5 })
        {
            byte[] flipped = [.. good];
            flipped[position] ^= 0x10;
            cases.Add(($"bit flip at {position}", flipped));
        }

        foreach ((string name, byte[] bytes) in cases)
        {
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(dir.Path));
            Assert.True(e.Message.Contains(path, StringComparison.Ordinal), $"{name}: {e.Message}");
            Assert.Equal(tensors, Tensor.TotalCount);
        }

        // A stale temporary file from an interrupted save is never read.
        File.WriteAllBytes(path, good);
        File.WriteAllBytes(path + ".tmp-0123", good[..100]);
        using ReplayBuffer loaded = ReplayBuffer.Load(dir.Path);
        Assert.Equal(buffer.Count, loaded.Count);

        AssertSameSamples(buffer, twin, rounds: 3);
    }

    [Theory]
    [InlineData("\"Size\":30", "\"Size\":31", "next slot")]
    [InlineData("\"NextSlot\":30", "\"NextSlot\":50", "next slot 50 outside")]
    [InlineData("\"NumEnvs\":3", "\"NumEnvs\":0", "saved options are invalid")]
    [InlineData("\"ObservationStorage\":\"Float32\"", "\"ObservationStorage\":\"Int7\"", "unknown observation storage")]
    [InlineData("\"PreviousEnded\":[", "\"PreviousEnded\":[true,", "end flags")]
    [InlineData("\"Options\":", "\"Opts\":", "lacks options")]
    [InlineData("{", "[", "metadata is not valid")]
    public void IntactFileWithInconsistentMetadata_IsRefused(string find, string replace, string expected)
    {
        using var dir = new ScratchDirectory();
        using (var buffer = new ReplayBuffer(Options(false, false, false, 1)))
        {
            var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 5, pTerminate: 0, pTruncate: 0), 0.95f);
            for (int t = 0; t < 10; t++)
            {
                driver.Step(buffer);
            }

            buffer.Save(dir.Path);
        }

        string path = Path.Combine(dir.Path, ReplayBufferFile.UniformFileName);
        Rewrite(path, json =>
        {
            Assert.Contains(find, json);
            int at = json.IndexOf(find, StringComparison.Ordinal);
            return json[..at] + replace + json[(at + find.Length)..];
        });

        var e = Assert.Throws<InvalidDataException>(() => ReplayBuffer.Load(dir.Path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    /// <summary>Writes the file again, intact (valid checksum), with its metadata changed.</summary>
    private static void Rewrite(string path, Func<string, string> metadata)
    {
        string temp = path + ".rewritten";
        using (BufferFileReader reader = BufferFileReader.Open(path))
        using (var writer = BufferFileWriter.Create(temp, reader.Kind, reader.KindVersion, metadata(reader.MetadataJson)))
        {
            foreach (BufferSection section in reader.Sections)
            {
                long[] shape = [.. section.Shape];
                switch (section.DType)
                {
                    case ScalarType.Float32:
                        writer.WriteSection<float>(section.Name, reader.ReadArray<float>(section.Name), shape);
                        break;
                    case ScalarType.Byte:
                        writer.WriteSection<byte>(section.Name, reader.ReadArray<byte>(section.Name), shape);
                        break;
                    case ScalarType.Bool:
                        writer.WriteSection<bool>(section.Name, reader.ReadArray<bool>(section.Name), shape);
                        break;
                    case ScalarType.Int32:
                        writer.WriteSection<int>(section.Name, reader.ReadArray<int>(section.Name), shape);
                        break;
                    case ScalarType.Float64:
                        writer.WriteSection<double>(section.Name, reader.ReadArray<double>(section.Name), shape);
                        break;
                    default:
                        throw new InvalidOperationException($"unexpected section type {section.DType}");
                }
            }

            writer.Commit();
        }

        File.Move(temp, path, overwrite: true);
    }

    [Fact]
    public void SavingAgain_ReplacesTheFile()
    {
        using var dir = new ScratchDirectory();
        using var buffer = new ReplayBuffer(Options(false, false, false, 1));
        var driver = new StepDriver(new FakeVectorEnv(3, 4, seed: 5), 0.95f);
        driver.Step(buffer);
        buffer.Save(dir.Path);
        driver.Step(buffer);
        buffer.Save(dir.Path);
        Assert.Equal([ReplayBufferFile.UniformFileName], dir.FileNames());
        using ReplayBuffer loaded = ReplayBuffer.Load(dir.Path);
        Assert.Equal(buffer.Count, loaded.Count);
    }

    [Fact]
    public void MissingFile_IsReportedByPath()
    {
        using var dir = new ScratchDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => ReplayBuffer.Load(dir.Path));
        Assert.Contains(ReplayBufferFile.UniformFileName, e.Message);
    }

    private static void AssertSameSamples(ReplayBuffer a, ReplayBuffer b, int rounds)
    {
        for (int i = 0; i < rounds; i++)
        {
            int size = (int)Math.Min(a.Count, 16);
            using TransitionBatch x = a.Sample(size);
            using TransitionBatch y = b.Sample(size);
            Assert.Equal(ReplayAssert.Longs(x.Indices), ReplayAssert.Longs(y.Indices));
            Assert.Equal(ReplayAssert.Read(x).Select(t => t.Key), ReplayAssert.Read(y).Select(t => t.Key));
        }
    }
}
