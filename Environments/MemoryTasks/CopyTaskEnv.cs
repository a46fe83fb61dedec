using System.Globalization;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// The copy task of the Neural Turing Machine (Graves et al. 2014) as a reinforcement-learning task: observe
/// <see cref="SequenceLength"/> random bits, then a delimiter, then reproduce the bits in order, one per step.
/// </summary>
/// <remarks>
/// <para>Observation <c>[bit, input, delimiter, recall]</c>. With L = <see cref="SequenceLength"/>: at t = 0 … L − 1
/// it is <c>[b_t, 1, 0, 0]</c>; at t = L the delimiter <c>[0, 0, 1, 0]</c>; at t = L + 1 … 2L the recall cue
/// <c>[0, 0, 0, 1]</c>. Actions: the bit, 0 or 1. Actions taken after input and delimiter observations give reward 0.
/// The action taken after the j-th recall cue (j = 0 … L − 1) answers bit j: +1/L when right, −1/L when wrong. The
/// episode terminates after the last answer, step 2L + 1 (observation all zeros); returns lie in [−1, 1].</para>
/// <para>Yardsticks: optimal 1, uniformly random 0, best memoryless 0 (every recall cue looks the same).</para>
/// <para>Renders a 600×240 picture (<see cref="Render"/>): the input bits, the delimiter, the phase, and the bits
/// reproduced so far with right/wrong marks.</para>
/// </remarks>
public sealed class CopyTaskEnv : Env<int>, IRenderable
{
    /// <summary>The longest sequence accepted.</summary>
    public const int MaxSequenceLength = 100_000;

    /// <summary>The default sequence length.</summary>
    public const int DefaultSequenceLength = 10;

    /// <summary>The optimal expected return: reproduce every bit.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions.</summary>
    public const double RandomReturn = 0.0;

    /// <summary>The best expected return of a memoryless policy: every recall cue looks the same and the bits are uniform.</summary>
    public const double BestMemorylessReturn = 0.0;

    private readonly byte[] _bits;
    private readonly byte[] _answers;
    private readonly double _rewardScale;
    private int _t;
    private int _rightAnswers;

    /// <summary>Creates the task.</summary>
    /// <param name="sequenceLength">L: the number of bits to copy, 1 to <see cref="MaxSequenceLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequenceLength"/> is outside its range.</exception>
    public CopyTaskEnv(int sequenceLength = DefaultSequenceLength)
        : base(new Box(0f, 1f, 4), new Discrete(2))
    {
        if (sequenceLength is < 1 or > MaxSequenceLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(sequenceLength), sequenceLength, $"CopyTaskEnv: the sequence length must be an integer in [1, {MaxSequenceLength}].");
        }

        SequenceLength = sequenceLength;
        _bits = new byte[sequenceLength];
        _answers = new byte[sequenceLength];
        _rewardScale = 1.0 / sequenceLength;
    }

    /// <summary>L: the number of bits to copy.</summary>
    public int SequenceLength { get; }

    /// <summary>The episode length: L input steps, the delimiter, and L answers, 2L + 1 steps.</summary>
    public int EpisodeLength => 2 * SequenceLength + 1;

    /// <summary>Bit <paramref name="index"/> of the current episode's sequence.</summary>
    public int Bit(int index) => _bits[index];

    /// <inheritdoc />
    public override bool CanSaveState => true;

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(_t);
        writer.Write(_rightAnswers);
        writer.Write(_bits.Length);
        writer.Write(_bits);
        writer.Write(_answers);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        _t = reader.ReadInt32();
        _rightAnswers = reader.ReadInt32();
        int length = reader.ReadInt32();
        if (length != _bits.Length)
        {
            throw new InvalidDataException($"{Name}: the saved state is for sequences of {length} bits; this task has {_bits.Length}.");
        }

        reader.ReadExactly(_bits);
        reader.ReadExactly(_answers);
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        for (int i = 0; i < _bits.Length; i++)
        {
            _bits[i] = (byte)Rng.Integers(0, 2);
        }

        _t = 0;
        _rightAnswers = 0;
        Write(observation);
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        int length = SequenceLength;
        double reward = 0.0;
        int answered = _t - (length + 1); // The action answers bit j when taken after the recall cue at t = L + 1 + j.
        if (answered >= 0)
        {
            bool right = action == _bits[answered];
            reward = right ? _rewardScale : -_rewardScale;
            _answers[answered] = (byte)action;
            _rightAnswers += right ? 1 : 0;
        }

        _t++;
        Write(observation);
        return new StepResult(reward, answered == length - 1, false);
    }

    /// <summary>The picture's width, 600 pixels.</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height, 240 pixels.</summary>
    public int RenderHeight => 240;

    /// <summary>5 frames per second.</summary>
    public int RenderFps => 5;

    /// <summary>The side of a drawn bit cell, 20 pixels.</summary>
    public const int RenderCellSize = 20;

    /// <summary>The most bits drawn, 24: a longer sequence shows a window of 24 bits around the bit in play.</summary>
    public const int RenderMaxCells = 24;

    /// <summary>The column of the first drawn cell's left edge, 64.</summary>
    public const int RenderRowLeft = 64;

    /// <summary>The top row of the input cells, 84, and of the output cells, 136.</summary>
    public const int RenderInputTop = 84, RenderOutputTop = 136;

    /// <summary>The row of the centres of the right/wrong marks under the output cells, 174 (radius 9).</summary>
    public const int RenderMarkRow = 174;

    /// <summary>
    /// Draws two rows of 20×20 cells from column 64: the input bits (1 dark, 0 white with a digit; bits not shown to the
    /// agent yet in lighter tones, <see cref="MemoryTaskPalette.BitOneAhead"/>, <see cref="MemoryTaskPalette.BitZeroAhead"/>)
    /// followed by the delimiter cell (purple once shown), and the bits reproduced so far, each with a green tick or
    /// red cross under it; grey cells are still to be answered. A purple pointer marks the bit being shown, or the next
    /// bit to answer. Text gives L, the step counter, the phase and the score. Sequences longer than
    /// <see cref="RenderMaxCells"/> show a window of bits around the bit in play, with their indices.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        MemoryTaskDrawing.CheckCanvas(canvas, this);
        const float c = RenderCellSize;
        Rgb ink = MemoryTaskPalette.Ink;
        int length = SequenceLength;
        int answered = Math.Max(0, _t - (length + 1));
        int focus = _t < length ? _t : _t == length ? length - 1 : Math.Min(answered, length - 1);
        int count = Math.Min(length, RenderMaxCells);
        int start = RenderWindowStart(focus);

        canvas.Clear(Rgb.White);
        canvas.Text(string.Create(CultureInfo.InvariantCulture, $"CopyTask (L = {length:N0})   step {_t:N0} / {EpisodeLength:N0}"), 12, 8, 16, ink);
        string phase = _t < length ? string.Create(CultureInfo.InvariantCulture, $"phase: input, showing bit {_t:N0}")
            : _t == length ? "phase: delimiter, recall starts next"
            : _t <= 2 * length ? string.Create(CultureInfo.InvariantCulture, $"phase: recall, answer bit {answered:N0} next")
            : string.Create(CultureInfo.InvariantCulture, $"done: {_rightAnswers:N0} of {length:N0} right");
        canvas.Text(phase, 12, 30, 14, ink);
        canvas.Text("input", 8, RenderInputTop + 2, 13, ink);
        canvas.Text("output", 8, RenderOutputTop + 2, 13, ink);

        for (int k = 0; k < count; k++)
        {
            int i = start + k;
            float x = RenderRowLeft + k * c;
            bool one = _bits[i] == 1;
            bool shown = i <= _t;
            BitCell(canvas, x, RenderInputTop, one, shown);
            if (i < answered)
            {
                BitCell(canvas, x, RenderOutputTop, _answers[i] == 1, shown: true);
                MemoryTaskDrawing.Mark(canvas, _answers[i] == _bits[i], x + c / 2, RenderMarkRow, 9);
            }
            else
            {
                canvas.FillRect(x, RenderOutputTop, c, c, MemoryTaskPalette.Empty);
                canvas.StrokeRect(x + 0.5f, RenderOutputTop + 0.5f, c - 1, c - 1, MemoryTaskPalette.Border);
            }
        }

        float delimiterX = RenderRowLeft + count * c + 4;
        bool delimiterDrawn = start + count == length;
        if (delimiterDrawn)
        {
            canvas.FillRect(delimiterX, RenderInputTop, c, c, _t >= length ? MemoryTaskPalette.Query : new Rgb(222, 214, 235));
            canvas.Text("end", delimiterX, RenderInputTop + c + 3, 10, ink);
        }

        if (_t < length)
        {
            MemoryTaskDrawing.Pointer(canvas, RenderRowLeft + (_t - start + 0.5f) * c, RenderInputTop - 2, 10, down: true, MemoryTaskPalette.Agent);
        }
        else if (_t == length)
        {
            MemoryTaskDrawing.Pointer(canvas, delimiterX + c / 2, RenderInputTop - 2, 10, down: true, MemoryTaskPalette.Agent);
        }
        else if (_t <= 2 * length)
        {
            MemoryTaskDrawing.Pointer(canvas, RenderRowLeft + (answered - start + 0.5f) * c, RenderOutputTop - 2, 10, down: true, MemoryTaskPalette.Agent);
        }

        if (count < length)
        {
            canvas.Text(
                string.Create(CultureInfo.InvariantCulture, $"bits {start:N0} to {start + count - 1:N0} of {length:N0} (numbered from 0)"),
                RenderRowLeft,
                196,
                12,
                ink);
        }

        if (answered > 0)
        {
            canvas.Text(string.Create(CultureInfo.InvariantCulture, $"right so far: {_rightAnswers:N0} of {answered:N0}"), 12, 214, 14, ink);
        }
    }

    /// <summary>The first bit drawn when the bit in play is <paramref name="focus"/>: the window of 24 bits centres it when it can.</summary>
    internal int RenderWindowStart(int focus) => Math.Clamp(focus - RenderMaxCells / 2, 0, Math.Max(0, SequenceLength - RenderMaxCells));

    private static void BitCell(ICanvas canvas, float x, float y, bool one, bool shown)
    {
        const float c = RenderCellSize;
        Rgb fill = one
            ? (shown ? MemoryTaskPalette.BitOne : MemoryTaskPalette.BitOneAhead)
            : (shown ? MemoryTaskPalette.BitZero : MemoryTaskPalette.BitZeroAhead);
        canvas.FillRect(x, y, c, c, fill);
        canvas.StrokeRect(x + 0.5f, y + 0.5f, c - 1, c - 1, MemoryTaskPalette.Border);
        canvas.Text(one ? "1" : "0", x + 6, y + 3, 12, !shown ? MemoryTaskPalette.Border : one ? Rgb.White : MemoryTaskPalette.Ink);
    }

    private void Write(Span<float> observation)
    {
        int length = SequenceLength;
        observation.Clear();
        if (_t < length)
        {
            observation[0] = _bits[_t];
            observation[1] = 1f;
        }
        else if (_t == length)
        {
            observation[2] = 1f;
        }
        else if (_t <= 2 * length)
        {
            observation[3] = 1f;
        }
    }
}
