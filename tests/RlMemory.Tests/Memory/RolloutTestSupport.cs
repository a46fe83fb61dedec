using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>One vector step as a trainer hands it to <see cref="RolloutBuffer"/>, plus what the stream knows about it.</summary>
internal sealed record RolloutStep(
    float[] Observations, int[] DiscreteActions, float[] ContinuousActions, double[] Rewards, bool[] Terminated, bool[] Truncated,
    float[] Values, float[] LogProbs, bool[] Pseudo, bool[] EpisodeStart, float[][]? State);

/// <summary>
/// A stand-in for a vector environment with Gymnasium 1.x NEXT_STEP autoreset and a policy, driven by a seeded
/// <see cref="Random"/>. It keeps its own, independent record of which steps are autoreset pseudo-steps and episode
/// starts. Observation of env n: <c>[n, global step, episode, noise…]</c>, so every stored row is recognizable.
/// Recurrent states (when a spec is given) are float32 parts whose values encode env and step.
/// </summary>
internal sealed class RolloutStream
{
    private readonly Random _rng;
    private readonly double _pTerminate;
    private readonly double _pTruncate;
    private readonly bool[] _ended;
    private readonly bool[] _starts;
    private readonly int[] _episode;
    private int _globalStep;

    public RolloutStream(int numEnvs, int observationSize, int seed, double pTerminate = 0.15, double pTruncate = 0.1, int actionDimension = 0, RecurrentStateSpec? state = null)
    {
        NumEnvs = numEnvs;
        ObservationSize = observationSize;
        ActionDimension = actionDimension;
        StateSpec = state;
        _rng = new Random(seed);
        _pTerminate = pTerminate;
        _pTruncate = pTruncate;
        _ended = new bool[numEnvs];
        _starts = Enumerable.Repeat(true, numEnvs).ToArray();
        _episode = new int[numEnvs];
    }

    public int NumEnvs { get; }

    public int ObservationSize { get; }

    public int ActionDimension { get; }

    public RecurrentStateSpec? StateSpec { get; }

    /// <summary>The steps of the current rollout (cleared by <see cref="NewRollout"/>).</summary>
    public List<RolloutStep> Steps { get; } = [];

    /// <summary>The next step. Pseudo-steps get reward 0 and no flags unless <paramref name="noisyPseudo"/>, which puts junk there (the buffer must ignore it).</summary>
    public RolloutStep Next(bool noisyPseudo = false)
    {
        int n = NumEnvs;
        var obs = new float[n * ObservationSize];
        var discrete = new int[n];
        var continuous = new float[n * Math.Max(1, ActionDimension)];
        var rewards = new double[n];
        var term = new bool[n];
        var trunc = new bool[n];
        var values = new float[n];
        var logProbs = new float[n];
        var pseudo = new bool[n];
        var starts = new bool[n];
        for (int e = 0; e < n; e++)
        {
            pseudo[e] = _ended[e];
            starts[e] = !pseudo[e] && _starts[e];
            obs[e * ObservationSize] = e;
            obs[e * ObservationSize + 1] = _globalStep;
            obs[e * ObservationSize + 2] = _episode[e];
            for (int k = 3; k < ObservationSize; k++)
            {
                obs[e * ObservationSize + k] = _rng.Next(-50, 50) / 8f;
            }

            discrete[e] = _rng.Next(0, 5);
            for (int k = 0; k < ActionDimension; k++)
            {
                continuous[e * ActionDimension + k] = _rng.Next(-40, 40) / 16f;
            }

            values[e] = _rng.Next(-64, 64) / 16f;
            logProbs[e] = -_rng.Next(1, 64) / 16f;
            if (pseudo[e])
            {
                rewards[e] = noisyPseudo ? _rng.Next(-9, 9) : 0;
                term[e] = noisyPseudo && _rng.NextDouble() < 0.5;
                trunc[e] = noisyPseudo && _rng.NextDouble() < 0.5;
                _ended[e] = false;
                _starts[e] = true;
                _episode[e]++;
            }
            else
            {
                rewards[e] = _rng.Next(-16, 32) / 8.0;
                double u = _rng.NextDouble();
                term[e] = u < _pTerminate;
                trunc[e] = !term[e] && u < _pTerminate + _pTruncate;
                _ended[e] = term[e] || trunc[e];
                _starts[e] = false;
            }
        }

        float[][]? state = StateSpec is null ? null : StateSpec.Parts.Select((p, i) => StateValues(p, i, n)).ToArray();
        var step = new RolloutStep(obs, discrete, continuous, rewards, term, trunc, values, logProbs, pseudo, starts, state);
        Steps.Add(step);
        _globalStep++;
        return step;
    }

    /// <summary>Like <c>vec.Reset()</c>: every env starts a fresh episode at its next step.</summary>
    public void ResetOutOfBand()
    {
        Array.Clear(_ended);
        Array.Fill(_starts, true);
    }

    public void NewRollout() => Steps.Clear();

    /// <summary>Random last values V(s_T).</summary>
    public float[] LastValues() => Enumerable.Range(0, NumEnvs).Select(_ => _rng.Next(-64, 64) / 16f).ToArray();

    /// <summary>The stream's recurrent state of a step as a <see cref="RecurrentState"/> (the caller disposes it).</summary>
    public RecurrentState? StateOf(RolloutStep step) =>
        StateSpec is null ? null : new RecurrentState([.. StateSpec.Parts.Select((p, i) => (p.Name, torch.tensor(step.State![i], [NumEnvs, .. p.Shape])))]);

    /// <summary>Adds <paramref name="step"/> to each buffer (span overloads).</summary>
    public void AddTo(RolloutStep step, params RolloutBuffer[] buffers)
    {
        using RecurrentState? state = StateOf(step);
        foreach (RolloutBuffer b in buffers)
        {
            if (ActionDimension == 0)
            {
                b.Add(step.Observations, step.DiscreteActions, step.Rewards, step.Terminated, step.Truncated, step.Values, step.LogProbs, state);
            }
            else
            {
                b.Add(step.Observations, step.ContinuousActions, step.Rewards, step.Terminated, step.Truncated, step.Values, step.LogProbs, state);
            }
        }
    }

    /// <summary>Fills each buffer with a full rollout (T new steps).</summary>
    public void FillRollout(int numSteps, params RolloutBuffer[] buffers)
    {
        NewRollout();
        for (int t = 0; t < numSteps; t++)
        {
            AddTo(Next(), buffers);
        }
    }

    private float[] StateValues(RecurrentStatePart part, int index, int n)
    {
        int size = (int)part.RowSize;
        var values = new float[n * size];
        for (int e = 0; e < n; e++)
        {
            for (int k = 0; k < size; k++)
            {
                values[e * size + k] = (index + 1) * 1000 + e * 100 + _globalStep + k / 64f;
            }
        }

        return values;
    }
}

/// <summary>Reference computations of advantages, written independently of the buffer.</summary>
internal static class GaeReference
{
    /// <summary>
    /// Forward sums over each episode segment: A_t = Σ_k (γλ)^(k−t) δ_k up to the segment's end (an ended step or the
    /// rollout's last step), with each δ's bootstrap looked up explicitly: the value of the env's next step when the
    /// episode goes on, V(F) at a truncation (the pseudo-step's value, or the last value), 0 at a termination.
    /// </summary>
    public static double[,] ForwardSums(IReadOnlyList<RolloutStep> steps, float[] lastValues, double gamma, double lambda)
    {
        int tCount = steps.Count;
        int n = lastValues.Length;
        var result = new double[tCount, n];
        for (int e = 0; e < n; e++)
        {
            double Delta(int k)
            {
                RolloutStep s = steps[k];
                double next = k + 1 < tCount ? steps[k + 1].Values[e] : lastValues[e];
                double bootstrap = s.Terminated[e] ? 0 : next;
                return s.Rewards[e] + gamma * bootstrap - s.Values[e];
            }

            for (int t = 0; t < tCount; t++)
            {
                if (steps[t].Pseudo[e])
                {
                    continue;
                }

                double sum = 0, weight = 1;
                for (int k = t; k < tCount; k++)
                {
                    sum += weight * Delta(k);
                    if (steps[k].Terminated[e] || steps[k].Truncated[e])
                    {
                        break;
                    }

                    weight *= gamma * lambda;
                }

                result[t, e] = sum;
            }
        }

        return result;
    }

    /// <summary>
    /// Stable-Baselines3's method: its vector env autoresets in the same step (no pseudo-steps), and a truncation adds
    /// γ·V(terminal observation) to the reward. Each env's stream is compacted to its real steps, rewards are augmented,
    /// and SB3's <c>compute_returns_and_advantage</c> loop runs over it (episode_starts[k+1] = done_k;
    /// at the end: 1 − dones, last_values).
    /// </summary>
    public static double[,] StableBaselines3(IReadOnlyList<RolloutStep> steps, float[] lastValues, double gamma, double lambda)
    {
        int tCount = steps.Count;
        int n = lastValues.Length;
        var result = new double[tCount, n];
        for (int e = 0; e < n; e++)
        {
            var at = new List<int>();
            var rewards = new List<double>();
            var values = new List<double>();
            var dones = new List<bool>();
            for (int t = 0; t < tCount; t++)
            {
                RolloutStep s = steps[t];
                if (s.Pseudo[e])
                {
                    continue;
                }

                double r = s.Rewards[e];
                if (s.Truncated[e] && !s.Terminated[e])
                {
                    // SB3: terminal_value = V(infos[idx]["terminal_observation"]); rewards[idx] += gamma * terminal_value.
                    double terminalValue = t + 1 < tCount ? steps[t + 1].Values[e] : lastValues[e];
                    r += gamma * terminalValue;
                }

                at.Add(t);
                rewards.Add(r);
                values.Add(s.Values[e]);
                dones.Add(s.Terminated[e] || s.Truncated[e]);
            }

            int m = at.Count;
            double lastGae = 0;
            for (int k = m - 1; k >= 0; k--)
            {
                double nextNonTerminal, nextValue;
                if (k == m - 1)
                {
                    nextNonTerminal = dones[k] ? 0 : 1;
                    nextValue = lastValues[e];
                }
                else
                {
                    nextNonTerminal = dones[k] ? 0 : 1;   // = 1 − episode_starts[k + 1]
                    nextValue = values[k + 1];
                }

                double delta = rewards[k] + gamma * nextValue * nextNonTerminal - values[k];
                lastGae = delta + gamma * lambda * nextNonTerminal * lastGae;
                result[at[k], e] = lastGae;
            }
        }

        return result;
    }
}

/// <summary>Reads a <see cref="RolloutBuffer"/>'s computed columns and batches back to the host.</summary>
internal static class RolloutAssert
{
    public static float[] Column(RolloutBuffer buffer, int column)
    {
        RolloutSnapshot s = buffer.Snapshot();
        int w = buffer.Table.Width;
        return Enumerable.Range(0, s.Table.Length / w).Select(i => s.Table[i * w + column]).ToArray();
    }

    public static float[] Advantages(RolloutBuffer buffer) => Column(buffer, buffer.Table.AdvantageColumn);

    public static float[] Returns(RolloutBuffer buffer) => Column(buffer, buffer.Table.ReturnColumn);

    public static float[] Floats(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.contiguous().to(torch.CPU).data<float>().ToArray();
    }

    public static long[] Longs(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.contiguous().to(torch.CPU).data<long>().ToArray();
    }

    /// <summary>Snapshots compare equal field by field.</summary>
    public static void Same(RolloutSnapshot expected, RolloutSnapshot actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.ValidCount, actual.ValidCount);
        Assert.Equal(expected.Computed, actual.Computed);
        Assert.Equal(expected.Table, actual.Table);
        Assert.Equal(expected.Rewards, actual.Rewards);
        Assert.Equal(expected.Terminated, actual.Terminated);
        Assert.Equal(expected.Truncated, actual.Truncated);
        Assert.Equal(expected.Valid, actual.Valid);
        Assert.Equal(expected.EpisodeStarts, actual.EpisodeStarts);
        Assert.Equal(expected.PreviousEnded, actual.PreviousEnded);
        Assert.Equal(expected.NextStartsEpisode, actual.NextStartsEpisode);
        Assert.Equal(expected.Generator, actual.Generator);
        Assert.Equal(expected.States.Count, actual.States.Count);
        for (int i = 0; i < expected.States.Count; i++)
        {
            Assert.Equal(expected.States[i], actual.States[i]);
        }
    }

    public static RecurrentStateSpec LstmSpec(int hidden = 3) =>
        new([new RecurrentStatePart("h", [hidden], ScalarType.Float32), new RecurrentStatePart("c", [hidden], ScalarType.Float32)]);
}
