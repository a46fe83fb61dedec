using System.Text.Json.Serialization;
using RlMemory.Training.Learning;
using RlMemory.Training.Logging;
using RlMemory.Training.Ppo;

namespace RlMemory.Training;

/// <summary>Source-generated JSON metadata for checkpoint state (no reflection-based serialization needed).</summary>
[JsonSerializable(typeof(RunState))]
[JsonSerializable(typeof(QLearningState))]
[JsonSerializable(typeof(PpoState))]
[JsonSerializable(typeof(ContinuousOffPolicyState))]
[JsonSerializable(typeof(EpisodeTrackerState))]
[JsonSerializable(typeof(LogPosition))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(long[]))]
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class TrainingJsonContext : JsonSerializerContext
{
}
