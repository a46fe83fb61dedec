using RlMemory.Memory;
using RlMemory.Memory.Persistence;
using RlMemory.Tests.Build;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>
/// Save → load gives the same buffer: stored sequences and states, cursors, partial sequences and snapshots,
/// priorities and generators. Bad files are refused before anything is allocated.
/// </summary>
public sealed class SequencePersistenceTests
{
    private static SequenceReplayOptions Options(bool prioritized = false, bool bytes = false, bool continuous = false) => new()
    {
        Capacity = 40,
        BurnIn = 2,
        LearningLength = 3,
        Overlap = 3,
        ObservationShape = [2, 2],
        ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        Action = continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
        NumEnvs = 3,
        StateSpec = SequenceDriver.Spec,
        Prioritized = prioritized,
        Seed = 21,
    };

    private static SequenceDriver Driver(SequenceReplayOptions options, int seed = 13) =>
        new(new RandomVectorEnv(new FakeVectorEnv(3, 4, seed, pTerminate: 0.08, pTruncate: 0.05, actionDimension: options.Action.IsDiscrete ? 0 : 2)), options);

    public static TheoryData<bool, bool, bool, bool> Variants() => new()
    {
        // prioritized, bytes, continuous, device path
        { false, false, false, false },
        { true, false, false, false },
        { false, true, true, false },
        { true, true, false, true },
        { false, false, true, true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void SaveThenLoad_GivesIdenticalSamples_AndContinuesPartialSequencesIdentically(bool prioritized, bool bytes, bool continuous, bool devicePath)
    {
        using var dir = new ScratchDirectory();
        SequenceReplayOptions options = Options(prioritized, bytes, continuous);
        using var original = new SequenceReplayBuffer(options, devicePath);
        SequenceDriver driver = Driver(options);
        for (int g = 0; g < 30; g++)
        {
            driver.Step(original);
        }

        Assert.Contains(original.Cutter.EpisodeSteps.ToArray(), s => s > 0);   // partial sequences are open
        using (SequenceBatch batch = original.Sample(6, beta: 0.5))
        {
            if (prioritized)
            {
                using Tensor td = batch.Rewards.narrow(1, 2, 3).add(0.25);
                using Tensor mask = batch.Mask.narrow(1, 2, 3);
                original.UpdatePriorities(batch.Indices, td, mask);
            }
        }

        original.Save(dir.Path);
        Assert.Equal([SequenceReplayBuffer.FileName], dir.FileNames());

        using SequenceReplayBuffer loaded = SequenceReplayBuffer.LoadCore(dir.Path, device: null, expected: null, forceDevicePath: devicePath);
        Assert.Equal(original.Options, loaded.Options);
        Assert.Equal(original.Count, loaded.Count);
        Assert.Equal(SequenceAssert.Fingerprint(original), SequenceAssert.Fingerprint(loaded));
        AssertSameSamples(original, loaded, rounds: 4);

        // Both go on identically: the open sequences, their state snapshots and the autoreset flags were restored.
        for (int g = 0; g < 25; g++)
        {
            driver.Step(original, loaded);
        }

        driver.ResetOutOfBand(original, loaded);
        driver.Step(original, loaded);
        Assert.Equal(driver.ExpectedBySlot(options.Capacity), SequenceAssert.StoredKeys(loaded));
        Assert.Equal(SequenceAssert.Fingerprint(original), SequenceAssert.Fingerprint(loaded));
        AssertSameSamples(original, loaded, rounds: 4);
    }

    [Fact]
    public void PrioritiesSavedWithAnotherSampler_AreRestored_WithTheNewSamplersOwnGenerator()
    {
        // What loading onto another device type does: a DevicePrioritySampler's file into a ManagedPrioritySampler.
        using var dir = new ScratchDirectory();
        SequenceReplayOptions options = Options(prioritized: true);
        using var original = new SequenceReplayBuffer(options, forceDevicePath: true);
        SequenceDriver driver = Driver(options);
        for (int g = 0; g < 30; g++)
        {
            driver.Step(original);
        }

        using (SequenceBatch batch = original.Sample(8, beta: 0.5))
        using (Tensor td = batch.Rewards.narrow(1, 2, 3))
        using (Tensor mask = batch.Mask.narrow(1, 2, 3))
        {
            original.UpdatePriorities(batch.Indices, td, mask);
        }

        original.Save(dir.Path);
        using SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(dir.Path, torch.CPU);
        Assert.IsType<ManagedPrioritySampler>(loaded.Sampler);
        PrioritySamplerState saved = original.Sampler!.ExportState();
        PrioritySamplerState restored = loaded.Sampler!.ExportState();
        Assert.Equal(saved.Priorities, restored.Priorities);
        Assert.Equal(saved.MaxPriority, restored.MaxPriority);
        Assert.Equal(SequenceAssert.StoredKeys(original), SequenceAssert.StoredKeys(loaded));
        using SequenceBatch sample = loaded.Sample(4, beta: 1);
        Assert.Equal(4, sample.Size);
    }

    [Fact]
    public void EmptyBuffer_SavesAndLoads()
    {
        using var dir = new ScratchDirectory();
        using (var empty = new SequenceReplayBuffer(Options(prioritized: true)))
        {
            empty.Save(dir.Path);
        }

        using SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(dir.Path, torch.CPU);
        Assert.Equal(0, loaded.Count);
        Assert.Equal(DeviceType.CPU, loaded.Device.type);
        Assert.Throws<InvalidOperationException>(() => loaded.Sample(1));
    }

    [Fact]
    public void Load_WithExpectedOptions_RefusesAnotherObservationShapeOrStateLayout_NamingFileAndValues()
    {
        using var dir = new ScratchDirectory();
        using (var buffer = new SequenceReplayBuffer(Options()))
        {
            buffer.Save(dir.Path);
        }

        string file = Path.Combine(dir.Path, SequenceReplayBuffer.FileName);
        var e = Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path, Options() with { ObservationShape = [4] }));
        Assert.Contains(file, e.Message);
        Assert.Contains("ObservationShape [2, 2]", e.Message);
        Assert.Contains("[4] is expected", e.Message);

        var spec = new RecurrentStateSpec([new("h", [3], ScalarType.Float32), new("c", [2], ScalarType.Float32)]);
        Assert.Contains("StateSpec {h [2] Float32, c [2] Float32}", Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path, Options() with { StateSpec = spec })).Message);
        Assert.Contains("Overlap 3", Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path, Options() with { Overlap = 1 })).Message);
        Assert.Contains("Prioritized False", Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path, Options(prioritized: true))).Message);

        // The same options (another seed) load.
        using SequenceReplayBuffer ok = SequenceReplayBuffer.Load(dir.Path, Options() with { Seed = 99 });
        Assert.Equal(21UL, ok.Options.Seed);
    }

    [Fact]
    public void Load_RefusesAFileOfAnotherKind()
    {
        using var dir = new ScratchDirectory();
        using (var writer = BufferFileWriter.Create(Path.Combine(dir.Path, SequenceReplayBuffer.FileName), ReplayBufferFile.UniformKind, 1, "{}"))
        {
            writer.Commit();
        }

        Assert.Contains("holds a UniformReplayBuffer, not a SequenceReplayBuffer", Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path)).Message);
    }

    [Fact]
    public void MissingFile_IsReportedByPath()
    {
        using var dir = new ScratchDirectory();
        Assert.Contains(SequenceReplayBuffer.FileName, Assert.Throws<FileNotFoundException>(() => SequenceReplayBuffer.Load(dir.Path)).Message);
    }

    [Fact]
    public void DamagedFiles_AreRefused_WithoutAllocatingAnyTensor_AndTheLiveBufferIsUntouched()
    {
        using var dir = new ScratchDirectory();
        SequenceReplayOptions options = Options(prioritized: true);
        using var buffer = new SequenceReplayBuffer(options);
        SequenceDriver driver = Driver(options);
        for (int g = 0; g < 30; g++)
        {
            driver.Step(buffer);
        }

        buffer.Save(dir.Path);
        string before = SequenceAssert.Fingerprint(buffer);
        string path = Path.Combine(dir.Path, SequenceReplayBuffer.FileName);
        byte[] good = File.ReadAllBytes(path);
        var cases = new List<(string Name, byte[] Bytes)>
        {
            ("truncated by one byte", good[..^1]),
            ("truncated to half", good[..(good.Length / 2)]),
            ("empty", []),
            ("one byte appended", [.. good, 0]),
        };
        foreach (int position in new[] { 3, 20, good.Length / 3, good.Length / 2, good.Length - 30, good.Length - 5 })
        {
            byte[] flipped = [.. good];
            flipped[position] ^= 0x10;
            cases.Add(($"bit flip at {position}", flipped));
        }

        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        foreach ((string name, byte[] bytes) in cases)
        {
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path));
            Assert.True(e.Message.Contains(path, StringComparison.Ordinal), $"{name}: {e.Message}");
            Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }

        // A stale temporary file from an interrupted save is never read.
        File.WriteAllBytes(path, good);
        File.WriteAllBytes(path + ".tmp-0123", good[..100]);
        using SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(dir.Path);
        Assert.Equal(buffer.Count, loaded.Count);
        File.Delete(path + ".tmp-0123");
        Assert.Equal(before, SequenceAssert.Fingerprint(buffer));
    }

    [Theory]
    [InlineData("\"Size\":", "\"Size\":41,\"Old\":", "size 41 outside [0, 40]")]
    [InlineData("\"NextSlot\":", "\"NextSlot\":45,\"Old\":", "next slot 45 outside")]
    [InlineData("\"NumEnvs\":3", "\"NumEnvs\":0", "saved options are invalid")]
    [InlineData("\"Overlap\":3", "\"Overlap\":5", "saved options are invalid")]
    [InlineData("\"DType\":\"float32\"", "\"DType\":\"complex64\"", "unknown recurrent state type 'complex64'")]
    [InlineData("\"EpisodeSteps\":[", "\"EpisodeSteps\":[-3,", "per-environment flags")]
    [InlineData("\"PreviousEnded\":[", "\"PreviousEnded\":[true,", "per-environment flags")]
    [InlineData("\"Options\":", "\"Opts\":", "lacks options")]
    [InlineData("\"MaxPriority\":", "\"MaxPriority\":-1,\"Old\":", "saved priorities are not valid")]
    [InlineData("{", "[", "metadata is not valid")]
    public void IntactFileWithInconsistentMetadata_IsRefused(string find, string replace, string expected)
    {
        using var dir = new ScratchDirectory();
        string path = SavedPrioritizedBuffer(dir);
        Rewrite(path, json =>
        {
            Assert.Contains(find, json);
            int at = json.IndexOf(find, StringComparison.Ordinal);
            return json[..at] + replace + json[(at + find.Length)..];
        });

        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var e = Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData(-3L, false, "environment 0 has episode step -3")]
    [InlineData(4L, true, "environment 0 has episode step 4 with previous-ended True")]
    public void IntactFileWithInconsistentEnvironmentState_IsRefused(long step, bool ended, string expected)
    {
        using var dir = new ScratchDirectory();
        string path = SavedPrioritizedBuffer(dir);
        Rewrite(path, json =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
            node["Cutter"]!["EpisodeSteps"]![0] = step;
            node["Cutter"]!["PreviousEnded"]![0] = ended;
            return node.ToJsonString();
        });

        Assert.Contains(expected, Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path)).Message);
    }

    [Theory]
    [InlineData("lengths", "valid length 0")]
    [InlineData("priorities", "slot 39 has priority")]
    [InlineData("window_rewards", "holds NaN")]
    public void IntactFileWithInconsistentSections_IsRefused(string section, string expected)
    {
        using var dir = new ScratchDirectory();
        string path = SavedPrioritizedBuffer(dir);
        Rewrite(path, json => json, (name, values) =>
        {
            if (name != section)
            {
                return values;
            }

            switch (values)
            {
                case int[] lengths:
                    lengths[0] = 0;
                    break;
                case double[] priorities:
                    priorities[^1] = 1.0;
                    break;
                case float[] rewards:
                    rewards[1] = float.NaN;
                    break;
            }

            return values;
        });

        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var e = Assert.Throws<InvalidDataException>(() => SequenceReplayBuffer.Load(dir.Path));
        Assert.Contains(expected, e.Message);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void SavingAgain_ReplacesTheFile()
    {
        using var dir = new ScratchDirectory();
        SequenceReplayOptions options = Options();
        using var buffer = new SequenceReplayBuffer(options);
        SequenceDriver driver = Driver(options);
        driver.Step(buffer);
        buffer.Save(dir.Path);
        for (int g = 0; g < 20; g++)
        {
            driver.Step(buffer);
        }

        buffer.Save(dir.Path);
        Assert.Equal([SequenceReplayBuffer.FileName], dir.FileNames());
        using SequenceReplayBuffer loaded = SequenceReplayBuffer.Load(dir.Path);
        Assert.Equal(buffer.Count, loaded.Count);
    }

    /// <summary>Saves a prioritized buffer (holding fewer sequences than its capacity) and returns the file.</summary>
    private static string SavedPrioritizedBuffer(ScratchDirectory dir)
    {
        SequenceReplayOptions options = Options(prioritized: true);
        using var buffer = new SequenceReplayBuffer(options);
        SequenceDriver driver = Driver(options);
        for (int g = 0; g < 12; g++)
        {
            driver.Step(buffer);
        }

        Assert.InRange(buffer.Count, 1, 39);
        buffer.Save(dir.Path);
        return Path.Combine(dir.Path, SequenceReplayBuffer.FileName);
    }

    /// <summary>Writes the file again, intact (valid checksum), with its metadata and sections changed.</summary>
    private static void Rewrite(string path, Func<string, string> metadata, Func<string, Array, Array>? sections = null)
    {
        sections ??= (_, values) => values;
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
                        writer.WriteSection<float>(section.Name, (float[])sections(section.Name, reader.ReadArray<float>(section.Name)), shape);
                        break;
                    case ScalarType.Float64:
                        writer.WriteSection<double>(section.Name, (double[])sections(section.Name, reader.ReadArray<double>(section.Name)), shape);
                        break;
                    case ScalarType.Int32:
                        writer.WriteSection<int>(section.Name, (int[])sections(section.Name, reader.ReadArray<int>(section.Name)), shape);
                        break;
                    case ScalarType.Byte:
                        writer.WriteSection<byte>(section.Name, (byte[])sections(section.Name, reader.ReadArray<byte>(section.Name)), shape);
                        break;
                    default:
                        throw new InvalidOperationException($"unexpected section type {section.DType}");
                }
            }

            writer.Commit();
        }

        File.Move(temp, path, overwrite: true);
    }

    private static void AssertSameSamples(SequenceReplayBuffer a, SequenceReplayBuffer b, int rounds)
    {
        for (int i = 0; i < rounds; i++)
        {
            int size = Math.Min(a.Count, 8);
            using SequenceBatch x = a.Sample(size, beta: 0.5);
            using SequenceBatch y = b.Sample(size, beta: 0.5);
            Assert.Equal(SequenceAssert.Longs(x.Indices), SequenceAssert.Longs(y.Indices));
            Assert.Equal(SequenceAssert.Floats(x.Observations), SequenceAssert.Floats(y.Observations));
            Assert.Equal(SequenceAssert.Floats(x.Actions), SequenceAssert.Floats(y.Actions));
            Assert.Equal(SequenceAssert.Floats(x.Mask), SequenceAssert.Floats(y.Mask));
            Assert.Equal(SequenceAssert.Floats(x.InitialState["h"]), SequenceAssert.Floats(y.InitialState["h"]));
            Assert.Equal(x.Weights is null, y.Weights is null);
            if (x.Weights is not null)
            {
                Assert.Equal(SequenceAssert.Floats(x.Weights), SequenceAssert.Floats(y.Weights!));
            }
        }
    }
}
