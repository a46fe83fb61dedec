using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// Every refused call names the buffer, the argument and the value, and leaves the buffer exactly as it was: the same
/// contents, autoreset flags and generator, and the same behaviour afterwards.
/// </summary>
public sealed class RolloutBufferBadInputTests
{
    private const bool F = false;

    public static TheoryData<string> Cases() =>
    [
        "observations too short", "actions too long", "rewards too short", "terminated too long", "truncated too short",
        "values too short", "logProbs too long", "NaN observation", "infinite observation", "NaN reward", "reward beyond float32",
        "NaN value", "infinite log-prob", "discrete action beyond 2^24", "float actions into a discrete buffer",
        "int actions into a continuous buffer", "continuous NaN action",
        "values tensor [2, 2]", "values tensor int64", "logProbs tensor NaN", "values tensor NaN (device path)",
        "no state for a recurrent buffer", "state of another layout", "state with 3 rows", "state with NaN",
        "state for a feed-forward buffer",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RefusedAdd_NamesBufferArgumentAndValue_AndChangesNothing(string name)
    {
        Case c = Build(name);
        RecurrentStateSpec? spec = c.Recurrent ? RolloutAssert.LstmSpec(2) : null;
        var options = new RolloutBufferOptions
        {
            NumSteps = 6,
            NumEnvs = 2,
            ObservationShape = [3],
            Action = c.Continuous ? ActionSpec.Continuous(2) : ActionSpec.Discrete,
            RecurrentState = spec,
            Seed = 5,
        };
        using var buffer = new RolloutBuffer(options, c.Staged);
        using var twin = new RolloutBuffer(options, c.Staged);
        var stream = new RolloutStream(2, 3, seed: 3, pTerminate: 0, pTruncate: 0, actionDimension: c.Continuous ? 2 : 0, state: spec);
        for (int t = 0; t < 3; t++)
        {
            stream.AddTo(stream.Next(), buffer, twin);
        }

        RolloutSnapshot before = buffer.Snapshot();
        var e = Assert.ThrowsAny<ArgumentException>(() => c.Call(buffer));

        Assert.Contains(buffer.Name, e.Message);
        Assert.Contains(c.Argument, e.Message);
        Assert.Contains(c.Value, e.Message);
        RolloutAssert.Same(before, buffer.Snapshot());
        for (int t = 3; t < 6; t++)
        {
            stream.AddTo(stream.Next(), buffer, twin);
        }

        buffer.ComputeReturnsAndAdvantages([1f, 2f]);
        twin.ComputeReturnsAndAdvantages([1f, 2f]);
        RolloutAssert.Same(twin.Snapshot(), buffer.Snapshot());
        Assert.Equal(RolloutBufferTests.BatchKeys(twin), RolloutBufferTests.BatchKeys(buffer));
    }

    private sealed record Case(string Argument, string Value, Action<RolloutBuffer> Call, bool Continuous = false, bool Recurrent = false, bool Staged = false);

    private static Case Build(string name)
    {
        float[] obs = [0, 1, 2, 3, 4, 5];
        int[] actions = [1, 0];
        float[] continuous = [0.5f, 0.5f, -0.5f, 1f];
        double[] rewards = [1, 2];
        bool[] no = [F, F];
        float[] values = [0.5f, -0.5f];
        float[] logProbs = [-1f, -2f];
        float[] With(float[] a, int i, float v)
        {
            float[] copy = [.. a];
            copy[i] = v;
            return copy;
        }

        RecurrentState State(int rows, int hidden, float poison = 0f)
        {
            Tensor h = torch.zeros(rows, hidden);
            h[rows - 1, hidden - 1] = torch.tensor(poison);
            return new RecurrentState([("h", h), ("c", torch.zeros(rows, hidden))]);
        }

        void WithState(RolloutBuffer b, RecurrentState? state)
        {
            using (state)
            {
                b.Add(obs, actions, rewards, no, no, values, logProbs, state);
            }
        }

        void WithTensors(RolloutBuffer b, Tensor v, Tensor l)
        {
            using (v)
            using (l)
            {
                b.Add(obs, actions, rewards, no, no, v, l);
            }
        }

        return name switch
        {
            "observations too short" => new("observations", "got 5", b => b.Add(obs[..5], actions, rewards, no, no, values, logProbs)),
            "actions too long" => new("actions", "got 3", b => b.Add(obs, [1, 0, 1], rewards, no, no, values, logProbs)),
            "rewards too short" => new("rewards", "got 1", b => b.Add(obs, actions, [1], no, no, values, logProbs)),
            "terminated too long" => new("terminated", "got 3", b => b.Add(obs, actions, rewards, [F, F, F], no, values, logProbs)),
            "truncated too short" => new("truncated", "got 1", b => b.Add(obs, actions, rewards, no, [F], values, logProbs)),
            "values too short" => new("values", "got 1", b => b.Add(obs, actions, rewards, no, no, [0.5f], logProbs)),
            "logProbs too long" => new("logProbs", "got 3", b => b.Add(obs, actions, rewards, no, no, values, [0f, 0f, 0f])),
            "NaN observation" => new("observations[4]", "NaN", b => b.Add(With(obs, 4, float.NaN), actions, rewards, no, no, values, logProbs)),
            "infinite observation" => new("observations[0]", "+infinity", b => b.Add(With(obs, 0, float.PositiveInfinity), actions, rewards, no, no, values, logProbs)),
            "NaN reward" => new("rewards[1]", "NaN", b => b.Add(obs, actions, [1, double.NaN], no, no, values, logProbs)),
            "reward beyond float32" => new("rewards[0]", "1E+300", b => b.Add(obs, actions, [1e300, 1], no, no, values, logProbs)),
            "NaN value" => new("values[0]", "NaN", b => b.Add(obs, actions, rewards, no, no, [float.NaN, 0f], logProbs)),
            "infinite log-prob" => new("logProbs[1]", "−infinity", b => b.Add(obs, actions, rewards, no, no, values, [0f, float.NegativeInfinity])),
            "discrete action beyond 2^24" => new("actions[1]", "33554432", b => b.Add(obs, [0, 1 << 25], rewards, no, no, values, logProbs)),
            "float actions into a discrete buffer" => new("actions", "discrete", b => b.Add(obs, continuous, rewards, no, no, values, logProbs)),
            "int actions into a continuous buffer" => new("actions", "continuous actions of dimension 2", b => b.Add(obs, actions, rewards, no, no, values, logProbs), Continuous: true),
            "continuous NaN action" => new("actions[3]", "NaN", b => b.Add(obs, With(continuous, 3, float.NaN), rewards, no, no, values, logProbs), Continuous: true),
            "values tensor [2, 2]" => new("values", "[2, 2]", b => WithTensors(b, torch.zeros(2, 2), torch.zeros(2))),
            "values tensor int64" => new("values", "Int64", b => WithTensors(b, torch.zeros(2, ScalarType.Int64), torch.zeros(2))),
            "logProbs tensor NaN" => new("logProbs[1]", "NaN", b => WithTensors(b, torch.zeros(2), torch.tensor(new[] { 0f, float.NaN }))),
            "values tensor NaN (device path)" => new("values[0]", "NaN", b => WithTensors(b, torch.tensor(new[] { float.NaN, 0f }), torch.zeros(2)), Staged: true),
            "no state for a recurrent buffer" => new("stateBeforeStep", "RecurrentState = {h [2]", b => WithState(b, null), Recurrent: true),
            "state of another layout" => new("stateBeforeStep", "{h [3] Float32, c [3] Float32}", b => WithState(b, State(2, 3)), Recurrent: true),
            "state with 3 rows" => new("stateBeforeStep", "3 rows", b => WithState(b, State(3, 2)), Recurrent: true),
            "state with NaN" => new("stateBeforeStep part 'h' (env 1, element 1)", "NaN", b => WithState(b, State(2, 2, float.NaN)), Recurrent: true),
            "state for a feed-forward buffer" => new("stateBeforeStep", "without RecurrentState", b => WithState(b, State(2, 2))),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown case"),
        };
    }

    [Fact]
    public void RewardsOfPseudoSteps_AreIgnored_NotChecked()
    {
        using var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = 2, NumEnvs = 1, ObservationShape = [1] });
        buffer.Add([0], [0], [1], [true], [F], [0f], [0f]);
        buffer.Add([1], [0], [double.NaN], [F], [F], [0f], [0f]);   // the pseudo-step: its reward is not used
        Assert.Equal([1.0, 0.0], buffer.Snapshot().Rewards);
    }

    [Fact]
    public void AddAfterFull_ComputeBeforeFull_AndMinibatchesBeforeCompute_AreRefused_AndChangeNothing()
    {
        using var buffer = new RolloutBuffer(new RolloutBufferOptions { NumSteps = 2, NumEnvs = 2, ObservationShape = [3], Seed = 1 });
        var stream = new RolloutStream(2, 3, seed: 4);
        stream.AddTo(stream.Next(), buffer);
        RolloutSnapshot partial = buffer.Snapshot();

        var notFull = Assert.Throws<InvalidOperationException>(() => buffer.ComputeReturnsAndAdvantages([0f, 0f]));
        Assert.Contains(buffer.Name, notFull.Message);
        Assert.Contains("1 of 2 steps", notFull.Message);
        Assert.Contains("1 of 2 steps", Assert.Throws<InvalidOperationException>(() => buffer.Minibatches(2)).Message);
        RolloutAssert.Same(partial, buffer.Snapshot());

        stream.AddTo(stream.Next(), buffer);
        var beforeCompute = Assert.Throws<InvalidOperationException>(() => buffer.SequenceMinibatches(2, 1));
        Assert.Contains("ComputeReturnsAndAdvantages", beforeCompute.Message);
        RolloutSnapshot full = buffer.Snapshot();
        var afterFull = Assert.Throws<InvalidOperationException>(() => stream.AddTo(stream.Next(), buffer));
        Assert.Contains(buffer.Name, afterFull.Message);
        Assert.Contains("full", afterFull.Message);
        using (Tensor v = torch.zeros(2))
        {
            Assert.Throws<InvalidOperationException>(() => buffer.Add([0, 0, 0, 0, 0, 0], [0, 0], [0, 0], [F, F], [F, F], v, v));
        }

        RolloutAssert.Same(full, buffer.Snapshot());

        var nan = Assert.Throws<ArgumentException>(() => buffer.ComputeReturnsAndAdvantages([0f, float.NaN]));
        Assert.Contains("lastValues[1]", nan.Message);
        Assert.Contains("NaN", nan.Message);
        Assert.Contains("lastValues", Assert.Throws<ArgumentException>(() => buffer.ComputeReturnsAndAdvantages([0f])).Message);
        RolloutAssert.Same(full, buffer.Snapshot());

        buffer.ComputeReturnsAndAdvantages([0f, 0f]);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Minibatches(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.SequenceMinibatches(3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.SequenceMinibatches(1, 0));
    }

    [Theory]
    [InlineData("NumSteps", 0, "[1, 16777216]")]
    [InlineData("NumEnvs", 70000, "[1, 65536]")]
    [InlineData("Gamma", 1.5, "[0, 1]")]
    [InlineData("GaeLambda", -0.1, "[0, 1]")]
    public void Options_RefuseOutOfRangeValues_NamingFieldValueAndRange(string field, double value, string range)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => field switch
        {
            "NumSteps" => new RolloutBufferOptions { NumSteps = (int)value, ObservationShape = [1] },
            "NumEnvs" => new RolloutBufferOptions { NumSteps = 1, ObservationShape = [1], NumEnvs = (int)value },
            "Gamma" => new RolloutBufferOptions { NumSteps = 1, ObservationShape = [1], Gamma = value },
            _ => new RolloutBufferOptions { NumSteps = 1, ObservationShape = [1], GaeLambda = value },
        });
        Assert.Contains($"RolloutBufferOptions.{field}", e.Message);
        Assert.Contains(range, e.Message);
        Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public void Options_RefuseUnsupportedStateDtypes_AndTooManyEntries()
    {
        var spec = new RecurrentStateSpec([new RecurrentStatePart("h", [4], ScalarType.Float16)]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RolloutBufferOptions { NumSteps = 1, ObservationShape = [1], RecurrentState = spec });
        Assert.Contains("Float16", e.Message);
        var tooMany = new RolloutBufferOptions { NumSteps = 1 << 20, NumEnvs = 1 << 10, ObservationShape = [1] };
        Assert.Contains("NumSteps × NumEnvs", Assert.Throws<ArgumentException>(tooMany.Validate).Message);
        Assert.Contains("ObservationShape", Assert.ThrowsAny<ArgumentException>(() => new RolloutBufferOptions { NumSteps = 1, ObservationShape = [0] }).Message);
    }
}
