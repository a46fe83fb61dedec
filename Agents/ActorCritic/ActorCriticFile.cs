using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using static TorchSharp.torch;

namespace RlMemory.Agents.ActorCritic;

/// <summary>Loading the agents that act with an <see cref="ActorCriticNetwork"/> (<see cref="PpoAgent"/>, <see cref="ContinuousPpoAgent"/>).</summary>
internal static class ActorCriticFile
{
    /// <summary>
    /// Reads the metadata of the agent file at <paramref name="path"/> (of <paramref name="kind"/>), checks it (the
    /// architecture, and <paramref name="problem"/>'s own checks), builds the network before reading any weights into
    /// it, and hands it to <paramref name="wrap"/>; the network is disposed if anything fails.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, of another kind, or names an architecture this version cannot build.</exception>
    public static TAgent Load<TMetadata, TAgent>(
        string path,
        string kind,
        JsonTypeInfo<TMetadata> metadataInfo,
        Func<TMetadata, ActorCriticConfig?> config,
        Func<TMetadata, ActorCriticConfig, string?> problem,
        Device? device,
        Func<ActorCriticNetwork, TMetadata, TAgent> wrap)
    {
        TMetadata metadata;
        ActorCriticConfig architecture;
        try
        {
            metadata = JsonSerializer.Deserialize(ModuleFile.ReadMetadata(path, kind), metadataInfo)
                ?? throw new InvalidDataException($"{path}: the agent metadata is empty.");
            architecture = (config(metadata) ?? throw new InvalidDataException($"{path}: the agent metadata has no configuration.")).Validate();
            if (problem(metadata, architecture) is { } wrong)
            {
                throw new InvalidDataException($"{path}: the agent metadata {wrong}.");
            }
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent metadata is invalid: {e.Message}", e);
        }

        ModuleFile.RequireStoredParameters(path, kind, ArchitectureSize.Minimum(architecture), architecture.Description);
        ActorCriticNetwork network;
        try
        {
            network = new ActorCriticNetwork(architecture, device);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the agent's configuration cannot be built: {e.Message}", e);
        }

        try
        {
            ModuleFile.Load(path, kind, ("policy", network));
            return wrap(network, metadata);
        }
        catch (ArgumentException e)
        {
            network.Dispose();
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }
}
