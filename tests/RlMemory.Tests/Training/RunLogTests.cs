using System.Buffers.Binary;
using RlMemory.Training.Logging;
using Tensorboard;

namespace RlMemory.Tests.Training;

public sealed class RunLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-runlog-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Crc32C_MatchesTheStandardCheckValueAndATableImplementation()
    {
        // The CRC-32C check value: crc32c("123456789") = 0xE3069283.
        Assert.Equal(0xE3069283u, TensorBoardWriter.Crc32C("123456789"u8));
        var rng = new Random(5);
        for (int n = 0; n < 70; n++)
        {
            var data = new byte[n];
            rng.NextBytes(data);
            Assert.Equal(ReferenceCrc32C(data), TensorBoardWriter.Crc32C(data));
        }
    }

    [Fact]
    public void EventFiles_AreValidTfRecords_WithFileVersionThenTheScalars()
    {
        double before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 - 1;
        using (var log = new RunLog(_dir, ["time/total_timesteps", "rollout/ep_rew_mean"]))
        {
            log.Record(1000, [new("time/total_timesteps", 1000), new("rollout/ep_rew_mean", 21.5)]);
            log.Record(3_000_000_000L, [new("rollout/ep_rew_mean", 500)]);
        }

        double after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 + 1;
        string file = Assert.Single(Directory.GetFiles(Path.Combine(_dir, RunLog.TensorBoardFolder)));
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(file), StringComparison.Ordinal);
        List<Event> events = ReadEvents(file);

        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var scalars = events.Skip(1).Select(e => (e.Step, e.Summary.Value.Single().Tag, e.Summary.Value.Single().SimpleValue)).ToList();
        Assert.Equal([(1000L, "time/total_timesteps", 1000f), (1000L, "rollout/ep_rew_mean", 21.5f), (3_000_000_000L, "rollout/ep_rew_mean", 500f)], scalars);
        Assert.All(events, e => Assert.InRange(e.WallTime, before, after));
    }

    [Fact]
    public void Csv_HasTheHeaderAndOneRowPerRecord_WithEmptyCellsForMissingOrNaNValues()
    {
        using (var log = new RunLog(_dir, ["a", "b", "c"], tensorBoard: false))
        {
            log.Record(1, [new("a", 1.5), new("c", double.NaN)]);
            log.Record(2, [new("b", -2), new("c", 0.1)]);
        }

        Assert.Equal(["a,b,c", "1.5,,", ",-2,0.1"], File.ReadAllLines(Path.Combine(_dir, RunLog.CsvFileName)));
        Assert.False(Directory.Exists(Path.Combine(_dir, RunLog.TensorBoardFolder)));
    }

    [Fact]
    public void UnknownColumns_AreRefused()
    {
        using var log = new RunLog(_dir, ["a"], tensorBoard: false);
        var e = Assert.Throws<ArgumentException>(() => log.Record(1, [new("b", 1)]));
        Assert.Contains("'b' is not a column; columns: a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_CutsTheLogsBackToTheCheckpoint_AndContinuesThem()
    {
        LogPosition position;
        using (var log = new RunLog(_dir, ["step"]))
        {
            for (int s = 1; s <= 5; s++)
            {
                log.Record(s, [new("step", s)]);
            }

            position = log.Position;
            for (int s = 6; s <= 8; s++)
            {
                log.Record(s, [new("step", s)]);
            }
        }

        using (var resumed = new RunLog(_dir, ["step"], resumeFrom: position))
        {
            resumed.Record(6, [new("step", 6)]);
        }

        Assert.Equal(["step", "1", "2", "3", "4", "5", "6"], File.ReadAllLines(Path.Combine(_dir, RunLog.CsvFileName)));
        var steps = Directory.GetFiles(Path.Combine(_dir, RunLog.TensorBoardFolder))
            .Order(StringComparer.Ordinal)
            .SelectMany(ReadEvents)
            .Where(e => e.Summary is not null)
            .Select(e => e.Step)
            .Order()
            .ToList();
        Assert.Equal([1L, 2, 3, 4, 5, 6], steps);
    }

    [Fact]
    public void Resume_RefusesLogsThatShrankSinceTheCheckpoint()
    {
        LogPosition position;
        using (var log = new RunLog(_dir, ["step"], tensorBoard: false))
        {
            log.Record(1, [new("step", 1)]);
            position = log.Position;
        }

        File.WriteAllText(Path.Combine(_dir, RunLog.CsvFileName), "x");
        var e = Assert.Throws<InvalidOperationException>(() => new RunLog(_dir, ["step"], tensorBoard: false, resumeFrom: position));
        Assert.Contains("was changed after the checkpoint", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Reads every record, checking both masked CRCs with an independent CRC-32C.</summary>
    private static List<Event> ReadEvents(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int offset = 0;
        while (offset < bytes.Length)
        {
            Assert.True(bytes.Length - offset >= 12, $"{path}: truncated record header at byte {offset}");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
            Assert.Equal(Masked(ReferenceCrc32C(bytes.AsSpan(offset, 8))), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8)));
            int start = offset + 12;
            Assert.True(bytes.Length - start >= (long)length + 4, $"{path}: truncated record at byte {offset}");
            ReadOnlySpan<byte> data = bytes.AsSpan(start, (int)length);
            Assert.Equal(Masked(ReferenceCrc32C(data)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(start + (int)length)));
            events.Add(Event.Parser.ParseFrom(data.ToArray()));
            offset = start + (int)length + 4;
        }

        return events;
    }

    private static uint Masked(uint crc) => ((crc >> 15) | (crc << 17)) + 0xa282ead8u;

    private static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
