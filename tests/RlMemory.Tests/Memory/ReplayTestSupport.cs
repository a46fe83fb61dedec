using System.Globalization;
using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// A stand-in for a vector environment with Gymnasium 1.x NEXT_STEP autoreset, driven by a seeded
/// <see cref="Random"/>. Observation e is <c>[env, episode, t, noise…]</c> (all small integers, so they survive
/// byte storage), which makes every transition recognizable: a real transition has the same episode in obs and next
/// obs and t + 1; an autoreset pseudo-step would jump to a new episode at t = 0.
/// </summary>
internal sealed class FakeVectorEnv
{
    private readonly Random _rng;
    private readonly double _pTerminate;
    private readonly double _pTruncate;
    private readonly bool[] _autoreset;
    private readonly int[] _episode;
    private readonly int[] _t;

    public FakeVectorEnv(int numEnvs, int observationSize, int seed, double pTerminate = 0.1, double pTruncate = 0.05, int actionDimension = 0)
    {
        if (observationSize < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(observationSize), "FakeVectorEnv needs at least 3 values per observation.");
        }

        NumEnvs = numEnvs;
        ObservationSize = observationSize;
        ActionDimension = actionDimension;
        _rng = new Random(seed);
        _pTerminate = pTerminate;
        _pTruncate = pTruncate;
        _autoreset = new bool[numEnvs];
        _episode = new int[numEnvs];
        _t = new int[numEnvs];
        Observations = new float[numEnvs * observationSize];
        Rewards = new double[numEnvs];
        Terminations = new bool[numEnvs];
        Truncations = new bool[numEnvs];
        DiscreteActions = new int[numEnvs];
        ContinuousActions = new float[numEnvs * Math.Max(1, actionDimension)];
        Reset();
    }

    public int NumEnvs { get; }

    public int ObservationSize { get; }

    public int ActionDimension { get; }

    public float[] Observations { get; }

    public double[] Rewards { get; }

    public bool[] Terminations { get; }

    public bool[] Truncations { get; }

    /// <summary>The actions of the last <see cref="DrawActions"/>.</summary>
    public int[] DiscreteActions { get; }

    public float[] ContinuousActions { get; }

    public void Reset()
    {
        for (int e = 0; e < NumEnvs; e++)
        {
            _episode[e]++;
            _t[e] = 0;
            _autoreset[e] = false;
            WriteObservation(e);
        }

        Array.Clear(Rewards);
        Array.Clear(Terminations);
        Array.Clear(Truncations);
    }

    public void DrawActions()
    {
        for (int e = 0; e < NumEnvs; e++)
        {
            DiscreteActions[e] = _rng.Next(0, 6);
        }

        for (int i = 0; i < ContinuousActions.Length; i++)
        {
            ContinuousActions[i] = _rng.Next(-8, 9) / 4f;
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
                Terminations[e] = false;
                Truncations[e] = false;
                WriteObservation(e);
                continue;
            }

            _t[e]++;
            Rewards[e] = _rng.Next(-20, 21) / 4.0;
            double u = _rng.NextDouble();
            Terminations[e] = u < _pTerminate;
            Truncations[e] = !Terminations[e] && u < _pTerminate + _pTruncate;
            _autoreset[e] = Terminations[e] || Truncations[e];
            WriteObservation(e);
        }
    }

    private void WriteObservation(int e)
    {
        Span<float> o = Observations.AsSpan(e * ObservationSize, ObservationSize);
        o[0] = e % 256;
        o[1] = _episode[e] % 256;
        o[2] = _t[e] % 256;
        for (int i = 3; i < o.Length; i++)
        {
            o[i] = _rng.Next(0, 256);
        }
    }
}

/// <summary>A transition as the tests compare them.</summary>
internal sealed record Transition(float[] Observation, float[] Action, float Reward, bool Terminated, bool Truncated, float[] NextObservation, float Discount)
{
    public string Key =>
        Join(Observation) + "|" + Join(Action) + "|" + Reward.ToString("R", CultureInfo.InvariantCulture) + "|" + Terminated + "|" + Truncated + "|"
        + Join(NextObservation) + "|" + Discount.ToString("R", CultureInfo.InvariantCulture);

    public static string Join(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    public static Transition From(StoredTransition s) => new(s.Observation, s.Action, s.Reward, s.Terminated, s.Truncated, s.NextObservation, s.Discount);
}

/// <summary>
/// Drives a <see cref="FakeVectorEnv"/> and one or more buffers with the same steps, and records the real transitions
/// (autoreset pseudo-steps skipped) per step: the reference the buffers are compared with.
/// </summary>
internal sealed class StepDriver
{
    private readonly float[] _obs;

    public StepDriver(FakeVectorEnv env, float gamma)
    {
        Env = env;
        Gamma = gamma;
        _obs = new float[env.Observations.Length];
        PreviousEnded = new bool[env.NumEnvs];
    }

    public FakeVectorEnv Env { get; }

    public float Gamma { get; }

    public bool[] PreviousEnded { get; }

    /// <summary>Per step (and per out-of-band reset, as an empty row), the real transitions, in env order.</summary>
    public List<List<Transition>> Rows { get; } = [];

    public IEnumerable<Transition> All => Rows.SelectMany(r => r);

    /// <summary>Whether the last call was an out-of-band reset (consecutive resets add one orphan row at most).</summary>
    public bool LastWasReset { get; private set; }

    /// <summary>Steps the env once and feeds every buffer.</summary>
    public void Step(params ReplayBuffer[] buffers)
    {
        LastWasReset = false;
        Env.Observations.CopyTo(_obs, 0);
        Env.DrawActions();
        Env.Step();
        foreach (ReplayBuffer b in buffers)
        {
            if (Env.ActionDimension == 0)
            {
                b.AddStep(_obs, Env.DiscreteActions, Env.Rewards, Env.Terminations, Env.Truncations, Env.Observations);
            }
            else
            {
                b.AddStep(_obs, Env.ContinuousActions, Env.Rewards, Env.Terminations, Env.Truncations, Env.Observations);
            }
        }

        var row = new List<Transition>();
        int os = Env.ObservationSize;
        int d = Math.Max(1, Env.ActionDimension);
        for (int e = 0; e < Env.NumEnvs; e++)
        {
            if (!PreviousEnded[e])
            {
                float[] action = Env.ActionDimension == 0 ? [Env.DiscreteActions[e]] : Env.ContinuousActions.AsSpan(e * d, d).ToArray();
                row.Add(new Transition(_obs.AsSpan(e * os, os).ToArray(), action, (float)Env.Rewards[e], Env.Terminations[e], Env.Truncations[e], Env.Observations.AsSpan(e * os, os).ToArray(), Gamma));
            }

            PreviousEnded[e] = !PreviousEnded[e] && (Env.Terminations[e] || Env.Truncations[e]);
        }

        Rows.Add(row);
    }

    /// <summary>
    /// Resets the env out of band and tells every buffer. After at least one step, the reference gets an empty row:
    /// in memory-saving mode the newest row (the last step's next observations) stays, orphaned, and takes a row.
    /// </summary>
    public void ResetOutOfBand(params ReplayBuffer[] buffers)
    {
        Env.Reset();
        Array.Clear(PreviousEnded);
        foreach (ReplayBuffer b in buffers)
        {
            b.BeginNewEpisodes();
        }

        if (Rows.Count > 0 && !LastWasReset)
        {
            Rows.Add([]);
        }

        LastWasReset = true;
    }
}

internal static class ReplayAssert
{
    /// <summary>The multiset of transitions stored in a buffer.</summary>
    public static List<string> StoredKeys(ReplayBuffer buffer) =>
        [.. buffer.Storage.Enumerate().Select(s => Transition.From(s).Key).OrderBy(k => k, StringComparer.Ordinal)];

    public static List<string> Keys(IEnumerable<Transition> transitions) =>
        [.. transitions.Select(t => t.Key).OrderBy(k => k, StringComparer.Ordinal)];

    /// <summary>The transitions of a sampled batch, read back to the host.</summary>
    public static List<Transition> Read(TransitionBatch batch)
    {
        float[] obs = Floats(batch.Observations);
        float[] next = Floats(batch.NextObservations);
        float[] rewards = Floats(batch.Rewards);
        float[] term = Floats(batch.Terminated);
        float[] trunc = Floats(batch.Truncated);
        float[] disc = Floats(batch.Discounts);
        float[] actions = batch.Actions.dtype == ScalarType.Int64
            ? [.. Longs(batch.Actions).Select(a => (float)a)]
            : Floats(batch.Actions);
        int b = batch.Size;
        int os = obs.Length / b;
        int d = actions.Length / b;
        var result = new List<Transition>(b);
        for (int i = 0; i < b; i++)
        {
            result.Add(new Transition(obs.AsSpan(i * os, os).ToArray(), actions.AsSpan(i * d, d).ToArray(), rewards[i], term[i] != 0, trunc[i] != 0, next.AsSpan(i * os, os).ToArray(), disc[i]));
        }

        return result;
    }

    public static float[] Floats(Tensor t)
    {
        using Tensor c = t.contiguous();
        using Tensor h = c.to(torch.CPU);
        return h.data<float>().ToArray();
    }

    public static long[] Longs(Tensor t)
    {
        using Tensor c = t.contiguous();
        using Tensor h = c.to(torch.CPU);
        return h.data<long>().ToArray();
    }
}
