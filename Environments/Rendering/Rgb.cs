using System.Globalization;

namespace RlMemory.Environments.Rendering;

/// <summary>An opaque colour with 8 bits per channel.</summary>
/// <param name="R">Red, 0–255.</param>
/// <param name="G">Green, 0–255.</param>
/// <param name="B">Blue, 0–255.</param>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>(0, 0, 0).</summary>
    public static Rgb Black => new(0, 0, 0);

    /// <summary>(255, 255, 255).</summary>
    public static Rgb White => new(255, 255, 255);

    /// <summary>The largest difference between corresponding channels of this colour and <paramref name="other"/>.</summary>
    public int MaxChannelDifference(Rgb other) =>
        Math.Max(Math.Abs(R - other.R), Math.Max(Math.Abs(G - other.G), Math.Abs(B - other.B)));

    /// <summary>The colour as <c>(r, g, b)</c>, e.g. <c>(202, 152, 101)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"({R}, {G}, {B})");
}
