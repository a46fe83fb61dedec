using System.Globalization;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>How a scripted episode ends.</summary>
internal enum EpisodeEnd
{
    Terminated,
    Truncated,
}

/// <summary>What a vector environment hands a sequence buffer each step (NEXT_STEP autoreset).</summary>
internal interface IStepSource
{
    int NumEnvs { get; }

    int ObservationSize { get; }

    int ActionDimension { get; }

    float[] Observations { get; }

    double[] Rewards { get; }

    bool[] Terminations { get; }

    bool[] Truncations { get; }

    int[] DiscreteActions { get; }

    float[] ContinuousActions { get; }

    void DrawActions();

    void Step();

    void Reset();
}

/// <summary>
/// A vector environment that follows a script: environment e plays the episodes <c>scripts[e]</c> (length, how it
/// ends) one after the other, then one endless episode. Observation of env e in episode k at step t is
/// <c>[e, k, t]</c> (t = length for the final observation); reward <c>100·e + 10·k + t + 0.5</c>; discrete action
/// <c>(e + t) mod 4</c>, continuous action <c>[t, −e]</c>. Autoreset is NEXT_STEP: after an episode's last step the
/// environment's next entry is the reset pseudo-step (reward 0, next observation <c>[e, k + 1, 0]</c>).
/// </summary>
internal sealed class ScriptedVectorEnv : IStepSource
{
    private readonly (int Length, EpisodeEnd End)[][] _scripts;
    private readonly int[] _episode;
    private readonly int[] _t;
    private readonly bool[] _autoreset;

    public ScriptedVectorEnv(int actionDimension, params (int Length, EpisodeEnd End)[][] scripts)
    {
        _scripts = scripts;
        NumEnvs = scripts.Length;
        ActionDimension = actionDimension;
        _episode = new int[NumEnvs];
        _t = new int[NumEnvs];
        _autoreset = new bool[NumEnvs];
        Observations = new float[NumEnvs * 3];
        Rewards = new double[NumEnvs];
        Terminations = new bool[NumEnvs];
        Truncations = new bool[NumEnvs];
        DiscreteActions = new int[NumEnvs];
        ContinuousActions = new float[NumEnvs * Math.Max(1, actionDimension)];
        Reset();
    }

    public int NumEnvs { get; }

    public int ObservationSize => 3;

    public int ActionDimension { get; }

    public float[] Observations { get; }

    public double[] Rewards { get; }

    public bool[] Terminations { get; }

    public bool[] Truncations { get; }

    public int[] DiscreteActions { get; }

    public float[] ContinuousActions { get; }

    /// <summary>The expected observation of env e, episode k, step t.</summary>
    public static float[] Obs(int env, int episode, int t) => [env, episode, t];

    public static float Reward(int env, int episode, int t) => (100 * env) + (10 * episode) + t + 0.5f;

    public static float[] Action(int env, int t, int actionDimension) => actionDimension == 0 ? [(env + t) % 4] : [t, -env];

    public void Reset()
    {
        for (int e = 0; e < NumEnvs; e++)
        {
            _t[e] = 0;
            _autoreset[e] = false;
            Write(e);
        }
    }

    public void DrawActions()
    {
        for (int e = 0; e < NumEnvs; e++)
        {
            DiscreteActions[e] = (e + _t[e]) % 4;
            if (ActionDimension > 0)
            {
                ContinuousActions[e * 2] = _t[e];
                ContinuousActions[(e * 2) + 1] = -e;
            }
        }
    }

    public void Step()
    {
        for (int e = 0; e < NumEnvs; e++)
        {
            if (_autoreset[e])
            {
                _episode[e]++;
                _t[e] = 0;
                _autoreset[e] = false;
                Rewards[e] = 0;
                Terminations[e] = Truncations[e] = false;
                Write(e);
                continue;
            }

            Rewards[e] = Reward(e, _episode[e], _t[e]);
            _t[e]++;
            (int Length, EpisodeEnd End)? script = _episode[e] < _scripts[e].Length ? _scripts[e][_episode[e]] : null;
            bool ends = script is not null && _t[e] == script.Value.Length;
            Terminations[e] = ends && script!.Value.End == EpisodeEnd.Terminated;
            Truncations[e] = ends && script!.Value.End == EpisodeEnd.Truncated;
            _autoreset[e] = ends;
            Write(e);
        }
    }

    private void Write(int e) => Obs(e, _episode[e], _t[e]).CopyTo(Observations, e * 3);
}

/// <summary><see cref="FakeVectorEnv"/> (random episode ends) as an <see cref="IStepSource"/>.</summary>
internal sealed class RandomVectorEnv(FakeVectorEnv env) : IStepSource
{
    public int NumEnvs => env.NumEnvs;

    public int ObservationSize => env.ObservationSize;

    public int ActionDimension => env.ActionDimension;

    public float[] Observations => env.Observations;

    public double[] Rewards => env.Rewards;

    public bool[] Terminations => env.Terminations;

    public bool[] Truncations => env.Truncations;

    public int[] DiscreteActions => env.DiscreteActions;

    public float[] ContinuousActions => env.ContinuousActions;

    public void DrawActions() => env.DrawActions();

    public void Step() => env.Step();

    public void Reset() => env.Reset();
}

/// <summary>A sequence as the tests compare them: flat arrays, the initial state per part.</summary>
internal sealed record SequenceRecord(int Length, float[] Observations, float[] Actions, float[] Rewards, float[] Terminated, float[] Truncated, float[] Mask, double[][] State)
{
    public string Key =>
        $"{Length}|{Join(Observations)}|{Join(Actions)}|{Join(Rewards)}|{Join(Terminated)}|{Join(Truncated)}|{Join(Mask)}|{string.Join(";", State.Select(s => string.Join(",", s.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))))}";

    public static SequenceRecord From(StoredSequence s) => new(s.Length, s.Observations, s.Actions, s.Rewards, s.Terminated, s.Truncated, s.Mask, s.InitialState);

    private static string Join(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}

/// <summary>
/// Drives an <see cref="IStepSource"/> and sequence buffers with the same steps, passing a recurrent state
/// <c>{h [H], c [H]}</c> whose row for env e at global step g is <c>h_i = 10000·e + 10·g + i</c>, <c>c = −h</c>. Entries
/// of autoreset pseudo-steps are replaced by garbage (NaN observations, rewards and states, an out-of-range action):
/// the buffer must neither store nor check them. It also keeps a naive reference model of the sequences the buffer
/// must store, in order.
/// </summary>
internal sealed class SequenceDriver
{
    public const int StateSize = 2;

    private readonly SequenceReplayOptions _options;
    private readonly float[] _obs;
    private readonly float[] _next;
    private readonly double[] _rewards;
    private readonly int[] _discrete;
    private readonly float[] _continuous;
    private readonly List<StepRecord>[] _episodes;
    private readonly bool[] _previousEnded;
    private int _globalStep;

    public SequenceDriver(IStepSource env, SequenceReplayOptions options, bool poisonPseudoSteps = true)
    {
        Env = env;
        _options = options;
        PoisonPseudoSteps = poisonPseudoSteps;
        _obs = new float[env.Observations.Length];
        _next = new float[env.Observations.Length];
        _rewards = new double[env.NumEnvs];
        _discrete = new int[env.NumEnvs];
        _continuous = new float[env.ContinuousActions.Length];
        _episodes = [.. Enumerable.Range(0, env.NumEnvs).Select(_ => new List<StepRecord>())];
        _previousEnded = new bool[env.NumEnvs];
    }

    public IStepSource Env { get; }

    public bool PoisonPseudoSteps { get; }

    /// <summary>Every sequence the buffer must have stored, in the order it stores them.</summary>
    public List<SequenceRecord> Expected { get; } = [];

    public static RecurrentStateSpec Spec { get; } = new([new("h", [StateSize], ScalarType.Float32), new("c", [StateSize], ScalarType.Float32)]);

    public static double StateValue(int env, int globalStep, int i) => (10000.0 * env) + (10.0 * globalStep) + i;

    /// <summary>The state rows for the next step (pseudo-step rows NaN when poisoning).</summary>
    public RecurrentState NextState()
    {
        int n = Env.NumEnvs;
        var h = new float[n * StateSize];
        for (int e = 0; e < n; e++)
        {
            for (int i = 0; i < StateSize; i++)
            {
                h[(e * StateSize) + i] = _previousEnded[e] && PoisonPseudoSteps ? float.NaN : (float)StateValue(e, _globalStep, i);
            }
        }

        Tensor ht = torch.tensor(h, [n, StateSize]);
        return new RecurrentState([("h", ht), ("c", ht.neg())]);
    }

    public void Step(params SequenceReplayBuffer[] buffers)
    {
        int n = Env.NumEnvs;
        int os = Env.ObservationSize;
        int d = Math.Max(1, Env.ActionDimension);
        Env.Observations.CopyTo(_obs, 0);
        Env.DrawActions();
        Env.Step();
        Env.Observations.CopyTo(_next, 0);
        Env.Rewards.CopyTo(_rewards, 0);
        Env.DiscreteActions.CopyTo(_discrete, 0);
        Env.ContinuousActions.CopyTo(_continuous, 0);
        using RecurrentState state = NextState();
        var real = new StepRecord?[n];
        for (int e = 0; e < n; e++)
        {
            if (!_previousEnded[e])
            {
                float[] action = Env.ActionDimension == 0 ? [_discrete[e]] : _continuous.AsSpan(e * d, d).ToArray();
                real[e] = new StepRecord(_obs.AsSpan(e * os, os).ToArray(), action, (float)_rewards[e], Env.Terminations[e], Env.Truncations[e], _next.AsSpan(e * os, os).ToArray(),
                    [.. Enumerable.Range(0, StateSize).Select(i => StateValue(e, _globalStep, i))]);
            }
            else if (PoisonPseudoSteps)
            {
                _obs.AsSpan(e * os, os).Fill(float.NaN);
                _next.AsSpan(e * os, os).Fill(float.NaN);
                _rewards[e] = double.NaN;
                _discrete[e] = int.MaxValue;
                _continuous.AsSpan(e * d, d).Fill(float.PositiveInfinity);
            }
        }

        foreach (SequenceReplayBuffer b in buffers)
        {
            if (Env.ActionDimension == 0)
            {
                b.AddStep(_obs, _discrete, _rewards, Env.Terminations, Env.Truncations, _next, state);
            }
            else
            {
                b.AddStep(_obs, _continuous, _rewards, Env.Terminations, Env.Truncations, _next, state);
            }
        }

        // The reference: every start 0, s, 2s, … of the episode; full sequences when they reach T steps, open ones at the end.
        int t = _options.SequenceLength;
        for (int e = 0; e < n; e++)
        {
            if (real[e] is not StepRecord record)
            {
                _previousEnded[e] = false;
                continue;
            }

            List<StepRecord> episode = _episodes[e];
            episode.Add(record);
            int last = episode.Count - 1;
            bool ended = record.Terminated || record.Truncated;
            for (int start = 0; start <= last; start += _options.Stride)
            {
                int valid = last - start + 1;
                if (valid == t || (ended && valid < t && valid >= _options.MinSequenceLength))
                {
                    Expected.Add(Build(episode, start, valid));
                }
            }

            if (ended)
            {
                episode.Clear();
                _previousEnded[e] = true;
            }
        }

        _globalStep++;
    }

    /// <summary>Resets the environment out of band and tells the buffers; the reference flushes every open sequence.</summary>
    public void ResetOutOfBand(params SequenceReplayBuffer[] buffers)
    {
        Env.Reset();
        foreach (SequenceReplayBuffer b in buffers)
        {
            b.BeginNewEpisodes();
        }

        int t = _options.SequenceLength;
        for (int e = 0; e < Env.NumEnvs; e++)
        {
            List<StepRecord> episode = _episodes[e];
            int last = episode.Count - 1;
            for (int start = 0; start <= last; start += _options.Stride)
            {
                int valid = last - start + 1;
                if (valid < t && valid >= _options.MinSequenceLength)
                {
                    Expected.Add(Build(episode, start, valid));
                }
            }

            episode.Clear();
            _previousEnded[e] = false;
        }
    }

    /// <summary>The expected contents of a buffer of the given capacity, by slot.</summary>
    public List<string> ExpectedBySlot(int capacity)
    {
        int count = Math.Min(capacity, Expected.Count);
        var slots = new string[count];
        for (int j = Math.Max(0, Expected.Count - capacity); j < Expected.Count; j++)
        {
            slots[j % capacity] = Expected[j].Key;
        }

        return [.. slots];
    }

    private SequenceRecord Build(List<StepRecord> episode, int start, int valid)
    {
        int t = _options.SequenceLength;
        int os = Env.ObservationSize;
        int d = Math.Max(1, Env.ActionDimension);
        var obs = new float[(t + 1) * os];
        var actions = new float[t * d];
        var rewards = new float[t];
        var terminated = new float[t];
        var truncated = new float[t];
        var mask = new float[t];
        for (int i = 0; i < valid; i++)
        {
            StepRecord r = episode[start + i];
            r.Observation.CopyTo(obs, i * os);
            r.Action.CopyTo(actions, i * d);
            rewards[i] = r.Reward;
            terminated[i] = r.Terminated ? 1 : 0;
            truncated[i] = r.Truncated ? 1 : 0;
            mask[i] = 1;
        }

        episode[start + valid - 1].Next.CopyTo(obs, valid * os);
        double[] h = episode[start].State;
        return new SequenceRecord(valid, obs, actions, rewards, terminated, truncated, mask, [h, [.. h.Select(x => -x)]]);
    }

    private sealed record StepRecord(float[] Observation, float[] Action, float Reward, bool Terminated, bool Truncated, float[] Next, double[] State);
}

internal static class SequenceAssert
{
    /// <summary>The stored sequences, by slot.</summary>
    public static List<string> StoredKeys(SequenceReplayBuffer buffer) => [.. buffer.Storage.Enumerate().Select(s => SequenceRecord.From(s).Key)];

    /// <summary>Everything observable about a buffer: contents, cursors, partial sequences, priorities, generator state.</summary>
    public static string Fingerprint(SequenceReplayBuffer buffer)
    {
        var parts = new List<string>
        {
            $"count {buffer.Count} next {buffer.Storage.NextSlot}",
            string.Join("/", StoredKeys(buffer)),
            string.Join(",", buffer.Cutter.PreviousEnded.ToArray()),
            string.Join(",", buffer.Cutter.EpisodeSteps.ToArray()),
        };
        using (var dir = new Build.ScratchDirectory())
        {
            // The saved file holds the windows, snapshots and generator states too; its sections (not its temp name) say it all.
            buffer.Save(dir.Path);
            using var reader = RlMemory.Memory.Persistence.BufferFileReader.Open(Path.Combine(dir.Path, SequenceReplayBuffer.FileName));
            parts.Add(reader.MetadataJson);
            foreach (var section in reader.Sections)
            {
                parts.Add(section.Name + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(ReadBytes(reader, section))));
            }
        }

        return string.Join("\n", parts);
    }

    public static float[] Floats(Tensor t)
    {
        using Tensor c = t.contiguous();
        using Tensor h = c.to(torch.CPU);
        using Tensor f = h.to(ScalarType.Float32);
        return f.data<float>().ToArray();
    }

    public static long[] Longs(Tensor t)
    {
        using Tensor c = t.contiguous();
        using Tensor h = c.to(torch.CPU);
        using Tensor l = h.to(ScalarType.Int64);
        return l.data<long>().ToArray();
    }

    private static byte[] ReadBytes(RlMemory.Memory.Persistence.BufferFileReader reader, RlMemory.Memory.Persistence.BufferSection section) => section.DType switch
    {
        ScalarType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(reader.ReadArray<float>(section.Name).AsSpan()).ToArray(),
        ScalarType.Float64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(reader.ReadArray<double>(section.Name).AsSpan()).ToArray(),
        ScalarType.Int32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(reader.ReadArray<int>(section.Name).AsSpan()).ToArray(),
        ScalarType.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(reader.ReadArray<long>(section.Name).AsSpan()).ToArray(),
        ScalarType.Bool => System.Runtime.InteropServices.MemoryMarshal.AsBytes(reader.ReadArray<bool>(section.Name).AsSpan()).ToArray(),
        _ => reader.ReadArray<byte>(section.Name),
    };
}
