using BenchmarkDotNet.Attributes;
using RlMemory.Memory;

namespace RlMemory.Benchmarks.Memory;

/// <summary>
/// The sum tree alone at 10^6 leaves (random values): 256 prefix-sum searches for stratified masses, as one batch
/// (level by level) and one after another, and a batched update of 256 random leaves.
/// </summary>
[MemoryDiagnoser]
public class SumTreeBenchmarks
{
    private const int Capacity = 1_000_000;
    private const int BatchSize = 256;

    private readonly double[][] _masses = new double[64][];
    private readonly int[][] _indices = new int[64][];
    private readonly double[] _values = new double[BatchSize];
    private readonly int[] _leaves = new int[BatchSize];
    private SumTree _tree = null!;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _tree = new SumTree(Capacity);
        _tree.SetAll(Enumerable.Range(0, Capacity).Select(_ => random.NextDouble()).ToArray());
        for (int k = 0; k < _masses.Length; k++)
        {
            _masses[k] = Enumerable.Range(0, BatchSize).Select(i => (i + random.NextDouble()) * _tree.Total / BatchSize).ToArray();
            _indices[k] = Enumerable.Range(0, BatchSize).Select(_ => random.Next(Capacity)).ToArray();
        }

        for (int i = 0; i < BatchSize; i++)
        {
            _values[i] = random.NextDouble();
        }
    }

    [Benchmark(Baseline = true)]
    public int FindPrefixSumsBatched()
    {
        _tree.FindPrefixSums(_masses[_round++ & 63], _leaves);
        return _leaves[0];
    }

    [Benchmark]
    public int FindPrefixSumOneByOne()
    {
        double[] masses = _masses[_round++ & 63];
        int sum = 0;
        for (int i = 0; i < masses.Length; i++)
        {
            sum += _tree.FindPrefixSum(masses[i]);
        }

        return sum;
    }

    [Benchmark]
    public double UpdateBatched()
    {
        _tree.Update(_indices[_round++ & 63], _values);
        return _tree.Total;
    }
}
