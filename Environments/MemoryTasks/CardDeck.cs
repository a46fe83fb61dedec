namespace RlMemory.Environments.MemoryTasks;

/// <summary>
/// POPGym's deck (<c>popgym/core/deck.py</c>) reduced to what the card tasks use: <c>NumDecks</c> standard 52-card decks,
/// card <c>c</c> of suit <c>c mod 4</c>, shuffled with numpy's <c>Generator.shuffle</c> and dealt from the end of the
/// shuffled order. With the same seed, the suits come out in the same order as in POPGym.
/// </summary>
internal sealed class CardDeck
{
    public const int CardsPerDeck = 52;
    public const int SuitCount = 4;

    private readonly int[] _order;

    public CardDeck(int numDecks)
    {
        NumDecks = numDecks;
        _order = new int[CardsPerDeck * numDecks];
    }

    public int NumDecks { get; }

    /// <summary>The number of cards, 52 per deck.</summary>
    public int Count => _order.Length;

    /// <summary>Restores and shuffles the deck: <c>idx = np.arange(n); rng.shuffle(idx)</c>.</summary>
    public void Shuffle(NumpyRandom rng)
    {
        for (int i = 0; i < _order.Length; i++)
        {
            _order[i] = i;
        }

        rng.Shuffle<int>(_order);
    }

    /// <summary>Writes the shuffled order.</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(_order.Length);
        foreach (int card in _order)
        {
            writer.Write(card);
        }
    }

    /// <summary>Reads an order written by <see cref="Write"/>.</summary>
    public void Read(BinaryReader reader, string owner)
    {
        int n = reader.ReadInt32();
        if (n != _order.Length)
        {
            throw new InvalidDataException($"{owner}: the saved deck has {n} cards; this task deals {_order.Length}.");
        }

        for (int i = 0; i < n; i++)
        {
            _order[i] = reader.ReadInt32();
        }
    }

    /// <summary>The suit (0 to 3) of the card dealt <paramref name="k"/>-th (0-based) since the shuffle.</summary>
    public int SuitDealt(int k) => _order[_order.Length - 1 - k] % SuitCount;
}
