#:project ../App/RlMemory.App.csproj
#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)
#:property SelfContained=false
// Recurrent PPO with the external-memory core on a T-maze whose cue lies 50 steps before the junction, then a GIF of
// the trained agent with its memory's write/read/usage heatmaps beside the maze (drawn by the rlmemory app's viewer
// code, hence the App project). About 3 minutes on 2 idle cores.
//   dotnet run examples/train_tmaze_memory.cs
using RlMemory.Agents;
using RlMemory.Environments;
using RlMemory.Environments.Recording;
using RlMemory.App.Viewer;
using RlMemory.Training.Ppo;

// The ppo-tmaze-memory preset with a corridor of 50; west_penalty makes walking the corridor easy, so the task tests
// memory rather than exploration (docs/memory-tasks.md).
PpoConfig config = PpoConfig.FromPreset("ppo-tmaze-memory", "seed=0", "env_options.corridor_length=50", "env_options.west_penalty=0.05");

using var trainer = new PpoTrainer(config);
var result = trainer.Learn();
var final = result.FinalEvaluation!;
Console.WriteLine($"Success in {final.Returns.Count(r => r > 0)} of {final.Returns.Count} evaluation episodes (a memoryless agent: about half).");

// Record two episodes with the memory heatmaps beside each frame.
using var env = EnvRegistry.Make<int>(config.Env, new EnvOptions(config.EnvOptions));
PpoAgent agent = trainer.Agent; // the trainer's, disposed with it
using IEpisodeActor actor = agent.Begin(1);
using var heatmaps = new MemoryFrameComposer((IMemoryIntrospection)actor);
RecordingResult video = EpisodeRecorder.Record(
    env,
    obs =>
    {
        Span<int> action = stackalloc int[1];
        actor.Act(obs, [0], action);
        heatmaps.AfterAct();
        return action[0];
    },
    "tmaze-memory.gif",
    episodes: 2,
    seed: 7,
    episodeStarting: _ =>
    {
        actor.Reset(0);
        heatmaps.EpisodeStarting();
    },
    composeFrame: heatmaps.Compose);
Console.WriteLine($"Wrote {video.Path} ({video.FrameCount} frames).");
