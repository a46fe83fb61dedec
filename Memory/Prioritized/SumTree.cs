using System.Buffers;

namespace RlMemory.Memory;

/// <summary>
/// A sum tree over <see cref="Capacity"/> non-negative leaves: O(log N) updates, the total in O(1), and the
/// prefix-sum search that proportional prioritized replay samples with (Schaul et al. 2016). Not thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// The tree is one managed <see cref="double"/> array; the leaf count is padded to the next power of two, so any
/// capacity from 1 to <see cref="MaxCapacity"/> works (padding leaves hold 0 and are never returned).
/// </para>
/// <para>
/// Numerics: an update writes the leaf and recomputes each ancestor as the sum of its two children rather than
/// adding a difference. Every node, <see cref="Total"/> included, therefore equals what a fresh build from the
/// current leaves gives, bit for bit, after any number of updates: there is no drift. (Adding deltas instead lets
/// rounding errors accumulate; after millions of updates a total can even turn slightly negative while all
/// leaves are zero.) <see cref="Total"/> differs from an exact sum of the leaves only by the rounding of one
/// pairwise summation, at most about log2(N) ulps relative.
/// </para>
/// <para>
/// Leaf values must be finite and ≥ 0. A call with an invalid argument throws and changes nothing; a batched call
/// checks its whole batch before writing anything.
/// </para>
/// </remarks>
public sealed class SumTree
{
    /// <summary>The largest supported capacity (2^29 leaves, 8 GiB of nodes).</summary>
    public const int MaxCapacity = CompleteBinaryTree<SumCombiner>.MaxCapacity;

    private const string Name = nameof(SumTree);

    private readonly CompleteBinaryTree<SumCombiner> _tree;

    /// <summary>Creates a tree of <paramref name="capacity"/> leaves, all 0.</summary>
    /// <param name="capacity">The number of leaves, in [1, <see cref="MaxCapacity"/>]; need not be a power of two.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is outside [1, <see cref="MaxCapacity"/>].</exception>
    public SumTree(int capacity)
    {
        PriorityArguments.CheckCapacity(Name, capacity, MaxCapacity);
        _tree = new CompleteBinaryTree<SumCombiner>(capacity);
    }

    /// <summary>The number of leaves.</summary>
    public int Capacity => _tree.Capacity;

    /// <summary>The sum of all leaves (0 for a new tree).</summary>
    public double Total => _tree.Root;

    /// <summary>The value of leaf <paramref name="index"/>.</summary>
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
    /// <exception cref="ArgumentException">The new total would overflow to infinity.</exception>
    public void Update(int index, double value)
    {
        const string owner = Name + "." + nameof(Update);
        PriorityArguments.CheckIndex(owner, index, Capacity);
        PriorityArguments.CheckLeafValue(owner, value, index);
        double previous = _tree.Set(index, value);
        if (double.IsInfinity(_tree.Root))
        {
            _tree.Set(index, previous);
            throw Overflow(owner);
        }
    }

    /// <summary>
    /// Sets leaf <c>indices[i]</c> to <c>values[i]</c> for every i, in order (the last of repeated indices wins),
    /// in O(B log N). The whole batch is checked first: if any element is invalid, nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length, or the new total would overflow to infinity.</exception>
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

        if (indices.Length == 0)
        {
            return;
        }

        int n = indices.Length;
        double[]? rented = null;
        Span<double> previous = n <= CompleteBinaryTree<SumCombiner>.StackBatchLimit
            ? stackalloc double[n]
            : (rented = ArrayPool<double>.Shared.Rent(n)).AsSpan(0, n);
        try
        {
            _tree.Set(indices, values, previous);
            if (double.IsInfinity(_tree.Root))
            {
                _tree.Restore(indices, previous);
                throw Overflow(owner);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The leaf that holds cumulative mass <paramref name="mass"/>: for <paramref name="mass"/> in [0, <see cref="Total"/>),
    /// the leftmost leaf <c>i</c> whose inclusive prefix sum <c>leaf[0] + … + leaf[i]</c> exceeds <paramref name="mass"/>
    /// (so leaf i covers the half-open interval [prefix(i−1), prefix(i)) of the mass); for <paramref name="mass"/> ≥
    /// <see cref="Total"/> (rounding in a caller's arithmetic can produce exactly <see cref="Total"/>), the last leaf
    /// with a positive value. A leaf holding 0 is never returned. O(log N).
    /// </summary>
    /// <remarks>
    /// The search descends from the root, going right (and subtracting the left child's sum) when the mass is at
    /// least the left sum and the right subtree is non-empty. The boundaries it uses are the tree's partial sums,
    /// which can differ from a left-to-right running sum of the leaves by a few ulps of <see cref="Total"/>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mass"/> is NaN or negative.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Total"/> is 0: no leaf has positive mass.</exception>
    public int FindPrefixSum(double mass)
    {
        const string owner = Name + "." + nameof(FindPrefixSum);
        CheckMass(owner, mass, -1);
        double total = CheckTotal(owner);
        return Descend(_tree.Nodes, _tree.LeafBase, mass >= total ? double.PositiveInfinity : mass);
    }

    /// <summary>
    /// <see cref="FindPrefixSum(double)"/> for every element of <paramref name="masses"/>, written to
    /// <paramref name="leaves"/>. The searches run level by level together, which overlaps their memory accesses:
    /// for large trees this is several times faster than one search after another.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A mass is NaN or negative (nothing is written).</exception>
    /// <exception cref="InvalidOperationException"><see cref="Total"/> is 0 while <paramref name="masses"/> is non-empty.</exception>
    public void FindPrefixSums(ReadOnlySpan<double> masses, Span<int> leaves)
    {
        const string owner = Name + "." + nameof(FindPrefixSums);
        PriorityArguments.CheckSameLength(owner, nameof(masses), masses.Length, nameof(leaves), leaves.Length);
        for (int i = 0; i < masses.Length; i++)
        {
            CheckMass(owner, masses[i], i);
        }

        if (masses.Length == 0)
        {
            return;
        }

        double total = CheckTotal(owner);
        int n = masses.Length;
        double[]? rented = null;
        Span<double> remaining = n <= CompleteBinaryTree<SumCombiner>.StackBatchLimit
            ? stackalloc double[n]
            : (rented = ArrayPool<double>.Shared.Rent(n)).AsSpan(0, n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                remaining[i] = masses[i] >= total ? double.PositiveInfinity : masses[i];
                leaves[i] = 1;
            }

            double[] nodes = _tree.Nodes;
            for (int level = 0; level < _tree.Depth; level++)
            {
                for (int i = 0; i < n; i++)
                {
                    int left = leaves[i] << 1;
                    double leftSum = nodes[left];
                    if (remaining[i] >= leftSum && nodes[left + 1] > 0)
                    {
                        remaining[i] -= leftSum;
                        leaves[i] = left + 1;
                    }
                    else
                    {
                        leaves[i] = left;
                    }
                }
            }

            int leafBase = _tree.LeafBase;
            for (int i = 0; i < n; i++)
            {
                leaves[i] -= leafBase;
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Copies the leaves, in index order, into <paramref name="destination"/> (length <see cref="Capacity"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/>'s length differs from <see cref="Capacity"/>.</exception>
    public void CopyTo(Span<double> destination)
    {
        PriorityArguments.CheckSameLength(Name + "." + nameof(CopyTo), nameof(destination), destination.Length, nameof(Capacity), Capacity);
        _tree.CopyLeavesTo(destination);
    }

    /// <summary>
    /// Replaces every leaf with <paramref name="values"/> (length <see cref="Capacity"/>) and rebuilds the tree in O(N).
    /// All values are checked first: if any is invalid, nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">The length differs from <see cref="Capacity"/>, or the total would overflow.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is NaN, infinite or negative.</exception>
    public void SetAll(ReadOnlySpan<double> values)
    {
        const string owner = Name + "." + nameof(SetAll);
        PriorityArguments.CheckSameLength(owner, nameof(values), values.Length, nameof(Capacity), Capacity);
        for (int i = 0; i < values.Length; i++)
        {
            PriorityArguments.CheckLeafValue(owner, values[i], i);
        }

        double[] nodes = _tree.Build(values);
        if (double.IsInfinity(nodes[1]))
        {
            throw Overflow(owner);
        }

        _tree.Install(nodes);
    }

    /// <summary>Sets every leaf to 0.</summary>
    public void Clear() => _tree.Clear();

    private static int Descend(double[] nodes, int leafBase, double mass)
    {
        int node = 1;
        while (node < leafBase)
        {
            int left = node << 1;
            double leftSum = nodes[left];
            if (mass >= leftSum && nodes[left + 1] > 0)
            {
                mass -= leftSum;
                node = left + 1;
            }
            else
            {
                node = left;
            }
        }

        return node - leafBase;
    }

    private static void CheckMass(string owner, double mass, int position)
    {
        if (!(mass >= 0))
        {
            throw new ArgumentOutOfRangeException(
                nameof(mass),
                mass,
                $"{owner}: mass {PriorityArguments.Format(mass)}{PriorityArguments.At(position)} is not valid; it must be ≥ 0 (and not NaN).");
        }
    }

    private double CheckTotal(string owner)
    {
        double total = _tree.Root;
        if (!(total > 0))
        {
            throw new InvalidOperationException($"{owner}: the total is 0 (every leaf is 0), so no leaf holds any mass.");
        }

        return total;
    }

    private static ArgumentException Overflow(string owner) =>
        new($"{owner}: the update would make the total overflow to infinity (leaf values near {PriorityArguments.Format(double.MaxValue)}). Nothing was changed.");
}
