using System.Text.Json.Serialization;
using RlMemory.Training.Logging;

namespace RlMemory.Training;

/// <summary>Source-generated JSON metadata for checkpoint state (no reflection-based serialization needed).</summary>
[JsonSerializable(typeof(EpisodeTrackerState))]
[JsonSerializable(typeof(LogPosition))]
[JsonSerializable(typeof(double[]))]
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
internal sealed partial class TrainingJsonContext : JsonSerializerContext
{
}
