using RlMemory.Environments;

namespace RlMemory.Tests.Training;

/// <summary>Small environments with Box actions for the SAC and TD3 tests.</summary>
internal static class ContinuousTestEnvs
{
    /// <summary>Records every action it gets; its Box is [−3, 1] × [0, 5].</summary>
    internal sealed class BoxRecorder(List<float[]> seen) : Env<float[]>(new Box(-1f, 1f, 2), new Box(Low, High))
    {
        public static readonly float[] Low = [-3f, 0f];
        public static readonly float[] High = [1f, 5f];

        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            observation.Clear();
            return Info.Empty;
        }

        protected override StepResult StepCore(float[] action, Span<float> observation)
        {
            seen.Add([.. action]);
            observation[0] = action[0] / 3f;
            observation[1] = action[1] / 5f;
            return new StepResult(-Math.Abs(action[0] + 1), false, false);
        }
    }

    internal sealed class Unbounded() : Env<float[]>(new Box(-1f, 1f, 1), new Box(float.NegativeInfinity, float.PositiveInfinity, 1))
    {
        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            observation.Clear();
            return Info.Empty;
        }

        protected override StepResult StepCore(float[] action, Span<float> observation) => new(0, false, false);
    }

    /// <summary>Rewards −|a| until its <c>after</c>-th step of its lifetime, then <c>reward</c> (e.g. NaN); no fixed end.</summary>
    internal sealed class RewardAfter(int after, double reward) : Env<float[]>(new Box(0f, 1f, 1), new Box(-1f, 1f, 1))
    {
        private int _lifetime;

        protected override Info ResetCore(Span<float> observation, EnvOptions? options)
        {
            observation[0] = 0;
            return Info.Empty;
        }

        protected override StepResult StepCore(float[] action, Span<float> observation)
        {
            _lifetime++;
            observation[0] = (_lifetime % 100) / 100f;
            return new StepResult(_lifetime > after ? reward : -Math.Abs(action[0]), false, false);
        }
    }
}
