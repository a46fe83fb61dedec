using RlMemory.Environments.MemoryTasks;

namespace RlMemory.Environments.Tests.MemoryTasks;

public sealed class CardTaskTests
{
    // The suits POPGym deals for a seed: r = np.random.default_rng(seed); idx = np.arange(52 * decks); r.shuffle(idx);
    // print(idx[::-1] % 4)  (numpy 1.24; POPGym deals from the end of the shuffled order, card c has suit c % 4).
    private const string Seed0OneDeck = "3311121333010212102030021210130223113021033200032232";

    private const string Seed1TwoDecks =
        "23122100103202221322022031203110213011111121100313323313333232133300002123320001202333121200300112321000";

    private const string Seed5ThreeDecks =
        "132023120113120031023230233301002313022001122032201212030312131113002033022313331102231003030123130131011203321120312122323102102120103200210212133030302132";

    // ----- Dynamics ----------------------------------------------------------------------------------------

    [Fact]
    public void RepeatFirst_DealsPopGymsSuits_AndPaysPlusOrMinusOneOver51ForTheFirstSuit()
    {
        using var env = new RepeatFirstEnv(CardTaskDifficulty.Easy);
        var obs = new float[4];
        env.Reset(obs, seed: 0);
        Assert.Equal(Suit(Seed0OneDeck, 0), OneHot(obs));
        int first = Suit(Seed0OneDeck, 0);
        Assert.Equal(first, env.FirstSuit);
        for (int t = 1; t <= 51; t++)
        {
            bool right = t % 3 != 0;
            StepResult r = env.Step(right ? first : (first + 1 + t % 3) % 4, obs);
            Assert.Equal(right ? 1.0 / 51 : -1.0 / 51, r.Reward);
            Assert.Equal(Suit(Seed0OneDeck, t), OneHot(obs));
            Assert.Equal(t == 51, r.Terminated);
            Assert.False(r.Truncated);
        }
    }

    [Theory]
    [InlineData(CardTaskDifficulty.Medium, 1, Seed1TwoDecks, 32)]
    [InlineData(CardTaskDifficulty.Hard, 5, Seed5ThreeDecks, 64)]
    [InlineData(CardTaskDifficulty.Easy, 0, Seed0OneDeck, 4)]
    public void RepeatPrevious_DealsPopGymsSuits_ScoresFromStepK_TheCardDealtKStepsBefore(
        CardTaskDifficulty difficulty, int seed, string suits, int k)
    {
        using var env = new RepeatPreviousEnv(difficulty);
        Assert.Equal(k, env.K);
        int n = suits.Length;
        Assert.Equal(n - 1, env.EpisodeLength);
        var obs = new float[4];
        env.Reset(obs, seed: seed);
        Assert.Equal(Suit(suits, 0), OneHot(obs));
        double scale = 1.0 / (n - k);
        for (int t = 1; t < n; t++)
        {
            // Step t names the card dealt at step t - k (0: the reset), i.e. k - 1 observations before the current one.
            int target = t >= k ? Suit(suits, t - k) : 0;
            bool right = t % 2 == 0;
            StepResult r = env.Step(right ? target : (target + 1) % 4, obs);
            double expected = t < k ? 0.0 : right ? scale : -scale;
            Assert.Equal(expected, r.Reward);
            Assert.Equal(Suit(suits, t), OneHot(obs));
            Assert.Equal(t == n - 1, r.Terminated);
        }
    }

    [Theory]
    [InlineData(CardTaskDifficulty.Easy, 1, 51)]
    [InlineData(CardTaskDifficulty.Medium, 8, 415)]
    [InlineData(CardTaskDifficulty.Hard, 16, 831)]
    public void RepeatFirst_EpisodeLengthFollowsTheDecks_AndTheDeckHoldsThirteenCardsPerSuitPerDeck(
        CardTaskDifficulty difficulty, int decks, int steps)
    {
        using var env = new RepeatFirstEnv(difficulty);
        Assert.Equal(decks, env.NumDecks);
        Assert.Equal(steps, env.EpisodeLength);
        var obs = new float[4];
        var counts = new int[4];
        env.Reset(obs, seed: 3);
        counts[OneHot(obs)]++;
        int t = 0;
        StepResult r;
        do
        {
            r = env.Step(0, obs);
            counts[OneHot(obs)]++;
            t++;
        }
        while (!r.Done);
        Assert.Equal(steps, t);
        Assert.All(counts, c => Assert.Equal(13 * decks, c));
    }

    [Fact]
    public void SameSeed_SameEpisode_OtherSeed_OtherDeal()
    {
        using var a = new RepeatPreviousEnv(CardTaskDifficulty.Medium);
        using var b = new RepeatPreviousEnv(CardTaskDifficulty.Medium);
        var (ra, _, _) = Support.Trajectories.PlayRandom(a, seed: 8, actionSeed: 1, maxSteps: 200);
        var (rb, _, _) = Support.Trajectories.PlayRandom(b, seed: 8, actionSeed: 1, maxSteps: 200);
        Assert.Equal(ra.Count, rb.Count);
        for (int i = 0; i < ra.Count; i++)
        {
            Assert.Equal(ra[i], rb[i]);
        }

        var (rc, _, _) = Support.Trajectories.PlayRandom(b, seed: 9, actionSeed: 1, maxSteps: 200);
        Assert.NotEqual(ra.Select(OneHot), rc.Select(OneHot));
    }

    // ----- Yardsticks --------------------------------------------------------------------------------------

    /// <summary>docs/memory-tasks.md: the best memoryless return of each card task and difficulty (6 decimals).</summary>
    public static TheoryData<bool, CardTaskDifficulty, double> BestMemoryless => new()
    {
        { true, CardTaskDifficulty.Easy, -0.499423 },
        { true, CardTaskDifficulty.Medium, -0.499991 },
        { true, CardTaskDifficulty.Hard, -0.499998 },
        { false, CardTaskDifficulty.Easy, -0.490196 },
        { false, CardTaskDifficulty.Medium, -0.495146 },
        { false, CardTaskDifficulty.Hard, -0.496774 },
    };

    [Theory]
    [MemberData(nameof(BestMemoryless))]
    public void BestMemorylessReturn_ByExactEnumerationOfAll256ReactivePolicies_MatchesTheTableAndTheClosedForm(
        bool repeatFirst, CardTaskDifficulty difficulty, double documented)
    {
        // The actions never change the cards, so the expected return is linear in the policy's action probabilities:
        // the best reactive policy is deterministic, one of the 4^4 maps from the current suit to a suit.
        int decks = repeatFirst ? RepeatFirstEnv.DecksFor(difficulty) : RepeatPreviousEnv.ParametersFor(difficulty).Decks;
        int k = repeatFirst ? 0 : RepeatPreviousEnv.ParametersFor(difficulty).K;
        double best = double.NegativeInfinity;
        for (int code = 0; code < 256; code++)
        {
            best = Math.Max(best, ExactReturn(Policy(code), decks, repeatFirst, k));
        }

        Assert.Equal(documented, best, 6);
        double closedForm = repeatFirst
            ? RepeatFirstEnv.BestMemorylessReturn(difficulty)
            : RepeatPreviousEnv.BestMemorylessReturn(difficulty);
        Assert.Equal(best, closedForm, 12);
        Assert.Equal(-0.5, ExactReturn(UniformlyRandom, decks, repeatFirst, k), 12);
    }

    [Theory]
    [InlineData(true, CardTaskDifficulty.Easy, 4000)]
    [InlineData(true, CardTaskDifficulty.Medium, 600)]
    [InlineData(true, CardTaskDifficulty.Hard, 300)]
    [InlineData(false, CardTaskDifficulty.Easy, 4000)]
    [InlineData(false, CardTaskDifficulty.Medium, 2000)]
    [InlineData(false, CardTaskDifficulty.Hard, 1500)]
    public void Simulation_OptimalRandomAndBestMemoryless_AgreeWithTheExactValues(bool repeatFirst, CardTaskDifficulty difficulty, int episodes)
    {
        using Env<int> env = repeatFirst ? new RepeatFirstEnv(difficulty) : new RepeatPreviousEnv(difficulty);
        int k = repeatFirst ? 0 : ((RepeatPreviousEnv)env).K;
        var obs = new float[4];
        var history = new List<int>();
        var actions = new NumpyRandom(99);
        var optimal = new RunningMean();
        var random = new RunningMean();
        var memoryless = new RunningMean();
        int[] reactive = BestPolicy(repeatFirst);
        env.Reset(obs, seed: 1234);
        for (int e = 0; e < episodes; e++)
        {
            for (int policy = 0; policy < 3; policy++)
            {
                if (policy > 0)
                {
                    env.Reset(obs);
                }

                history.Clear();
                history.Add(SuitSeen(obs));
                double ret = 0;
                StepResult r;
                do
                {
                    int t = history.Count; // the step about to be taken, 1-based
                    int action = policy switch
                    {
                        0 => repeatFirst ? history[0] : t >= k ? history[t - k] : 0, // remembers the whole history
                        1 => (int)actions.Integers(0, 4),
                        _ => reactive[history[^1]],
                    };
                    r = env.Step(action, obs);
                    ret += r.Reward;
                    history.Add(SuitSeen(obs));
                }
                while (!r.Done);
                (policy == 0 ? optimal : policy == 1 ? random : memoryless).Add(ret);
            }

            env.Reset(obs);
        }

        string what = $"{(repeatFirst ? "RepeatFirst" : "RepeatPrevious")} {difficulty}";
        Assert.InRange(optimal.Mean, 1 - 1e-9, 1 + 1e-9);
        Assert.True(optimal.StandardError < 1e-9, $"{what}: the optimal policy's return varies");
        random.AssertWithin(-0.5, 4, what + ", random");
        double best = repeatFirst ? RepeatFirstEnv.BestMemorylessReturn(difficulty) : RepeatPreviousEnv.BestMemorylessReturn(difficulty);
        memoryless.AssertWithin(best, 4, what + ", best memoryless");
    }

    /// <summary>
    /// The exact expected return of a reactive policy π(action | current suit), independent of the environment code:
    /// two different positions of a shuffled multiset of n = 52d cards (13d per suit) show suits (s, a) with probability
    /// (1/4) · (13d − [s = a]) / (n − 1).
    /// </summary>
    private static double ExactReturn(double[,] policy, int decks, bool repeatFirst, int k)
    {
        int n = 52 * decks;
        double perStep = 0; // expected reward (in units of ±1) when the current card and the target are different cards
        for (int s = 0; s < 4; s++)
        {
            for (int a = 0; a < 4; a++)
            {
                double joint = 0.25 * (13.0 * decks - (s == a ? 1 : 0)) / (n - 1);
                for (int action = 0; action < 4; action++)
                {
                    perStep += joint * policy[s, action] * (action == a ? 1 : -1);
                }
            }
        }

        if (!repeatFirst)
        {
            return perStep; // n − k scored steps, each of weight 1/(n − k)
        }

        double firstStep = 0; // step 1: the current card is the first card
        for (int s = 0; s < 4; s++)
        {
            for (int action = 0; action < 4; action++)
            {
                firstStep += 0.25 * policy[s, action] * (action == s ? 1 : -1);
            }
        }

        return (firstStep + (n - 2) * perStep) / (n - 1);
    }

    private static readonly double[,] UniformlyRandom = new double[,]
    {
        { 0.25, 0.25, 0.25, 0.25 }, { 0.25, 0.25, 0.25, 0.25 }, { 0.25, 0.25, 0.25, 0.25 }, { 0.25, 0.25, 0.25, 0.25 },
    };

    private static double[,] Policy(int code)
    {
        var p = new double[4, 4];
        for (int s = 0; s < 4; s++)
        {
            p[s, (code >> (2 * s)) & 3] = 1;
        }

        return p;
    }

    /// <summary>RepeatFirst: repeat the current suit; RepeatPrevious: name the next suit (any other suit is as good).</summary>
    private static int[] BestPolicy(bool repeatFirst) => repeatFirst ? [0, 1, 2, 3] : [1, 2, 3, 0];

    private static int Suit(string suits, int index) => suits[index] - '0';

    /// <summary>The suit of a one-hot observation, without checks (the dynamics tests check the encoding).</summary>
    private static int SuitSeen(float[] obs) => obs[0] == 1f ? 0 : obs[1] == 1f ? 1 : obs[2] == 1f ? 2 : 3;

    private static int OneHot(float[] obs)
    {
        Assert.Equal(1f, obs.Sum());
        int i = Array.IndexOf(obs, 1f);
        Assert.True(i >= 0, "not one-hot");
        return i;
    }
}
