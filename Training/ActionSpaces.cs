using RlMemory.Environments;
using RlMemory.Training.Configuration;

namespace RlMemory.Training;

/// <summary>
/// The action spaces the run loop trains: <c>Discrete(n)</c> from 0 for <c>int</c> actions, and a one-dimensional
/// <see cref="Box"/> for <c>float[]</c> actions (SAC and TD3 squash into the bounds, so theirs must be finite:
/// <see cref="RequireFinite"/>; PPO's Gaussian clips to them, which infinite bounds leave alone).
/// </summary>
internal static class ActionSpaces
{
    /// <summary>Refuses a space the algorithm <paramref name="algorithm"/> cannot train, naming the environment, the space and what is needed.</summary>
    /// <exception cref="ConfigException">The space is not <c>Discrete(n)</c> from 0 (int actions), or not a one-dimensional Box (float[] actions).</exception>
    public static void Require<TAction>(Space<TAction> space, string env, string algorithm)
    {
        switch (space)
        {
            case Discrete { Start: 0 }:
                return;
            case Discrete discrete:
                throw new ConfigException($"env {env} has the action space {discrete}; {algorithm} needs discrete actions numbered from 0 (Discrete(n)).");
            case Box box when box.Shape.Count != 1:
                throw new ConfigException($"env {env} has the action space {box}; {algorithm} needs a one-dimensional Box (a vector of actions).");
            case Box:
                return;
            default:
                throw new ConfigException($"env {env} has the action space {space}, which {algorithm} cannot train.");
        }
    }

    /// <summary>Refuses a Box with an infinite bound for <paramref name="algorithm"/>, which squashes its actions into the bounds.</summary>
    /// <exception cref="ConfigException">A bound is infinite (the message says how to bound the environment).</exception>
    public static void RequireFinite(Box box, string env, string algorithm)
    {
        if (!box.IsBounded)
        {
            throw new ConfigException(
                $"env {env} has the action space {box} with infinite bounds; {algorithm} squashes its actions into the Box's bounds, "
                + "so they must be finite: wrap the environment in ClipAction or RescaleAction with finite bounds.");
        }
    }

    /// <summary>
    /// One action per environment for <paramref name="count"/> environments: for <c>float[]</c> actions each entry is an
    /// array of the Box's size, which actors fill in place (no allocation per step).
    /// </summary>
    public static TAction[] Buffers<TAction>(Space<TAction> space, int count)
    {
        var actions = new TAction[count];
        if (space is Box box && actions is float[][] vectors)
        {
            for (int i = 0; i < count; i++)
            {
                vectors[i] = new float[box.Size];
            }
        }

        return actions;
    }
}
