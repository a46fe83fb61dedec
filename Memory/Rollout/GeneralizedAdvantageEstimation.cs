namespace RlMemory.Memory;

/// <summary>
/// GAE(λ) (Schulman et al., 2016) over a rollout of T steps × N environments with NEXT_STEP autoreset pseudo-steps,
/// computed on the host in double. Entries are laid out step-major: entry <c>t · N + n</c>.
/// </summary>
/// <remarks>
/// For each valid entry, with V_{t+1} the value stored at step t + 1 (<c>lastValues</c> at t = T − 1):
/// <code>
/// δ_t = r_t + γ · V_{t+1} · (1 − terminated_t) − V_t
/// A_t = δ_t + γλ · (1 − done_t) · A_{t+1}        done_t = terminated_t ∨ truncated_t
/// R_t = A_t + V_t
/// </code>
/// After a truncation at t, step t + 1 is the environment's pseudo-step, whose observation is the final observation F
/// and whose value is V(F): the bootstrap. A pseudo-step (invalid entry) gets A = 0 and R = V, so an unmasked use of
/// it adds nothing to a policy or value loss; nothing it holds reaches a valid entry (the entry before it ended).
/// </remarks>
internal static class GeneralizedAdvantageEstimation
{
    /// <summary>Computes advantages and returns (see the class remarks).</summary>
    public static void Compute(
        int numSteps,
        int numEnvs,
        double gamma,
        double lambda,
        ReadOnlySpan<double> rewards,
        ReadOnlySpan<float> values,
        ReadOnlySpan<float> lastValues,
        ReadOnlySpan<bool> terminated,
        ReadOnlySpan<bool> truncated,
        ReadOnlySpan<bool> valid,
        Span<double> nextAdvantage,
        Span<double> advantages,
        Span<double> returns)
    {
        double gl = gamma * lambda;
        nextAdvantage[..numEnvs].Clear();
        for (int t = numSteps - 1; t >= 0; t--)
        {
            int row = t * numEnvs;
            for (int n = 0; n < numEnvs; n++)
            {
                int i = row + n;
                double v = values[i];
                if (!valid[i])
                {
                    advantages[i] = 0;
                    returns[i] = v;
                    nextAdvantage[n] = 0;
                    continue;
                }

                double next = t == numSteps - 1 ? lastValues[n] : values[i + numEnvs];
                double delta = rewards[i] + (terminated[i] ? 0 : gamma * next) - v;
                double a = terminated[i] || truncated[i] ? delta : delta + gl * nextAdvantage[n];
                advantages[i] = a;
                returns[i] = a + v;
                nextAdvantage[n] = a;
            }
        }
    }

    /// <summary>
    /// Normalizes the valid advantages in place to mean 0 and (unbiased) standard deviation 1:
    /// <c>(A − mean) / (std + ε)</c>. With fewer than two valid entries nothing changes (as SB3 does per minibatch).
    /// </summary>
    public static void Normalize(Span<double> advantages, ReadOnlySpan<bool> valid, double epsilon)
    {
        long count = 0;
        double sum = 0;
        for (int i = 0; i < advantages.Length; i++)
        {
            if (valid[i])
            {
                count++;
                sum += advantages[i];
            }
        }

        if (count < 2)
        {
            return;
        }

        double mean = sum / count;
        double squares = 0;
        for (int i = 0; i < advantages.Length; i++)
        {
            if (valid[i])
            {
                double d = advantages[i] - mean;
                squares += d * d;
            }
        }

        double scale = 1 / (Math.Sqrt(squares / (count - 1)) + epsilon);
        for (int i = 0; i < advantages.Length; i++)
        {
            advantages[i] = valid[i] ? (advantages[i] - mean) * scale : 0;
        }
    }
}
