namespace RlMemory.Environments.Wrappers;

/// <summary>
/// Turns a continuous-action environment into a discrete one: action <c>i</c> applies the <c>i</c>-th of a fixed set
/// of continuous actions. With <c>bins</c> per dimension the set is the grid of evenly spaced values from low to high
/// (both included) in every dimension, the first dimension varying slowest; e.g. Pendulum with 5 bins applies torques
/// −2, −1, 0, 1, 2. Lets discrete-action agents (DQN) act on Pendulum.
/// </summary>
public sealed class DiscretizeAction : Wrapper<int, float[]>
{
    private readonly float[][] _actions;
    private readonly Discrete _space;

    /// <summary>Wraps <paramref name="inner"/> with <paramref name="bins"/> values per action dimension.</summary>
    public DiscretizeAction(IEnv<float[]> inner, int bins)
        : this(inner, Grid(inner, bins))
    {
    }

    /// <summary>Wraps <paramref name="inner"/> with an explicit list of continuous actions.</summary>
    public DiscretizeAction(IEnv<float[]> inner, IReadOnlyList<float[]> actions)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Count == 0)
        {
            throw new ArgumentException($"{inner.Name}: DiscretizeAction needs at least one action.", nameof(actions));
        }

        _actions = new float[actions.Count][];
        for (int i = 0; i < actions.Count; i++)
        {
            if (!inner.ActionSpace.Contains(actions[i]))
            {
                throw new ArgumentException(
                    $"{inner.Name}: DiscretizeAction action {i} ({(actions[i] is null ? "null" : Box.FormatArray(actions[i]))}) is not in the action space {inner.ActionSpace}.",
                    nameof(actions));
            }

            _actions[i] = (float[])actions[i].Clone();
        }

        _space = new Discrete(_actions.Length);
    }

    /// <inheritdoc />
    public override Space<int> ActionSpace => _space;

    /// <summary>The continuous action applied for discrete action <paramref name="index"/> (a copy).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in <see cref="ActionSpace"/>.</exception>
    public float[] ContinuousAction(int index) =>
        _space.Contains(index)
            ? (float[])_actions[index].Clone()
            : throw new ArgumentOutOfRangeException(
                nameof(index), index, $"{Name}: DiscretizeAction has no action {index}; allowed: {_space.DescribeAllowed()}.");

    /// <inheritdoc />
    public override StepResult Step(int action, Span<float> observation)
    {
        if (!_space.Contains(action))
        {
            throw new ArgumentException(
                $"{Name}: action {action} is not in the action space {_space}; allowed: {_space.DescribeAllowed()}.", nameof(action));
        }

        return Inner.Step(_actions[action], observation);
    }

    private static float[][] Grid(IEnv<float[]> inner, int bins)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner.ActionSpace is not Box box)
        {
            throw new ArgumentException($"{inner.Name}: DiscretizeAction with bins needs a Box action space, got {inner.ActionSpace}.", nameof(inner));
        }

        if (bins < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(bins), bins, $"{inner.Name}: DiscretizeAction needs at least 2 bins per dimension.");
        }

        if (!box.IsBounded)
        {
            throw new ArgumentException($"{inner.Name}: DiscretizeAction with bins needs a bounded action space, got {box}.", nameof(inner));
        }

        double count = Math.Pow(bins, box.Size);
        if (count > 1 << 20)
        {
            throw new ArgumentException(
                $"{inner.Name}: {bins} bins in each of {box.Size} dimensions gives {count} actions; pass fewer bins or an explicit action list.", nameof(bins));
        }

        var actions = new float[(int)count][];
        for (int i = 0; i < actions.Length; i++)
        {
            var a = new float[box.Size];
            int rest = i;
            for (int d = box.Size - 1; d >= 0; d--)
            {
                int k = rest % bins;
                rest /= bins;
                double low = box.Low[d], high = box.High[d];
                a[d] = k == bins - 1 ? (float)high : (float)(low + (high - low) * k / (bins - 1));
            }

            actions[i] = a;
        }

        return actions;
    }
}
