using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory.Sequence;

/// <summary>
/// Every refused call names the buffer and the offending value, and leaves the buffer unchanged: contents, partial
/// sequences, snapshots, priorities and generator state (compared through a full save).
/// </summary>
public sealed class SequenceBadInputTests : IDisposable
{
    private const string BufferName = "SequenceReplayBuffer(capacity 30, T 2+2, overlap 2, obs [3]";
    private readonly SequenceReplayBuffer _buffer;
    private readonly string _before;

    public SequenceBadInputTests()
    {
        SequenceReplayOptions options = Options(prioritized: true);
        _buffer = new SequenceReplayBuffer(options);
        // Env 0 runs on; env 1 ends after 3 steps. After 6 steps both start a sequence at the next step (env 0 at its
        // step 6, env 1 at step 2 of its second episode), and sequences are open.
        var driver = new SequenceDriver(new ScriptedVectorEnv(0, [(100, EpisodeEnd.Terminated)], [(3, EpisodeEnd.Terminated)]), options);
        for (int g = 0; g < 6; g++)
        {
            driver.Step(_buffer);
        }

        Assert.True(_buffer.Count > 0);
        Assert.True(_buffer.Cutter.StartsSequence(0) && _buffer.Cutter.StartsSequence(1));
        _before = SequenceAssert.Fingerprint(_buffer);
    }

    public void Dispose() => _buffer.Dispose();

    private static SequenceReplayOptions Options(bool prioritized = false, bool continuous = false, bool bytes = false) => new()
    {
        Capacity = 30,
        BurnIn = 2,
        LearningLength = 2,
        Overlap = 2,
        ObservationShape = [3],
        ObservationStorage = bytes ? ObservationStorage.UInt8 : ObservationStorage.Float32,
        Action = continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
        NumEnvs = 2,
        StateSpec = SequenceDriver.Spec,
        Prioritized = prioritized,
        Priority = new PriorityOptions { Alpha = 0.9 },
    };

    /// <summary>A valid step for the fixture (both envs real).</summary>
    private sealed class Step
    {
        public float[] Obs { get; set; } = [0, 0, 5, 1, 1, 0];

        public float[] Next { get; set; } = [0, 0, 6, 1, 1, 1];

        public int[] Actions { get; set; } = [1, 2];

        public double[] Rewards { get; set; } = [0.5, 1.5];

        public bool[] Terminated { get; set; } = [false, false];

        public bool[] Truncated { get; set; } = [false, false];

        public Func<RecurrentState> State { get; set; } = () => new RecurrentState([("h", ones(2, 2)), ("c", zeros(2, 2))]);

        public void AddTo(SequenceReplayBuffer buffer)
        {
            using RecurrentState state = State();
            buffer.AddStep(Obs, Actions, Rewards, Terminated, Truncated, Next, state);
        }
    }

    private void AssertRefused<TException>(Action call, params string[] fragments)
        where TException : Exception
    {
        TException e = Assert.Throws<TException>(call);
        Assert.Contains(BufferName, e.Message);
        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, e.Message);
        }

        Assert.Equal(_before, SequenceAssert.Fingerprint(_buffer));
    }

    [Fact]
    public void TheFixtureAcceptsTheValidStep()
    {
        new Step().AddTo(_buffer);
        Assert.NotEqual(_before, SequenceAssert.Fingerprint(_buffer));
    }

    [Theory]
    [InlineData("observations", "needs 6 values in observations (2 envs × 3), got 5")]
    [InlineData("nextObservations", "needs 6 values in nextObservations (2 envs × 3), got 5")]
    [InlineData("actions", "needs 2 values in actions (one per env, 2 envs), got 1")]
    [InlineData("rewards", "needs 2 values in rewards (one per env, 2 envs), got 1")]
    [InlineData("terminated", "needs 2 values in terminated")]
    [InlineData("truncated", "needs 2 values in truncated")]
    public void AddStep_WithAWrongLength_IsRefused(string argument, string message)
    {
        var step = new Step();
        switch (argument)
        {
            case "observations":
                step.Obs = step.Obs[..5];
                break;
            case "nextObservations":
                step.Next = step.Next[..5];
                break;
            case "actions":
                step.Actions = step.Actions[..1];
                break;
            case "rewards":
                step.Rewards = step.Rewards[..1];
                break;
            case "terminated":
                step.Terminated = step.Terminated[..1];
                break;
            default:
                step.Truncated = step.Truncated[..1];
                break;
        }

        AssertRefused<ArgumentException>(() => step.AddTo(_buffer), message);
    }

    [Theory]
    [InlineData("observations", 4, float.NaN, "observations[4] (env 1, element 1) is NaN")]
    [InlineData("nextObservations", 2, float.PositiveInfinity, "nextObservations[2] (env 0, element 2) is +infinity")]
    [InlineData("rewards", 1, double.NaN, "rewards[1] (env 1) is NaN")]
    [InlineData("rewards", 0, 1e300, "does not fit float32")]
    [InlineData("actions", 1, 16777217, "actions[1] (env 1) = 16777217")]
    public void AddStep_WithABadValue_IsRefused(string argument, int index, double value, string message)
    {
        var step = new Step();
        switch (argument)
        {
            case "observations":
                step.Obs[index] = (float)value;
                break;
            case "nextObservations":
                step.Next[index] = (float)value;
                break;
            case "rewards":
                step.Rewards[index] = value;
                break;
            default:
                step.Actions[index] = (int)value;
                break;
        }

        AssertRefused<ArgumentException>(() => step.AddTo(_buffer), message);
    }

    [Fact]
    public void AddStep_WithFloatActionsForADiscreteBuffer_IsRefused()
    {
        var step = new Step();
        using RecurrentState state = step.State();
        AssertRefused<ArgumentException>(() => _buffer.AddStep(step.Obs, new float[] { 1, 2 }, step.Rewards, step.Terminated, step.Truncated, step.Next, state), "got float actions");
    }

    public static TheoryData<string, string> BadStates() => new()
    {
        { "name", "has layout {h [2] Float32, x [2] Float32}, but the buffer stores {h [2] Float32, c [2] Float32}" },
        { "shape", "has layout {h [3] Float32, c [2] Float32}" },
        { "dtype", "has layout {h [2] Float64, c [2] Float32}" },
        { "parts", "has layout {h [2] Float32}" },
        { "rows", "has 3 rows; it needs one per environment (2)" },
        { "nan", "stateBeforeStep part 'c' of env 1 (element 1) is NaN" },
        { "inf-strided", "stateBeforeStep part 'h' of env 0 (element 0) is +infinity" },
    };

    [Theory]
    [MemberData(nameof(BadStates))]
    public void AddStep_WithAStateOfAnotherLayoutOrNonFiniteAtASequenceStart_IsRefused(string kind, string message)
    {
        var step = new Step
        {
            State = kind switch
            {
                "name" => () => new RecurrentState([("h", ones(2, 2)), ("x", ones(2, 2))]),
                "shape" => () => new RecurrentState([("h", ones(2, 3)), ("c", ones(2, 2))]),
                "dtype" => () => new RecurrentState([("h", ones(2, 2, ScalarType.Float64)), ("c", ones(2, 2))]),
                "parts" => () => new RecurrentState([("h", ones(2, 2))]),
                "rows" => () => new RecurrentState([("h", ones(3, 2)), ("c", ones(3, 2))]),
                "nan" => () => new RecurrentState([("h", ones(2, 2)), ("c", tensor(new float[] { 0, 0, 0, float.NaN }, [2, 2]))]),
                _ => () => new RecurrentState([("h", tensor(new float[] { float.PositiveInfinity, 0, 0, 0 }, [2, 2]).t()), ("c", ones(2, 2))]),
            },
        };

        AssertRefused<ArgumentException>(() => step.AddTo(_buffer), "stateBeforeStep", message);
    }

    [Fact]
    public void AddStep_WithoutAState_IsRefused()
    {
        var step = new Step();
        Assert.Throws<ArgumentNullException>(() => _buffer.AddStep(step.Obs, step.Actions, step.Rewards, step.Terminated, step.Truncated, step.Next, null!));
        Assert.Equal(_before, SequenceAssert.Fingerprint(_buffer));
    }

    [Fact]
    public void AddStep_ToAContinuousBuffer_RefusesNonFiniteActionsAndIntegerActions()
    {
        using var buffer = new SequenceReplayBuffer(Options(continuous: true));
        using var state = new RecurrentState([("h", ones(2, 2)), ("c", ones(2, 2))]);
        float[] obs = new float[6];
        var e = Assert.Throws<ArgumentException>(() => buffer.AddStep(obs, new float[] { 0, 1, float.NaN, 0 }, [0.0, 0.0], [false, false], [false, false], obs, state));
        Assert.Contains("actions[2] (env 1, element 0) is NaN", e.Message);
        Assert.Contains("got integer actions", Assert.Throws<ArgumentException>(() => buffer.AddStep(obs, new[] { 0, 1 }, [0.0, 0.0], [false, false], [false, false], obs, state)).Message);
        Assert.Equal(0, buffer.Cutter.EpisodeSteps[0]);
    }

    [Fact]
    public void AddStep_ToAByteBuffer_RefusesObservationsOutsideTheByteRange()
    {
        using var buffer = new SequenceReplayBuffer(Options(bytes: true));
        using var state = new RecurrentState([("h", ones(2, 2)), ("c", ones(2, 2))]);
        float[] obs = [0, 0, 0, 0, 256, 0];
        var e = Assert.Throws<ArgumentException>(() => buffer.AddStep(obs, new[] { 0, 1 }, [0.0, 0.0], [false, false], [false, false], new float[6], state));
        Assert.Contains("observations[4] (env 1, element 1) = 256 is outside [0, 255]", e.Message);
        Assert.Equal(0, buffer.Cutter.EpisodeSteps[1]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Sample_WithANonPositiveBatchSize_IsRefused(int batchSize) =>
        AssertRefused<ArgumentOutOfRangeException>(() => _buffer.Sample(batchSize), $"the batch size must be at least 1, got {batchSize}");

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.1, "-0.1")]
    public void Sample_WithBetaOutsideZeroOne_IsRefused(double beta, string shown) =>
        AssertRefused<ArgumentOutOfRangeException>(() => _buffer.Sample(1, beta), $"beta must be in [0, 1], got {shown}");

    [Fact]
    public void Sample_MoreThanStored_IsRefused_NamingBothCounts() =>
        AssertRefused<InvalidOperationException>(() => _buffer.Sample(_buffer.Count + 1), $"cannot sample {_buffer.Count + 1} sequences: the buffer holds {_buffer.Count}");

    [Fact]
    public void Sample_FromAnEmptyBuffer_IsRefused()
    {
        using var empty = new SequenceReplayBuffer(Options());
        var e = Assert.Throws<InvalidOperationException>(() => empty.Sample(1));
        Assert.Contains("cannot sample 1 sequences from an empty buffer", e.Message);
        Assert.Contains("SequenceReplayBuffer(capacity 30", e.Message);
    }

    [Fact]
    public void UpdatePriorities_OnAUniformBuffer_IsRefused()
    {
        using var uniform = new SequenceReplayBuffer(Options());
        using Tensor indices = tensor(new long[] { 0 });
        using Tensor td = zeros(1, 2);
        Assert.Contains("keeps no priorities", Assert.Throws<InvalidOperationException>(() => uniform.UpdatePriorities(indices, td, td)).Message);
    }

    public static TheoryData<string, string> BadUpdates() => new()
    {
        { "nan", "tdErrors[1, 1] is NaN at a valid step" },
        { "inf", "tdErrors[0, 0] is −infinity at a valid step" },
        { "mask-value", "mask[1, 0] = 2; mask values must be 0 or 1" },
        { "mask-nan", "mask[0, 1] = NaN" },
        { "td-shape", "tdErrors has shape [2, 3]; expected [2, 2]" },
        { "mask-shape", "mask has shape [2]; expected [2, 2]" },
        { "batch", "tdErrors has shape [2, 2]; expected [3, 2]" },
        { "td-int", "tdErrors must be a floating-point tensor" },
        { "mask-int", "mask must be a bool or floating-point tensor" },
        { "index-negative", "index -1 (position 1 in the batch) is out of range" },
        { "index-capacity", "index 30 (position 0 in the batch) is out of range" },
        { "index-empty", "holds no sequence" },
        { "index-float", "slots" },
        { "overflow", "of row 0 overflows to +infinity" },
    };

    [Theory]
    [MemberData(nameof(BadUpdates))]
    public void UpdatePriorities_WithBadInput_IsRefused_AndChangesNothing(string kind, string message)
    {
        long[] slots = kind switch
        {
            "index-negative" => [0, -1],
            "index-capacity" => [30, 0],
            "index-empty" => [0, 29],
            "batch" => [0, 1, 0],
            _ => [0, 1],
        };
        float[] td = [1, 2, 3, 4];
        float[] mask = [1, 1, 1, 1];
        switch (kind)
        {
            case "nan":
                td[3] = float.NaN;
                break;
            case "inf":
                td[0] = float.NegativeInfinity;
                break;
            case "mask-value":
                mask[2] = 2;
                break;
            case "mask-nan":
                mask[1] = float.NaN;
                break;
        }

        using var scope = NewDisposeScope();
        Tensor indices = kind == "index-float" ? tensor(new float[] { 0, 1 }) : tensor(slots);
        Tensor tdTensor = kind switch
        {
            "td-shape" => zeros(2, 3),
            "td-int" => zeros(2, 2, ScalarType.Int32),
            "overflow" => full(2, 2, double.MaxValue, ScalarType.Float64),
            _ => tensor(td, [2, 2]),
        };
        Tensor maskTensor = kind switch
        {
            "mask-shape" => ones(2),
            "mask-int" => ones(2, 2, ScalarType.Int64),
            _ => tensor(mask, [2, 2]),
        };

        Type expected = kind.StartsWith("index-", StringComparison.Ordinal) && kind != "index-float" || kind == "overflow" ? typeof(ArgumentOutOfRangeException) : typeof(ArgumentException);
        Exception e = Assert.ThrowsAny<ArgumentException>(() => _buffer.UpdatePriorities(indices, tdTensor, maskTensor));
        Assert.IsType(expected, e);
        Assert.Contains(BufferName, e.Message);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), e.Message);
        Assert.Equal(_before, SequenceAssert.Fingerprint(_buffer));
    }

    [Fact]
    public void ADisposedBuffer_RefusesEveryCall_NamingItself()
    {
        using var buffer = new SequenceReplayBuffer(Options());
        buffer.Dispose();
        var step = new Step();
        Assert.Contains(BufferName, Assert.Throws<ObjectDisposedException>(() => step.AddTo(buffer)).Message);
        Assert.Throws<ObjectDisposedException>(() => buffer.Sample(1));
        Assert.Throws<ObjectDisposedException>(() => buffer.BeginNewEpisodes());
        buffer.Dispose();
    }

    [Theory]
    [InlineData("nan", "tdErrors[1, 1] is NaN at a valid step")]
    [InlineData("mask-value", "mask[1, 0] = 2; mask values must be 0 or 1")]
    [InlineData("overflow", "of row 0 overflows to +infinity")]
    public void UpdatePriorities_ComputedWithTensors_RefusesWithTheSameMessages(string kind, string message)
    {
        SequenceReplayOptions options = Options(prioritized: true);
        using var buffer = new SequenceReplayBuffer(options, forceDevicePath: true);
        var driver = new SequenceDriver(new ScriptedVectorEnv(0, [(100, EpisodeEnd.Terminated)], [(3, EpisodeEnd.Terminated)]), options);
        for (int g = 0; g < 6; g++)
        {
            driver.Step(buffer);
        }

        string before = SequenceAssert.Fingerprint(buffer);
        using var scope = NewDisposeScope();
        Tensor indices = tensor(new long[] { 0, 1 });
        Tensor td = kind == "overflow" ? full(2, 2, double.MaxValue, ScalarType.Float64) : tensor(new float[] { 1, 2, 3, kind == "nan" ? float.NaN : 4 }, [2, 2]);
        Tensor mask = tensor(new float[] { 1, 1, kind == "mask-value" ? 2 : 1, 1 }, [2, 2]);
        Exception e = Assert.ThrowsAny<ArgumentException>(() => buffer.UpdatePriorities(indices, td, mask));
        Assert.Contains(BufferName, e.Message);
        Assert.Contains(message, e.Message);
        Assert.Equal(before, SequenceAssert.Fingerprint(buffer));
    }
}
