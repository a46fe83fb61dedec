namespace RlMemory.Environments.Rendering;

/// <summary>
/// A rendered image: <see cref="Height"/> rows of <see cref="Width"/> pixels, each 3 bytes (red, green, blue), rows top
/// to bottom, so the pixel at column x, row y starts at <c>(y * Width + x) * 3</c>. This is Gymnasium's
/// <c>rgb_array</c> layout (an H × W × 3 uint8 array).
/// </summary>
public sealed class RgbFrame
{
    /// <summary>Creates a frame of the given size, all black.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive, or the frame would exceed 2³¹ bytes.</exception>
    public RgbFrame(int width, int height)
    {
        Pixels = new byte[CheckedByteCount(width, height)];
        Width = width;
        Height = height;
    }

    /// <summary>Wraps <paramref name="pixels"/> (not copied) as a frame of the given size.</summary>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> does not hold exactly <c>width × height × 3</c> bytes.</exception>
    public RgbFrame(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        int expected = CheckedByteCount(width, height);
        if (pixels.Length != expected)
        {
            throw new ArgumentException(
                $"RgbFrame: a {width}×{height} frame needs {expected} bytes (width × height × 3), got {pixels.Length}.", nameof(pixels));
        }

        Pixels = pixels;
        Width = width;
        Height = height;
    }

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels, row-major, 3 bytes (R, G, B) each: <c>Height × Width × 3</c> bytes.</summary>
    public byte[] Pixels { get; }

    /// <summary>The colour of the pixel at column <paramref name="x"/>, row <paramref name="y"/> (row 0 is the top).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The pixel is outside the frame.</exception>
    public Rgb this[int x, int y]
    {
        get
        {
            int i = Offset(x, y);
            return new Rgb(Pixels[i], Pixels[i + 1], Pixels[i + 2]);
        }

        set
        {
            int i = Offset(x, y);
            Pixels[i] = value.R;
            Pixels[i + 1] = value.G;
            Pixels[i + 2] = value.B;
        }
    }

    /// <summary>Whether both frames have the same size and the same pixels.</summary>
    public bool SamePixels(RgbFrame other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Width == other.Width && Height == other.Height && Pixels.AsSpan().SequenceEqual(other.Pixels);
    }

    public override string ToString() => $"RgbFrame({Width}×{Height})";

    private int Offset(int x, int y)
    {
        if ((uint)x >= (uint)Width)
        {
            throw new ArgumentOutOfRangeException(nameof(x), x, $"Column {x} is outside the {Width}×{Height} frame (0 to {Width - 1}).");
        }

        if ((uint)y >= (uint)Height)
        {
            throw new ArgumentOutOfRangeException(nameof(y), y, $"Row {y} is outside the {Width}×{Height} frame (0 to {Height - 1}).");
        }

        return (y * Width + x) * 3;
    }

    private static int CheckedByteCount(int width, int height)
    {
        if (width <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, "RgbFrame: width must be at least 1.");
        }

        if (height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, "RgbFrame: height must be at least 1.");
        }

        long bytes = (long)width * height * 3;
        if (bytes > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"RgbFrame: a {width}×{height} frame is too large ({bytes} bytes).");
        }

        return (int)bytes;
    }
}
