using System.Buffers;
using System.Numerics;
using RlMemory.Memory;
using RlMemory.Memory.External;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Agents.Recurrent;

/// <summary>
/// The <see cref="MemoryCore"/> recurrence over a batch of sequences as one autograd function: forward and backward run
/// in <see cref="FusedMemorySequence{T}"/> (C#, on the CPU), the weight gradients as a few matrix products over all
/// steps. Inputs: the encoded observations [B, T, E], the seven state parts before the first step, the LSTMCell's
/// weight_ih, weight_hh, bias_ih, bias_hh, the interface layer's weight and bias, then (not tensors) the memory's
/// configuration and the resets [B, T] (or null). Outputs: the features [B, T, H + R·W] and the seven state parts
/// after the last step. Gradients flow to every tensor input.
/// </summary>
internal sealed class FusedMemoryFunction : autograd.MultiTensorFunction<FusedMemoryFunction>
{
    private const string SequenceKey = "sequence";
    private const string ConfigKey = "config";
    private const string ResetsKey = "resets";

    // The tensor inputs (x, the seven state parts, six weights) come first; the configuration and the resets follow.
    private const int TensorInputs = 14;

    public override string Name => "FusedMemoryCore";

    /// <summary>
    /// Runs the recurrence: through the autograd function when gradients are wanted, else directly (no graph, no tape kept
    /// beyond the call).
    /// </summary>
    public static (Tensor Features, Tensor[] State) Run(
        Tensor encoded, IReadOnlyList<Tensor> state, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh, Tensor interfaceWeight, Tensor interfaceBias,
        ExternalMemoryConfig config, bool[]? resets)
    {
        object[] inputs = [encoded, .. state, weightIh, weightHh, biasIh, biasHh, interfaceWeight, interfaceBias, config, resets!];
        bool wantsGradients = is_grad_enabled() && inputs.OfType<Tensor>().Any(t => t.requires_grad);
        List<Tensor> outputs;
        if (wantsGradients)
        {
            outputs = apply(inputs);
        }
        else
        {
            using (no_grad())
            {
                outputs = Forward(null, inputs);
            }
        }

        return (outputs[0], [.. outputs.Skip(1)]);
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars) => Forward(ctx, vars);

    [ThreadStatic]
    private static Exception? t_backwardError;

    /// <summary>
    /// The exception the last failed backward on this thread raised, once (then null): a backward that throws is turned
    /// into libtorch's error for an invalid gradient, which reaches the caller of <c>backward()</c> as an
    /// <see cref="System.Runtime.InteropServices.ExternalException"/>; this says what actually went wrong.
    /// </summary>
    public static Exception? TakeBackwardError()
    {
        Exception? error = t_backwardError;
        t_backwardError = null;
        return error;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        try
        {
            return BackwardCore(ctx, grad_outputs);
        }
        catch (Exception e)
        {
            // TorchSharp calls this from inside libtorch's autograd engine, which cannot carry a .NET exception: one that
            // left here would end the process. Keep it for TakeBackwardError and return gradients of a shape no input
            // has (one element for every tensor input), which the engine refuses with an error that reaches the caller.
            t_backwardError = e;
            List<Tensor> refused = [.. Enumerable.Range(0, TensorInputs).Select(_ => zeros(1, 1, 1, 1))];
            refused.Add(null!);
            refused.Add(null!);
            return refused;
        }
    }

    private static List<Tensor> BackwardCore(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        // The tape goes back to the pool after the first backward; a second one (retain_graph) runs the forward again
        // from the saved inputs.
        List<Tensor> saved = ctx.get_saved_variables();
        object? sequence = ctx.get_data(SequenceKey);
        if (sequence is null)
        {
            object[] inputs = [.. saved.Cast<object>(), ctx.get_data(ConfigKey), ctx.get_data(ResetsKey)];
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                sequence = Build(inputs).Sequence;
            }
        }

        ctx.save_data(SequenceKey, null!);
        return sequence switch
        {
            FusedMemorySequence<float> s => Backward(s, grad_outputs, saved[0], saved[8], ScalarType.Float32),
            FusedMemorySequence<double> s => Backward(s, grad_outputs, saved[0], saved[8], ScalarType.Float64),
            _ => throw new InvalidOperationException("FusedMemoryCore: the forward pass kept no tape."),
        };
    }

    private static List<Tensor> Forward(autograd.AutogradContext? ctx, object[] vars)
    {
        var (outputs, sequence) = Build(vars);
        if (ctx is null)
        {
            sequence.Release();
            return outputs;
        }

        // Undefined output gradients arrive as invalid tensors (read as zeros below). TorchSharp would otherwise
        // materialize them from tensors it created during apply, which the caller's DisposeScope has released by the
        // time the backward runs (an exception there ends the process).
        ctx.set_materialize_grads(false);
        ctx.save_data(SequenceKey, sequence);
        ctx.save_data(ConfigKey, vars[TensorInputs]);
        ctx.save_data(ResetsKey, vars[TensorInputs + 1]);
        ctx.save_for_backward([.. vars.Take(TensorInputs).Cast<Tensor>()]);
        return outputs;
    }

    /// <summary>Runs the forward pass: the outputs and the sequence that holds the tape.</summary>
    private static (List<Tensor> Outputs, IFusedSequence Sequence) Build(object[] vars)
    {
        var x = (Tensor)vars[0];
        Tensor[] state = [.. vars.Skip(1).Take(7).Cast<Tensor>()];
        var (weightIh, weightHh, biasIh, biasHh, interfaceWeight, interfaceBias) =
            ((Tensor)vars[8], (Tensor)vars[9], (Tensor)vars[10], (Tensor)vars[11], (Tensor)vars[12], (Tensor)vars[13]);
        var config = (ExternalMemoryConfig)vars[TensorInputs];
        var resets = vars[TensorInputs + 1] as bool[];
        int batch = (int)x.shape[0], steps = (int)x.shape[1], width = (int)x.shape[2], hidden = (int)weightHh.shape[1];
        ScalarType dtype = x.dtype;
        Tensor inputGates;
        using (var scope = NewDisposeScope())
        {
            // x W_xᵀ + b_ih + b_hh for all steps at once, step-major [T·B, 4H].
            Tensor timeMajor = x.detach().transpose(0, 1).reshape(steps * batch, width);
            inputGates = addmm(biasIh.detach().add(biasHh.detach(), HeldScalars.One), timeMajor, weightIh.detach().narrow(1, 0, width).t(), 1, 1).MoveToOuterDisposeScope();
        }

        using (inputGates)
        {
            if (dtype == ScalarType.Float32)
            {
                var s = new FusedMemorySequence<float>(config, inputGates, state, weightHh, weightIh, interfaceWeight, interfaceBias, resets, batch, steps, width, hidden);
                return ([s.Features(dtype), .. s.FinalState(dtype)], s);
            }
            else
            {
                var s = new FusedMemorySequence<double>(config, inputGates, state, weightHh, weightIh, interfaceWeight, interfaceBias, resets, batch, steps, width, hidden);
                return ([s.Features(dtype), .. s.FinalState(dtype)], s);
            }
        }
    }

    private static List<Tensor> Backward<T>(FusedMemorySequence<T> sequence, List<Tensor> grads, Tensor x, Tensor weightIh, ScalarType dtype)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] dFeatures = RentedGradient<T>(grads[0], sequence.FeatureCount);
        T[][] dFinal = [.. grads.Skip(1).Select((grad, i) => Gradient<T>(grad, sequence.StateSizes[i]))];
        var (dGates, dXis, dInitial) = sequence.Backward(dFeatures, dFinal);
        long[][] stateShapes = sequence.StateShapes;
        int batch = (int)x.shape[0], steps = (int)x.shape[1], width = (int)x.shape[2];
        int rows = batch * steps;
        long hidden = weightIh.shape[0] / 4;
        using var scope = NewDisposeScope();
        Tensor g = FusedMemorySequence<T>.ToTensor(dGates.AsSpan(0, (int)(rows * 4 * hidden)), [rows, 4 * hidden], dtype);
        Tensor zs = FusedMemorySequence<T>.ToTensor(sequence.Zs.AsSpan(0, rows * sequence.RecurrentInputSize), [rows, sequence.RecurrentInputSize], dtype);
        int interfaceSize = sequence.InterfaceSize;
        Tensor dXi = FusedMemorySequence<T>.ToTensor(dXis.AsSpan(0, rows * interfaceSize), [rows, interfaceSize], dtype);
        Tensor hs = FusedMemorySequence<T>.ToTensor(sequence.Hs.AsSpan(0, (int)(rows * hidden)), [rows, hidden], dtype);
        sequence.Release();
        ArrayPool<T>.Shared.Return(dGates);
        ArrayPool<T>.Shared.Return(dXis);
        ArrayPool<T>.Shared.Return(dFeatures);
        Tensor timeMajor = x.detach().transpose(0, 1).reshape(rows, width);
        Tensor gt = g.t();
        Tensor dWeightIh = cat([gt.mm(timeMajor), gt.mm(zs.narrow(1, hidden, zs.shape[1] - hidden))], 1);
        Tensor dWeightHh = gt.mm(zs.narrow(1, 0, hidden));
        Tensor dBias = g.sum(0L);
        Tensor dx = g.mm(weightIh.detach().narrow(1, 0, width)).view(steps, batch, width).transpose(0, 1).contiguous();
        Tensor dInterfaceWeight = dXi.t().mm(hs);
        Tensor dInterfaceBias = dXi.sum(0L);
        Tensor[] dState = [.. dInitial.Select((values, i) => FusedMemorySequence<T>.ToTensor(values, stateShapes[i], dtype))];
        List<Tensor> result = [dx, .. dState, dWeightIh, dWeightHh, dBias, dBias.clone(), dInterfaceWeight, dInterfaceBias];
        foreach (Tensor t in result)
        {
            t.MoveToOuterDisposeScope();
        }

        result.Add(null!);
        result.Add(null!);
        return result;
    }

    /// <summary>Like <see cref="Gradient{T}"/>, in an array rented from the shared pool (at least <paramref name="count"/> long).</summary>
    private static T[] RentedGradient<T>(Tensor? grad, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] values = ArrayPool<T>.Shared.Rent(count);
        if (grad is null || grad.IsInvalid)
        {
            System.Array.Clear(values, 0, count);
        }
        else
        {
            using Tensor host = grad.detach().cpu().contiguous();
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(host.bytes).CopyTo(values);
        }

        return values;
    }

    /// <summary>The values of an output's gradient, or zeros where it is undefined (the output did not reach the loss).</summary>
    private static T[] Gradient<T>(Tensor? grad, int count)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        grad is null || grad.IsInvalid ? new T[count] : FusedMemorySequence<T>.Array(grad);
}
