using System.Text.Json.Nodes;
using RlMemory.Memory;
using RlMemory.Memory.Persistence;
using RlMemory.Tests.Build;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>Save → load gives the same rollout buffer: contents, advantages, states, autoreset flags and generator.</summary>
public sealed class RolloutBufferPersistenceTests
{
    private static RolloutBufferOptions Options(bool recurrent, bool continuous, AdvantageNormalization normalization = AdvantageNormalization.PerMinibatch) => new()
    {
        NumSteps = 8,
        NumEnvs = 3,
        ObservationShape = [3],
        Action = continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
        Gamma = 0.95,
        GaeLambda = 0.9,
        AdvantageNormalization = normalization,
        RecurrentState = recurrent ? RolloutAssert.LstmSpec() : null,
        Seed = 17,
    };

    public static TheoryData<bool, bool, bool, bool> Variants() => new()
    {
        { false, false, true, false },
        { true, false, true, false },
        { false, true, false, false },
        { true, true, true, true },
        { true, false, false, true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void SaveThenLoad_GivesTheSameBuffer_AndContinuesIdentically(bool recurrent, bool continuous, bool fullAndComputed, bool staged)
    {
        using var dir = new ScratchDirectory();
        RolloutBufferOptions options = Options(recurrent, continuous);
        using var original = new RolloutBuffer(options);
        var stream = new RolloutStream(3, 3, seed: 13, pTerminate: 0.2, pTruncate: 0.2, actionDimension: continuous ? 2 : 0, state: options.RecurrentState);
        stream.FillRollout(8, original);
        original.ComputeReturnsAndAdvantages(stream.LastValues());
        RolloutBufferTests.BatchKeys(original);      // move the generator on
        original.Clear();
        stream.NewRollout();
        int added = fullAndComputed ? 8 : 5;
        for (int t = 0; t < added; t++)
        {
            stream.AddTo(stream.Next(), original);
        }

        if (fullAndComputed)
        {
            original.ComputeReturnsAndAdvantages(stream.LastValues());
        }

        original.Save(dir.Path);
        Assert.Equal([RolloutBuffer.FileName], dir.FileNames());
        using RolloutBuffer loaded = RolloutBufferFile.Load(dir.Path, device: null, expected: null, forceStaging: staged);

        Assert.Equal(original.Options, loaded.Options);
        RolloutAssert.Same(original.Snapshot(), loaded.Snapshot());
        if (fullAndComputed)
        {
            Assert.Equal(RolloutBufferTests.BatchKeys(original), RolloutBufferTests.BatchKeys(loaded));
            Assert.Equal(RolloutBufferTests.SequenceKeys(original), RolloutBufferTests.SequenceKeys(loaded));
            original.Clear();
            loaded.Clear();
            stream.NewRollout();
            added = 0;
        }

        // Both go on identically: the autoreset flags and the generator were restored.
        for (int t = added; t < 8; t++)
        {
            stream.AddTo(stream.Next(), original, loaded);
        }

        float[] last = stream.LastValues();
        original.ComputeReturnsAndAdvantages(last);
        loaded.ComputeReturnsAndAdvantages(last);
        RolloutAssert.Same(original.Snapshot(), loaded.Snapshot());
        Assert.Equal(RolloutBufferTests.SequenceKeys(original), RolloutBufferTests.SequenceKeys(loaded));
    }

    [Fact]
    public void EmptyBuffer_SavesAndLoads_WithExpectedOptions()
    {
        using var dir = new ScratchDirectory();
        using (var empty = new RolloutBuffer(Options(true, false)))
        {
            empty.Save(dir.Path);
        }

        using RolloutBuffer loaded = RolloutBuffer.Load(dir.Path, Options(true, false) with { Seed = 99 });
        Assert.Equal(0, loaded.Count);
        Assert.Equal(17UL, loaded.Options.Seed);
        Assert.Equal(DeviceType.CPU, loaded.Device.type);
    }

    [Fact]
    public void Load_WithExpectedOptions_RefusesOtherOptions_NamingFileFieldAndValues()
    {
        using var dir = new ScratchDirectory();
        using (var buffer = new RolloutBuffer(Options(false, false)))
        {
            buffer.Save(dir.Path);
        }

        string path = Path.Combine(dir.Path, RolloutBuffer.FileName);
        var e = Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path, Options(false, false) with { NumSteps = 16 }));
        Assert.Contains(path, e.Message);
        Assert.Contains("NumSteps 8, but 16 is expected", e.Message);
        Assert.Contains("RecurrentState none, but {h [3] Float32, c [3] Float32} is expected",
            Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path, Options(true, false))).Message);
        Assert.Contains("GaeLambda 0.9, but 0.95 is expected",
            Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path, Options(false, false) with { GaeLambda = 0.95 })).Message);
    }

    [Fact]
    public void Load_RefusesAFileOfAnotherKind()
    {
        using var dir = new ScratchDirectory();
        using (var writer = BufferFileWriter.Create(Path.Combine(dir.Path, RolloutBuffer.FileName), ReplayBufferFile.UniformKind, 1, "{}"))
        {
            writer.Commit();
        }

        Assert.Contains("holds a UniformReplayBuffer, not a RolloutBuffer", Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path)).Message);
    }

    [Fact]
    public void DamagedFiles_AreRefused_WithoutAllocatingAnything()
    {
        using var dir = new ScratchDirectory();
        using var buffer = new RolloutBuffer(Options(true, false));
        var stream = new RolloutStream(3, 3, seed: 19, state: buffer.Options.RecurrentState);
        stream.FillRollout(8, buffer);
        buffer.ComputeReturnsAndAdvantages(stream.LastValues());
        buffer.Save(dir.Path);
        string path = Path.Combine(dir.Path, RolloutBuffer.FileName);
        byte[] good = File.ReadAllBytes(path);
        RolloutSnapshot before = buffer.Snapshot();
        long tensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var cases = new List<(string Name, byte[] Bytes)>
        {
            ("truncated by one byte", good[..^1]),
            ("truncated to half", good[..(good.Length / 2)]),
            ("one byte appended", [.. good, 0]),
            ("empty", []),
        };
        foreach (int position in new[] { 3, 30, good.Length / 3, good.Length / 2, good.Length - 40, good.Length - 5 })
        {
            byte[] flipped = [.. good];
            flipped[position] ^= 0x04;
            cases.Add(($"bit flip at {position}", flipped));
        }

        foreach ((string name, byte[] bytes) in cases)
        {
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path));
            Assert.True(e.Message.Contains(path, StringComparison.Ordinal), $"{name}: {e.Message}");
            Assert.Equal(tensors, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }

        // A stale temporary file of an interrupted save is never read.
        File.WriteAllBytes(path, good);
        File.WriteAllBytes(path + ".tmp-0123", good[..100]);
        using RolloutBuffer loaded = RolloutBuffer.Load(dir.Path);
        RolloutAssert.Same(before, loaded.Snapshot());
    }

    [Theory]
    [InlineData("Count", "9", "9 steps outside [0, 8]")]
    [InlineData("Width", "5", "table width 5")]
    [InlineData("GeneratorAlgorithm", "\"mt19937\"", "generator 'mt19937'")]
    [InlineData("AdvantageNormalization", "\"Sometimes\"", "unknown advantage normalization")]
    [InlineData("NumEnvs", "0", "saved options are invalid")]
    public void IntactFileWithInconsistentMetadata_IsRefused_WithoutAllocatingAnything(string field, string value, string expected)
    {
        using var dir = new ScratchDirectory();
        SaveSmall(dir.Path);
        string path = Path.Combine(dir.Path, RolloutBuffer.FileName);
        Rewrite(path, json => Set(json, field, value), sections: null);
        long tensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var e = Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(tensors, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData("valid", "is valid after an ended step")]
    [InlineData("episode_starts", "episode-start flag")]
    [InlineData("previous_ended", "autoreset flags of env")]
    [InlineData("rewards", "pseudo-step")]
    public void IntactFileWithInconsistentFlags_IsRefused(string section, string expected)
    {
        using var dir = new ScratchDirectory();
        RolloutStream stream = SaveSmall(dir.Path);
        string path = Path.Combine(dir.Path, RolloutBuffer.FileName);
        int n = 3;
        int pseudo = Enumerable.Range(n, 7 * n).First(i => stream.Steps[i / n].Pseudo[i % n]);
        Rewrite(path, json => json, (name, data) =>
        {
            switch (name)
            {
                case "valid" when section == "valid":
                    ((bool[])data)[pseudo] = true;
                    break;
                case "episode_starts" when section == "episode_starts":
                    int i = Enumerable.Range(n, 7 * n).First(j => !stream.Steps[j / n].Pseudo[j % n] && !((bool[])data)[j]);
                    ((bool[])data)[i] = !((bool[])data)[i];
                    break;
                case "previous_ended" when section == "previous_ended":
                    ((bool[])data)[0] = !((bool[])data)[0];
                    break;
                case "rewards" when section == "rewards":
                    ((double[])data)[pseudo] = 1;
                    break;
            }
        });

        var e = Assert.Throws<InvalidDataException>(() => RolloutBuffer.Load(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void SavingAgain_ReplacesTheFile_AndMissingFilesAreReportedByPath()
    {
        using var dir = new ScratchDirectory();
        Assert.Contains(RolloutBuffer.FileName, Assert.Throws<FileNotFoundException>(() => RolloutBuffer.Load(dir.Path)).Message);
        using var buffer = new RolloutBuffer(Options(false, false));
        var stream = new RolloutStream(3, 3, seed: 5);
        stream.AddTo(stream.Next(), buffer);
        buffer.Save(dir.Path);
        stream.AddTo(stream.Next(), buffer);
        buffer.Save(dir.Path);
        Assert.Equal([RolloutBuffer.FileName], dir.FileNames());
        using RolloutBuffer loaded = RolloutBuffer.Load(dir.Path);
        Assert.Equal(2, loaded.Count);
    }

    /// <summary>Saves a full, computed rollout that has pseudo-steps (with seed 23), and returns its stream.</summary>
    private static RolloutStream SaveSmall(string directory)
    {
        using var buffer = new RolloutBuffer(Options(false, false));
        var stream = new RolloutStream(3, 3, seed: 23, pTerminate: 0.25, pTruncate: 0.25);
        stream.FillRollout(8, buffer);
        Assert.Contains(stream.Steps.Skip(1), s => s.Pseudo.Any(p => p));
        buffer.ComputeReturnsAndAdvantages(stream.LastValues());
        buffer.Save(directory);
        return stream;
    }

    private static string Set(string json, string field, string value)
    {
        JsonNode root = JsonNode.Parse(json)!;
        JsonNode target = root[field] is null ? root["Options"]! : root;
        target[field] = JsonNode.Parse(value);
        return root.ToJsonString();
    }

    /// <summary>Writes the file again, intact (valid checksum), with its metadata and sections changed.</summary>
    private static void Rewrite(string path, Func<string, string> metadata, Action<string, Array>? sections)
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
                        Write(writer, section.Name, reader.ReadArray<float>(section.Name), shape, sections);
                        break;
                    case ScalarType.Float64:
                        Write(writer, section.Name, reader.ReadArray<double>(section.Name), shape, sections);
                        break;
                    case ScalarType.Bool:
                        Write(writer, section.Name, reader.ReadArray<bool>(section.Name), shape, sections);
                        break;
                    case ScalarType.Byte:
                        Write(writer, section.Name, reader.ReadArray<byte>(section.Name), shape, sections);
                        break;
                    default:
                        throw new InvalidOperationException($"unexpected section type {section.DType}");
                }
            }

            writer.Commit();
        }

        File.Move(temp, path, overwrite: true);
    }

    private static void Write<T>(BufferFileWriter writer, string name, T[] data, long[] shape, Action<string, Array>? change)
        where T : unmanaged
    {
        change?.Invoke(name, data);
        writer.WriteSection<T>(name, data, shape);
    }
}
