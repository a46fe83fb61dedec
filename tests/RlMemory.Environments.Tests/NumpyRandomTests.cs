using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FsCheck.Xunit;

namespace RlMemory.Environments.Tests;

/// <summary>
/// Tests of <see cref="NumpyRandom"/>. The golden tests replay the resets and random action sequences of the
/// golden trajectories (Gymnasium 1.0 / numpy 1.24). The other reference values were printed by numpy 1.24.2
/// (Debian bookworm's python3-numpy) with the expression quoted next to each.
/// </summary>
public sealed partial class NumpyRandomTests
{
    /// <summary>The environments whose reset rule <see cref="ResetState"/> knows.</summary>
    private static readonly string[] KnownEnvironments = ["Acrobot-v1", "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"];

    // ----- Golden data -------------------------------------------------------------------------------------

    [Fact]
    public void GoldenFolder_HoldsAFileForEveryKnownEnvironmentAndNoOther()
    {
        Assert.Equal(KnownEnvironments, GoldenData.EnvironmentIds);
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("MountainCar-v0")]
    [InlineData("Acrobot-v1")]
    [InlineData("Pendulum-v1")]
    public void Golden_ResetStateMatchesGymnasiumBitForBit(string envId)
    {
        using JsonDocument doc = GoldenData.Load(envId);
        int checkedEpisodes = 0;
        foreach (JsonElement episode in Episodes(doc, envId))
        {
            ulong seed = episode.GetProperty("reset_seed").GetUInt64();
            double[] expected = episode.GetProperty("initial_state").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double[] actual = ResetState(envId, new NumpyRandom(seed));

            Assert.True(
                expected.Length == actual.Length,
                $"{envId} reset_seed={seed}: initial_state has {expected.Length} values, the reset rule gives {actual.Length}.");
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(
                    BitConverter.DoubleToInt64Bits(expected[i]) == BitConverter.DoubleToInt64Bits(actual[i]),
                    $"{envId} reset_seed={seed} initial_state[{i}]: expected {expected[i]:R}, got {actual[i]:R}.");
            }

            checkedEpisodes++;
        }

        Assert.True(checkedEpisodes >= 10, $"{envId}: only {checkedEpisodes} episodes checked.");
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("MountainCar-v0")]
    [InlineData("Acrobot-v1")]
    [InlineData("Pendulum-v1")]
    public void Golden_RandomActionSequencesMatchNumpyExactly(string envId)
    {
        using JsonDocument doc = GoldenData.Load(envId);
        int checkedEpisodes = 0;
        foreach (JsonElement episode in Episodes(doc, envId))
        {
            string generator = episode.GetProperty("action_generator").GetString()
                ?? throw new InvalidDataException($"{envId}: action_generator is null.");
            string kind = episode.GetProperty("kind").GetString() ?? "";
            if (!generator.StartsWith("np.random.", StringComparison.Ordinal))
            {
                Assert.True(kind != "random", $"{envId}: random episode with unparsed generator '{generator}'.");
                continue; // A policy episode: its actions come from a rule, not from a generator.
            }

            JsonElement[] actions = episode.GetProperty("actions").EnumerateArray().ToArray();
            int length = episode.GetProperty("length").GetInt32();
            Assert.Equal(length, actions.Length);

            Match integers = IntegersGenerator().Match(generator);
            Match uniform = UniformFloat32Generator().Match(generator);
            if (integers.Success)
            {
                var rng = new NumpyRandom(ulong.Parse(integers.Groups["seed"].Value, CultureInfo.InvariantCulture));
                long low = long.Parse(integers.Groups["low"].Value, CultureInfo.InvariantCulture);
                long high = long.Parse(integers.Groups["high"].Value, CultureInfo.InvariantCulture);
                int size = int.Parse(integers.Groups["size"].Value, CultureInfo.InvariantCulture);
                Assert.True(length <= size, $"{envId}: {length} actions but only {size} drawn by '{generator}'.");
                for (int i = 0; i < length; i++)
                {
                    long expected = actions[i].GetInt64();
                    long actual = rng.Integers(low, high);
                    Assert.True(expected == actual, $"{envId} '{generator}' action[{i}]: expected {expected}, got {actual}.");
                }
            }
            else if (uniform.Success)
            {
                var rng = new NumpyRandom(ulong.Parse(uniform.Groups["seed"].Value, CultureInfo.InvariantCulture));
                double low = double.Parse(uniform.Groups["low"].Value, CultureInfo.InvariantCulture);
                double high = double.Parse(uniform.Groups["high"].Value, CultureInfo.InvariantCulture);
                int size = int.Parse(uniform.Groups["size"].Value, CultureInfo.InvariantCulture);
                Assert.True(length <= size, $"{envId}: {length} actions but only {size} drawn by '{generator}'.");
                for (int i = 0; i < length; i++)
                {
                    JsonElement[] action = actions[i].EnumerateArray().ToArray();
                    Assert.Single(action);
                    float expected = (float)action[0].GetDouble();
                    Assert.True((double)expected == action[0].GetDouble(), $"{envId} action[{i}] {action[0]} is not a float32 value.");
                    float actual = (float)rng.Uniform(low, high);
                    Assert.True(
                        BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
                        $"{envId} '{generator}' action[{i}]: expected {expected:R}, got {actual:R}.");
                }
            }
            else
            {
                Assert.Fail($"{envId}: unrecognised action_generator '{generator}'.");
            }

            checkedEpisodes++;
        }

        Assert.True(checkedEpisodes >= 10, $"{envId}: only {checkedEpisodes} random episodes checked.");
    }

    private static IEnumerable<JsonElement> Episodes(JsonDocument doc, string envId)
    {
        Assert.Equal(envId, doc.RootElement.GetProperty("env_id").GetString());
        return doc.RootElement.GetProperty("episodes").EnumerateArray();
    }

    /// <summary>Gymnasium 1.0's reset draws for each environment, with <paramref name="rng"/> as its <c>np_random</c>.</summary>
    private static double[] ResetState(string envId, NumpyRandom rng) => envId switch
    {
        // np_random.uniform(low=-0.05, high=0.05, size=(4,))
        "CartPole-v1" => [rng.Uniform(-0.05, 0.05), rng.Uniform(-0.05, 0.05), rng.Uniform(-0.05, 0.05), rng.Uniform(-0.05, 0.05)],

        // np.array([np_random.uniform(low=-0.6, high=-0.4), 0])
        "MountainCar-v0" => [rng.Uniform(-0.6, -0.4), 0.0],

        // np_random.uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32)
        "Acrobot-v1" => [(float)rng.Uniform(-0.1, 0.1), (float)rng.Uniform(-0.1, 0.1), (float)rng.Uniform(-0.1, 0.1), (float)rng.Uniform(-0.1, 0.1)],

        // np_random.uniform(low=[-pi, -1], high=[pi, 1])
        "Pendulum-v1" => [rng.Uniform(-Math.PI, Math.PI), rng.Uniform(-1.0, 1.0)],

        _ => throw new ArgumentException($"No reset rule for '{envId}'; add it to {nameof(ResetState)}.", nameof(envId)),
    };

    [GeneratedRegex(@"^np\.random\.default_rng\((?<seed>\d+)\)\.integers\((?<low>-?\d+), (?<high>-?\d+), size=(?<size>\d+)\)$")]
    private static partial Regex IntegersGenerator();

    [GeneratedRegex(@"^np\.random\.default_rng\((?<seed>\d+)\)\.uniform\((?<low>[-+0-9.eE]+), (?<high>[-+0-9.eE]+), size=\((?<size>\d+), 1\)\)\.astype\(float32\)$")]
    private static partial Regex UniformFloat32Generator();

    // ----- numpy reference values --------------------------------------------------------------------------

    [Theory]
    // np.random.SeedSequence(seed).generate_state(4, np.uint64)
    [InlineData(0UL, 15793235383387715774UL, 12390638538380655177UL, 2361836109651742017UL, 3188717715514472916UL)]
    [InlineData(12345UL, 13091511679009522556UL, 13538552136045918767UL, 7269824232120749972UL, 4520223790601600371UL)]
    [InlineData(4294967303UL, 6635463128224577688UL, 5133392297773249075UL, 17575802100394261519UL, 15966818893324648975UL)]
    [InlineData(18446744073709551615UL, 12591116029944179981UL, 1268942265879420026UL, 1998214320288580263UL, 12063755697402456310UL)]
    public void SeedSequence_GenerateStateMatchesNumpy(ulong seed, ulong w0, ulong w1, ulong w2, ulong w3)
    {
        Span<uint> entropy = stackalloc uint[2];
        int count = NumpySeedSequence.SeedToEntropy(seed, entropy);
        var words = new ulong[4];
        NumpySeedSequence.GenerateState(entropy[..count], words);
        Assert.Equal([w0, w1, w2, w3], words);
    }

    [Theory]
    // np.random.default_rng(seed).bit_generator.state and .random_raw(4)
    [InlineData(0UL, "1aa1b5345996452d09585eb7a69561e3", "418ddadb3af71a82588133bc447873a9",
        11749869230777074271UL, 4976686463289251617UL, 755828109848996024UL, 304881062738325533UL)]
    [InlineData(12345UL, "1905e0335aae96349199b0d09775add5", "c9c7353e6e2b1f287d761f2d4027fae7",
        4193609425186963869UL, 5843160025838961886UL, 14708796524633321433UL, 12474696839993944336UL)]
    [InlineData(4294967303UL, "a7fba21d06b674676f08c81beaaf7439", "e7d395c78920f81fbb2b12601339041f",
        14206593023844375757UL, 2064693230803885548UL, 3488237491050697490UL, 2950653773223070179UL)]
    [InlineData(18446744073709551615UL, "ddc419442aebde794d8b0a3b048acdb0", "37762aacb3cc854f4ed623c7d18951ed",
        12544278110101001871UL, 15593249672699323225UL, 136562751618339402UL, 16501869284920798641UL)]
    public void Seeding_StateAndRawOutputsMatchNumpy(ulong seed, string state, string inc, ulong r0, ulong r1, ulong r2, ulong r3)
    {
        var rng = new NumpyRandom(seed);
        NumpyRandomState s = rng.GetState();
        Assert.Equal(UInt128.Parse(state, NumberStyles.HexNumber, CultureInfo.InvariantCulture), s.State);
        Assert.Equal(UInt128.Parse(inc, NumberStyles.HexNumber, CultureInfo.InvariantCulture), s.Increment);
        Assert.False(s.HasUInt32);
        Assert.Equal(seed, rng.Seed);
        Assert.Equal([r0, r1, r2, r3], new[] { rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64() });
    }

    [Fact]
    public void NextSingle_MatchesNumpyFloat32Random()
    {
        // np.random.default_rng(42).random(6, dtype=np.float32).view(np.uint32)
        uint[] expected = [1035389232, 1061560827, 1059557887, 1054913708, 1054716972, 1062980882];
        var rng = new NumpyRandom(42);
        uint[] actual = Enumerable.Range(0, 6).Select(_ => (uint)BitConverter.SingleToInt32Bits(rng.NextSingle())).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void MixedDraws_ShareNumpysUInt32Buffer()
    {
        // r = default_rng(42): integers(0,3), random(), integers(0,3), integers(0,1000), random(),
        // integers(0,10**12), random(dtype=float32), integers(-5,5)
        var rng = new NumpyRandom(42);
        Assert.Equal(0, rng.Integers(0, 3));
        Assert.Equal(4601577751028819070L, BitConverter.DoubleToInt64Bits(rng.NextDouble()));
        Assert.Equal(2, rng.Integers(0, 3));
        Assert.Equal(433, rng.Integers(0, 1000));
        Assert.Equal(4604456552336900113L, BitConverter.DoubleToInt64Bits(rng.NextDouble()));
        Assert.Equal(94177347887L, rng.Integers(0, 1_000_000_000_000));
        Assert.Equal(1062980882, BitConverter.SingleToInt32Bits(rng.NextSingle()));
        Assert.Equal(0, rng.Integers(-5, 5));
    }

    [Fact]
    public void Integers_MatchNumpyOnEveryRangeClass()
    {
        // default_rng(42).integers(0, 2**32, size=5): range 2^32 - 1 uses plain 32-bit draws.
        var rng = new NumpyRandom(42);
        Assert.Equal([383329928L, 3324115917L, 2811363265L, 1884968545L, 1859786276L], Draw(rng, 0, 1L << 32, 5));

        // default_rng(42).integers(0, 2**32 + 1, size=5): smallest 64-bit Lemire range.
        rng = new NumpyRandom(42);
        Assert.Equal([3324115917L, 1884968546L, 3687649987L, 2995172878L, 404488629L], Draw(rng, 0, (1L << 32) + 1, 5));

        // default_rng(42).integers(-2**62, 2**62, size=5)
        rng = new NumpyRandom(42);
        Assert.Equal(
            [2526798557578302276L, -563746889639854112L, 3307482026984934162L, 1820398760195277894L, -3743053301415296779L],
            Draw(rng, -(1L << 62), 1L << 62, 5));

        // default_rng(42).integers(-2**63, 2**63 - 1, size=5): the widest range an exclusive int64 bound allows.
        rng = new NumpyRandom(42);
        Assert.Equal(
            [5053597115156604551L, -1127493779279708224L, 6614964053969868323L, 3640797520390555788L, -7486106602830593558L],
            Draw(rng, long.MinValue, long.MaxValue, 5));

        // r = default_rng(11): r.integers(-10**18, 10**18, size=4), r.integers(0, 7, size=6), r.integers(5, 6), r.integers(0, 10)
        rng = new NumpyRandom(11);
        Assert.Equal(
            [-742859594461600651L, -1444275119770011L, 202996715246715044L, -942621983256110801L],
            Draw(rng, -1_000_000_000_000_000_000L, 1_000_000_000_000_000_000L, 4));
        Assert.Equal([3L, 1L, 2L, 6L, 3L, 0L], Draw(rng, 0, 7, 6));
        Assert.Equal(5L, rng.Integers(5, 6));
        Assert.Equal(5L, rng.Integers(0, 10));
    }

    [Fact]
    public void Uniform_MatchesNumpyIncludingAnEmptyRangeThatStillDraws()
    {
        // r = default_rng(3): uniform(-1e300, 1e300) twice, uniform(5, 5), uniform(-3.5, 2.25)
        var rng = new NumpyRandom(3);
        Assert.Equal(unchecked((long)18317208998424175006UL), BitConverter.DoubleToInt64Bits(rng.Uniform(-1e300, 1e300)));
        Assert.Equal(unchecked((long)18314212149033640821UL), BitConverter.DoubleToInt64Bits(rng.Uniform(-1e300, 1e300)));
        Assert.Equal(4617315517961601024L, BitConverter.DoubleToInt64Bits(rng.Uniform(5, 5)));
        Assert.Equal(13818036909192003264UL, (ulong)BitConverter.DoubleToInt64Bits(rng.Uniform(-3.5, 2.25)));
    }

    [Fact]
    public void Shuffle_MatchesNumpyGeneratorShuffle()
    {
        // r = default_rng(7); a = np.arange(10); r.shuffle(a); b = np.arange(50); r.shuffle(b); r.integers(0, 100)
        var rng = new NumpyRandom(7);
        int[] a = Enumerable.Range(0, 10).ToArray();
        rng.Shuffle<int>(a);
        Assert.Equal([8, 0, 7, 1, 3, 6, 2, 4, 5, 9], a);

        int[] b = Enumerable.Range(0, 50).ToArray();
        rng.Shuffle<int>(b);
        Assert.Equal(
            [16, 19, 42, 0, 2, 36, 12, 35, 10, 21, 26, 28, 4, 32, 46, 6, 24, 20, 22, 11, 45, 43, 40, 1, 25,
             9, 39, 14, 37, 49, 27, 3, 41, 13, 47, 44, 17, 18, 31, 34, 5, 8, 7, 33, 30, 15, 29, 38, 48, 23],
            b);
        Assert.Equal(66L, rng.Integers(0, 100));
    }

    [Fact]
    public void Shuffle_OfZeroOrOneElementDrawsNothing()
    {
        var rng = new NumpyRandom(5);
        NumpyRandomState before = rng.GetState();
        rng.Shuffle(Span<int>.Empty);
        rng.Shuffle<int>([42]);
        Assert.Equal(before, rng.GetState());
    }

    private static long[] Draw(NumpyRandom rng, long low, long high, int count) =>
        Enumerable.Range(0, count).Select(_ => rng.Integers(low, high)).ToArray();

    // ----- Buffering, state, clone ---------------------------------------------------------------------------

    [Fact]
    public void NextUInt32_ReturnsLowThenHighHalfOfNextUInt64()
    {
        var wide = new NumpyRandom(2024);
        var narrow = new NumpyRandom(2024);
        for (int i = 0; i < 1000; i++)
        {
            ulong v = wide.NextUInt64();
            Assert.Equal((uint)v, narrow.NextUInt32());
            Assert.Equal((uint)(v >> 32), narrow.NextUInt32());
        }
    }

    [Fact]
    public void NextUInt64_NeitherUsesNorClearsTheUInt32Buffer()
    {
        var reference = new NumpyRandom(99);
        ulong first = reference.NextUInt64();
        ulong second = reference.NextUInt64();

        var rng = new NumpyRandom(99);
        Assert.Equal((uint)first, rng.NextUInt32());
        Assert.Equal(second, rng.NextUInt64());
        Assert.Equal((uint)(first >> 32), rng.NextUInt32());
    }

    [Fact]
    public void StateRoundTrip_And_Clone_ContinueIdentically()
    {
        var rng = new NumpyRandom(31337);
        for (int i = 0; i < 17; i++)
        {
            rng.NextDouble();
        }

        rng.NextUInt32(); // Leave the high half buffered: the state must carry it.
        NumpyRandomState saved = rng.GetState();
        Assert.True(saved.HasUInt32);
        NumpyRandom clone = rng.Clone();
        ulong[] expected = Mixed(rng, 200);

        var restored = new NumpyRandom(1);
        restored.SetState(saved);
        Assert.Equal(saved, restored.GetState());
        Assert.Equal(expected, Mixed(restored, 200));
        Assert.Equal(expected, Mixed(clone, 200));
        Assert.Equal(31337UL, clone.Seed);
        Assert.Equal(1UL, restored.Seed);

        // The clone is independent: drawing from it does not move the original.
        NumpyRandom original = new(5);
        NumpyRandom copy = original.Clone();
        copy.NextUInt64();
        Assert.Equal(new NumpyRandom(5).GetState(), original.GetState());
    }

    [Property(MaxTest = 200)]
    public bool StateRoundTrip_HoldsForAnySeedAndPosition(ulong seed, byte skip)
    {
        var rng = new NumpyRandom(seed);
        for (int i = 0; i < skip; i++)
        {
            rng.NextUInt32();
        }

        var other = new NumpyRandom(seed ^ 0xDEADBEEF);
        other.SetState(rng.GetState());
        return Mixed(rng, 8).SequenceEqual(Mixed(other, 8));
    }

    [Fact]
    public void FromEntropy_ExposesASeedThatReproducesIt()
    {
        NumpyRandom rng = NumpyRandom.FromEntropy();
        var replay = new NumpyRandom(rng.Seed);
        Assert.Equal(Mixed(replay, 50), Mixed(rng, 50));
        Assert.NotEqual(rng.Seed, NumpyRandom.FromEntropy().Seed); // 2^-64 chance of a false failure.
    }

    private static ulong[] Mixed(NumpyRandom rng, int count)
    {
        var values = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (i % 3) switch
            {
                0 => rng.NextUInt32(),
                1 => (ulong)rng.Integers(-1000, 1000),
                _ => (ulong)BitConverter.DoubleToInt64Bits(rng.NextDouble()),
            };
        }

        return values;
    }

    // ----- Argument validation -----------------------------------------------------------------------------

    [Theory]
    [InlineData(5L, 5L)]
    [InlineData(5L, 4L)]
    [InlineData(long.MaxValue, long.MinValue)]
    public void Integers_RejectsAnEmptyRangeNamingTheBounds(long low, long high)
    {
        var rng = new NumpyRandom(0);
        ArgumentException e = Assert.Throws<ArgumentException>("highExclusive", () => rng.Integers(low, high));
        Assert.Contains($"low={low}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"highExclusive={high}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN, 1.0, "low")]
    [InlineData(double.NegativeInfinity, 1.0, "low")]
    [InlineData(0.0, double.NaN, "high")]
    [InlineData(0.0, double.PositiveInfinity, "high")]
    public void Uniform_RejectsNonFiniteBounds(double low, double high, string parameter)
    {
        var rng = new NumpyRandom(0);
        Assert.Throws<ArgumentOutOfRangeException>(parameter, () => rng.Uniform(low, high));
    }

    [Fact]
    public void Uniform_RejectsReversedAndOverflowingRanges()
    {
        var rng = new NumpyRandom(0);
        ArgumentException reversed = Assert.Throws<ArgumentException>("high", () => rng.Uniform(2.0, 1.0));
        Assert.Contains("low=2", reversed.Message, StringComparison.Ordinal);
        Assert.Contains("high=1", reversed.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("high", () => rng.Uniform(-double.MaxValue, double.MaxValue));
        Assert.Equal(new NumpyRandom(0).GetState(), rng.GetState()); // Rejected calls draw nothing.
    }

    [Fact]
    public void SetState_RejectsAnEvenIncrement()
    {
        var rng = new NumpyRandom(0);
        NumpyRandomState good = rng.GetState();
        Assert.Throws<ArgumentException>("state", () => rng.SetState(good with { Increment = good.Increment - UInt128.One }));
        Assert.Equal(good, rng.GetState());
    }

    // ----- Distributions -----------------------------------------------------------------------------------

    [Theory]
    [InlineData(0L, 7L, 7)]
    [InlineData(-3L, 9L, 12)]
    [InlineData(0L, 6_000_000_000L, 12)] // 64-bit Lemire path.
    [InlineData(long.MinValue, long.MaxValue - 15, 16)] // Nearly the full 64-bit range: 2^64 - 16.
    public void Integers_AreUniform_ChiSquare(long low, long high, int bins)
    {
        const int draws = 120_000;
        UInt128 width = unchecked((ulong)high - (ulong)low);
        Assert.True(width % (UInt128)bins == 0, "the bins must split the range evenly");
        ulong binWidth = (ulong)(width / (UInt128)bins);
        var rng = new NumpyRandom(20240601);
        var counts = new long[bins];
        for (int i = 0; i < draws; i++)
        {
            long v = rng.Integers(low, high);
            Assert.InRange(v, low, high - 1);
            counts[(int)(unchecked((ulong)v - (ulong)low) / binWidth)]++;
        }

        double expected = (double)draws / bins;
        double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);

        // 99.9% quantiles of chi-square: 22.46 (6 degrees of freedom), 31.26 (11), 37.70 (15).
        double critical = bins switch { 7 => 22.46, 12 => 31.26, 16 => 37.70, _ => throw new ArgumentOutOfRangeException(nameof(bins)) };
        Assert.True(chiSquare < critical, $"chi-square {chiSquare:F2} over {bins} bins: {string.Join(", ", counts)}");
    }

    [Property(MaxTest = 500)]
    public bool Integers_StayInRange(long a, long b, ulong seed)
    {
        if (a == b)
        {
            return true;
        }

        long low = Math.Min(a, b);
        long high = Math.Max(a, b);
        var rng = new NumpyRandom(seed);
        for (int i = 0; i < 20; i++)
        {
            long v = rng.Integers(low, high);
            if (v < low || v >= high)
            {
                return false;
            }
        }

        return true;
    }

    [Fact]
    public void NextDoubleAndNextSingle_StayInUnitInterval()
    {
        var rng = new NumpyRandom(8);
        for (int i = 0; i < 100_000; i++)
        {
            Assert.InRange(rng.NextDouble(), 0.0, Math.BitDecrement(1.0));
            Assert.InRange(rng.NextSingle(), 0.0f, MathF.BitDecrement(1.0f));
        }
    }

    [Fact]
    public void StandardNormal_HasUnitMomentsAndNormalTails()
    {
        const int n = 200_000;
        var rng = new NumpyRandom(123);
        double sum = 0, sumSq = 0;
        int beyond196 = 0;
        for (int i = 0; i < n; i++)
        {
            double z = rng.StandardNormal();
            Assert.True(double.IsFinite(z));
            sum += z;
            sumSq += z * z;
            if (Math.Abs(z) > 1.959963984540054)
            {
                beyond196++;
            }
        }

        double mean = sum / n;
        double variance = (sumSq / n) - (mean * mean);
        Assert.InRange(mean, -0.01, 0.01); // sd of the mean ~ 0.0022
        Assert.InRange(variance, 0.985, 1.015); // sd ~ 0.0032
        Assert.InRange(beyond196 / (double)n, 0.047, 0.053); // 5% +- ~6 sd
    }

    [Fact]
    public void StandardExponential_HasUnitMeanAndExponentialTail()
    {
        const int n = 200_000;
        var rng = new NumpyRandom(321);
        double sum = 0, sumSq = 0;
        int beyond3 = 0;
        for (int i = 0; i < n; i++)
        {
            double x = rng.StandardExponential();
            Assert.True(x >= 0 && double.IsFinite(x));
            sum += x;
            sumSq += x * x;
            if (x > 3)
            {
                beyond3++;
            }
        }

        double mean = sum / n;
        double variance = (sumSq / n) - (mean * mean);
        Assert.InRange(mean, 0.99, 1.01); // sd ~ 0.0022
        Assert.InRange(variance, 0.97, 1.03); // sd ~ 0.0063
        Assert.InRange(beyond3 / (double)n, 0.0478, 0.0518); // e^-3 = 0.0498 +- ~4 sd
    }
}
