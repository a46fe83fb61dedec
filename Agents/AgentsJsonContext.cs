using System.Text.Json.Serialization;

namespace RlMemory.Agents;

/// <summary>
/// Source-generated JSON metadata for agent files (no reflection-based serialization needed); infinite action bounds
/// are written as <c>"Infinity"</c>/<c>"-Infinity"</c>.
/// </summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(DqnAgent.AgentMetadata))]
[JsonSerializable(typeof(Recurrent.MemoryCoreConfig))]
[JsonSerializable(typeof(RecurrentDqnAgent.RecurrentAgentMetadata))]
[JsonSerializable(typeof(PpoAgent.AgentMetadata), TypeInfoPropertyName = "PpoAgentMetadata")]
[JsonSerializable(typeof(Continuous.ContinuousAgentMetadata))]
[JsonSerializable(typeof(ContinuousPpoAgent.AgentMetadata), TypeInfoPropertyName = "ContinuousPpoAgentMetadata")]
internal sealed partial class AgentsJsonContext : JsonSerializerContext
{
}
