namespace RlMemory.Agents;

/// <summary>
/// Acts for the N environments of a training run with one batched forward pass: ε-greedy, with its own seeded
/// generator whose state a checkpoint keeps. <see cref="BatchedActor"/> (feed-forward) and
/// <see cref="Recurrent.RecurrentQActor"/> (carrying each environment's recurrent state) implement it.
/// </summary>
public interface IExploringActor : IDisposable
{
    /// <summary>
    /// Writes an ε-greedy action per observation: with probability <paramref name="epsilon"/> a uniformly random
    /// action, otherwise the greedy one. The random draws come from the actor's generator.
    /// </summary>
    void EpsilonGreedy(ReadOnlySpan<float> observations, Span<int> actions, double epsilon);

    /// <summary>The exploration generator's state (for checkpoints).</summary>
    byte[] GetGeneratorState();

    /// <summary>Restores the exploration generator's state.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid state of this generator; nothing changed.</exception>
    void SetGeneratorState(ReadOnlySpan<byte> state);
}
