using System.Buffers;

namespace RlMemory.Memory;

/// <summary>
/// A min tree over <see cref="Capacity"/> leaves: O(log N) updates and the minimum in O(1). Leaves start empty
/// (+∞, which is also what <see cref="Min"/> reports while every leaf is empty). Prioritized replay uses it for the
/// smallest stored priority, which normalizes the importance weights. Not thread-safe.
/// </summary>
/// <remarks>
/// Same layout as <see cref="SumTree"/> (one managed <see cref="double"/> array, leaf count padded to a power of
/// two with empty leaves). Minima are exact, so no rounding is involved at all. Leaf values must be finite and
/// ≥ 0; a call with an invalid argument throws and changes nothing, and a batched call checks its whole batch
/// before writing anything.
/// </remarks>
public sealed class MinTree
{
    /// <summary>The largest supported capacity (2^29 leaves, 8 GiB of nodes).</summary>
    public const int MaxCapacity = CompleteBinaryTree<MinCombiner>.MaxCapacity;

    private const string Name = nameof(MinTree);

    private readonly CompleteBinaryTree<MinCombiner> _tree;

    /// <summary>Creates a tree of <paramref name="capacity"/> empty (+∞) leaves.</summary>
    /// <param name="capacity">The number of leaves, in [1, <see cref="MaxCapacity"/>]; need not be a power of two.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is outside [1, <see cref="MaxCapacity"/>].</exception>
    public MinTree(int capacity)
    {
        PriorityArguments.CheckCapacity(Name, capacity, MaxCapacity);
        _tree = new CompleteBinaryTree<MinCombiner>(capacity);
    }

    /// <summary>The number of leaves.</summary>
    public int Capacity => _tree.Capacity;

    /// <summary>The smallest leaf value; +∞ while every leaf is empty.</summary>
    public double Min => _tree.Root;

    /// <summary>The value of leaf <paramref name="index"/> (+∞ if it is empty).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Capacity"/>).</exception>
    public double this[int index]
    {
        get
        {
            PriorityArguments.CheckIndex($"{Name}[index]", index, Capacity);
            return _tree.Leaf(index);
        }
    }

    /// <summary>Sets leaf <paramref name="index"/> to <paramref name="value"/> in O(log N).</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="index"/> is outside [0, <see cref="Capacity"/>), or <paramref name="value"/> is NaN, infinite or negative.
    /// </exception>
    public void Update(int index, double value)
    {
        const string owner = Name + "." + nameof(Update);
        PriorityArguments.CheckIndex(owner, index, Capacity);
        PriorityArguments.CheckLeafValue(owner, value, index);
        _tree.Set(index, value);
    }

    /// <summary>
    /// Sets leaf <c>indices[i]</c> to <c>values[i]</c> for every i, in order (the last of repeated indices wins),
    /// in O(B log N). The whole batch is checked first: if any element is invalid, nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range, or a value is NaN, infinite or negative.</exception>
    public void Update(ReadOnlySpan<int> indices, ReadOnlySpan<double> values)
    {
        const string owner = Name + "." + nameof(Update);
        PriorityArguments.CheckSameLength(owner, nameof(indices), indices.Length, nameof(values), values.Length);
        for (int i = 0; i < indices.Length; i++)
        {
            PriorityArguments.CheckIndex(owner, indices[i], Capacity, i);
            PriorityArguments.CheckLeafValue(owner, values[i], indices[i], i);
        }

        int n = indices.Length;
        if (n == 0)
        {
            return;
        }

        double[]? rented = null;
        Span<double> previous = n <= CompleteBinaryTree<MinCombiner>.StackBatchLimit
            ? stackalloc double[n]
            : (rented = ArrayPool<double>.Shared.Rent(n)).AsSpan(0, n);
        try
        {
            _tree.Set(indices, values, previous);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Copies the leaves, in index order, into <paramref name="destination"/> (length <see cref="Capacity"/>; empty leaves are +∞).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/>'s length differs from <see cref="Capacity"/>.</exception>
    public void CopyTo(Span<double> destination)
    {
        PriorityArguments.CheckSameLength(Name + "." + nameof(CopyTo), nameof(destination), destination.Length, nameof(Capacity), Capacity);
        _tree.CopyLeavesTo(destination);
    }

    /// <summary>
    /// Replaces every leaf with <paramref name="values"/> (length <see cref="Capacity"/>; +∞ marks an empty leaf) and
    /// rebuilds the tree in O(N). All values are checked first: if any is invalid, nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">The length differs from <see cref="Capacity"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is NaN, −∞ or negative.</exception>
    public void SetAll(ReadOnlySpan<double> values)
    {
        const string owner = Name + "." + nameof(SetAll);
        PriorityArguments.CheckSameLength(owner, nameof(values), values.Length, nameof(Capacity), Capacity);
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] != double.PositiveInfinity)
            {
                PriorityArguments.CheckLeafValue(owner, values[i], i);
            }
        }

        _tree.Install(_tree.Build(values));
    }

    /// <summary>Empties every leaf (+∞).</summary>
    public void Clear() => _tree.Clear();
}
