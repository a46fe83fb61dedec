using RlMemory.Environments.Vector;
using RlMemory.Memory;
using static TorchSharp.torch;

namespace RlMemory.Tests.Memory;

/// <summary>
/// The tests write steps from arrays: these wrap the spans of a step in the <see cref="VectorStep{TAction}"/> the
/// buffers take (the library has one <c>Add</c> per buffer; the tests keep their span-per-field notation).
/// </summary>
internal static class SpanStepExtensions
{
    public static void AddStep(this ReplayBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations) =>
        buffer.Add(new VectorStep<int>(observations, actions, rewards, terminated, truncated, nextObservations));

    public static void AddStep(this ReplayBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations) =>
        buffer.Add(new VectorStep<float>(observations, actions, rewards, terminated, truncated, nextObservations));

    public static void AddTransitions(this ReplayBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
        buffer.AddTransitions(new VectorStep<int>(observations, actions, rewards, terminated, truncated, nextObservations), discounts);

    public static void AddTransitions(this ReplayBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ReadOnlySpan<double> discounts) =>
        buffer.AddTransitions(new VectorStep<float>(observations, actions, rewards, terminated, truncated, nextObservations), discounts);

    public static void AddStep(this NStepAssembler assembler, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ITransitionSink sink) =>
        assembler.AddStep(new VectorStep<int>(observations, actions, rewards, terminated, truncated, nextObservations), sink);

    public static void AddStep(this NStepAssembler assembler, ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, ITransitionSink sink) =>
        assembler.AddStep(new VectorStep<float>(observations, actions, rewards, terminated, truncated, nextObservations), sink);

    public static void AddStep(this SequenceReplayBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, RecurrentState stateBeforeStep) =>
        buffer.Add(new VectorStep<int>(observations, actions, rewards, terminated, truncated, nextObservations), stateBeforeStep);

    public static void AddStep(this SequenceReplayBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> nextObservations, RecurrentState stateBeforeStep) =>
        buffer.Add(new VectorStep<float>(observations, actions, rewards, terminated, truncated, nextObservations), stateBeforeStep);

    public static void Add(this RolloutBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> values, ReadOnlySpan<float> logProbs, RecurrentState? stateBeforeStep = null) =>
        buffer.Add(new VectorStep<int>(observations, actions, rewards, terminated, truncated, default), values, logProbs, stateBeforeStep);

    public static void Add(this RolloutBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> values, ReadOnlySpan<float> logProbs, RecurrentState? stateBeforeStep = null) =>
        buffer.Add(new VectorStep<float>(observations, actions, rewards, terminated, truncated, default), values, logProbs, stateBeforeStep);

    public static void Add(this RolloutBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, Tensor values, Tensor logProbs, RecurrentState? stateBeforeStep = null) =>
        buffer.Add(new VectorStep<int>(observations, actions, rewards, terminated, truncated, default), values, logProbs, stateBeforeStep);

    public static void Add(this RolloutBuffer buffer, ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, ReadOnlySpan<double> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, Tensor values, Tensor logProbs, RecurrentState? stateBeforeStep = null) =>
        buffer.Add(new VectorStep<float>(observations, actions, rewards, terminated, truncated, default), values, logProbs, stateBeforeStep);
}
