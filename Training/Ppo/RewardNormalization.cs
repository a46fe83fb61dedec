using System.Runtime.InteropServices;

namespace RlMemory.Training.Ppo;

/// <summary>
/// Stable-Baselines3's <c>VecNormalize</c> reward scaling (<c>norm_reward</c>), shared by a run's environments: each
/// environment keeps a discounted return G ← γ·G + r, the running variance of the returns of all environments is
/// updated with them every step, and the reward learned from is r / √(var + 1e-8), clipped to ±10; G restarts at 0 when
/// an episode ends. The autoreset step that follows an ended episode (reward 0, not learned from) neither updates the
/// statistics nor is scaled. The episode returns the run reports stay the environments' own.
/// </summary>
internal sealed class RewardNormalization
{
    /// <summary>SB3's <c>clip_reward</c>.</summary>
    public const double Clip = 10;

    /// <summary>SB3's <c>epsilon</c>.</summary>
    public const double Epsilon = 1e-8;

    private readonly double _gamma;
    private readonly RunningMeanStd _statistics = new(1);
    private readonly double[] _returns;
    private readonly bool[] _ended;
    private readonly float[] _batch;
    private readonly double[] _scaled;

    /// <summary>Scaling for <paramref name="environments"/> environments discounting with <paramref name="gamma"/>.</summary>
    public RewardNormalization(int environments, double gamma)
    {
        _gamma = gamma;
        _returns = new double[environments];
        _ended = new bool[environments];
        _batch = new float[environments];
        _scaled = new double[environments];
    }

    /// <summary>The running variance of the discounted returns.</summary>
    public double Variance => _statistics.Variance[0];

    /// <summary>Every environment starts a new episode (the run (re)started its environments).</summary>
    public void Restart()
    {
        Array.Clear(_returns);
        Array.Clear(_ended);
    }

    /// <summary>The scaled rewards of one vector step (valid until the next call), updating the statistics first.</summary>
    public ReadOnlySpan<double> Scale(ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminations, ReadOnlySpan<bool> truncations)
    {
        int n = 0;
        for (int e = 0; e < _returns.Length; e++)
        {
            if (!_ended[e])
            {
                _returns[e] = (_returns[e] * _gamma) + rewards[e];
                _batch[n++] = (float)_returns[e];
            }
        }

        _statistics.Update(_batch.AsSpan(0, n));
        double scale = 1 / Math.Sqrt(Variance + Epsilon);
        for (int e = 0; e < _returns.Length; e++)
        {
            bool pseudo = _ended[e];
            _scaled[e] = pseudo ? rewards[e] : Math.Clamp(rewards[e] * scale, -Clip, Clip);
            _ended[e] = !pseudo && (terminations[e] || truncations[e]);
            if (_ended[e] || pseudo)
            {
                _returns[e] = 0;
            }
        }

        return _scaled;
    }

    /// <summary>The state as bytes (statistics, returns, ended flags), for checkpoints.</summary>
    public byte[] Export()
    {
        byte[] statistics = _statistics.Export();
        byte[] returns = MemoryMarshal.AsBytes(_returns.AsSpan()).ToArray();
        byte[] ended = [.. _ended.Select(b => b ? (byte)1 : (byte)0)];
        return [.. statistics, .. returns, .. ended];
    }

    /// <summary>Restores what <see cref="Export"/> gave.</summary>
    /// <exception cref="InvalidDataException">The bytes do not fit this run's environments.</exception>
    public void Import(ReadOnlySpan<byte> bytes)
    {
        int statistics = _statistics.Export().Length, returns = _returns.Length * sizeof(double);
        if (bytes.Length != statistics + returns + _ended.Length)
        {
            throw new InvalidDataException($"RewardNormalization: the saved state has {bytes.Length} bytes; expected {statistics + returns + _ended.Length} for {_returns.Length} environments.");
        }

        _statistics.Import(bytes[..statistics]);
        MemoryMarshal.Cast<byte, double>(bytes.Slice(statistics, returns)).CopyTo(_returns);
        for (int e = 0; e < _ended.Length; e++)
        {
            _ended[e] = bytes[statistics + returns + e] != 0;
        }
    }
}
