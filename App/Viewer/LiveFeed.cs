using System.Runtime.InteropServices;
using RlMemory.Environments.Rendering;
using RlMemory.Training;
using SkiaSharp;

namespace RlMemory.App.Viewer;

/// <summary>The latest picture of a <see cref="LiveFeed"/>, encoded for the browser.</summary>
/// <param name="Version">Changes whenever the frame or the status changes.</param>
/// <param name="FrameNumber">The number of frames published so far (changes with each new picture only).</param>
/// <param name="Status">The status published with the frame.</param>
/// <param name="Png">The picture as a PNG file.</param>
/// <param name="MemoryPng">The memory heatmaps as a PNG file, for agents with external memory.</param>
public sealed record FeedSnapshot(long Version, long FrameNumber, ViewerStatus Status, byte[] Png, byte[]? MemoryPng);

/// <summary>
/// A bounded latest-frame slot between a player (the training thread, or the viewer's own thread) and the browser
/// connections. Publishing copies the pixels into one reused buffer under a short lock and returns: it never waits for a
/// connection, never queues, and a frame nobody fetched in time is simply replaced by the next. Connections encode the
/// newest frame to PNG on their own threads (once per frame, shared by all connections).
/// </summary>
public sealed class LiveFeed
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _encodeGate = new(1, 1);
    private readonly FrameBuffer _frame = new();
    private readonly FrameBuffer _memory = new();
    private readonly FrameBuffer _encodeFrame = new();
    private readonly FrameBuffer _encodeMemory = new();
    private ViewerStatus? _status;
    private bool _hasMemory;
    private long _version;
    private long _frameNumber;
    private long _takenFrameNumber;
    private int _viewers;
    private TaskCompletionSource _changed = NewSignal();
    private FeedSnapshot? _encoded;

    /// <summary>The browser pages connected now (an open event stream each).</summary>
    public int Viewers => Volatile.Read(ref _viewers);

    /// <summary>The frames published so far.</summary>
    public long FrameNumber
    {
        get
        {
            lock (_gate)
            {
                return _frameNumber;
            }
        }
    }

    /// <summary>
    /// Whether the latest frame has been taken (encoded for a page) or there is none: a player that publishes only then
    /// draws no more pictures than the pages can show.
    /// </summary>
    public bool FrameTaken => Volatile.Read(ref _takenFrameNumber) >= FrameNumber;

    /// <summary>The version of the last change (frame or status).</summary>
    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>The last status published, if any.</summary>
    public ViewerStatus? Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>Replaces the latest frame (copied) and status; returns at once.</summary>
    public void Publish(RgbFrame frame, RgbFrame? memoryPanel, ViewerStatus status)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(status);
        TaskCompletionSource changed;
        lock (_gate)
        {
            _frame.CopyFrom(frame);
            _hasMemory = memoryPanel is not null;
            if (memoryPanel is not null)
            {
                _memory.CopyFrom(memoryPanel);
            }

            _status = status;
            _frameNumber++;
            _version++;
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    /// <summary>Replaces the status only (e.g. paused or a new speed), keeping the frame.</summary>
    public void PublishStatus(ViewerStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_status == status)
            {
                return;
            }

            _status = status;
            _version++;
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    /// <summary>Completes when the version differs from <paramref name="seenVersion"/> (at once if it already does).</summary>
    public Task WaitForChangeAsync(long seenVersion, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_gate)
        {
            if (_version != seenVersion)
            {
                return Task.CompletedTask;
            }

            changed = _changed.Task;
        }

        return changed.WaitAsync(cancellationToken);
    }

    /// <summary>The latest frame and status, encoded (null before the first frame).</summary>
    public async Task<FeedSnapshot?> SnapshotAsync(CancellationToken cancellationToken)
    {
        await _encodeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long version, frameNumber;
            ViewerStatus? status;
            bool hasMemory;
            lock (_gate)
            {
                if (_status is null || _frameNumber == 0)
                {
                    return null;
                }

                if (_encoded is not null && _encoded.Version == _version)
                {
                    return _encoded;
                }

                version = _version;
                frameNumber = _frameNumber;
                status = _status;
                hasMemory = _hasMemory;
                if (_encoded is null || _encoded.FrameNumber != frameNumber)
                {
                    _encodeFrame.CopyFrom(_frame);
                    if (hasMemory)
                    {
                        _encodeMemory.CopyFrom(_memory);
                    }
                }
            }

            // Encoding happens outside the lock: a publisher never waits for it.
            if (_encoded is not null && _encoded.FrameNumber == frameNumber)
            {
                _encoded = _encoded with { Version = version, Status = status };
            }
            else
            {
                _encoded = new FeedSnapshot(version, frameNumber, status, _encodeFrame.EncodePng(), hasMemory ? _encodeMemory.EncodePng() : null);
            }

            Volatile.Write(ref _takenFrameNumber, frameNumber);

            return _encoded;
        }
        finally
        {
            _encodeGate.Release();
        }
    }

    /// <summary>Counts a connected page until the returned object is disposed.</summary>
    internal IDisposable Connect()
    {
        Interlocked.Increment(ref _viewers);
        return new Connection(this);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Connection(LiveFeed feed) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref feed._viewers);
            }
        }
    }

    /// <summary>RGB pixels in a buffer reused while the size stays the same.</summary>
    private sealed class FrameBuffer
    {
        private byte[] _pixels = [];

        public int Width { get; private set; }

        public int Height { get; private set; }

        public void CopyFrom(RgbFrame frame) => Set(frame.Width, frame.Height, frame.Pixels);

        public void CopyFrom(FrameBuffer other) => Set(other.Width, other.Height, other._pixels);

        public byte[] EncodePng()
        {
            var info = new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
            var rgba = new byte[Width * Height * 4];
            for (int i = 0, j = 0; j < rgba.Length; i += 3, j += 4)
            {
                rgba[j] = _pixels[i];
                rgba[j + 1] = _pixels[i + 1];
                rgba[j + 2] = _pixels[i + 2];
                rgba[j + 3] = 255;
            }

            GCHandle pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
            try
            {
                using var pixmap = new SKPixmap(info, pin.AddrOfPinnedObject(), info.RowBytes);
                using SKData data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, zLibLevel: 3))
                    ?? throw new InvalidOperationException("Could not encode a frame as PNG.");
                return data.ToArray();
            }
            finally
            {
                pin.Free();
            }
        }

        private void Set(int width, int height, byte[] pixels)
        {
            int length = width * height * 3;
            if (_pixels.Length != length)
            {
                _pixels = new byte[length];
            }

            Buffer.BlockCopy(pixels, 0, _pixels, 0, length);
            Width = width;
            Height = height;
        }
    }
}
