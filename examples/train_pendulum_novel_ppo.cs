#:project ../packaging/RlMemory/RlMemory.csproj
#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)
#:property SelfContained=false
// Train recurrent PPO (an LSTM, continuous torque) on PendulumNoVel-v1, the pendulum that shows only cos θ and sin θ,
// then swing it up with the agent, whose LSTM state carries the velocity it cannot see.
//   dotnet run examples/train_pendulum_novel_ppo.cs
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Training.Ppo;

// rl-baselines3-zoo's ppo_lstm hyperparameters for PendulumNoVel-v1 ship as "ppo-pendulum-novel" (100,000 steps, gSDE).
PpoConfig config = PpoConfig.FromPreset("ppo-pendulum-novel", "seed=0");

using var trainer = new ContinuousPpoTrainer(config);
var result = trainer.Learn();
Console.WriteLine($"Trained {result.Steps} steps in {result.Seconds:0.0} s ({result.StepsPerSecond:0} steps/s); final evaluation: {result.FinalEvaluation?.MeanReturn:0.#}");

// The agent plays the Gaussian's mean, clipped to the torque's bounds [-2, 2]; its actor keeps one LSTM state per row.
using var env = EnvRegistry.Make<float[]>("PendulumNoVel-v1");
ContinuousPpoAgent agent = trainer.Agent; // the trainer's (it shares the trained policy), disposed with it
using IEpisodeActor<float[]> actor = agent.Begin(1);
float[][] torque = [new float[agent.ActionSize]];
var (obs, _) = env.Reset(seed: 123);
double total = 0;
for (bool done = false; !done;)
{
    actor.Act(obs, [0], torque);
    (obs, double reward, bool terminated, bool truncated, _) = env.Step(torque[0]);
    total += reward;
    done = terminated || truncated;
}

Console.WriteLine($"One more episode with the trained agent: return {total:0.#} (no memoryless policy does better than about -1,032)");
