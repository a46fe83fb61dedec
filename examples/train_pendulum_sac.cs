#:project ../packaging/RlMemory/RlMemory.csproj
#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)
#:property SelfContained=false
// Train SAC on Pendulum-v1 (continuous torque) with the library API, then swing the pendulum up with the agent.
//   dotnet run examples/train_pendulum_sac.cs
using RlMemory.Agents.Continuous;
using RlMemory.Environments;
using RlMemory.Training.Sac;

// rl-baselines3-zoo's Pendulum hyperparameters ship as the "sac-pendulum" preset (20,000 steps).
SacConfig config = SacConfig.FromPreset("sac-pendulum", "seed=0");

using var trainer = new SacTrainer(config);
var result = trainer.Learn();
Console.WriteLine($"Trained {result.Steps} steps in {result.Seconds:0.0} s ({result.StepsPerSecond:0} steps/s); final evaluation: {result.FinalEvaluation?.MeanReturn:0.#}");
Console.WriteLine($"Entropy coefficient now {trainer.EntropyCoefficient:0.###} (it started at 1, aiming at entropy {trainer.TargetEntropy})");

// The trained agent acts deterministically, its torque within the Box's bounds [-2, 2].
using var env = EnvRegistry.Make<float[]>("Pendulum-v1");
SacAgent agent = trainer.Agent; // the trainer's (it shares the trained policy), disposed with it
var (obs, _) = env.Reset(seed: 123);
double total = 0;
for (bool done = false; !done;)
{
    (obs, double reward, bool terminated, bool truncated, _) = env.Step(agent.Act(obs));
    total += reward;
    done = terminated || truncated;
}

Console.WriteLine($"One more episode with the trained agent: return {total:0.#} (random play: about -1,200)");
