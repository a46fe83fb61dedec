#:project ../App/RlMemory.App.csproj
#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)
#:property SelfContained=false
// Does a trained T-maze agent carry the sign to the junction? Loads a PPO agent with the memory core, feeds it the two
// episodes of a straight walk (sign north or south at step 0, N corridor cells, the junction) and prints how much the
// sign changes the controller state h and the read vector at the junction, and the policy's logits there. With a
// third argument it saves the whole episode's write, read and usage weights as a heatmap PNG (sign north).
//   dotnet run examples/tmaze_memory_probe.cs -- runs/ppo-tmaze-memory-seed0/final_model.rlagent 50 [heatmap.png]
using System.Globalization;
using RlMemory.Agents;
using RlMemory.Agents.Recurrent;
using RlMemory.App.Plots;
using RlMemory.Environments.MemoryTasks;
using RlMemory.Memory;
using static TorchSharp.torch;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: tmaze_memory_probe.cs AGENT.rlagent CORRIDOR_LENGTH [heatmap.png]");
    return 2;
}

using var agent = PpoAgent.Load(args[0]);
int n = int.Parse(args[1], CultureInfo.InvariantCulture);
if (agent.Network.Core is not MemoryCore core)
{
    Console.Error.WriteLine($"{args[0]} has no memory core ({agent.Network.Config.Core?.Kind ?? "feed-forward"}).");
    return 2;
}

// Bakker's observations (TMazeEnv): 011 sign north, 110 sign south, 101 corridor, 010 junction.
using var noGrad = no_grad();
Tensor observations = zeros(2, n + 2, 3);
observations[0, 0] = tensor(new float[] { 0, 1, 1 });
observations[1, 0] = tensor(new float[] { 1, 1, 0 });
observations.narrow(1, 1, n).copy_(tensor(new float[] { 1, 0, 1 }).expand(2, n, 3));
observations[TensorIndex.Colon, n + 1] = tensor(new float[] { 0, 1, 0 });

// The network's own steps (observation normalization included), with the memory traced for row 0.
core.Trace = new MemoryTrace(core.Config.Memory, row: 0);
RecurrentState? state = agent.Network.InitialState(2);
Tensor logits = null!;
for (int t = 0; t < n + 2; t++)
{
    (logits, _, state) = agent.Network.Step(observations.select(1, t), state);
}

MemoryTrace trace = core.Trace;
core.Trace = null;
Tensor h = state!["h"], reads = state["read_vectors"];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"At the junction (step {n + 1}), the sign changes h by {(h[0] - h[1]).norm().item<float>():G3} (|h| {h[0].norm().item<float>():G3}) and the read vector by {(reads[0] - reads[1]).norm().item<float>():G3} (|r| {reads[0].norm().item<float>():G3})."));
string Row(int i) => string.Join(", ", logits[i].data<float>().ToArray().Select(x => x.ToString("F2", CultureInfo.InvariantCulture)));
Console.WriteLine($"Logits at the junction (north, east, south, west): sign north {Row(0)}; sign south {Row(1)}.");

static float Sum(ReadOnlySpan<float> x)
{
    float s = 0;
    foreach (float v in x)
    {
        s += v;
    }

    return s;
}

double corridor = 0;
for (int t = 1; t <= n; t++)
{
    corridor += Sum(trace.WriteWeights(t));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Write weight: {Sum(trace.WriteWeights(0)):F3} at step 0, {corridor / n:F3} per corridor step ({corridor:F1} in all); largest read weight at the junction {trace.ReadWeights(n + 1, 0).ToArray().Max():F3} (uniform: {1.0 / trace.Slots:F3})."));
if (args.Length > 2)
{
    MemoryHeatmap.SavePng(trace, args[2], new MemoryHeatmapOptions { CellWidth = Math.Max(1, 600 / (n + 2)), CellHeight = 5 });
    Console.WriteLine($"Wrote {args[2]}.");
}

return 0;
