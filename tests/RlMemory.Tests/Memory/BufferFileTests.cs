using RlMemory.Memory.Persistence;
using RlMemory.Tests.Build;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>The checked buffer file format: round trips, atomic replacement, and refusal of damaged files.</summary>
public sealed class BufferFileTests
{
    private static string WriteSample(ScratchDirectory dir, string name = "b.rlmb")
    {
        string path = dir.Combine(name);
        using var writer = BufferFileWriter.Create(path, "TestBuffer", 3, "{\"answer\":42}");
        writer.WriteSection<byte>("bytes", new byte[] { 1, 2, 255 }, 3);
        writer.WriteSection<bool>("flags", new[] { true, false }, 2);
        writer.WriteSection<int>("ints", new[] { -1, 7, 9, 11 }, 2, 2);
        writer.WriteSection<long>("longs", new[] { long.MaxValue }, 1);
        writer.WriteSection<double>("doubles", new[] { Math.PI, -0.0 }, 2);
        using Tensor table = arange(0, 12, ScalarType.Float32).view(4, 3);
        writer.WriteSection("table_first_rows", table, rows: 2);
        writer.WriteSection("table", table);
        writer.WriteSection<float>("empty", ReadOnlySpan<float>.Empty, 0, 5);
        writer.Commit();
        return path;
    }

    [Fact]
    public void RoundTrip_KeepsKindMetadataAndEverySection()
    {
        using var dir = new ScratchDirectory();
        string path = WriteSample(dir);

        using BufferFileReader reader = BufferFileReader.Open(path);
        Assert.Equal("TestBuffer", reader.Kind);
        Assert.Equal(3, reader.KindVersion);
        Assert.Equal(1, reader.FormatVersion);
        Assert.Equal("{\"answer\":42}", reader.MetadataJson);
        Assert.Equal(["bytes", "flags", "ints", "longs", "doubles", "table_first_rows", "table", "empty"], reader.Sections.Select(s => s.Name));
        Assert.Equal(new byte[] { 1, 2, 255 }, reader.ReadArray<byte>("bytes"));
        Assert.Equal(new[] { true, false }, reader.ReadArray<bool>("flags"));
        Assert.Equal(new[] { -1, 7, 9, 11 }, reader.ReadArray<int>("ints"));
        Assert.Equal([2L, 2], reader.Section("ints").Shape);
        Assert.Equal(new[] { long.MaxValue }, reader.ReadArray<long>("longs"));
        Assert.Equal(new[] { Math.PI, -0.0 }, reader.ReadArray<double>("doubles"));
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, reader.ReadArray<float>("table_first_rows"));
        using Tensor into = zeros(5, 3);
        reader.ReadInto("table", into);
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 0, 0 }, into.data<float>().ToArray());
        Assert.Empty(reader.ReadArray<float>("empty"));
        Assert.Equal([0L, 5], reader.Section("empty").Shape);
    }

    [Fact]
    public void NonContiguousTensors_AreWrittenAndReadInBlocksOfRows()
    {
        // The path other devices take (blocks of rows through a CPU tensor), exercised with strided CPU views.
        using var dir = new ScratchDirectory();
        string path = dir.Combine("strided.rlmb");
        using Tensor source = arange(0, 15, ScalarType.Float32).view(3, 5);
        using Tensor transposed = source.t();
        Assert.False(transposed.is_contiguous());
        using (var writer = BufferFileWriter.Create(path, "TestBuffer", 1, "{}"))
        {
            writer.WriteSection("t", transposed, rows: 4);
            writer.Commit();
        }

        using BufferFileReader reader = BufferFileReader.Open(path);
        Assert.Equal([4L, 3], reader.Section("t").Shape);
        Assert.Equal(new float[] { 0, 5, 10, 1, 6, 11, 2, 7, 12, 3, 8, 13 }, reader.ReadArray<float>("t"));
        using Tensor backing = zeros(3, 6);
        using Tensor destination = backing.t();
        reader.ReadInto("t", destination);
        using Tensor expected = transposed.narrow(0, 0, 4);
        using Tensor got = destination.narrow(0, 0, 4);
        Assert.True(got.Equals(expected));
    }

    [Fact]
    public void ReadingASectionAsTheWrongTypeOrShape_IsRefusedByName()
    {
        using var dir = new ScratchDirectory();
        string path = WriteSample(dir);
        using BufferFileReader reader = BufferFileReader.Open(path);
        Assert.Contains("section 'ints' is int32, expected float32", Assert.Throws<InvalidDataException>(() => reader.ReadArray<float>("ints")).Message);
        Assert.Contains("no section 'missing'", Assert.Throws<InvalidDataException>(() => reader.Section("missing")).Message);
        Assert.Contains("expected int32 [3, 2]", Assert.Throws<InvalidDataException>(() => reader.Expect("ints", ScalarType.Int32, 3, 2)).Message);
        using Tensor wrongShape = zeros(4, 2);
        Assert.Contains("does not fit", Assert.Throws<InvalidDataException>(() => reader.ReadInto("table", wrongShape)).Message);
    }

    [Fact]
    public void Commit_ReplacesTheOldFile_AndAnUncommittedWriterLeavesItAndNoTemporaryFile()
    {
        using var dir = new ScratchDirectory();
        string path = WriteSample(dir);
        byte[] before = File.ReadAllBytes(path);

        using (var writer = BufferFileWriter.Create(path, "TestBuffer", 3, "{}"))
        {
            writer.WriteSection<int>("partial", new[] { 1, 2, 3 }, 3);
            // No Commit: e.g. an exception while writing.
        }

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["b.rlmb"], dir.FileNames());

        using (var writer = BufferFileWriter.Create(path, "TestBuffer", 4, "{}"))
        {
            writer.Commit();
        }

        using BufferFileReader reader = BufferFileReader.Open(path);
        Assert.Equal(4, reader.KindVersion);
        Assert.Equal(["b.rlmb"], dir.FileNames());
    }

    [Fact]
    public void TruncatedFile_IsRefused_AtEveryCut()
    {
        using var dir = new ScratchDirectory();
        string path = WriteSample(dir);
        byte[] bytes = File.ReadAllBytes(path);
        string cut = dir.Combine("cut.rlmb");
        for (int length = 0; length < bytes.Length; length += Math.Max(1, length / 7))
        {
            File.WriteAllBytes(cut, bytes[..length]);
            var e = Assert.Throws<InvalidDataException>(() => BufferFileReader.Open(cut).Dispose());
            Assert.Contains(cut, e.Message);
            Assert.True(e.Message.Contains("truncated", StringComparison.Ordinal) || e.Message.Contains("not an RlMemory buffer file", StringComparison.Ordinal), e.Message);
        }
    }

    [Fact]
    public void AnySingleBitFlip_IsRefused()
    {
        using var dir = new ScratchDirectory();
        string path = WriteSample(dir);
        byte[] bytes = File.ReadAllBytes(path);
        string damaged = dir.Combine("flipped.rlmb");
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] copy = [.. bytes];
            copy[i] ^= (byte)(1 << (i % 8));
            File.WriteAllBytes(damaged, copy);
            var e = Assert.Throws<InvalidDataException>(() => BufferFileReader.Open(damaged).Dispose());
            Assert.Contains(damaged, e.Message);
        }
    }

    [Fact]
    public void ExtraBytes_OtherFiles_AndMissingFiles_AreRefused()
    {
        using var dir = new ScratchDirectory();
        string path = WriteSample(dir);
        File.AppendAllText(path, "x");
        Assert.Contains("end marker", Assert.Throws<InvalidDataException>(() => BufferFileReader.Open(path).Dispose()).Message);

        string text = dir.Combine("notes.txt");
        File.WriteAllText(text, "these are not the bytes you are looking for");
        Assert.Contains("not an RlMemory buffer file", Assert.Throws<InvalidDataException>(() => BufferFileReader.Open(text).Dispose()).Message);

        Assert.Throws<FileNotFoundException>(() => BufferFileReader.Open(dir.Combine("missing.rlmb")));
    }

    [Fact]
    public void Writer_RefusesDuplicateSectionsAndUnsupportedTypes()
    {
        using var dir = new ScratchDirectory();
        using var writer = BufferFileWriter.Create(dir.Combine("d.rlmb"), "TestBuffer", 1, "{}");
        writer.WriteSection<int>("a", new[] { 1 }, 1);
        Assert.Contains("already written", Assert.Throws<ArgumentException>(() => writer.WriteSection<int>("a", new[] { 1 }, 1)).Message);
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => writer.WriteSection<int>("b", new[] { 1, 2 }, 3)).Message);
        using Tensor half = zeros(2, ScalarType.Float16);
        Assert.Contains("not supported", Assert.Throws<ArgumentException>(() => writer.WriteSection("c", half)).Message);
    }
}
