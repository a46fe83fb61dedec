namespace RlMemory.Environments.Wrappers;

/// <summary>How <see cref="FrameStack{TAction}"/> fills the stack at the start of an episode.</summary>
public enum FramePadding
{
    /// <summary>Repeat the first observation (Gymnasium 1.x's default, <c>padding_type="reset"</c>).</summary>
    Reset,

    /// <summary>Fill with zeros (<c>padding_type="zero"</c>).</summary>
    Zero,
}

/// <summary>
/// Observes the last <see cref="StackSize"/> observations, oldest first, as one observation of shape
/// <c>[StackSize, …inner shape]</c> (Gymnasium's <c>FrameStackObservation</c>).
/// </summary>
public sealed class FrameStack<TAction> : ObservationWrapper<TAction>
{
    private readonly float[] _frames;
    private readonly int _frameSize;
    private readonly FramePadding _padding;
    private int _newest;

    /// <summary>Wraps <paramref name="inner"/>, stacking <paramref name="stackSize"/> frames.</summary>
    public FrameStack(IEnv<TAction> inner, int stackSize, FramePadding padding = FramePadding.Reset)
        : base(inner)
    {
        if (stackSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(stackSize), stackSize, $"{inner.Name}: FrameStack needs stackSize >= 1.");
        }

        if (!Enum.IsDefined(padding))
        {
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "FrameStack padding must be Reset or Zero.");
        }

        Box space = inner.ObservationSpace;
        _frameSize = space.Size;
        _padding = padding;
        StackSize = stackSize;
        _frames = new float[stackSize * _frameSize];
        var low = new float[_frames.Length];
        var high = new float[_frames.Length];
        for (int k = 0; k < stackSize; k++)
        {
            space.Low.CopyTo(low.AsSpan(k * _frameSize));
            space.High.CopyTo(high.AsSpan(k * _frameSize));
            if (padding == FramePadding.Zero && k < stackSize - 1)
            {
                // Zero padding (never in the newest frame) must lie inside the box.
                for (int i = 0; i < _frameSize; i++)
                {
                    low[k * _frameSize + i] = Math.Min(low[k * _frameSize + i], 0f);
                    high[k * _frameSize + i] = Math.Max(high[k * _frameSize + i], 0f);
                }
            }
        }

        ObservationSpace = new Box(low, high, [stackSize, .. space.Shape]);
    }

    /// <summary>The number of stacked frames.</summary>
    public int StackSize { get; }

    /// <inheritdoc />
    public override Box ObservationSpace { get; }

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(_newest);
        EnvState.WriteFloats(writer, _frames);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        int newest = reader.ReadInt32();
        if ((uint)newest >= (uint)StackSize)
        {
            throw new InvalidDataException($"{Name}: the saved frame position {newest} is outside a stack of {StackSize}.");
        }

        EnvState.ReadFloats(reader, _frames, $"{Name} frame stack");
        _newest = newest;
    }

    /// <inheritdoc />
    protected override void OnReset(ReadOnlySpan<float> innerObservation, Span<float> observation)
    {
        for (int k = 0; k < StackSize; k++)
        {
            Span<float> frame = _frames.AsSpan(k * _frameSize, _frameSize);
            if (_padding == FramePadding.Reset)
            {
                innerObservation.CopyTo(frame);
            }
            else
            {
                frame.Clear();
            }
        }

        _newest = StackSize - 1;
        innerObservation.CopyTo(_frames.AsSpan(_newest * _frameSize, _frameSize));
        WriteStack(observation);
    }

    /// <inheritdoc />
    protected override void Transform(ReadOnlySpan<float> innerObservation, Span<float> observation)
    {
        _newest = (_newest + 1) % StackSize;
        innerObservation.CopyTo(_frames.AsSpan(_newest * _frameSize, _frameSize));
        WriteStack(observation);
    }

    private void WriteStack(Span<float> observation)
    {
        // The ring holds frames with the newest at _newest; write them oldest first.
        int oldest = (_newest + 1) % StackSize;
        int firstPart = (StackSize - oldest) * _frameSize;
        _frames.AsSpan(oldest * _frameSize, firstPart).CopyTo(observation);
        _frames.AsSpan(0, oldest * _frameSize).CopyTo(observation[firstPart..]);
    }
}
