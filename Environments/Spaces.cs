using System.Globalization;
using System.Text;

namespace RlMemory.Environments;

/// <summary>
/// The set of valid observations or actions of an environment (Gymnasium's <c>gymnasium.spaces</c>).
/// </summary>
public abstract class Space
{
    /// <summary>The shape of one element (empty for a scalar space such as <see cref="Discrete"/>).</summary>
    public abstract IReadOnlyList<int> Shape { get; }

    /// <summary>A short description in Gymnasium's notation, e.g. <c>Discrete(2)</c>.</summary>
    public abstract override string ToString();
}

/// <summary>A space whose elements are values of type <typeparamref name="T"/>.</summary>
public abstract class Space<T> : Space
{
    /// <summary>Draws a uniformly random element (Gymnasium's <c>space.sample()</c>).</summary>
    public abstract T Sample(NumpyRandom rng);

    /// <summary>Whether <paramref name="value"/> is an element of this space.</summary>
    public abstract bool Contains(T value);

    /// <summary>Says in words which values are allowed, for error messages.</summary>
    public abstract string DescribeAllowed();
}

/// <summary>
/// The integers <c>Start, Start + 1, …, Start + N − 1</c> (Gymnasium's <c>Discrete(n, start)</c>).
/// </summary>
public sealed class Discrete : Space<int>
{
    private static readonly int[] ScalarShape = [];

    /// <summary>Creates the space of <paramref name="n"/> integers starting at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public Discrete(int n, int start = 0)
    {
        if (n <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"Discrete space needs n >= 1 elements, got n = {n}.");
        }

        if ((long)start + n - 1 > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, $"Discrete({n}, start={start}) would exceed int.MaxValue.");
        }

        N = n;
        Start = start;
    }

    /// <summary>The number of elements.</summary>
    public int N { get; }

    /// <summary>The smallest element.</summary>
    public int Start { get; }

    /// <inheritdoc />
    public override IReadOnlyList<int> Shape => ScalarShape;

    /// <inheritdoc />
    public override int Sample(NumpyRandom rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return Start + (int)rng.Integers(0, N);
    }

    /// <inheritdoc />
    public override bool Contains(int value) => (uint)(value - Start) < (uint)N;

    /// <inheritdoc />
    public override string DescribeAllowed() => $"an integer in [{Start}, {Start + N - 1}]";

    public override string ToString() => Start == 0 ? $"Discrete({N})" : $"Discrete({N}, start={Start})";
}

/// <summary>
/// A box in R^n of float32 values, each element bounded by <see cref="Low"/> and <see cref="High"/>
/// (possibly infinite), with a shape (Gymnasium's <c>Box(low, high, shape, float32)</c>).
/// Elements are stored flat in row-major order.
/// </summary>
public sealed class Box : Space<float[]>
{
    private readonly float[] _low;
    private readonly float[] _high;
    private readonly int[] _shape;

    /// <summary>Creates a box with the same bounds for every element.</summary>
    /// <param name="low">Lower bound of every element (may be <see cref="float.NegativeInfinity"/>).</param>
    /// <param name="high">Upper bound of every element (may be <see cref="float.PositiveInfinity"/>).</param>
    /// <param name="shape">The shape, e.g. <c>4</c> or <c>3, 84, 84</c>.</param>
    public Box(float low, float high, params int[] shape)
        : this(Fill(low, shape), Fill(high, shape), shape)
    {
    }

    /// <summary>Creates a box with per-element bounds.</summary>
    /// <param name="low">Lower bounds, flat, row-major.</param>
    /// <param name="high">Upper bounds, flat, row-major.</param>
    /// <param name="shape">The shape; defaults to <c>[low.Length]</c>.</param>
    public Box(float[] low, float[] high, int[]? shape = null)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        _shape = shape is null ? [low.Length] : (int[])shape.Clone();
        int size = CheckedSize(_shape);
        if (low.Length != size || high.Length != size)
        {
            throw new ArgumentException(
                $"Box bounds must have {size} elements for shape {FormatShape(_shape)}; got low with {low.Length} and high with {high.Length}.");
        }

        for (int i = 0; i < size; i++)
        {
            if (float.IsNaN(low[i]) || float.IsNaN(high[i]) || low[i] > high[i]
                || float.IsPositiveInfinity(low[i]) || float.IsNegativeInfinity(high[i]))
            {
                throw new ArgumentException(
                    $"Box bounds at index {i} are invalid: low = {Format(low[i])}, high = {Format(high[i])}; need low <= high, no NaN, low < +inf and high > -inf.");
            }
        }

        _low = (float[])low.Clone();
        _high = (float[])high.Clone();
        Size = size;
    }

    /// <summary>Lower bounds, flat, row-major.</summary>
    public ReadOnlySpan<float> Low => _low;

    /// <summary>Upper bounds, flat, row-major.</summary>
    public ReadOnlySpan<float> High => _high;

    /// <inheritdoc />
    public override IReadOnlyList<int> Shape => _shape;

    /// <summary>The number of float elements (product of the shape).</summary>
    public int Size { get; }

    /// <summary>Whether every element has finite lower and upper bounds.</summary>
    public bool IsBounded
    {
        get
        {
            for (int i = 0; i < Size; i++)
            {
                if (float.IsInfinity(_low[i]) || float.IsInfinity(_high[i]))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <inheritdoc />
    public override bool Contains(float[] value) => value is not null && Contains(value.AsSpan());

    /// <summary>Whether <paramref name="value"/> has <see cref="Size"/> elements, all within bounds (NaN never is).</summary>
    public bool Contains(ReadOnlySpan<float> value) => value.Length == Size && IndexOfViolation(value) < 0;

    /// <summary>
    /// The index of the first element outside its bounds (or NaN), or −1 when all are inside.
    /// The caller checks the length.
    /// </summary>
    public int IndexOfViolation(ReadOnlySpan<float> value)
    {
        ReadOnlySpan<float> low = _low, high = _high;
        int n = Math.Min(value.Length, low.Length);
        for (int i = 0; i < n; i++)
        {
            float x = value[i];
            // Written so that NaN fails: comparisons with NaN are false.
            if (!(x >= low[i] && x <= high[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Says why <paramref name="value"/> is not in this box, or returns null when it is.
    /// </summary>
    public string? Explain(ReadOnlySpan<float> value)
    {
        if (value.Length != Size)
        {
            return $"it has {value.Length} elements but {this} has {Size}";
        }

        int i = IndexOfViolation(value);
        return i < 0
            ? null
            : $"element {i} is {Format(value[i])}, outside [{Format(_low[i])}, {Format(_high[i])}]";
    }

    /// <inheritdoc />
    public override float[] Sample(NumpyRandom rng)
    {
        var result = new float[Size];
        Sample(rng, result);
        return result;
    }

    /// <summary>
    /// Writes a random element into <paramref name="destination"/>, as Gymnasium's <c>Box.sample</c>:
    /// uniform on bounded elements, shifted exponential on half-bounded ones, standard normal on unbounded ones.
    /// </summary>
    public void Sample(NumpyRandom rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (destination.Length != Size)
        {
            throw new ArgumentException($"destination has {destination.Length} elements; {this} has {Size}.", nameof(destination));
        }

        for (int i = 0; i < Size; i++)
        {
            double low = _low[i], high = _high[i];
            bool lowFinite = !double.IsInfinity(low), highFinite = !double.IsInfinity(high);
            double x = (lowFinite, highFinite) switch
            {
                (true, true) => rng.Uniform(low, high),
                (true, false) => low + rng.StandardExponential(),
                (false, true) => high - rng.StandardExponential(),
                _ => rng.StandardNormal(),
            };
            // Rounding to float32 can step just past a bound; keep the sample inside.
            destination[i] = Math.Clamp((float)x, _low[i], _high[i]);
        }
    }

    /// <inheritdoc />
    public override string DescribeAllowed() =>
        IsUniform(out float lo, out float hi)
            ? $"{Floats(Size)}, each in [{Format(lo)}, {Format(hi)}]"
            : $"{Floats(Size)} within low = {FormatArray(_low)}, high = {FormatArray(_high)}";

    private static string Floats(int n) => n == 1 ? "1 float" : $"{n} floats";

    public override string ToString() =>
        IsUniform(out float lo, out float hi)
            ? $"Box({Format(lo)}, {Format(hi)}, {FormatShape(_shape)}, float32)"
            : $"Box({FormatArray(_low)}, {FormatArray(_high)}, {FormatShape(_shape)}, float32)";

    /// <summary>Whether this box has the same shape and bounds as <paramref name="other"/>.</summary>
    public bool SameAs(Box other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _shape.AsSpan().SequenceEqual(other._shape)
            && _low.AsSpan().SequenceEqual(other._low)
            && _high.AsSpan().SequenceEqual(other._high);
    }

    internal static string FormatArray(ReadOnlySpan<float> values)
    {
        var sb = new StringBuilder("[");
        int shown = Math.Min(values.Length, 8);
        for (int i = 0; i < shown; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(Format(values[i]));
        }

        if (values.Length > shown)
        {
            sb.Append(CultureInfo.InvariantCulture, $", … ({values.Length} in all)");
        }

        return sb.Append(']').ToString();
    }

    internal static string Format(float x) => x switch
    {
        float.PositiveInfinity => "inf",
        float.NegativeInfinity => "-inf",
        _ => x.ToString("R", CultureInfo.InvariantCulture),
    };

    private bool IsUniform(out float low, out float high)
    {
        low = _low.Length > 0 ? _low[0] : 0f;
        high = _high.Length > 0 ? _high[0] : 0f;
        for (int i = 1; i < _low.Length; i++)
        {
            if (!_low[i].Equals(low) || !_high[i].Equals(high))
            {
                return false;
            }
        }

        return true;
    }

    private static string FormatShape(int[] shape) =>
        shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";

    private static int CheckedSize(int[] shape)
    {
        if (shape.Length == 0)
        {
            throw new ArgumentException("Box needs a shape with at least one dimension, e.g. new Box(-1, 1, 4).", nameof(shape));
        }

        long size = 1;
        foreach (int d in shape)
        {
            if (d <= 0)
            {
                throw new ArgumentException($"Box shape {FormatShape(shape)} has a non-positive dimension.", nameof(shape));
            }

            size *= d;
            if (size > Array.MaxLength)
            {
                throw new ArgumentException($"Box shape {FormatShape(shape)} is too large.", nameof(shape));
            }
        }

        return (int)size;
    }

    private static float[] Fill(float value, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var a = new float[CheckedSize(shape)];
        Array.Fill(a, value);
        return a;
    }
}
