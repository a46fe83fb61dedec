using System.Text.Json.Serialization;

namespace RlMemory.Memory;

/// <summary>
/// Source-generated JSON metadata for the files this assembly writes, so saving and loading work without
/// reflection-based serialization (trimmed and AOT applications, file-based programs).
/// </summary>
[JsonSerializable(typeof(ReplayBufferFile.UniformMetadata), TypeInfoPropertyName = "UniformMetadata")]
[JsonSerializable(typeof(ReplayBufferFile.PrioritizedMetadata), TypeInfoPropertyName = "PrioritizedMetadata")]
[JsonSerializable(typeof(SavedRolloutMetadata), TypeInfoPropertyName = "RolloutMetadata")]
[JsonSerializable(typeof(SequenceReplayBuffer.SavedSequenceMetadata), TypeInfoPropertyName = "SequenceMetadata")]
internal sealed partial class MemoryJsonContext : JsonSerializerContext
{
}
