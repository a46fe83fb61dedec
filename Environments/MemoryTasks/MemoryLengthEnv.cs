using System.Globalization;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// bsuite's <c>memory_len</c> experiment (Osband et al. 2020, <c>bsuite/environments/memory_chain.py</c> with one
/// bit): a ±1 context is shown at the first step; <see cref="MemoryLength"/> steps later the agent is asked for it.
/// </summary>
/// <remarks>
/// <para>Observation <c>[time, query, context]</c> at step t = 0 … L (L = <see cref="MemoryLength"/>):
/// <c>time = 1 − t/L</c>; <c>query = 1</c> at t = L only (the answer is due), else 0; <c>context</c> is the ±1 context
/// at t = 0 and, at t ≥ 1, uniform ±1 noise (or 0 with <c>noise</c> off, as in bsuite). Actions: 0 answers −1,
/// 1 answers +1. Actions at steps 1 … L do nothing and give reward 0; the action at step L + 1 (taken after the query)
/// gives +1 when it matches the context, −1 otherwise, and terminates the episode (observation <c>[0, 0, 0]</c>).</para>
/// <para>Yardsticks: optimal 1, uniformly random 0, best memoryless 0 (the query observation does not depend on the
/// context).</para>
/// <para>Renders a 600×240 picture (<see cref="Render"/>): the context shown at t = 0, the current observation, a
/// time line with the query marker, and, at the end, the answer and its reward.</para>
/// </remarks>
public sealed class MemoryLengthEnv : Env<int>, IRenderable
{
    /// <summary>The longest memory length accepted.</summary>
    public const int MaxMemoryLength = 1_000_000;

    /// <summary>The default memory length.</summary>
    public const int DefaultMemoryLength = 10;

    /// <summary>The optimal expected return: answer the context.</summary>
    public const double OptimalReturn = 1.0;

    /// <summary>The expected return of uniformly random actions.</summary>
    public const double RandomReturn = 0.0;

    /// <summary>The best expected return of a memoryless policy: the query observation is independent of the context.</summary>
    public const double BestMemorylessReturn = 0.0;

    private int _t;
    private float _context;
    private float _entry; // the context entry of the current observation
    private int _answer = -1;

    /// <summary>Creates the task.</summary>
    /// <param name="memoryLength">L: the number of steps from the context to the query, 1 to <see cref="MaxMemoryLength"/>.</param>
    /// <param name="noise">Fill the context entry with uniform ±1 noise after the first step (false: zeros, as bsuite).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="memoryLength"/> is outside its range.</exception>
    public MemoryLengthEnv(int memoryLength = DefaultMemoryLength, bool noise = true)
        : base(new Box([0f, 0f, -1f], [1f, 1f, 1f]), new Discrete(2))
    {
        if (memoryLength is < 1 or > MaxMemoryLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(memoryLength), memoryLength, $"MemoryLengthEnv: the memory length must be an integer in [1, {MaxMemoryLength}].");
        }

        MemoryLength = memoryLength;
        Noise = noise;
    }

    /// <summary>L: the query comes L steps after the context.</summary>
    public int MemoryLength { get; }

    /// <summary>Whether the context entry carries ±1 noise after the first step.</summary>
    public bool Noise { get; }

    /// <summary>The episode length: L + 1 steps.</summary>
    public int EpisodeLength => MemoryLength + 1;

    /// <summary>The context of the current episode, −1 or +1; action <c>(Context + 1) / 2</c> answers it.</summary>
    public int Context => (int)_context;

    /// <inheritdoc />
    public override bool CanSaveState => true;

    /// <inheritdoc />
    protected override void WriteStateCore(BinaryWriter writer)
    {
        writer.Write(_t);
        writer.Write(_context);
        writer.Write(_entry);
        writer.Write(_answer);
    }

    /// <inheritdoc />
    protected override void ReadStateCore(BinaryReader reader)
    {
        _t = reader.ReadInt32();
        _context = reader.ReadSingle();
        _entry = reader.ReadSingle();
        _answer = reader.ReadInt32();
    }

    /// <inheritdoc />
    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        ResetOptions.RequireNone(options, Name);
        _context = Rng.Integers(0, 2) == 1 ? 1f : -1f;
        _t = 0;
        _entry = _context;
        _answer = -1;
        observation[0] = 1f;
        observation[1] = 0f;
        observation[2] = _context;
        return Info.Empty;
    }

    /// <inheritdoc />
    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _t++;
        if (_t > MemoryLength)
        {
            observation.Clear();
            _entry = 0f;
            _answer = action;
            bool right = (action == 1) == (_context > 0);
            return new StepResult(right ? 1.0 : -1.0, true, false);
        }

        observation[0] = (float)(1.0 - (double)_t / MemoryLength);
        observation[1] = _t == MemoryLength ? 1f : 0f;
        _entry = Noise ? (Rng.Integers(0, 2) == 1 ? 1f : -1f) : 0f;
        observation[2] = _entry;
        return new StepResult(0.0, false, false);
    }

    /// <summary>The picture's width, 600 pixels.</summary>
    public int RenderWidth => 600;

    /// <summary>The picture's height, 240 pixels.</summary>
    public int RenderHeight => 240;

    /// <summary>5 frames per second.</summary>
    public int RenderFps => 5;

    /// <summary>
    /// Draws, left to right: the context shown at t = 0, a 100×100 square at columns 30 to 129 and rows 76 to 175, blue
    /// with a white plus for +1 and red with a white minus for −1 (<see cref="MemoryTaskPalette.Positive"/>,
    /// <see cref="MemoryTaskPalette.Negative"/>); the context entry of the current observation in the same style at
    /// columns 170 to 269 (grey when it is 0); a time line from t = 0 to the query at t = L, filled up to the current
    /// step, with a pointer above it and the query flag at its end (filled once the query is shown); and, after the
    /// answer, the answer's sign with a right/wrong mark and the reward. Text gives L, the noise setting, the step
    /// counter, the time left before the query and the current observation.
    /// </summary>
    public void Render(ICanvas canvas)
    {
        MemoryTaskDrawing.CheckCanvas(canvas, this);
        Rgb ink = MemoryTaskPalette.Ink;
        int length = MemoryLength;
        bool over = _t > length;
        int shown = Math.Min(_t, length);
        canvas.Clear(Rgb.White);
        canvas.Text(
            string.Create(CultureInfo.InvariantCulture, $"MemoryLength (L = {length:N0}, noise {(Noise ? "on" : "off")})   step {_t:N0} / {EpisodeLength:N0}"),
            12,
            8,
            16,
            ink);
        if (over)
        {
            canvas.Text("answered: episode over", 12, 30, 14, ink);
        }
        else if (_t == length)
        {
            canvas.Text("QUERY: answer the context now", 12, 30, 14, MemoryTaskPalette.Query);
        }
        else
        {
            canvas.Text(string.Create(CultureInfo.InvariantCulture, $"time left: {length - _t:N0} steps to the query"), 12, 30, 14, ink);
        }

        canvas.Text("context (t = 0)", 30, 56, 14, ink);
        SignSquare(canvas, 30, 76, 100, _context);
        canvas.Text(_context > 0 ? "+1" : "-1", 30, 182, 14, ink);

        canvas.Text("entry now", 170, 56, 14, ink);
        SignSquare(canvas, 170, 76, 100, _entry);
        float time = over ? 0f : (float)(1.0 - (double)_t / length);
        int query = !over && _t == length ? 1 : 0;
        canvas.Text(
            string.Create(CultureInfo.InvariantCulture, $"obs [{time:0.###}, {query}, {_entry:+0;-0;0}]"),
            170,
            182,
            14,
            ink);

        // The time line, t = 0 to the query at t = L.
        const float left = 310, width = 250, top = 96, height = 20;
        float now = left + width * shown / length;
        canvas.FillRect(left, top, now - left, height, new Rgb(200, 200, 200));
        canvas.FillRect(left, top, 5, height, _context > 0 ? MemoryTaskPalette.Positive : MemoryTaskPalette.Negative);
        canvas.StrokeRect(left, top, width, height, MemoryTaskPalette.Border, 1);
        MemoryTaskDrawing.Pointer(canvas, now, top - 2, 12, down: true, MemoryTaskPalette.Agent);
        canvas.Line(left + width, 70, left + width, top + height, ink, 2);
        Span<System.Numerics.Vector2> flag = [new(left + width, 70), new(left + width + 24, 78), new(left + width, 86)];
        if (_t >= length)
        {
            canvas.FillPolygon(flag, MemoryTaskPalette.Query);
        }
        else
        {
            canvas.StrokePolygon(flag, MemoryTaskPalette.Query, 2);
        }

        canvas.Text("time", left, 56, 14, ink);
        canvas.Text("t = 0", left, top + height + 4, 12, ink);
        canvas.Text("query", left + width - 30, top + height + 4, 12, MemoryTaskPalette.Query);

        canvas.Text("answer", left, 150, 14, ink);
        if (_answer >= 0)
        {
            bool right = (_answer == 1) == (_context > 0);
            SignSquare(canvas, left, 172, 40, _answer == 1 ? 1f : -1f);
            MemoryTaskDrawing.Mark(canvas, right, left + 70, 192, 16);
            string text = (_answer, right) switch
            {
                (1, true) => "+1: right, reward +1",
                (1, false) => "+1: wrong, reward -1",
                (_, true) => "-1: right, reward +1",
                _ => "-1: wrong, reward -1",
            };
            canvas.Text(text, left + 96, 183, 15, right ? MemoryTaskPalette.Right : MemoryTaskPalette.Wrong);
        }
        else
        {
            canvas.Text(_t == length ? "due now" : "due after the query", left, 172, 14, _t == length ? MemoryTaskPalette.Query : ink);
        }
    }

    /// <summary>A square in the colour of a ±1 value with a white sign, or grey for 0.</summary>
    private static void SignSquare(ICanvas canvas, float x, float y, float size, float value)
    {
        Rgb fill = value > 0 ? MemoryTaskPalette.Positive : value < 0 ? MemoryTaskPalette.Negative : MemoryTaskPalette.Empty;
        canvas.FillRect(x, y, size, size, fill);
        if (value != 0)
        {
            MemoryTaskDrawing.Sign(canvas, value > 0, x + size / 2, y + size / 2, size * 0.26f);
        }
        else
        {
            canvas.StrokeRect(x + 0.5f, y + 0.5f, size - 1, size - 1, MemoryTaskPalette.Border, 1);
        }
    }
}
