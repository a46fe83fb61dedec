using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace RlMemory.Memory;

/// <summary>How a tree combines two children into their parent, and the value of a leaf that holds nothing.</summary>
internal interface INodeCombiner
{
    /// <summary>The value of an empty leaf (also the padding leaves past the capacity).</summary>
    static abstract double Empty { get; }

    /// <summary>The parent's value from its two children's values.</summary>
    static abstract double Combine(double left, double right);
}

/// <summary>Parents are sums of their children; empty leaves are 0.</summary>
internal readonly struct SumCombiner : INodeCombiner
{
    public static double Empty => 0.0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Combine(double left, double right) => left + right;
}

/// <summary>Parents are minima of their children; empty leaves are +∞.</summary>
internal readonly struct MinCombiner : INodeCombiner
{
    public static double Empty => double.PositiveInfinity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Combine(double left, double right) => Math.Min(left, right);
}

/// <summary>
/// The storage behind <see cref="SumTree"/> and <see cref="MinTree"/>: a complete binary tree in one managed array
/// in heap order (root at 1, children of <c>k</c> at <c>2k</c> and <c>2k+1</c>), with the leaf count padded to the
/// next power of two (padding leaves hold <see cref="INodeCombiner.Empty"/>). An update writes the leaf and then
/// recomputes every ancestor from its two children, so each node always equals what a fresh build from the leaves
/// would give, bit for bit: no error accumulates over any number of updates.
/// </summary>
/// <remarks>
/// Batched updates walk the tree level by level: first every leaf of the batch, then every parent, and so on up to
/// the root. The loads of one level are independent of each other, so the processor overlaps their cache misses;
/// a leaf-to-root walk per element would wait for each miss in turn.
/// </remarks>
internal sealed class CompleteBinaryTree<TCombiner>
    where TCombiner : struct, INodeCombiner
{
    /// <summary>The largest capacity: 2·2^29 nodes still fit in one .NET array.</summary>
    public const int MaxCapacity = 1 << 29;

    /// <summary>Batches up to this many elements keep their scratch on the stack.</summary>
    public const int StackBatchLimit = 512;

    private double[] _nodes;

    public CompleteBinaryTree(int capacity)
    {
        Capacity = capacity;
        LeafBase = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        Depth = BitOperations.Log2((uint)LeafBase);
        _nodes = new double[2 * LeafBase];
        Fill(_nodes);
    }

    /// <summary>The number of leaves a caller may use.</summary>
    public int Capacity { get; }

    /// <summary>The index of leaf 0 in <see cref="Nodes"/> (the padded leaf count, a power of two).</summary>
    public int LeafBase { get; }

    /// <summary>The number of levels above the leaves (log2 of <see cref="LeafBase"/>).</summary>
    public int Depth { get; }

    /// <summary>The root's value.</summary>
    public double Root => _nodes[1];

    /// <summary>All nodes in heap order (index 0 unused).</summary>
    public double[] Nodes => _nodes;

    /// <summary>Leaf <paramref name="index"/>'s value; the index must already be checked.</summary>
    public double Leaf(int index) => _nodes[LeafBase + index];

    /// <summary>Writes one leaf and recomputes its ancestors; returns the leaf's previous value.</summary>
    public double Set(int index, double value)
    {
        double[] nodes = _nodes;
        int node = LeafBase + index;
        double old = nodes[node];
        nodes[node] = value;
        for (node >>= 1; node >= 1; node >>= 1)
        {
            nodes[node] = TCombiner.Combine(nodes[2 * node], nodes[(2 * node) + 1]);
        }

        return old;
    }

    /// <summary>
    /// Writes the leaves of a batch (in order, so the last of duplicate indices wins), saves their previous values
    /// into <paramref name="previous"/> and recomputes the ancestors level by level. Arguments must already be checked.
    /// </summary>
    public void Set(ReadOnlySpan<int> indices, ReadOnlySpan<double> values, Span<double> previous)
    {
        int n = indices.Length;
        int[]? rented = null;
        Span<int> path = n <= StackBatchLimit ? stackalloc int[n] : (rented = ArrayPool<int>.Shared.Rent(n)).AsSpan(0, n);
        try
        {
            double[] nodes = _nodes;
            for (int i = 0; i < n; i++)
            {
                int leaf = LeafBase + indices[i];
                previous[i] = nodes[leaf];
                nodes[leaf] = values[i];
                path[i] = leaf;
            }

            RecomputeAncestors(path);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Undoes <see cref="Set(ReadOnlySpan{int}, ReadOnlySpan{double}, Span{double})"/> from its saved values.</summary>
    public void Restore(ReadOnlySpan<int> indices, ReadOnlySpan<double> previous)
    {
        double[] nodes = _nodes;
        // Reverse order: for duplicate indices the first occurrence saved the original value.
        for (int i = indices.Length - 1; i >= 0; i--)
        {
            nodes[LeafBase + indices[i]] = previous[i];
        }

        int n = indices.Length;
        int[]? rented = null;
        Span<int> path = n <= StackBatchLimit ? stackalloc int[n] : (rented = ArrayPool<int>.Shared.Rent(n)).AsSpan(0, n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                path[i] = LeafBase + indices[i];
            }

            RecomputeAncestors(path);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Copies the <see cref="Capacity"/> leaves into <paramref name="destination"/>.</summary>
    public void CopyLeavesTo(Span<double> destination) => _nodes.AsSpan(LeafBase, Capacity).CopyTo(destination);

    /// <summary>
    /// A new node array built from <paramref name="leaves"/> (exactly <see cref="Capacity"/> checked values); the
    /// caller inspects it and installs it with <see cref="Install"/>, so a rejected build changes nothing.
    /// </summary>
    public double[] Build(ReadOnlySpan<double> leaves)
    {
        var nodes = new double[2 * LeafBase];
        leaves.CopyTo(nodes.AsSpan(LeafBase));
        nodes.AsSpan(LeafBase + Capacity).Fill(TCombiner.Empty);
        for (int node = LeafBase - 1; node >= 1; node--)
        {
            nodes[node] = TCombiner.Combine(nodes[2 * node], nodes[(2 * node) + 1]);
        }

        return nodes;
    }

    /// <summary>Replaces the nodes with an array from <see cref="Build"/>.</summary>
    public void Install(double[] nodes) => _nodes = nodes;

    /// <summary>Sets every leaf to <see cref="INodeCombiner.Empty"/>.</summary>
    public void Clear() => Fill(_nodes);

    private void RecomputeAncestors(Span<int> path)
    {
        double[] nodes = _nodes;
        for (int level = 0; level < Depth; level++)
        {
            for (int i = 0; i < path.Length; i++)
            {
                int parent = path[i] >> 1;
                nodes[parent] = TCombiner.Combine(nodes[2 * parent], nodes[(2 * parent) + 1]);
                path[i] = parent;
            }
        }
    }

    private static void Fill(double[] nodes)
    {
        // Every node of an empty tree holds Empty: Combine(Empty, Empty) == Empty for both combiners.
        nodes.AsSpan().Fill(TCombiner.Empty);
    }
}
