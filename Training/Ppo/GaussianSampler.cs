namespace RlMemory.Training.Ppo;

/// <summary>
/// Draws PPO's continuous actions on the host from the network's Gaussian outputs (see
/// <c>ActorCriticNetwork.PolicyWidth</c>), with their log-probabilities: a = μ + σ·z with z ~ N(0, I) for the
/// <c>gaussian</c> distribution; for <c>gsde</c>, a = μ + latentᵀ·E with one exploration matrix E ~ N(0, exp(log std))
/// per environment, drawn again by <see cref="ResetNoise"/> (Raffin et al. 2022; SB3 draws it at each rollout's start
/// and every <c>sde_sample_freq</c> steps). The generator (xoshiro256**) and the matrices are the sampler's state, so a
/// resumed run draws what the uninterrupted one would.
/// </summary>
internal sealed class GaussianSampler
{
    private readonly CategoricalSampler _generator;
    private readonly int _environments;
    private readonly int _actionSize;
    private readonly int _latentWidth;
    private readonly float[] _exploration;

    /// <summary>A sampler for <paramref name="environments"/> environments and actions of <paramref name="actionSize"/> floats (<paramref name="latentWidth"/>: gSDE's latent width; 0 for a state-independent Gaussian).</summary>
    public GaussianSampler(ulong seed, int environments, int actionSize, int latentWidth)
    {
        _generator = new CategoricalSampler(seed);
        _environments = environments;
        _actionSize = actionSize;
        _latentWidth = latentWidth;
        _exploration = new float[environments * latentWidth * actionSize];
    }

    /// <summary>Whether actions are drawn with gSDE's exploration matrices.</summary>
    public bool StateDependent => _latentWidth > 0;

    /// <summary>
    /// Draws one action per environment from <paramref name="policy"/> (N × width: the means, the log standard deviations,
    /// and for gSDE the latent features) into <paramref name="actions"/> (N × d, not clipped to any bounds) and
    /// log π(a|s) into <paramref name="logProbs"/> (N).
    /// </summary>
    public void Sample(ReadOnlySpan<float> policy, Span<float> actions, Span<float> logProbs)
    {
        int d = _actionSize;
        int width = policy.Length / _environments;
        for (int e = 0; e < _environments; e++)
        {
            ReadOnlySpan<float> row = policy.Slice(e * width, width);
            double logProb = 0;
            for (int a = 0; a < d; a++)
            {
                double mean = row[a], logStd = row[d + a];
                double noise;
                if (StateDependent)
                {
                    // latentᵀ · E: this environment's matrix, latent width × d, row-major.
                    ReadOnlySpan<float> latent = row.Slice(2 * d, _latentWidth);
                    ReadOnlySpan<float> matrix = _exploration.AsSpan(e * _latentWidth * d, _latentWidth * d);
                    noise = 0;
                    for (int k = 0; k < _latentWidth; k++)
                    {
                        noise += (double)latent[k] * matrix[(k * d) + a];
                    }
                }
                else
                {
                    noise = Math.Exp(logStd) * NextGaussian();
                }

                float action = (float)(mean + noise);
                actions[(e * d) + a] = action;
                double z = (action - mean) * Math.Exp(-logStd);
                logProb += (-0.5 * z * z) - logStd - PpoLoss.LogSqrtTwoPi;
            }

            logProbs[e] = (float)logProb;
        }
    }

    /// <summary>Draws each environment's exploration matrix anew from N(0, <paramref name="std"/>) (latent width × d, row-major; gSDE only).</summary>
    public void ResetNoise(ReadOnlySpan<float> std)
    {
        if (!StateDependent)
        {
            return;
        }

        if (std.Length != _latentWidth * _actionSize)
        {
            throw new ArgumentException($"GaussianSampler: {std.Length} standard deviations for a {_latentWidth} × {_actionSize} exploration matrix.", nameof(std));
        }

        for (int e = 0; e < _environments; e++)
        {
            for (int i = 0; i < std.Length; i++)
            {
                _exploration[(e * std.Length) + i] = (float)(std[i] * NextGaussian());
            }
        }
    }

    /// <summary>A standard normal number (Box–Muller on two uniforms, u₁ in (0, 1]).</summary>
    public double NextGaussian()
    {
        double u1 = 1 - _generator.NextDouble();
        double u2 = _generator.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>The generator's state.</summary>
    public byte[] ExportState() => _generator.ExportState();

    /// <summary>gSDE's exploration matrices (empty without gSDE).</summary>
    public float[] ExportExploration() => [.. _exploration];

    /// <summary>Restores what <see cref="ExportState"/> and <see cref="ExportExploration"/> gave.</summary>
    /// <exception cref="InvalidDataException">The state or the matrices do not fit this sampler.</exception>
    public void ImportState(ReadOnlySpan<byte> state, float[]? exploration)
    {
        if ((exploration?.Length ?? 0) != _exploration.Length)
        {
            throw new InvalidDataException($"GaussianSampler: {_exploration.Length} exploration weights expected, the checkpoint has {exploration?.Length ?? 0}.");
        }

        _generator.ImportState(state);
        exploration?.CopyTo(_exploration, 0);
    }
}
