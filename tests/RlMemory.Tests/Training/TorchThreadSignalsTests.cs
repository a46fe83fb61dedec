using System.Runtime.InteropServices;
using RlMemory.Agents.Recurrent;
using RlMemory.Training;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <summary>
/// Signals arriving while a thread runs torch kernels (issue 12: a Ctrl+C during recurrent training corrupted the native
/// heap). A storm of handled signals while a thread trains an LSTM must not disturb it once the thread has blocked them;
/// .NET's handler still sees them, on another thread.
/// </summary>
/// <remarks>Runs alone: any other thread running torch kernels during the storm could be hit by the signals.</remarks>
[Collection(nameof(SeededTrainingCollection))]
public sealed class TorchThreadSignalsTests
{
    private const int SigUsr1 = 10;

    [Fact]
    public void Block_BlocksTheAsynchronousSignalsOnThisThreadOnly_AndRestoresTheMask()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Assert.False(TorchThreadSignals.IsBlocked(15));
        using (TorchThreadSignals.Block())
        {
            Assert.True(TorchThreadSignals.IsBlocked(2));   // SIGINT
            Assert.True(TorchThreadSignals.IsBlocked(15));  // SIGTERM
            Assert.True(TorchThreadSignals.IsBlocked(28));  // SIGWINCH
            Assert.False(TorchThreadSignals.IsBlocked(11)); // SIGSEGV stays with the thread that faults
            Assert.False(TorchThreadSignals.IsBlocked(34)); // SIGRTMIN: the runtime's GC activation signal
            bool otherThread = true;
            var thread = new Thread(() => otherThread = TorchThreadSignals.IsBlocked(15));
            thread.Start();
            thread.Join();
            Assert.True(otherThread, "a thread created while blocked inherits the mask");
        }

        Assert.False(TorchThreadSignals.IsBlocked(15));
    }

    [Fact]
    public void AStormOfHandledSignalsAimedAtATrainingThread_WaitsUntilItUnblocks_AndDoesNotDisturbIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int received = 0;
        using (PosixSignalRegistration.Create((PosixSignal)SigUsr1, context =>
        {
            context.Cancel = true;
            Interlocked.Increment(ref received);
        }))
        {
            // The kernel delivers a signal sent to the process to its main thread when that thread does not block it:
            // in `rlmemory train` that is the training thread. Here the signals are aimed at the training thread itself.
            float loss = 0;
            int tid = 0, receivedWhileTraining = -1;
            Exception? failure = null;
            using var started = new ManualResetEventSlim();
            var trainer = new Thread(() =>
            {
                try
                {
                    using (TorchThreadSignals.Block())
                    {
                        tid = gettid();
                        started.Set();
                        loss = TrainLstm(TimeSpan.FromSeconds(3));
                        receivedWhileTraining = Volatile.Read(ref received);
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            trainer.Start();
            started.Wait();
            int sent = 0;
            while (trainer.IsAlive)
            {
                if (tgkill(Environment.ProcessId, tid, SigUsr1) == 0)
                {
                    sent++;
                }

                Thread.Sleep(1);
            }

            trainer.Join();
            Assert.Null(failure);
            Assert.True(float.IsFinite(loss));
            Assert.True(sent > 500, $"only {sent} signals were sent");
            Assert.Equal(0, receivedWhileTraining);

            // Unblocking delivered the pending signal to .NET's handler.
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref received) > 0, TimeSpan.FromSeconds(5)), ".NET's handler never saw the signal");
            Thread.Sleep(200);
        }
    }

    [Theory]
    [InlineData("dqn-cartpole", "learning_starts=100")]
    [InlineData("r2d2-cartpole-novel", "learning_starts=100")]
    [InlineData("ppo-cartpole-novel", "n_steps=16")]
    public void EveryTrainer_LearnsWithTheSignalsBlockedOnItsThread(string preset, string start)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var probe = new BlockedProbe();
        TrainerSetup setup = TrainerCatalog.Configure(preset, "n_timesteps=300", "eval_freq=0", "eval_episodes=1", start);
        using (ITrainer trainer = setup.Create(new TrainerOptions { Quiet = true, Callbacks = [probe] }))
        {
            trainer.Learn();
        }

        Assert.True(probe.Steps > 0);
        Assert.Equal(probe.Steps, probe.BlockedSteps);
        Assert.False(TorchThreadSignals.IsBlocked(15), "Learn restores the caller's mask");
    }

    private sealed class BlockedProbe : TrainingCallback
    {
        public int Steps { get; private set; }

        public int BlockedSteps { get; private set; }

        public override bool OnStep(StepContext context)
        {
            Steps++;
            BlockedSteps += TorchThreadSignals.IsBlocked(2) && TorchThreadSignals.IsBlocked(15) ? 1 : 0;
            return true;
        }
    }

    /// <summary>Trains a small LSTM (forward and backward through libtorch's oneDNN kernels) for <paramref name="duration"/>.</summary>
    private static float TrainLstm(TimeSpan duration)
    {
        manual_seed(1);
        using var core = new LstmCore(new LstmCoreConfig { ObservationSize = 4, EncoderSizes = [], HiddenSize = 128 });
        using var optimizer = optim.Adam(core.parameters(), 1e-3);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        float loss = 0;
        while (clock.Elapsed < duration)
        {
            using var scope = NewDisposeScope();
            var (features, _) = core.Unroll(randn(8, 32, 4), core.InitialState(8));
            Tensor value = features.square().mean();
            optimizer.zero_grad();
            value.backward();
            optimizer.step();
            loss = value.item<float>();
        }

        return loss;
    }

    [DllImport("libc")]
    private static extern int gettid();

    [DllImport("libc")]
    private static extern int tgkill(int pid, int tid, int signal);
}
