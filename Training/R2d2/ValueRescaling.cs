using RlMemory.Memory;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training.R2d2;

/// <summary>
/// The invertible value rescaling of R2D2 (Pohlen et al. 2018, "Observe and Look Further"):
/// <c>h(x) = sign(x)(√(|x| + 1) − 1) + εx</c> and its exact inverse
/// <c>h⁻¹(y) = sign(y)(((√(1 + 4ε(|y| + 1 + ε)) − 1) / 2ε)² − 1)</c>. Targets become
/// <c>h(Σ γ^k r + γ^n h⁻¹(Q_target))</c>, so the network learns values on a square-root scale and reward scales matter less.
/// </summary>
/// <remarks>
/// Both are computed in a cancellation-free form (<c>√(1 + a) − 1 = a / (√(1 + a) + 1)</c>), so float32 round trips stay
/// within a few ulps of x even near 0.
/// </remarks>
public static class ValueRescaling
{
    /// <summary>ε of R2D2: 10⁻³.</summary>
    public const double DefaultEpsilon = 1e-3;

    /// <summary>h(x) for a number.</summary>
    public static double Apply(double x, double epsilon = DefaultEpsilon)
    {
        double a = Math.Abs(x);
        return (Math.Sign(x) * (a / (Math.Sqrt(a + 1) + 1))) + (epsilon * x);
    }

    /// <summary>h⁻¹(y) for a number: <c>Invert(Apply(x)) = x</c>.</summary>
    public static double Invert(double y, double epsilon = DefaultEpsilon)
    {
        CheckEpsilon(epsilon);
        double u = Math.Abs(y) + 1 + epsilon;
        double root = 2 * u / (Math.Sqrt(1 + (4 * epsilon * u)) + 1);
        return Math.Sign(y) * ((root * root) - 1);
    }

    /// <summary>h(x) elementwise (a new tensor).</summary>
    public static Tensor Apply(Tensor x, double epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        using Scalar eps = epsilon.ToScalar(); // held (HeldScalars): the same operations as x.sign() * (a / ((a + 1).sqrt() + 1)) + epsilon * x
        Tensor a = x.abs();
        return x.sign().mul(a.div(a.add(HeldScalars.One, HeldScalars.One).sqrt().add(HeldScalars.One, HeldScalars.One))).add(x.mul(eps), HeldScalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>h⁻¹(y) elementwise (a new tensor).</summary>
    public static Tensor Invert(Tensor y, double epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(y);
        CheckEpsilon(epsilon);
        using var scope = NewDisposeScope();
        // Held Scalars (HeldScalars); the operations of u = |y| + (1 + ε), root = 2u / (sqrt(1 + 4εu) + 1), sign(y) (root² − 1).
        using Scalar shift = (1 + epsilon).ToScalar(), two = 2.ToScalar(), fourEpsilon = (4 * epsilon).ToScalar();
        Tensor u = y.abs().add(shift, HeldScalars.One);
        Tensor root = u.mul(two).div(u.mul(fourEpsilon).add(HeldScalars.One, HeldScalars.One).sqrt().add(HeldScalars.One, HeldScalars.One));
        return y.sign().mul(root.mul(root).sub(HeldScalars.One)).MoveToOuterDisposeScope();
    }

    private static void CheckEpsilon(double epsilon)
    {
        if (!(epsilon > 0) || !double.IsFinite(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ValueRescaling: epsilon must be a finite number > 0.");
        }
    }
}
