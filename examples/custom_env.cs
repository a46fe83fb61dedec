#:project ../Environments/RlMemory.Environments.csproj
// Plug your own environment into RlMemory: derive from Env<TAction>, register it, and it works everywhere a
// built-in environment does (registry, wrappers, vector environments, trainers).
//
//   dotnet run examples/custom_env.cs
using RlMemory.Environments;
using RlMemory.Environments.Vector;

// 1. Register: an id, a factory taking the merged options, the options it accepts (with defaults), a time limit.
EnvRegistry.Register(
    "GridWalk-v0",
    options => new GridWalk(options.GetInt("size")),
    new EnvOptions { { "size", 7 } },
    maxEpisodeSteps: 50,
    description: "Walk left or right along a corridor to the goal at its right end.");

// 2. Make it like any built-in environment (options override the defaults; unknown ones are refused).
using IEnv<int> env = EnvRegistry.Make<int>("GridWalk-v0", new EnvOptions { { "size", 5 } });
var (observation, _) = env.Reset(seed: 42);
Console.WriteLine($"{env.Name}: observation space {env.ObservationSpace}, action space {env.ActionSpace}, first observation [{string.Join(", ", observation)}]");

// 3. Run 8 copies in a vector environment: observations land in one contiguous buffer [8 × 1].
using VectorEnv<int> vector = EnvRegistry.MakeVector<int>("GridWalk-v0", numEnvs: 8);
vector.Reset(seed: 0);
var rng = new NumpyRandom(0);
var actions = new int[vector.NumEnvs];
int finished = 0;
for (int step = 0; step < 200; step++)
{
    for (int i = 0; i < actions.Length; i++)
    {
        actions[i] = vector.SingleActionSpace.Sample(rng);
    }

    vector.Step(actions);
    for (int i = 0; i < vector.NumEnvs; i++)
    {
        finished += vector.Terminations[i] ? 1 : 0;
    }
}

Console.WriteLine($"{vector}: {finished} episodes reached the goal in 200 vector steps of random walking.");

/// <summary>A corridor of <c>size</c> cells; the agent starts in a random cell and is rewarded at the right end.</summary>
sealed class GridWalk : Env<int>
{
    private readonly int _size;
    private int _position;

    public GridWalk(int size)
        : base(new Box(0f, 1f, 1), new Discrete(2))
    {
        if (size < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "GridWalk: size must be at least 2.");
        }

        _size = size;
    }

    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        _position = (int)Rng.Integers(0, _size - 1); // Rng is seeded by Reset(seed), numpy-compatible
        observation[0] = (float)_position / (_size - 1);
        return Info.Empty;
    }

    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _position = Math.Clamp(_position + (action == 1 ? 1 : -1), 0, _size - 1);
        observation[0] = (float)_position / (_size - 1);
        bool atGoal = _position == _size - 1;
        return new StepResult(atGoal ? 1.0 : -0.01, terminated: atGoal, truncated: false);
    }
}
