#:project ../packaging/RlMemory/RlMemory.csproj
#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)
#:property SelfContained=false
// Train DQN on CartPole-v1 with the library API, then play with the trained agent.
//   dotnet run examples/train_cartpole.cs
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Training.Dqn;

// rl-baselines3-zoo's CartPole hyperparameters ship as the "dqn-cartpole" preset.
DqnConfig config = DqnConfig.FromPreset("dqn-cartpole", "seed=0");

using var trainer = new DqnTrainer(config);
var result = trainer.Learn();
Console.WriteLine($"Trained {result.Steps} steps in {result.Seconds:0.0} s ({result.StepsPerSecond:0} steps/s); final evaluation: {result.FinalEvaluation?.MeanReturn:0.#}");

// The trained agent acts greedily.
using var env = EnvRegistry.Make<int>("CartPole-v1");
DqnAgent agent = trainer.Agent; // the trainer's (it shares the trained network), disposed with it
var (obs, _) = env.Reset(seed: 123);
double total = 0;
for (bool done = false; !done;)
{
    (obs, double reward, bool terminated, bool truncated, _) = env.Step(agent.Act(obs));
    total += reward;
    done = terminated || truncated;
}

Console.WriteLine($"One more episode with the trained agent: return {total}");
