using TorchSharp;

namespace RlMemory.Memory;

/// <summary>
/// Numbers for libtorch that live as long as the process. TorchSharp 0.107 turns a number given where a
/// <see cref="Scalar"/> is expected (an implicit conversion, or the hidden <c>alpha = 1</c> of <c>tensor.add(other)</c>,
/// <c>tensor + tensor</c>, <c>add_(other)</c>) into a Scalar that nothing references once its handle is passed on; when a
/// garbage collection runs during the native call, the Scalar's finalizer frees the value libtorch is reading, and the
/// run dies ("Unknown scalar type", "Expected false to be true … toFloat"). Constants come from here; other numbers are
/// converted into <c>using Scalar</c> locals held until the call returns.
/// </summary>
internal static class HeldScalars
{
    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>1 (the alpha of a plain addition, a count's lower bound).</summary>
    public static readonly Scalar One = 1.ToScalar();
}
