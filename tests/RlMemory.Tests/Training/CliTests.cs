using RlMemory.App;
using RlMemory.Training.Dqn;
using RlMemory.Training.Ppo;

namespace RlMemory.Tests.Training;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-cli-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static (int Code, string Output, string Error) Run(params string[] args) => Run(CancellationToken.None, args);

    private static (int Code, string Output, string Error) Run(CancellationToken token, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RlMemoryCli.Run(args, output, error, token);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A run folder on a T-maze of corridor 3 (its config.yaml) with a random-weight DQN agent.</summary>
    private string TMazeRunFolder()
    {
        string run = Path.Combine(_dir, "tmaze-run");
        Directory.CreateDirectory(run);
        TorchSharp.torch.manual_seed(5);
        using var agent = new RlMemory.Agents.DqnAgent(
            new RlMemory.Agents.QNetwork(new RlMemory.Agents.QNetworkConfig { ObservationSize = 3, ActionCount = 4, HiddenSizes = [8] }), "TMaze-v0", ownsNetwork: true);
        agent.Save(Path.Combine(run, "best_model.rlagent"));
        File.WriteAllText(Path.Combine(run, "config.yaml"), "algo: dqn\nenv: TMaze-v0\nenv_options: {corridor_length: 3, time_limit_factor: 2}\nseed: 0\n");
        return run;
    }

    private static int[] Lengths(string evalOutput) =>
        [.. evalOutput.Split('\n').Where(l => l.StartsWith("episode ", StringComparison.Ordinal)).Select(l => int.Parse(l[(l.LastIndexOf(' ') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public void Eval_OfARunFolder_UsesTheRunsEnvOptions_AndEnvOptionOverridesThem()
    {
        string run = TMazeRunFolder();

        // Corridor 3: every episode ends within the time limit 2 × (3 + 1) = 8 steps.
        var own = Run("eval", run, "--episodes", "6");
        Assert.True(own.Code == 0, own.Error);
        int[] lengths = Lengths(own.Output);
        Assert.Equal(6, lengths.Length);
        Assert.All(lengths, n => Assert.InRange(n, 1, 8));

        // Corridor 7: no episode can end before 7 moves east and a turn (8 steps); the limit is 16.
        var longer = Run("eval", run, "--episodes", "6", "--env-option", "corridor_length=7");
        Assert.True(longer.Code == 0, longer.Error);
        Assert.All(Lengths(longer.Output), n => Assert.InRange(n, 8, 16));
        Assert.Contains(Lengths(longer.Output), n => n > 8);
    }

    [Fact]
    public void TrainingAContinuousEnvironment_SaysInCommandLineTermsWhatCanTrainIt()
    {
        var r = Run("train", "dqn-cartpole", "--set", "env=PendulumNoVel-v1", "--out", Path.Combine(_dir, "continuous"));
        Assert.Equal(RlMemoryCli.InvalidInput, r.Code);
        Assert.Equal(
            "error: env PendulumNoVel-v1 has continuous actions (Box(-2, 2, (1,), float32)), and dqn trains discrete actions only; "
            + "ppo, sac, td3 train continuous actions (presets: ppo-mountaincar-continuous, ppo-pendulum, ppo-pendulum-novel, sac-mountaincar-continuous, sac-pendulum, td3-mountaincar-continuous, td3-pendulum; e.g. rlmemory train ppo-pendulum-novel --set env=PendulumNoVel-v1). "
            + "Or choose an environment with discrete actions (rlmemory list envs).",
            r.Error.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir, "continuous")));
    }

    [Theory]
    [InlineData("corridor_length", "eval", "--env-option expects key=value, got 'corridor_length'.")]
    [InlineData("corridor=5", "eval", "TMaze-v0 does not accept option 'corridor'. Did you mean 'corridor_length'?")]
    [InlineData("corridor_length=0", "record", "TMaze-v0: option 'corridor_length' must be an integer in [1, 1000000]; got '0' (string).")]
    public void BadEnvOptions_AreOneLineErrors(string option, string command, string expected)
    {
        string run = TMazeRunFolder();
        string[] args = command == "eval"
            ? ["eval", run, "--env-option", option]
            : ["record", run, "--gif", Path.Combine(_dir, "x.gif"), "--env-option", option];
        var r = Run(args);
        Assert.Equal(RlMemoryCli.InvalidInput, r.Code);
        Assert.StartsWith("error: " + expected, r.Error, StringComparison.Ordinal);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ListKeys_ShowsEveryKeyWithItsDefaultAndMeaning()
    {
        var ppo = Run("list", "keys", "ppo");
        Assert.True(ppo.Code == 0, ppo.Error);
        string[] lines = ppo.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("ppo (PPO): key, default, meaning", lines[0]);
        Assert.Equal(RlMemory.Training.Ppo.PpoConfig.Schema.Keys.Count, lines.Length - 1);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["learning_rate", "0.0003", "Adam", ..]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["normalize_advantage", "true", ..]);

        var all = Run("list", "keys");
        Assert.True(all.Code == 0, all.Error);
        foreach (string heading in new[] { "dqn (DQN)", "r2d2 (R2D2)", "ppo (PPO)", "sac (SAC)" })
        {
            Assert.Contains(heading, all.Output, StringComparison.Ordinal);
        }

        Assert.Contains("  buffer_size ", all.Output, StringComparison.Ordinal);
        var unknown = Run("list", "keys", "a2c");
        Assert.Equal(RlMemoryCli.InvalidInput, unknown.Code);
        Assert.Contains("algo 'a2c' is not available; available: dqn, r2d2, ppo, sac", unknown.Error, StringComparison.Ordinal);
        var misplaced = Run("list", "envs", "dqn");
        Assert.Equal(RlMemoryCli.InvalidInput, misplaced.Code);
    }

    [Fact]
    public void PlayingCommands_StartAtTheEvaluationSeedByDefault()
    {
        var random = Run("random", "CartPole-v1", "--episodes", "2");
        Assert.True(random.Code == 0, random.Error);
        Assert.Contains("episode 1 (seed 10000)", random.Output, StringComparison.Ordinal);
        Assert.Contains("episode 2 (seed 10001)", random.Output, StringComparison.Ordinal);
        Assert.Equal(10_000, RlMemory.Training.Evaluator.SeedFor(0));
    }

    [Fact]
    public void TrainThenEvalThenRecord_WorkEndToEnd()
    {
        string run = Path.Combine(_dir, "run");
        var train = Run("train", "dqn-cartpole", "--steps", "2000", "--out", run, "--quiet", "--set", "learning_starts=500", "--set", "eval_episodes=2");
        Assert.True(train.Code == 0, train.Error);
        Assert.Contains("Final evaluation: mean return", train.Output, StringComparison.Ordinal);
        Assert.Contains("over 2 episodes at step 2,000", train.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "final_model.rlagent")));

        // The command draws the learning curve (the library writes none: plots are the app's).
        using (SkiaSharp.SKBitmap curve = SkiaSharp.SKBitmap.Decode(Path.Combine(run, "learning_curve.png")))
        {
            Assert.Equal((900, 540), (curve.Width, curve.Height));
        }

        var eval = Run("eval", run, "--episodes", "3");
        Assert.Equal(0, eval.Code);
        Assert.Contains("CartPole-v1: mean return", eval.Output, StringComparison.Ordinal);
        string[] lines = eval.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Equal($"Playing {Path.Combine(run, "best_model.rlagent")} (the weights of its best evaluation).", lines[0]);

        // Another environment whose observations do not fit the agent is refused in the command line's terms.
        var other = Run("eval", run, "--env", "MountainCar-v0");
        Assert.Equal(RlMemoryCli.InvalidInput, other.Code);
        Assert.Contains("MountainCar-v0 has observations of 2 floats", other.Error, StringComparison.Ordinal);
        Assert.Contains("but the agent reads 4 (it was trained on CartPole-v1)", other.Error, StringComparison.Ordinal);
        var sameSpaces = Run("eval", run, "--env", "CartPole-v0");
        Assert.True(sameSpaces.Code == 0, sameSpaces.Error);
        var moreActions = Run("eval", run, "--env", "TMaze-v0");
        Assert.Equal(RlMemoryCli.InvalidInput, moreActions.Code);
        Assert.Contains("TMaze-v0 has observations of 3 floats", moreActions.Error, StringComparison.Ordinal);

        string gif = Path.Combine(_dir, "play.gif");
        var record = Run("record", Path.Combine(run, "final_model.rlagent"), "--gif", gif);
        Assert.Equal(0, record.Code);
        Assert.True(new FileInfo(gif).Length > 1000);
        Assert.Contains("frames of 600×400", record.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainR2d2ThenEvalThenRecord_WorkEndToEnd_WithTheRecurrentAgent()
    {
        string run = Path.Combine(_dir, "r2d2");
        var train = Run("train", "r2d2-tmaze", "--steps", "2000", "--out", run, "--quiet", "--set", "learning_starts=500", "--set", "eval_episodes=2");
        Assert.True(train.Code == 0, train.Error);
        Assert.Contains("Training R2D2 on TMaze-v0", train.Output, StringComparison.Ordinal);
        Assert.Contains("over 2 episodes at step 2,000", train.Output, StringComparison.Ordinal);

        var eval = Run("eval", run, "--episodes", "3");
        Assert.True(eval.Code == 0, eval.Error);
        Assert.Contains("TMaze-v0: mean return", eval.Output, StringComparison.Ordinal);
        Assert.Equal(5, eval.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        string gif = Path.Combine(_dir, "maze.gif");
        var record = Run("record", run, "--gif", gif);
        Assert.True(record.Code == 0, record.Error);
        Assert.True(File.Exists(gif));
    }

    [Fact]
    public void TheResumeHint_QuotesWhatTheShellWouldSplit_AndAddsTheRunFolder()
    {
        Assert.Equal(
            "rlmemory train ppo-cartpole --set 'env_options={corridor_length: 5}' --set 'it'\\''s=1' --out runs/x --resume",
            RlMemoryCli.ResumeCommand(["train", "ppo-cartpole", "--set", "env_options={corridor_length: 5}", "--set", "it's=1"], "runs/x"));
        Assert.Equal("rlmemory train --out mine --resume", RlMemoryCli.ResumeCommand(["train", "--out", "mine", "--resume"], "ignored"));
    }

    [Fact]
    public void ARunInterruptedBeforeItsFirstCheckpoint_StartsAgainWithFreshLogs()
    {
        string run = Path.Combine(_dir, "early");
        var resume = Run("train", "--steps", "2000", "--out", run, "--resume", "--quiet");
        Assert.Equal(RlMemoryCli.InvalidInput, resume.Code);
        Assert.Contains("starts again without --resume", resume.Error, StringComparison.Ordinal);

        // What a run killed before its first checkpoint leaves: a log row and an event file.
        Directory.CreateDirectory(Path.Combine(run, "tensorboard"));
        File.WriteAllText(Path.Combine(run, "progress.csv"), "time/total_timesteps\n1000\n");
        File.WriteAllText(Path.Combine(run, "tensorboard", "events.out.tfevents.1.host.1.1"), "old");
        var fresh = Run("train", "--steps", "2000", "--out", run, "--quiet", "--set", "learning_starts=500", "--set", "eval_freq=0");
        Assert.True(fresh.Code == 0, fresh.Error);
        string[] rows = File.ReadAllLines(Path.Combine(run, "progress.csv"));
        Assert.StartsWith("time/total_timesteps,", rows[0], StringComparison.Ordinal);
        Assert.DoesNotContain("1000", rows);
        Assert.Single(rows, r => r.StartsWith("1000,", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(Path.Combine(run, "tensorboard")));
    }

    [Fact]
    public void Cancellation_CheckpointsAndExitsWith130_AndResumeContinues()
    {
        string run = Path.Combine(_dir, "run");
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var first = Run(cancel.Token, "train", "--steps", "3000", "--out", run, "--quiet", "--set", "learning_rate=0.001");
        Assert.Equal(RlMemoryCli.Interrupted, first.Code);
        Assert.Contains("Interrupted at step 1; checkpoint", first.Output, StringComparison.Ordinal);

        // The hint repeats the command as it was given: following it resumes the same run with the same budget.
        Assert.Contains($"Resume with: rlmemory train --steps 3000 --out {run} --quiet --set learning_rate=0.001 --resume", first.Output, StringComparison.Ordinal);
        using (var hinted = new RlMemory.Training.Dqn.DqnTrainer(RlMemory.Training.Dqn.DqnConfig.FromPreset("dqn-cartpole"), new RlMemory.Training.TrainerOptions { Quiet = true, ResumeFrom = run, KeepSavedBudget = true }))
        {
            Assert.Equal(3000, hinted.TotalTimesteps);
            Assert.Equal(0.001, hinted.Config.LearningRate);
        }

        var again = Run("train", "--steps", "3000", "--out", run, "--quiet");
        Assert.Equal(RlMemoryCli.InvalidInput, again.Code);
        Assert.Contains("already holds a run; pass --resume", again.Error, StringComparison.Ordinal);

        var resumed = Run("train", "--steps", "1500", "--out", run, "--resume", "--quiet", "--set", "learning_starts=500");
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Contains("Resuming", resumed.Output, StringComparison.Ordinal);
        Assert.Contains("at step 3,000", resumed.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "train", "no-such-preset" }, "No preset named 'no-such-preset'")]
    [InlineData(new[] { "train", "--set", "gama=0.9" }, "unknown dqn key 'gama'. Did you mean 'gamma'?")]
    [InlineData(new[] { "train", "--set", "gamma=1.5" }, "gamma = '1.5' is out of range: must be a number in [0, 1].")]
    [InlineData(new[] { "train", "--device", "cuda" }, "CUDA is not available")]
    [InlineData(new[] { "eval", "/no/such/run" }, "No agent file or run folder at '/no/such/run'")]
    [InlineData(new[] { "random", "CartPol-v1" }, "Did you mean 'CartPole-v1'")]
    [InlineData(new[] { "random", "--episodes", "0" }, "--episodes must be at least 1, got 0.")]
    public void BadInput_ExitsWith2_AndOneLineNamingTheProblem(string[] args, string expected)
    {
        var r = Run(args);
        Assert.Equal(RlMemoryCli.InvalidInput, r.Code);
        Assert.Contains(expected, r.Error, StringComparison.Ordinal);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ListAndHelp_Work()
    {
        var presets = Run("list", "presets");
        Assert.Equal(0, presets.Code);
        Assert.Contains("dqn-cartpole ", presets.Output, StringComparison.Ordinal);

        // One column per field, however long a preset's name: the algorithm starts at the same place on every line.
        string[] lines = presets.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("td3-mountaincar-continuous ", StringComparison.Ordinal));
        Assert.Single(lines.Select(l => l.IndexOf(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] + " ", l.IndexOf(' ', StringComparison.Ordinal), StringComparison.Ordinal)).Distinct());
        var envs = Run("list", "envs");
        Assert.Contains("TMaze-v0", envs.Output, StringComparison.Ordinal);
        var help = Run("train", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("--resume", help.Output, StringComparison.Ordinal);
        Assert.Equal(RlMemoryCli.InvalidCommandLine, Run("list", "agents").Code);
    }
}
