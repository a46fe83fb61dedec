using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlMemory.Agents;

/// <summary>The hidden layers every MLP here starts with: <c>linear{i}</c> then <c>relu{i}</c> per width (names that agent files keep).</summary>
public static class MlpLayers
{
    /// <summary>
    /// Linear layers of <paramref name="widths"/>, each followed by a ReLU, from <paramref name="input"/> floats;
    /// <paramref name="width"/> is what the last one gives (<paramref name="input"/> when there is none).
    /// </summary>
    public static List<(string Name, Module<Tensor, Tensor> Layer)> Hidden(long input, IReadOnlyList<int> widths, out long width)
    {
        ArgumentNullException.ThrowIfNull(widths);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        width = input;
        for (int i = 0; i < widths.Count; i++)
        {
            layers.Add(($"linear{i}", Linear(width, widths[i])));
            layers.Add(($"relu{i}", ReLU()));
            width = widths[i];
        }

        return layers;
    }
}
